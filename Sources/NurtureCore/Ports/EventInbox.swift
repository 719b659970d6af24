import Foundation

/// The tracking server's events, stored first and decided right after: a hit is answered as
/// soon as its event is durable, and the engine applies the stored events in order, many
/// leads and many events at a time, a moment later (``applyPendingEvents(limit:now:decide:settle:)``).
///
/// Every answered hit is recorded: the event is in the store, counted in the reports, before
/// the answer. Its decision (score, stage, the next email) follows in its own transaction;
/// events left pending by a crash are applied by the next process to run.
public protocol EventInbox: Sendable {
    /// Stores each event as pending, in one transaction, credited to its email in the reports
    /// at once. Returns, in order, whether each was stored (`false`: no such lead, or a
    /// client id stored before).
    func appendEvents(_ batch: [(lead: LeadReference, recording: RecordedEvent)], now: Date) async throws -> [Bool]

    /// Applies up to `limit` pending events, oldest first, in one transaction: each lead's
    /// events in the order they were stored, to one decoded state, then `settle` once (what
    /// came due while the events waited, and the next wake-up), written once. Events of a
    /// parked lead are kept and not decided. With several processes on one database, one of
    /// them applies at a time (the others' pass is ``PendingEventsPass/busy``).
    ///
    /// A due pass (``LeadDecisions/processDueLeads(now:limit:_:)``) leaves a lead with pending
    /// events to this one, so a wait that ends sees the clicks stored before it ended.
    func applyPendingEvents(limit: Int, now: Date,
                            decide: @Sendable (inout LeadState, Event) -> [Effect],
                            settle: @Sendable (inout LeadState) -> LeadChange) async throws -> PendingEventsPass

    /// How many events wait to be applied (the `nurture_events_pending` gauge).
    func pendingEventCount() async throws -> Int
}

/// What one ``EventInbox/applyPendingEvents(limit:now:decide:settle:)`` did.
public struct PendingEventsPass: Sendable, Equatable {
    /// Events decided.
    public var applied: Int
    /// Events of leads that are parked (or were parked by this pass): kept, not decided.
    public var skipped: Int
    /// What the decisions did, for the metrics and to wake the worker for queued sends.
    public var effects: [Effect]
    /// Leads parked by this pass (their state could not be read).
    public var parked: [ParkedLead]
    /// Another process was applying: this one did nothing.
    public var busy: Bool

    public init(applied: Int = 0, skipped: Int = 0, effects: [Effect] = [], parked: [ParkedLead] = [], busy: Bool = false) {
        self.applied = applied
        self.skipped = skipped
        self.effects = effects
        self.parked = parked
        self.busy = busy
    }

    /// Events taken from the pending ones by this pass.
    public var taken: Int { applied + skipped }

    /// Decides one lead's `events` in order on `state`, then settles it once, and counts them
    /// in this pass: the change a store writes for the lead. (Every store's pass does this.)
    public mutating func decide(_ events: [Event], state: inout LeadState,
                                decide: (inout LeadState, Event) -> [Effect],
                                settle: (inout LeadState) -> LeadChange) -> LeadChange {
        var effects: [Effect] = []
        for event in events { effects += decide(&state, event) }
        let settled = settle(&state)
        effects += settled.effects
        applied += events.count
        self.effects += effects
        return LeadChange(effects: effects, nextWake: settled.nextWake)
    }
}
