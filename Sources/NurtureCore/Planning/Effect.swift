import Foundation

/// What the engine decided, in order. The scheduler carries out ``send(_:)``; every effect is
/// also a line of the lead's timeline (the dry-run prints them).
public enum Effect: Sendable, Equatable {
    /// Render and send this email now.
    case send(SendRequest)
    case scored(event: String, ScoreChange)
    case stageChanged(StageChange)
    case enrolled(sequence: String, number: Int)
    case enrollmentEnded(sequence: String, reason: String)
    /// An event-triggered sequence started; the lead's sequence waits for it to end.
    case enrollmentPaused(sequence: String, by: String)
    /// The triggered sequence ended; the paused one goes on where it was.
    case enrollmentResumed(sequence: String)
    /// A wait step started; it ends at `until`.
    case waiting(step: String, until: Date, reason: String)
    /// A branch or `if` decided.
    case decided(step: String, target: StepTarget, reason: String)
    /// A send was put off: outside the send window, or the frequency cap is reached.
    case deferred(step: String, until: Date, reason: String)
    case fieldSet(String, String)
    case tagAdded(String)
    case tagRemoved(String)
    case goalReached(sequence: String, goal: String)
    case suppressed(Suppression)
    /// Nothing fit: no sequence of the stage accepts the lead (audience, re-entry).
    case notEnrolled(stage: String, reason: String)
}

/// One email to send, identified by its ``SendKey`` (the idempotency key).
public struct SendRequest: Sendable, Equatable {
    public var key: SendKey
    public var template: String
    /// A Mustache subject replacing the template's own.
    public var subject: String?
    public var tracking: Bool
    /// The A/B variant this lead gets, when the step has variants (its template and subject
    /// are already the variant's).
    public var variant: String?

    public init(key: SendKey, template: String, subject: String?, tracking: Bool, variant: String? = nil) {
        self.key = key
        self.template = template
        self.subject = subject
        self.tracking = tracking
        self.variant = variant
    }
}
