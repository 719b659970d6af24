import Foundation

/// Reads and writes a lead's stored state in either ``LeadStateFormat``: the one place the
/// stores turn a `state` column into a ``LeadState`` (or the part of it they need) and back.
public struct LeadStateCoder: Sendable {
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder

    public init() {
        encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
    }

    /// The state's bytes in `format`; the row's `state_version` is `format.version`.
    public func encode(_ state: LeadState, as format: LeadStateFormat) throws -> Data {
        switch format {
        case .json: try encoder.encode(state)
        case .binary: Data(BinaryLeadState.encode(state))
        }
    }

    /// Reads a stored state (or the part of it `Part` is) written with `version`.
    /// - Throws: ``StoredStateError`` when the version is newer than this Nurture reads or the
    ///   bytes do not decode.
    public func decode<Part: StoredLeadStatePart>(_ part: Part.Type, from data: Data, version: Int) throws(StoredStateError) -> Part {
        switch LeadStateFormat(version: version) {
        case .json:
            do {
                return try decoder.decode(Part.self, from: data)
            } catch {
                throw .unreadable(detail: "\(error)")
            }
        case .binary:
            do {
                var reader = try BinaryLeadState.reader([UInt8](data))
                return try Part(readingBinaryState: &reader)
            } catch {
                throw .unreadable(detail: error.description)
            }
        case nil:
            if version > LeadStateFormat.newestVersion {
                throw .newerVersion(found: version, known: LeadStateFormat.newestVersion)
            }
            throw .unreadable(detail: "unknown state version \(version)")
        }
    }
}

extension LeadStateCoder {
    /// A stored state written again in `format`; `nil` when it does not read (a rewrite leaves
    /// it for the engine to park when it next looks at the lead).
    public func reencode(_ data: Data, version: Int, as format: LeadStateFormat) -> Data? {
        guard let state = try? decode(LeadState.self, from: data, version: version) else { return nil }
        return try? encode(state, as: format)
    }

    /// Rewrites stored states batch after batch, each batch its own transaction so the other
    /// processes' decisions go on between them: `batch` rewrites the states after the lead id
    /// it is given (in id order, up to a batch's worth) and returns how many it rewrote and the
    /// last id it looked at, `nil` when none was left. Passes over all the leads until one
    /// rewrites nothing: a state written the old way by a transaction that was still open
    /// when the pass went by is caught by the next.
    /// - Returns: how many states were rewritten.
    public static func rewriteInPasses(_ batch: (_ after: Int64) async throws -> (rewritten: Int, last: Int64?)) async throws -> Int {
        var total = 0
        while true {
            var pass = 0
            var after: Int64 = 0
            while true {
                let done = try await batch(after)
                pass += done.rewritten
                guard let last = done.last else { break }
                after = last
            }
            total += pass
            if pass == 0 { return total }
        }
    }
}

/// A ``LeadState``, or the part of one a store reads on its own (``OutboxSend/Recipient``),
/// in either format.
public protocol StoredLeadStatePart: Decodable {
    /// Reads the part from a binary state's record, skipping what it does not need (the
    /// reader is opaque outside this module: the layout is ``LeadStateCoder``'s to know).
    init(readingBinaryState reader: inout BinaryReader) throws(BinaryStateError)
}

extension LeadState: StoredLeadStatePart {
    public init(readingBinaryState reader: inout BinaryReader) throws(BinaryStateError) {
        try self.init(reading: &reader)
    }
}

extension OutboxSend.Recipient: StoredLeadStatePart {
    public init(readingBinaryState reader: inout BinaryReader) throws(BinaryStateError) {
        try self.init(readingState: &reader)
    }
}
