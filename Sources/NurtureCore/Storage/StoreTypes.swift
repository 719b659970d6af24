import Foundation

/// An event to store along with a lead update.
public struct RecordedEvent: Sendable {
    public var event: Event
    public var clientID: String?
    public var sendID: Int64?
    /// Without a `sendID`: credit the event to the lead's latest email sent within this span
    /// before it (``AttributionRule``), if there is one.
    public var attributeWithin: TimeSpan?

    public init(_ event: Event, clientID: String? = nil, sendID: Int64? = nil, attributeWithin: TimeSpan? = nil) {
        self.event = event
        self.clientID = clientID
        self.sendID = sendID
        self.attributeWithin = attributeWithin
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

extension LeadDecisions {
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

    /// The stage a lead had before this change, given the one it has after: where a new lead
    /// entered the funnel.
    public func stageBefore(_ after: String) -> String {
        for effect in effects {
            if case .stageChanged(let change) = effect { return change.from }
        }
        return after
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
    /// The lead as it is now (`nil` if it was deleted), read with the claim: what delivery
    /// needs of its state.
    public var recipient: Recipient?
    /// Set when the lead's address is on the suppression list.
    public var addressSuppression: Suppression?
    /// The claim this worker holds on the send.
    public var lease: Lease

    public init(id: Int64, request: SendRequest, plannedAt: Date, attempts: Int, lease: Lease, recipient: Recipient? = nil, addressSuppression: Suppression? = nil) {
        self.id = id
        self.request = request
        self.plannedAt = plannedAt
        self.attempts = attempts
        self.lease = lease
        self.recipient = recipient
        self.addressSuppression = addressSuppression
    }

    /// What delivery needs of a lead's state: the lead (address, fields, stage) and whether
    /// it is suppressed. Decoded from the stored ``LeadState`` by its own keys (`lead`,
    /// `suppression`), so a claim reads these parts only, not the enrollments and history.
    public struct Recipient: Sendable, Equatable, Decodable {
        public var lead: Lead
        public var suppression: Suppression?

        public init(lead: Lead, suppression: Suppression? = nil) {
            self.lead = lead
            self.suppression = suppression
        }
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
    /// Stored and answered, not decided yet (``EventInbox``).
    public var pending: Bool
    /// Set aside, never decided, with the error (``EventInbox/setAsideOldestPending(reason:)``).
    public var setAside: String?

    public init(event: Event, recordedAt: Date, pending: Bool = false, setAside: String? = nil) {
        self.event = event
        self.recordedAt = recordedAt
        self.pending = pending
        self.setAside = setAside
    }
}

public struct StoreCounts: Sendable, Equatable {
    public var leads: Int
    public var dueLeads: Int
    public var queuedSends: Int
    public var sentSends: Int
    public var failedSends: Int
    public var parkedLeads: Int
    /// Leads in each stage now.
    public var leadsByStage: [String: Int]

    public init(leads: Int, dueLeads: Int, queuedSends: Int, sentSends: Int, failedSends: Int, parkedLeads: Int = 0, leadsByStage: [String: Int] = [:]) {
        self.leads = leads
        self.dueLeads = dueLeads
        self.queuedSends = queuedSends
        self.sentSends = sentSends
        self.failedSends = failedSends
        self.parkedLeads = parkedLeads
        self.leadsByStage = leadsByStage
    }
}
