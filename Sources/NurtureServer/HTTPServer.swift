import Hummingbird
import Logging
import NurtureCore

/// Builds Nurture's HTTP application: health now; the tracking and API routes join it.
public enum HTTPServer {
    /// The Hummingbird application, a `Service` for the service group.
    public static func application(host: String, port: Int, store: any NurtureStore, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("/healthz") { _, _ -> String in
            _ = try await store.counts()
            return "ok\n"
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "nurture"),
            logger: logger)
    }
}
