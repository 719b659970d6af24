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

    /// Takes the oldest pending event, and its lead's other pending events, out of the queue
    /// without deciding them, with `reason`: they stay stored and counted, marked set aside.
    /// For a lead whose pass fails every time it is tried alone (all of its pending events
    /// are decided on its one state), so the events after them are decided. Returns nil when
    /// no event is pending, or when another process is applying (it is left alone).
    func setAsideOldestPending(reason: String) async throws -> SetAsideEvents?

    /// How many events were set aside (the `nurture_events_set_aside` gauge).
    func setAsideEventCount() async throws -> Int

    /// The events set aside, newest first, at most `limit` (`nurture events set-aside`).
    func setAsideEvents(limit: Int) async throws -> [SetAsideRecord]

    /// Puts set-aside events back in the queue, to be decided by the next pass (every one
    /// when `ids` is empty). Returns how many.
    func requeueSetAsideEvents(ids: [Int64]) async throws -> Int
}

/// An event set aside: stored and counted, not decided.
public struct SetAsideRecord: Sendable, Equatable, Codable {
    public var id: Int64
    public var leadID: Int64
    public var email: String
    public var type: String
    public var at: Date
    /// The error of the pass that failed with it alone.
    public var reason: String

    public init(id: Int64, leadID: Int64, email: String, type: String, at: Date, reason: String) {
        self.id = id
        self.leadID = leadID
        self.email = email
        self.type = type
        self.at = at
        self.reason = reason
    }
}

/// What ``EventInbox/setAsideOldestPending(reason:)`` took out of the queue.
public struct SetAsideEvents: Sendable, Equatable {
    /// The lead whose pending events they were.
    public var lead: Int64
    /// The oldest of them, the one at the head of the queue.
    public var oldest: Int64
    /// How many were set aside.
    public var count: Int

    public init(lead: Int64, oldest: Int64, count: Int) {
        self.lead = lead
        self.oldest = oldest
        self.count = count
    }
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
