/// A drip sequence: the steps a lead in one stage goes through.
public struct Sequence: Sendable {
    public var id: String
    /// The stage whose leads enroll in this sequence. For an event-triggered sequence: the
    /// stage a lead must be in for the trigger to start it, or empty for any stage.
    public var stage: String
    /// The event that starts this sequence (an event-triggered sequence), or `nil` for a
    /// stage's sequence.
    public var trigger: Trigger?
    public var description: String?
    /// Only leads that pass this enroll (e.g. `job_title matches cto` for a technical track).
    public var audience: Condition?
    /// When a stage has several sequences, a lead enrolls in the first (lowest priority
    /// number, then file order) whose audience it passes and whose re-entry rule allows it.
    public var priority: Int
    /// Click and open tracking in this sequence's emails.
    public var tracking: Bool
    /// The open pixel in this sequence's emails (when ``tracking`` is on): off, only clicks
    /// count as opens (`open_tracking: false`).
    public var openTracking = true
    /// Overrides the workflow's default send window.
    public var sendWindow: SendWindow?
    /// Header fields added to this sequence's emails (over the deployment's of the same name);
    /// values may name the send: `{{sequence}}`, `{{step}}`, `{{template}}`, `{{stage}}`.
    public var headers: [MessageHeader] = []
    public var reEntry: ReEntry
    /// Events that end the enrollment wherever the lead is (conversion goals).
    public var goals: [Goal]
    public var steps: [Step]
    public var location: SourceLocation

    public init(
        id: String, stage: String, description: String? = nil, audience: Condition? = nil, priority: Int = 100,
        tracking: Bool = true, sendWindow: SendWindow? = nil, reEntry: ReEntry = .never, goals: [Goal] = [],
        steps: [Step], location: SourceLocation = .none
    ) {
        self.id = id
        self.stage = stage
        self.description = description
        self.audience = audience
        self.priority = priority
        self.tracking = tracking
        self.sendWindow = sendWindow
        self.reEntry = reEntry
        self.goals = goals
        self.steps = steps
        self.location = location
    }

    public func index(of step: String) -> Int? { steps.firstIndex { $0.id == step } }
}

/// Whether a lead may go through a sequence again.
public enum ReEntry: Sendable, Equatable {
    case never
    case always
    /// Once this long has passed since its last enrollment ended.
    case after(TimeSpan)
}

/// An event that ends an enrollment (or sends it to a step) as soon as it happens.
public struct Goal: Sendable {
    public var filter: EventFilter
    public var then: StepTarget
    public var location: SourceLocation

    public init(filter: EventFilter, then: StepTarget = .exit, location: SourceLocation = .none) {
        self.filter = filter
        self.then = then
        self.location = location
    }
}
