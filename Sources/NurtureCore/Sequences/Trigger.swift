/// What starts an event-triggered sequence: an event (a person's, never a machine's), with
/// tests on its properties. Such a sequence runs beside the funnel: it is not a stage's
/// sequence, and a lead enters it when the event happens, whatever sequence it is in.
public struct Trigger: Sendable {
    public var filter: EventFilter
    public var mode: Mode
    public var location: SourceLocation

    /// What happens to the sequence the lead is in when the trigger fires.
    public enum Mode: String, Sendable, CaseIterable {
        /// It waits, and resumes where it was when the triggered sequence ends (its waits
        /// shifted by the pause). The default.
        case pause
        /// It ends for good (the triggered sequence replaces it).
        case replace
    }

    public init(filter: EventFilter, mode: Mode = .pause, location: SourceLocation = .none) {
        self.filter = filter
        self.mode = mode
        self.location = location
    }
}
