/// JSON text for the flat string values the stores write on every tracking hit and every
/// lead change: an event's properties, a lead's fields (objects of strings, keys sorted) and
/// its tags (an array of strings). Strings are escaped as RFC 8259 §7 requires (quote,
/// backslash, control characters; everything else as UTF-8). Written directly: `JSONEncoder`
/// took a tenth of a tracking hit's time for these few bytes. Read back by `JSONDecoder` and
/// by SQLite's `json_extract`.
enum JSONText {
    /// `{"key":"value",…}`, keys in sorted order.
    static func object(_ values: [String: String]) -> String {
        if values.isEmpty { return "{}" }
        var out: [UInt8] = []
        out.reserveCapacity(values.reduce(2) { $0 + $1.key.utf8.count + $1.value.utf8.count + 6 })
        out.append(UInt8(ascii: "{"))
        for (index, pair) in values.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(pair.key, to: &out)
            out.append(UInt8(ascii: ":"))
            append(pair.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `["a","b",…]`, in the given order.
    static func array(_ values: [String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(value, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private static func append(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0x0A:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "n"))
            case 0x0D:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "r"))
            case 0x09:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "t"))
            case 0x00..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
