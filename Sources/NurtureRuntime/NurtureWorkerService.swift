import NurtureApp
import Foundation
import Logging
import NurtureCore
import ServiceLifecycle

/// The background service: decides for due leads, then delivers due sends, in a loop, until
/// a graceful shutdown. A pass in progress finishes (its in-flight sends are recorded) before
/// the service returns; a failed pass is logged and retried, never fatal.
public struct NurtureWorkerService: Service {
    public let scheduler: Scheduler
    public let delivery: DeliveryWorker
    public let pollInterval: TimeSpan
    /// Rung by the tracking server when an event queued an email: no waiting for the poll.
    public let doorbell: Doorbell
    public let logger: Logger
    /// The time each pass runs at.
    public let clock: any WallClock

    public init(scheduler: Scheduler, delivery: DeliveryWorker, pollInterval: TimeSpan, doorbell: Doorbell = Doorbell(), logger: Logger, clock: any WallClock = SystemClock()) {
        self.clock = clock
        self.scheduler = scheduler
        self.delivery = delivery
        self.pollInterval = pollInterval
        self.doorbell = doorbell
        self.logger = logger
    }

    public func run() async throws {
        logger.info("scheduler started", metadata: ["poll": "\(pollInterval)", "worker": "\(delivery.worker)"])
        // A process that died here (kill -9) left sends leased to it: they go back at once.
        do { try await delivery.recoverDeadWorkers(now: clock.now()) } catch { logger.error("cannot look for dead workers", metadata: ["error": "\(error)"]) }
        defer { logger.info("scheduler stopped") }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let busy = await pass(now: clock.now())
            if busy { continue } // more may be due already
            _ = try? await cancelWhenGracefulShutdown { () async throws -> Void in
                // Whichever comes first: the poll interval, or the doorbell.
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await Task.sleep(for: .seconds(pollInterval.seconds)) }
                    group.addTask { await doorbell.wait() }
                    _ = await group.next()
                    group.cancelAll()
                }
            }
        }
        // Whatever this worker still holds goes back to the queue for the next one.
        do { try await delivery.store.retire(delivery.worker, now: clock.now()) } catch { logger.error("cannot give back leases", metadata: ["error": "\(error)"]) }
    }

    /// One pass; true when it did work.
    func pass(now: Date) async -> Bool {
        do {
            let leads = try await scheduler.processDue(now: now, shouldStop: { Task.isShuttingDownGracefully })
            let tally = try await delivery.deliverDue(now: now, shouldStop: { Task.isShuttingDownGracefully })
            if leads > 0 || tally.total > 0 {
                logger.info("pass", metadata: [
                    "leads": "\(leads)", "sent": "\(tally.sent)", "retried": "\(tally.retried)",
                    "failed": "\(tally.failed)", "skipped": "\(tally.skipped)",
                ])
            }
            return tally.sent + tally.failed + tally.skipped > 0
        } catch {
            logger.error("pass failed; retrying", metadata: ["error": "\(error)"])
            return false
        }
    }
}
