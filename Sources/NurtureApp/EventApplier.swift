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
    /// How many passes in a row must fail on the oldest pending event alone before its lead's
    /// pending events are set aside.
    public let setAsideAfter: Int
    /// Waits between two tries of a pass of one event (a second: a passing fault clears).
    private let pauseBeforeRetry: @Sendable () async throws -> Void
    /// Rung when events were stored.
    private let bell = Doorbell()
    /// How many events the next pass takes: fewer after a failure, up to ``batchSize`` again.
    private let limit: Mutex<Int>

    public init(store: any EventInbox, workflows: WorkflowSet, doorbell: Doorbell, metrics: any ServiceMetrics, logger: Logger,
                clock: any WallClock = SystemClock(), batchSize: Int = 2_000, setAsideAfter: Int = 3,
                pauseBeforeRetry: @escaping @Sendable () async throws -> Void = { try await Task.sleep(for: .seconds(1)) }) {
        self.store = store
        self.workflows = workflows
        self.doorbell = doorbell
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.batchSize = batchSize
        self.setAsideAfter = max(1, setAsideAfter)
        self.pauseBeforeRetry = pauseBeforeRetry
        self.limit = Mutex(max(1, batchSize))
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
        /// Leads' pending events set aside: their pass failed every time it was tried alone.
        public var setAside: [SetAsideEvents] = []
    }

    /// Applies pending events, a batch at a time, until none is left (or another process is
    /// applying them).
    ///
    /// One lead whose events cannot be decided must not hold up the others behind it. When a
    /// pass fails, the next takes half as many events (the ones before the fault are decided,
    /// and it comes first); a pass that succeeds takes twice as many again, up to ``batchSize``.
    /// When a pass of the oldest event alone has failed ``setAsideAfter`` times in a row, a
    /// second apart, that event's lead's pending events are set aside: kept and counted, not
    /// decided, with the error (``EventInbox/setAsideOldestPending(reason:)``). The service and
    /// `nurture run` behave alike: nothing depends on how often this is called.
    /// A fault of the whole database (down, full) fails the setting aside too: nothing is set aside.
    /// - Parameter at: the time to decide at (`nurture run`'s); by default the clock's, read
    ///   for each batch.
    @discardableResult
    public func drain(at time: Date? = nil) async throws -> Drained {
        var drained = Drained()
        var failuresAlone = 0
        while true {
            let limit = self.limit.withLock { $0 }
            let pass: PendingEventsPass
            do {
                pass = try await applyPass(limit: limit, at: time)
            } catch {
                if error is CancellationError || Task.isCancelled { throw error }
                if limit > 1 {
                    self.limit.withLock { $0 = max(1, limit / 2) }
                    logger.warning("a pass over pending tracking events failed; trying fewer at a time", metadata: ["events": "\(limit)", "error": "\(error)"])
                    continue
                }
                failuresAlone += 1
                if failuresAlone < setAsideAfter {
                    logger.warning("a pass over the oldest pending tracking event failed; trying again", metadata: ["error": "\(error)", "failures": "\(failuresAlone)"])
                    try await pauseBeforeRetry()
                    continue
                }
                // A fault of the whole database fails this too: then nothing is set aside.
                guard let aside = try await store.setAsideOldestPending(reason: "\(error)") else { throw error }
                failuresAlone = 0
                logger.error("a lead's tracking events cannot be decided: set aside (kept, not decided); the others go on", metadata: [
                    "lead": "\(aside.lead)", "events": "\(aside.count)", "oldest": "\(aside.oldest)", "error": "\(error)",
                ])
                drained.setAside.append(aside)
                continue
            }
            failuresAlone = 0
            self.limit.withLock { $0 = min(batchSize, limit * 2) }
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
            if pass.taken < limit { return drained }
        }
    }

    /// One transaction over up to `limit` pending events.
    private func applyPass(limit: Int, at time: Date?) async throws -> PendingEventsPass {
        let engine = workflows.engine
        let now = time ?? clock.now()
        return try await store.applyPendingEvents(limit: limit, now: now, decide: { state, event in
            // At its own time, but never before the lead entered its stage (a decision made
            // meanwhile, an API event, may have moved it): no stage left before it was entered.
            engine.handle(event, state: &state, now: max(event.at, state.enteredStageAt))
        }, settle: { state in
            // What came due while the events waited (a wait that ended, its branch seeing
            // them), as the due pass would; then the next wake-up after now.
            let effects = engine.tick(&state, now: now)
            return LeadChange(effects: effects, nextWake: engine.nextWake(state, after: now))
        })
    }
}
