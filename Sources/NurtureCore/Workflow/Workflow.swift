/// Everything in a `Workflows/` folder: the funnel, the scoring model, the sequences and
/// the settings they share.
public struct Workflow: Sendable {
    public var funnel: Funnel
    public var scoring: ScoringModel
    public var sequences: [Sequence]
    public var settings: Settings

    public init(funnel: Funnel, scoring: ScoringModel, sequences: [Sequence], settings: Settings = Settings()) {
        self.funnel = funnel
        self.scoring = scoring
        self.sequences = sequences
        self.settings = settings
    }

    /// Shared defaults.
    public struct Settings: Sendable {
        /// For leads without a time zone.
        public var defaultTimeZone: String
        /// For sequences without their own.
        public var sendWindow: SendWindow?
        public var frequencyCap: FrequencyCap?

        public init(defaultTimeZone: String = "UTC", sendWindow: SendWindow? = nil, frequencyCap: FrequencyCap? = nil) {
            self.defaultTimeZone = defaultTimeZone
            self.sendWindow = sendWindow
            self.frequencyCap = frequencyCap
        }
    }

    public func sequence(_ id: String) -> Sequence? { sequences.first { $0.id == id } }

    /// The event types this workflow knows: the built-in ones and those scoring.yaml declares.
    public var knownEvents: [String] { Event.Kind.builtIn + scoring.customEvents }

    /// "unknown event 'x'; did you mean 'y'? (…)", or `nil` for a known event type.
    public func unknownEvent(_ type: String) -> String? {
        guard !knownEvents.contains(type) else { return nil }
        return "unknown event '\(type)'\(Spelling.hint(for: type, among: knownEvents)) (built in: \(Event.Kind.builtIn.joined(separator: ", "))\(scoring.customEvents.isEmpty ? "" : "; declared: " + scoring.customEvents.joined(separator: ", "))); declare a custom event in scoring.yaml's events: list"
    }

    /// Every condition the sequences hold: their audiences and their `if` steps.
    public var conditions: [Condition] {
        sequences.flatMap { sequence in
            [sequence.audience].compactMap { $0 } + sequence.steps.compactMap { step in
                if case .if(let condition, _, _) = step.kind { return condition }
                return nil
            }
        }
    }

    /// The sequences of a stage in enrollment order (priority, then file order).
    public func sequences(for stage: String) -> [Sequence] {
        // The stage's own sequences, in priority order; event-triggered ones are not among them.
        sequences.enumerated().filter { $0.element.stage == stage && $0.element.trigger == nil }
            .sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }
            .map(\.element)
    }
}
