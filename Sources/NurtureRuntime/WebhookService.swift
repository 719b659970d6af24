import Foundation
import Logging
import NurtureApp
import NurtureCore
import ServiceLifecycle

/// The background service that delivers outbound webhooks, apart from the email worker so a
/// slow receiver never holds up email: a pass delivers everything due, then it sleeps until
/// the next webhook is due or the poll interval passes, whichever is sooner. A pass in
/// progress finishes before a graceful shutdown returns; a failed pass is logged and retried.
public struct WebhookService: Service {
    public let dispatcher: WebhookDispatcher
    public let pollInterval: TimeSpan
    public let logger: Logger
    public let clock: any WallClock

    public init(dispatcher: WebhookDispatcher, pollInterval: TimeSpan, logger: Logger, clock: any WallClock = SystemClock()) {
        self.dispatcher = dispatcher
        self.pollInterval = pollInterval
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            var wait = Double(max(1, pollInterval.seconds))
            do {
                let tally = try await dispatcher.deliverDue(now: { [clock] in clock.now() }, shouldStop: { Task.isShuttingDownGracefully })
                if tally.total > 0 {
                    logger.info("webhooks", metadata: ["delivered": "\(tally.delivered)", "retried": "\(tally.retried)", "dead": "\(tally.dead)"])
                }
                if let due = try await dispatcher.store.nextWebhookDue() {
                    wait = min(wait, max(0.05, due.timeIntervalSince(clock.now())))
                }
            } catch {
                logger.error("webhook pass failed; retrying", metadata: ["error": "\(error)"])
            }
            let sleep = Duration.milliseconds(Int(wait * 1000))
            _ = try? await cancelWhenGracefulShutdown { () async throws -> Void in
                try await Task.sleep(for: sleep)
            }
        }
        // Whatever it still holds goes back to the queue for the next process.
        do { try await dispatcher.retire(now: clock.now()) } catch { logger.error("cannot give back webhook leases", metadata: ["error": "\(error)"]) }
    }
}
