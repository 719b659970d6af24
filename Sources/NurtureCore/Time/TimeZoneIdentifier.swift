import Foundation

/// IANA time zone names as leads and workflows may give them.
public enum TimeZoneIdentifier {
    /// The zone names this machine's time zone database knows (`Europe/Paris`, `UTC`).
    private static let known: Set<String> = Set(TimeZone.knownTimeZoneIdentifiers).union(["UTC", "GMT"])

    /// Whether `name` is an IANA zone name known here. Stricter than `TimeZone(identifier:)`,
    /// which also takes offsets and, on Linux, paths into the zone database (`../../etc/passwd`).
    public static func isValid(_ name: String) -> Bool {
        name.utf8.count <= 64 && known.contains(name)
    }
}
