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
    /// Which time the step sends within the enrollment: 1, then 2, 3… when a loop (`goto`)
    /// comes back to it. Each occurrence is its own email.
    public var occurrence: Int

    public init(leadID: String, sequence: String, step: String, enrollment: Int, occurrence: Int = 1) {
        self.leadID = leadID
        self.sequence = sequence
        self.step = step
        self.enrollment = enrollment
        self.occurrence = occurrence
    }

    /// `lead/sequence/step/enrollment` (and `/occurrence` from the second one), the canonical
    /// form that is hashed and stored. The first occurrence's form predates loops, so the
    /// Message-IDs and tokens of emails queued before them stay the same.
    public var description: String {
        occurrence == 1 ? "\(leadID)/\(sequence)/\(step)/\(enrollment)" : "\(leadID)/\(sequence)/\(step)/\(enrollment)/\(occurrence)"
    }
}
