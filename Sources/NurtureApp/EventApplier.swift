import Foundation
import Logging
import NurtureCore
import Synchronization

/// Decides the tracking server's stored events (``EventInbox``): the engine scores each, may
/// move its lead's stage and queue the next email, and the worker is woken for it.
///
/// A hit is answered once its event is stored; ``notify()`` then wakes the applier, which
/// takes the pending events in batches, oldest first, until none is left. Under load, one
/// batch carries many events of many leads: a lead's state is read and written once for all
/// of its events in it.
public final class EventApplier: Sendable {
    public let store: any EventInbox
    public let workflows: WorkflowSet
    /// Rung when a decision queued an email.
    public let doorbell: Doorbell
    public let metrics: any ServiceMetrics
    public let logger: Logger
    /// The time a batch is decided at (each event is decided at its own time).
    public let clock: any WallClock
    /// Events per transaction, at most.
    public let batchSize: Int
    /// Rung when events were stored.
    private let bell = Doorbell()

    public init(store: any EventInbox, workflows: WorkflowSet, doorbell: Doorbell, metrics: any ServiceMetrics, logger: Logger,
                clock: any WallClock = SystemClock(), batchSize: Int = 2_000) {
        self.store = store
        self.workflows = workflows
        self.doorbell = doorbell
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.batchSize = batchSize
    }

    /// Events were stored: the applier takes them at once.
    public func notify() { bell.ring() }

    /// Returns when events were stored since the last wait (at once if they were), or when cancelled.
    public func waitForEvents() async { await bell.wait() }

    /// What one ``drain()`` did.
    public struct Drained: Sendable, Equatable {
        /// Events taken from the pending ones (decided, or kept for a parked lead).
        public var taken = 0
        /// Another process is applying the pending events; this one stopped.
        public var busy = false
    }

    /// Applies pending events, a batch at a time, until none is left (or another process is
    /// applying them).
    /// - Parameter at: the time to decide at (`nurture run`'s); by default the clock's, read
    ///   for each batch.
    @discardableResult
    public func drain(at time: Date? = nil) async throws -> Drained {
        var drained = Drained()
        while true {
            let engine = workflows.engine
            let now = time ?? clock.now()
            let pass = try await store.applyPendingEvents(limit: batchSize, now: now, decide: { state, event in
                // At its own time, but never before the lead entered its stage (a decision made
                // meanwhile, an API event, may have moved it): no stage left before it was entered.
                engine.handle(event, state: &state, now: max(event.at, state.enteredStageAt))
            }, settle: { state in
                // What came due while the events waited (a wait that ended, its branch seeing
                // them), as the due pass would; then the next wake-up after now.
                let effects = engine.tick(&state, now: now)
                return LeadChange(effects: effects, nextWake: engine.nextWake(state, after: now))
            })
            for lead in pass.parked {
                logger.error("lead parked: its stored state cannot be read; the others go on", metadata: ["lead": "\(lead.id)", "error": "\(lead.error)"])
            }
            if !pass.effects.isEmpty {
                metrics.effects(pass.effects)
                if pass.effects.contains(where: { if case .send = $0 { true } else { false } }) { doorbell.ring() }
            }
            drained.taken += pass.taken
            if pass.busy {
                drained.busy = true
                return drained
            }
            // A short batch took everything there was: events stored since ring the bell.
            if pass.taken < batchSize { return drained }
        }
    }
}
