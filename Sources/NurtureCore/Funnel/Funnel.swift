/// The lifecycle: ordered stages, how a lead qualifies for each, and how it is recycled.
public struct Funnel: Sendable {
    public var stages: [Stage]
    public var recycleRules: [RecycleRule]

    public init(stages: [Stage], recycleRules: [RecycleRule] = []) {
        self.stages = stages
        self.recycleRules = recycleRules
    }

    /// The five default stages, with no criteria.
    public static let defaultStageNames = ["lead", "mql", "sql", "opportunity", "customer"]

    public func index(of stage: String) -> Int? { stages.firstIndex { $0.name == stage } }
    public func stage(named name: String) -> Stage? { stages.first { $0.name == name } }

    /// Every event filter that some stage requires (the milestones worth remembering).
    public var requiredEvents: [EventFilter] { stages.flatMap { $0.entry?.requiresAny ?? [] } }
}

/// One lifecycle stage.
public struct Stage: Sendable {
    public var name: String
    public var description: String?
    /// How a lead qualifies automatically; `nil` for the first stage and manual stages.
    public var entry: EntryCriteria?
    /// Only an operator, the API or a `stage` step moves a lead here; thresholds never do.
    public var manual: Bool
    public var location: SourceLocation

    public init(name: String, description: String? = nil, entry: EntryCriteria? = nil, manual: Bool = false, location: SourceLocation = .none) {
        self.name = name
        self.description = description
        self.entry = entry
        self.manual = manual
        self.location = location
    }
}

/// What qualifies a lead for a stage: all the given thresholds, and at least one of the
/// required events if any are listed.
public struct EntryCriteria: Sendable {
    public var scoreAtLeast: Int?
    public var fitAtLeast: Int?
    public var engagementAtLeast: Int?
    /// At least one of these must have happened (e.g. a quote request or a reply).
    public var requiresAny: [EventFilter]
    /// Extra conditions on the lead (fields, tags).
    public var condition: Condition?
    public var location: SourceLocation

    public init(
        scoreAtLeast: Int? = nil, fitAtLeast: Int? = nil, engagementAtLeast: Int? = nil,
        requiresAny: [EventFilter] = [], condition: Condition? = nil, location: SourceLocation = .none
    ) {
        self.scoreAtLeast = scoreAtLeast
        self.fitAtLeast = fitAtLeast
        self.engagementAtLeast = engagementAtLeast
        self.requiresAny = requiresAny
        self.condition = condition
        self.location = location
    }

    /// Whether `lead` qualifies; `milestones` are the required-event filters it has met.
    public func isMet(by lead: Lead, milestones: Set<String>) -> Bool {
        if let n = scoreAtLeast, lead.score < n { return false }
        if let n = fitAtLeast, lead.fitScore < n { return false }
        if let n = engagementAtLeast, lead.engagementScore < n { return false }
        if !requiresAny.isEmpty, !requiresAny.contains(where: { milestones.contains($0.description) }) { return false }
        if let condition, !condition.evaluate(lead) { return false }
        return true
    }

    /// `score ≥ 70 and (form_submitted where form is 'quote' or replied)`.
    public var description: String {
        var parts: [String] = []
        if let n = scoreAtLeast { parts.append("score ≥ \(n)") }
        if let n = fitAtLeast { parts.append("fit ≥ \(n)") }
        if let n = engagementAtLeast { parts.append("engagement ≥ \(n)") }
        if !requiresAny.isEmpty { parts.append(requiresAny.count == 1 ? requiresAny[0].description : "(" + requiresAny.map(\.description).joined(separator: " or ") + ")") }
        if let condition { parts.append(condition.description) }
        return parts.joined(separator: " and ")
    }
}

/// Sends a lead back to an earlier stage when it goes cold.
public struct RecycleRule: Sendable {
    public var from: String
    public var to: String
    /// No engagement for this long.
    public var afterInactive: TimeSpan
    /// Only when the score has also fallen below this.
    public var whenScoreBelow: Int?
    /// A tag added on recycling (e.g. `recycled`), so sequences can address these leads.
    public var tag: String?
    public var location: SourceLocation

    public init(from: String, to: String, afterInactive: TimeSpan, whenScoreBelow: Int? = nil, tag: String? = nil, location: SourceLocation = .none) {
        self.from = from
        self.to = to
        self.afterInactive = afterInactive
        self.whenScoreBelow = whenScoreBelow
        self.tag = tag
        self.location = location
    }
}
