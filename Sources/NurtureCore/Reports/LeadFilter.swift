import Foundation

/// Which leads `nurture leads list` shows: every condition given must hold.
public struct LeadFilter: Sendable, Equatable {
    /// In this lifecycle stage.
    public var stage: String?
    /// Score (as of the lead's last change) at least this…
    public var minScore: Int?
    /// …and at most this.
    public var maxScore: Int?
    /// Enrolled in this sequence now.
    public var sequence: String?
    /// Carrying this tag.
    public var tag: String?
    /// Suppressed (true), not suppressed (false), either (nil). A lead is suppressed when it
    /// unsubscribed, bounced, complained or was suppressed by hand, or its address is on the
    /// suppression list.
    public var suppressed: Bool?
    /// Only leads with a store id greater than this (the next page).
    public var after: String?
    /// At most this many, by id.
    public var limit: Int

    public init(stage: String? = nil, minScore: Int? = nil, maxScore: Int? = nil, sequence: String? = nil, tag: String? = nil,
                suppressed: Bool? = nil, after: String? = nil, limit: Int = 100) {
        self.stage = stage
        self.minScore = minScore
        self.maxScore = maxScore
        self.sequence = sequence
        self.tag = tag
        self.suppressed = suppressed
        self.after = after
        self.limit = limit
    }
}

/// One line of the lead list.
public struct LeadSummary: Sendable, Equatable, Codable {
    public var id: String
    public var email: String
    public var stage: String
    /// As of the lead's last change (decay since is not applied).
    public var score: Int
    /// The sequence it is enrolled in now.
    public var sequence: String?
    public var tags: [String]
    /// `active`, or why it gets no marketing email (`unsubscribed`, `bounced`, `complained`, `manual`).
    public var status: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, email: String, stage: String, score: Int, sequence: String?, tags: [String], status: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.email = email
        self.stage = stage
        self.score = score
        self.sequence = sequence
        self.tags = tags
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
