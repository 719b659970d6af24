/// One version of a send step in an A/B test: its own template and/or subject, and its share
/// of the leads (`weight`, relative to the step's other variants; 0 turns it off).
public struct Variant: Sendable, Equatable {
    public var id: String
    /// Replaces the step's template; `nil`: the step's.
    public var template: String?
    /// Replaces the step's subject; `nil`: the step's (or the template's own).
    public var subject: String?
    public var weight: Int

    public init(id: String, template: String? = nil, subject: String? = nil, weight: Int) {
        self.id = id
        self.template = template
        self.subject = subject
        self.weight = weight
    }

    /// The variant a lead gets: the same every time for this lead, sequence and step (an
    /// FNV-1a hash of the three, stable across processes and versions, into the weights), and
    /// independent between steps. `nil` when no variant has weight.
    public static func assigned(_ variants: [Variant], lead: String, sequence: String, step: String) -> Variant? {
        let total = variants.reduce(0) { $0 + max(0, $1.weight) }
        guard total > 0 else { return nil }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(lead)\u{0}\(sequence)\u{0}\(step)".utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        // Mixed once more (murmur's finalizer): FNV's low bits alone are not uniform enough
        // for small weights.
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        var point = Int(hash % UInt64(total))
        for variant in variants where variant.weight > 0 {
            if point < variant.weight { return variant }
            point -= variant.weight
        }
        return nil
    }
}
