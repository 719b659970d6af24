#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit, which bounds how many connections the HTTP server can hold
/// (each is a file descriptor, as are the database, the relay connections and the logs).
public enum OpenFileLimit {
    /// Descriptors kept for everything but client connections.
    public static let reserve = 128

    /// Raises the soft limit to the hard limit (systemd's default soft limit is 1,024;
    /// the hard one is usually far higher) and returns the soft limit now in force.
    @discardableResult
    public static func raise() -> Int {
        var limit = rlimit()
        guard getrlimit(resourceLimit, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resourceLimit, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur > rlim_t(Int32.max) ? Int(Int32.max) : Int(limit.rlim_cur)
    }

    /// The connections the server may hold with `files` descriptors: below the limit, so
    /// accepting one more can never starve the database or the relay of a descriptor.
    public static func connections(files: Int) -> Int {
        max(16, min(65_536, files - reserve))
    }

    #if canImport(Glibc)
    private static let resourceLimit = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceLimit = RLIMIT_NOFILE
    #endif
}
