/// How a lead earns and loses points: engagement rules on events, fit rules on profile
/// fields, and decay of engagement over time.
public struct ScoringModel: Sendable {
    public var engagement: [EngagementRule]
    public var fit: [FitRule]
    public var decay: Decay?
    /// The custom event types this workflow uses (`events:`), besides the built-in ones: an
    /// event named anywhere else must be one of the two, so a typo is caught, not ignored.
    public var customEvents: [String] = []

    public init(engagement: [EngagementRule] = [], fit: [FitRule] = [], decay: Decay? = nil) {
        self.engagement = engagement
        self.fit = fit
        self.decay = decay
    }
}

/// Points for an event (`email_clicked: +10`, `unsubscribed: -50`).
public struct EngagementRule: Sendable {
    /// Stable name for the score breakdown; defaults to the filter's description.
    public var id: String
    public var filter: EventFilter
    public var points: Int
    /// Award at most once per lead.
    public var once: Bool
    /// Cap on the total points this rule can give a lead (absolute value, for negative rules too).
    public var maxPerLead: Int?
    /// Whether these points fade with ``Decay`` (disqualifiers usually do not).
    public var decays: Bool
    public var location: SourceLocation

    public init(id: String? = nil, filter: EventFilter, points: Int, once: Bool = false, maxPerLead: Int? = nil, decays: Bool? = nil, location: SourceLocation = .none) {
        self.id = id ?? filter.description
        self.filter = filter
        self.points = points
        self.once = once
        self.maxPerLead = maxPerLead
        self.decays = decays ?? (points > 0)
        self.location = location
    }
}

/// Points for a profile field (`job_title matches /(?i)\bcto\b/: +15`).
public struct FitRule: Sendable {
    public var id: String
    public var field: String
    public var test: FieldTest
    public var points: Int
    public var location: SourceLocation

    public init(id: String? = nil, field: String, test: FieldTest, points: Int, location: SourceLocation = .none) {
        self.id = id ?? "\(field) \(test)"
        self.field = field
        self.test = test
        self.points = points
        self.location = location
    }
}

/// How engagement points fade.
public enum Decay: Sendable, Equatable {
    /// Decaying points halve every `TimeSpan`, continuously.
    case halfLife(TimeSpan)
    /// After `grace` without engagement, lose `points` per full `every` of inactivity,
    /// down to zero at most.
    case inactivity(points: Int, every: TimeSpan, grace: TimeSpan)
}
