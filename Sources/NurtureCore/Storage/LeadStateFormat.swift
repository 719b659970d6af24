/// How a store writes lead states, each row's `state_version` saying which one it holds.
///
/// Every version of Nurture since the binary state reads both. Which one it *writes* is a
/// setting of the database (``SchemaMigrating/leadStateFormat()``), so that several processes on one
/// PostgreSQL database can be upgraded one at a time: an older Nurture reads only JSON and
/// parks a lead whose state it cannot read, so binary is turned on once none is left.
public enum LeadStateFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// JSON text (state version 1): what every Nurture reads.
    case json
    /// ``LeadState``'s binary layout (state version 2): several times cheaper to read and write.
    case binary

    /// The `state_version` of a row written in this format.
    public var version: Int {
        switch self {
        case .json: 1
        case .binary: 2
        }
    }

    /// The format of a row with this `state_version`, if this Nurture knows it.
    public init?(version: Int) {
        switch version {
        case 1: self = .json
        case 2: self = .binary
        default: return nil
        }
    }

    /// The largest `state_version` this Nurture reads.
    public static let newestVersion = 2

    public var description: String { rawValue }
}
