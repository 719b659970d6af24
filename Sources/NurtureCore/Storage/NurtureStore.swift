import Foundation

/// The storage port: what the scheduler, the delivery workers, the tracking server and the
/// CLI need from a database. SQLite implements it (`NurtureSQLite`); PostgreSQL can follow.
///
/// Lead updates take a closure that runs inside the store's write transaction, so reading a
/// lead's state, deciding (with the pure engine) and writing the result — new state, next
/// wake-up, queued sends, history — is one atomic step: two workers never decide for the same
/// lead at once, and a crash never leaves half a decision.
public protocol NurtureStore: Sendable {
    /// Creates or updates leads by email, in one transaction. `body` gets the lead's id (new
    /// leads get one first), its address, the address's suppression if any, and its state
    /// (`nil` for a new lead, which `body` must create).
    func upsertLeads(_ emails: [String], now: Date, _ body: @Sendable (String, String, Suppression?, inout LeadState?) -> LeadChange) async throws -> UpsertResult

    /// Runs `body` on one lead (by id or email) in a transaction. `recording`, when given, is
    /// stored in the same transaction first: an event, its decision and all its effects
    /// (stage, enrollment, suppression) are written together or not at all. A recording whose
    /// client id was stored before is a duplicate: nothing is written and `body` does not run.
    func updateLead(_ reference: LeadReference, now: Date, recording: RecordedEvent?, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> LeadUpdate

    /// Records each event and lets `decide` act on it, for many leads in one transaction (group
    /// commit for the tracking server): events of the same lead are applied in order to one
    /// decoded state, which is written once. Returns each event's change, in order (`nil` for
    /// an unknown lead).
    func applyEvents(_ batch: [(lead: LeadReference, recording: RecordedEvent)], now: Date,
                     decide: @Sendable (inout LeadState, Event) -> [Effect],
                     nextWake: @Sendable (LeadState) -> Date?) async throws -> [LeadChange?]

    /// Runs `body` on up to `limit` leads whose next wake-up is due, oldest first, found by
    /// index (never by scanning leads). A lead whose stored state cannot be read is parked
    /// (see ``ParkedLead``) and the others go on.
    func processDueLeads(now: Date, limit: Int, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> DuePass

    /// The soonest next wake-up of any lead, for the scheduler's sleep.
    func nextWake() async throws -> Date?

    func lead(_ reference: LeadReference) async throws -> LeadState?

    // MARK: Outbox

    /// Takes up to `limit` queued sends that are due, leases them to `worker` until
    /// `now + duration` with a new fencing epoch each, and returns them. Sends whose lease
    /// has run out go back to the queue first.
    func claimSends(now: Date, limit: Int, worker: WorkerIdentity, duration: TimeSpan) async throws -> [OutboxSend]

    /// Records what happened to claimed sends, in one transaction. A result whose lease is
    /// no longer current (it expired and the send was claimed again) changes nothing.
    /// - Returns: how many results were refused as stale.
    @discardableResult
    func completeSends(_ results: [(send: OutboxSend, result: SendResult)], now: Date) async throws -> Int

    /// Gives back sends claimed and not started (a worker stopping): queued again at once,
    /// without an attempt. Stale leases are ignored.
    func releaseSends(_ sends: [OutboxSend], now: Date) async throws

    // MARK: Workers

    /// Records a worker's start (or its heartbeat) and renews the leases it holds to
    /// `now + duration`.
    func heartbeat(_ worker: WorkerIdentity, now: Date, duration: TimeSpan) async throws

    /// Finds workers that are gone — a heartbeat older than `deadAfter`, or, on this host,
    /// a process that no longer runs (`isRunning(pid)` false) — and gives their sends back
    /// to the queue at once. - Returns: how many sends came back.
    @discardableResult
    func recoverDeadWorkers(now: Date, deadAfter: TimeSpan, host: String, isRunning: @Sendable (Int32) -> Bool) async throws -> Int

    /// A worker that stops: its remaining leases are given back and its record removed.
    func retire(_ worker: WorkerIdentity, now: Date) async throws

    /// The soonest time a queued send becomes due.
    func nextSendDue() async throws -> Date?

    // MARK: Events and suppressions

    /// A sent email, by the send id in its tracking tokens or by its Message-ID.
    func sentEmail(tokenID: String) async throws -> SentEmail?
    func sentEmail(messageID: String) async throws -> SentEmail?


    /// Marks an address as never to receive marketing email again (survives re-imports).
    func suppress(email: String, reason: Suppression, now: Date) async throws
    func suppression(email: String) async throws -> Suppression?

    // MARK: Reading

    func details(_ reference: LeadReference, recent: Int) async throws -> LeadDetails?
    /// Counts for metrics; `dueLeads` are those due at `now`.
    func counts(now: Date) async throws -> StoreCounts
}

/// An event to store along with a lead update.
public struct RecordedEvent: Sendable {
    public var event: Event
    public var clientID: String?
    public var sendID: Int64?

    public init(_ event: Event, clientID: String? = nil, sendID: Int64? = nil) {
        self.event = event
        self.clientID = clientID
        self.sendID = sendID
    }
}

/// What became of a lead update.
public enum LeadUpdate: Sendable {
    /// There is no such lead.
    case unknownLead
    /// The recording's client id was seen before: nothing was written.
    case duplicate
    /// The lead is parked (its state cannot be read): the recording was kept, nothing decided.
    case parked
    /// Decided and written.
    case changed(LeadChange)

    /// The change, when there was one.
    public var change: LeadChange? {
        if case .changed(let change) = self { change } else { nil }
    }
}

extension NurtureStore {
    /// Runs `body` on one lead; `nil` when there is no such lead (or it is parked).
    public func updateLead(_ reference: LeadReference, now: Date, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> LeadChange? {
        try await updateLead(reference, now: now, recording: nil, body).change
    }
}

/// An email that went out, as the tracking server needs it.
public struct SentEmail: Sendable, Equatable {
    public var id: Int64
    public var leadID: String
    public var key: SendKey
    public var sentAt: Date?
    public var links: Int
    public var messageID: String?
    /// What was sent, to show it again (the web view).
    public var template: String
    public var subject: String?
    public var tracking: Bool

    public init(id: Int64, leadID: String, key: SendKey, sentAt: Date?, links: Int, messageID: String?, template: String = "", subject: String? = nil, tracking: Bool = true) {
        self.id = id
        self.leadID = leadID
        self.key = key
        self.sentAt = sentAt
        self.links = links
        self.messageID = messageID
        self.template = template
        self.subject = subject
        self.tracking = tracking
    }
}

/// A lead by store id or by email address.
public enum LeadReference: Sendable, Hashable {
    case id(String)
    case email(String)
}

/// What a lead update decided: its effects (persisted as sends and history) and when the
/// lead next needs the engine.
public struct LeadChange: Sendable {
    public var effects: [Effect]
    public var nextWake: Date?

    public init(effects: [Effect], nextWake: Date?) {
        self.effects = effects
        self.nextWake = nextWake
    }
}

public struct UpsertResult: Sendable, Equatable {
    public var created: Int
    public var updated: Int
    public var sendsQueued: Int
    /// Known leads left alone because they are parked (their stored state cannot be read).
    public var parked: Int

    public init(created: Int = 0, updated: Int = 0, sendsQueued: Int = 0, parked: Int = 0) {
        self.created = created
        self.updated = updated
        self.sendsQueued = sendsQueued
        self.parked = parked
    }
}

/// What one batch of due leads came to.
public struct DuePass: Sendable, Equatable {
    /// Leads read (decided for, or parked).
    public var processed: Int
    /// Leads parked by this batch.
    public var parked: [ParkedLead]

    public init(processed: Int, parked: [ParkedLead] = []) {
        self.processed = processed
        self.parked = parked
    }
}

/// A lead set aside because its stored state cannot be read (corrupted, or written by a
/// newer Nurture): it gets no decision and no email until an operator mends it, and never
/// stops the other leads.
public struct ParkedLead: Sendable, Equatable {
    public var id: String
    public var email: String
    public var error: String

    public init(id: String, email: String, error: String) {
        self.id = id
        self.email = email
        self.error = error
    }
}

/// Errors a store reports about the data it holds.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The lead is parked: its state cannot be read.
    case parked(ParkedLead)

    public var description: String {
        switch self {
        case .parked(let lead): "lead \(lead.email) (id \(lead.id)) is parked: its stored state cannot be read (\(lead.error))"
        }
    }
}

/// A queued email, as a delivery worker claims it.
public struct OutboxSend: Sendable, Equatable {
    public var id: Int64
    public var request: SendRequest
    /// When the engine decided to send it (the message's Date).
    public var plannedAt: Date
    /// Attempts before this one.
    public var attempts: Int
    /// The lead as it is now (`nil` if it was deleted), read with the claim.
    public var lead: LeadState?
    /// Set when the lead's address is on the suppression list.
    public var addressSuppression: Suppression?
    /// The claim this worker holds on the send.
    public var lease: Lease

    public init(id: Int64, request: SendRequest, plannedAt: Date, attempts: Int, lease: Lease, lead: LeadState? = nil, addressSuppression: Suppression? = nil) {
        self.id = id
        self.request = request
        self.plannedAt = plannedAt
        self.attempts = attempts
        self.lease = lease
        self.lead = lead
        self.addressSuppression = addressSuppression
    }
}

/// The end of one delivery attempt.
public enum SendResult: Sendable, Equatable {
    /// Accepted by the relay. `tokenID` is the send id its tracking tokens carry (hex) and
    /// `links` how many tracked links it has, for the tracking server.
    case sent(messageID: String, reply: String, tokenID: String? = nil, links: Int = 0)
    /// Try again at this time.
    case retry(at: Date, reply: String)
    /// Given up: a permanent refusal, or too many attempts.
    case failed(reply: String)
    /// Not sent on purpose (the lead is suppressed).
    case skipped(reason: String)
    /// Not tried now (e.g. a retry that fell outside the send window): queued again for
    /// `until`, without counting an attempt.
    case deferred(until: Date, reason: String)
}

/// Everything `nurture leads show` prints.
public struct LeadDetails: Sendable {
    public var state: LeadState
    public var nextWake: Date?
    public var sends: [SendRecord]
    public var events: [StoredEvent]

    public init(state: LeadState, nextWake: Date?, sends: [SendRecord], events: [StoredEvent]) {
        self.state = state
        self.nextWake = nextWake
        self.sends = sends
        self.events = events
    }
}

public struct SendRecord: Sendable, Equatable {
    public var key: SendKey
    public var template: String
    public var status: String
    public var attempts: Int
    public var plannedAt: Date
    public var sentAt: Date?
    public var messageID: String?
    public var reply: String?

    public init(key: SendKey, template: String, status: String, attempts: Int, plannedAt: Date, sentAt: Date?, messageID: String?, reply: String?) {
        self.key = key
        self.template = template
        self.status = status
        self.attempts = attempts
        self.plannedAt = plannedAt
        self.sentAt = sentAt
        self.messageID = messageID
        self.reply = reply
    }
}

public struct StoredEvent: Sendable, Equatable {
    public var event: Event
    public var recordedAt: Date

    public init(event: Event, recordedAt: Date) {
        self.event = event
        self.recordedAt = recordedAt
    }
}

public struct StoreCounts: Sendable, Equatable {
    public var leads: Int
    public var dueLeads: Int
    public var queuedSends: Int
    public var sentSends: Int
    public var failedSends: Int
    public var parkedLeads: Int

    public init(leads: Int, dueLeads: Int, queuedSends: Int, sentSends: Int, failedSends: Int, parkedLeads: Int = 0) {
        self.leads = leads
        self.dueLeads = dueLeads
        self.queuedSends = queuedSends
        self.sentSends = sentSends
        self.failedSends = failedSends
        self.parkedLeads = parkedLeads
    }
}
