import Foundation
import Logging
import NurtureApp
import NurtureCore
import ServiceLifecycle

/// The background service that decides the tracking server's stored opens and clicks
/// (``EventApplier``): at start, whatever a crash left pending; then whenever hits are
/// stored, and at each poll (events another process stored, or left pending when it
/// stopped). On a graceful shutdown it stops after the HTTP server and applies what is left,
/// so every answered hit is decided before the process exits. A failed pass is logged and
/// retried, never fatal.
public struct EventApplierService: Service {
    public let applier: EventApplier
    public let pollInterval: TimeSpan
    public let logger: Logger

    public init(applier: EventApplier, pollInterval: TimeSpan, logger: Logger) {
        self.applier = applier
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            var wait = Duration.seconds(max(1, pollInterval.seconds))
            do {
                // Another process is applying: look again soon, in case it stopped before
                // taking what this one stored.
                if try await applier.drain().busy { wait = .milliseconds(50) }
            } catch {
                logger.error("applying tracking events failed; retrying", metadata: ["error": "\(error)"])
            }
            let pause = wait
            _ = try? await cancelWhenGracefulShutdown { () async throws -> Void in
                // Whichever comes first: the wait, or events stored.
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await Task.sleep(for: pause) }
                    group.addTask { await applier.waitForEvents() }
                    _ = await group.next()
                    group.cancelAll()
                }
            }
        }
        // The HTTP server stopped before this service: the hits it answered are all stored.
        do { try await applier.drain() } catch { logger.error("cannot apply the last tracking events; the next start will", metadata: ["error": "\(error)"]) }
    }
}
