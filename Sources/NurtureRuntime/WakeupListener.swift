import Logging
import NurtureApp
import NurtureCore
import ServiceLifecycle

/// Rings this process's doorbell when another process announces work (a send queued, a
/// wake-up brought forward) through the store's ``WakeupFeed``. Polling stays as the fallback.
struct WakeupListener: Service {
    let feed: any WakeupFeed
    let doorbell: Doorbell
    let logger: Logger

    func run() async throws {
        let doorbell = doorbell
        try await cancelWhenGracefulShutdown {
            try await feed.listenForWakeups { doorbell.ring() }
        }
    }
}
