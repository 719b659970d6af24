import Foundation

/// Appends the primitives of Nurture's binary lead state (``LeadStateFormat/binary``):
/// varints, zigzag integers, fixed 64-bit values, strings with a varint length, and blocks
/// with a 4-byte length, each field behind a tag naming its number and wire type
/// (``BinaryWire``), so a reader can skip fields it does not know.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ byte: UInt8) {
        bytes.append(byte)
    }

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// A signed integer, zigzag-encoded: small magnitudes of either sign take one byte.
    mutating func int(_ value: Int) {
        let value = Int64(value)
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func double(_ value: Double) {
        var bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: &bits) { bytes.append(contentsOf: $0) }
    }

    mutating func fixed32(_ value: UInt32) {
        var value = value.littleEndian
        withUnsafeBytes(of: &value) { bytes.append(contentsOf: $0) }
    }

    /// A date as the `Double` `Date` keeps (seconds since 2001): read back exactly.
    mutating func date(_ value: Date) {
        double(value.timeIntervalSinceReferenceDate)
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A block whose length is known once `body` has written it: 4 bytes reserved, then patched.
    mutating func block(_ body: (inout BinaryWriter) -> Void) {
        let start = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0])
        body(&self)
        let length = UInt32(bytes.count - start - 4)
        bytes[start] = UInt8(truncatingIfNeeded: length)
        bytes[start + 1] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[start + 2] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[start + 3] = UInt8(truncatingIfNeeded: length >> 24)
    }

    // MARK: Fields

    mutating func tag(_ field: Int, _ wire: BinaryWire) {
        varint(UInt64(field) << 3 | UInt64(wire.rawValue))
    }

    mutating func field(_ field: Int, int value: Int) {
        tag(field, .varint)
        int(value)
    }

    mutating func field(_ field: Int, bool value: Bool) {
        tag(field, .varint)
        varint(value ? 1 : 0)
    }

    mutating func field(_ field: Int, double value: Double) {
        tag(field, .fixed64)
        double(value)
    }

    mutating func field(_ field: Int, date value: Date?) {
        guard let value else { return }
        tag(field, .fixed64)
        date(value)
    }

    mutating func field(_ field: Int, string value: String?) {
        guard let value else { return }
        tag(field, .string)
        string(value)
    }

    mutating func field(_ field: Int, block body: (inout BinaryWriter) -> Void) {
        tag(field, .block)
        block(body)
    }

    /// A collection: its count, then each element as `element` writes it (the field's number
    /// says what the elements are).
    mutating func field<C: Collection>(_ field: Int, each collection: C, _ element: (inout BinaryWriter, C.Element) -> Void) {
        tag(field, .block)
        block { writer in
            writer.varint(UInt64(collection.count))
            for item in collection { element(&writer, item) }
        }
    }
}

extension BinaryWriter {
    /// A map: its count, then each entry's key and its value as `value` writes it.
    mutating func field<Value>(_ field: Int, map: [String: Value], _ value: (inout BinaryWriter, Value) -> Void) {
        self.field(field, each: map) { writer, entry in
            writer.string(entry.key)
            value(&writer, entry.value)
        }
    }
}

/// How a field's value is laid out, so that a reader can skip a field it does not know.
enum BinaryWire: UInt8 {
    /// A varint (integers zigzag-encoded, booleans 0 or 1).
    case varint = 0
    /// 8 bytes, little-endian (doubles, dates).
    case fixed64 = 1
    /// A varint length, then that many bytes (UTF-8 strings).
    case string = 2
    /// A 4-byte little-endian length, then that many bytes (a nested record or a collection).
    case block = 3
}
