import Foundation

/// Reads what ``BinaryWriter`` wrote, checking every length against the bytes there are, and
/// every value (finite numbers, dates in range, UTF-8 strings): a damaged state is an error
/// (the store parks the lead), never a crash. Opaque outside this module (see
/// ``StoredLeadStatePart``).
public struct BinaryReader {
    private let bytes: [UInt8]
    private var position: Int
    private let end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        position = 0
        end = bytes.count
    }

    private init(bytes: [UInt8], position: Int, end: Int) {
        self.bytes = bytes
        self.position = position
        self.end = end
    }

    var isAtEnd: Bool { position >= end }

    /// Fails with what was being read and where.
    func failure(_ what: String) -> BinaryStateError {
        BinaryStateError(detail: "\(what) at byte \(position)")
    }

    mutating func byte() throws(BinaryStateError) -> UInt8 {
        guard position < end else { throw failure("the state ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws(BinaryStateError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try byte()
            guard shift < 64 else { throw failure("a varint longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    mutating func int() throws(BinaryStateError) -> Int {
        let raw = try varint()
        let value = Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
        guard let int = Int(exactly: value) else { throw failure("an integer too large for this machine") }
        return int
    }

    /// A finite double: no state holds an infinity or a NaN, which no store could write back.
    mutating func double() throws(BinaryStateError) -> Double {
        guard end - position >= 8 else { throw failure("the state ends inside a number") }
        var bits: UInt64 = 0
        for index in 0..<8 { bits |= UInt64(bytes[position + index]) << (8 * UInt64(index)) }
        let value = Double(bitPattern: bits)
        guard value.isFinite else { throw failure("a number that is not finite") }
        position += 8
        return value
    }

    /// A date within a few thousand years of now, which every store can write back (PostgreSQL's
    /// `timestamptz` ends in the year 294276).
    mutating func date() throws(BinaryStateError) -> Date {
        let seconds = try double()
        guard abs(seconds) < 1e11 else { throw failure("a date \(seconds) s from 2001") }
        return Date(timeIntervalSinceReferenceDate: seconds)
    }

    /// Valid UTF-8 only: a damaged string is an error, not replacement characters.
    mutating func string() throws(BinaryStateError) -> String {
        // Two statements: in `length(try varint())` the check would see `self` as it was
        // before the varint moved the position.
        let raw = try varint()
        let length = try length(raw)
        guard let string = String(validating: bytes[position..<position + length], as: UTF8.self) else {
            throw failure("a string that is not UTF-8")
        }
        position += length
        return string
    }

    /// A reader over the next block (a nested record or a collection); this one moves past it.
    mutating func block() throws(BinaryStateError) -> BinaryReader {
        guard end - position >= 4 else { throw failure("the state ends inside a length") }
        let raw = UInt64(bytes[position]) | UInt64(bytes[position + 1]) << 8 | UInt64(bytes[position + 2]) << 16 | UInt64(bytes[position + 3]) << 24
        position += 4
        let length = try length(raw)
        defer { position += length }
        return BinaryReader(bytes: bytes, position: position, end: position + length)
    }

    /// The count at the start of a collection, no larger than the bytes left (every element
    /// takes at least one): a damaged count cannot ask for a huge allocation.
    mutating func count() throws(BinaryStateError) -> Int {
        let count = try varint()
        guard count <= UInt64(end - position) else { throw failure("a count of \(count) with \(end - position) bytes left") }
        return Int(count)
    }

    private func length(_ raw: UInt64) throws(BinaryStateError) -> Int {
        guard raw <= UInt64(end - position) else { throw failure("a length of \(raw) with \(end - position) bytes left") }
        return Int(raw)
    }

    // MARK: Fields

    /// The next field's number and wire type; `nil` at the end of the record.
    mutating func nextField() throws(BinaryStateError) -> (number: Int, wire: BinaryWire)? {
        guard !isAtEnd else { return nil }
        let tag = try varint()
        guard let wire = BinaryWire(rawValue: UInt8(tag & 7)) else { throw failure("an unknown wire type \(tag & 7)") }
        guard tag >> 3 <= UInt64(Int32.max) else { throw failure("a field number too large") }
        return (Int(tag >> 3), wire)
    }

    /// Moves past a field this version does not know (written by a newer one).
    mutating func skip(_ wire: BinaryWire) throws(BinaryStateError) {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64: _ = try double()
        case .string:
            let raw = try varint()
            position += try length(raw)
        case .block: _ = try block()
        }
    }

    /// Checks that field `number` has the wire type this version writes it with.
    func expect(_ wire: BinaryWire, _ expected: BinaryWire, field number: Int, in record: String) throws(BinaryStateError) {
        guard wire == expected else { throw failure("field \(number) of \(record) has wire type \(wire.rawValue), expected \(expected.rawValue)") }
    }

    mutating func int(_ wire: BinaryWire, field: Int, in record: String) throws(BinaryStateError) -> Int {
        try expect(wire, .varint, field: field, in: record)
        return try int()
    }

    mutating func bool(_ wire: BinaryWire, field: Int, in record: String) throws(BinaryStateError) -> Bool {
        try expect(wire, .varint, field: field, in: record)
        return try varint() != 0
    }

    mutating func double(_ wire: BinaryWire, field: Int, in record: String) throws(BinaryStateError) -> Double {
        try expect(wire, .fixed64, field: field, in: record)
        return try double()
    }

    mutating func date(_ wire: BinaryWire, field: Int, in record: String) throws(BinaryStateError) -> Date {
        try expect(wire, .fixed64, field: field, in: record)
        return try date()
    }

    mutating func string(_ wire: BinaryWire, field: Int, in record: String) throws(BinaryStateError) -> String {
        try expect(wire, .string, field: field, in: record)
        return try string()
    }

    mutating func block(_ wire: BinaryWire, field: Int, in record: String) throws(BinaryStateError) -> BinaryReader {
        try expect(wire, .block, field: field, in: record)
        return try block()
    }

    /// A map field: each entry a string key, then its value as `value` reads it.
    mutating func map<Value>(_ wire: BinaryWire, field: Int, in record: String, _ value: (inout BinaryReader) throws(BinaryStateError) -> Value) throws(BinaryStateError) -> [String: Value] {
        var map: [String: Value] = [:]
        try each(wire, field: field, in: record) { (r: inout BinaryReader) throws(BinaryStateError) in
            let key = try r.string()
            map[key] = try value(&r)
        }
        return map
    }

    /// A collection field: `element` reads each of its elements.
    mutating func each(_ wire: BinaryWire, field: Int, in record: String, _ element: (inout BinaryReader) throws(BinaryStateError) -> Void) throws(BinaryStateError) {
        var block = try block(wire, field: field, in: record)
        for _ in 0..<(try block.count()) { try element(&block) }
        guard block.isAtEnd else { throw block.failure("bytes left after field \(field) of \(record)") }
    }
}

/// Why a binary state does not read: where, and what was wrong.
public struct BinaryStateError: Error, CustomStringConvertible {
    public var detail: String
    public var description: String { detail }
}
