/// Why a lead's stored state cannot be read; the store parks the lead with this error
/// (see ``ParkedLead``). The same for every storage adapter.
public enum StoredStateError: Error, Equatable, CustomStringConvertible {
    /// Written by a newer Nurture, whose state version this one does not know.
    case newerVersion(found: Int, known: Int)
    /// The bytes do not decode (a damaged row).
    case unreadable(detail: String)

    public var description: String {
        switch self {
        case .newerVersion(let found, let known): "\(Self.newerVersionPrefix)\(found) is newer than this Nurture reads (\(known)): upgrade nurture"
        case .unreadable(let detail): "the state does not decode: \(detail.prefix(300))"
        }
    }
}
