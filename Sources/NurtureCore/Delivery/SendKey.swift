/// Identifies one send: this lead, this sequence step, in this enrollment.
///
/// It is the idempotency key of a send: a retry, or a repeat after a crash, has the same
/// key, hence the same Message-ID and the same tracking tokens.
public struct SendKey: Hashable, Sendable, CustomStringConvertible {
    public var leadID: String
    public var sequence: String
    public var step: String
    /// Which enrollment of the lead in the sequence (re-entry makes a new one).
    public var enrollment: Int

    public init(leadID: String, sequence: String, step: String, enrollment: Int) {
        self.leadID = leadID
        self.sequence = sequence
        self.step = step
        self.enrollment = enrollment
    }

    /// `lead/sequence/step/enrollment`, the canonical form that is hashed and stored.
    public var description: String { "\(leadID)/\(sequence)/\(step)/\(enrollment)" }
}
