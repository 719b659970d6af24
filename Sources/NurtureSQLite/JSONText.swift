/// JSON text for the flat string values the stores write on every tracking hit and every
/// lead change: an event's properties, a lead's fields (objects of strings, keys sorted) and
/// its tags (an array of strings). Strings are escaped as RFC 8259 §7 requires (quote,
/// backslash, control characters; everything else as UTF-8). Written directly: `JSONEncoder`
/// took a tenth of a tracking hit's time for these few bytes. Read back by `JSONDecoder`, by
/// SQLite's `json_extract`, and by ``readObject(_:)`` (the applier's read of stored events).
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

    /// The object ``object(_:)`` wrote, read back; `nil` for any other text (spaces between
    /// tokens, escapes it does not write, values that are not strings, an older row written by
    /// `JSONEncoder`), which the caller reads with `JSONDecoder`. `JSONDecoder` was half of the
    /// time the applier spent on a batch of stored events.
    static func readObject(_ text: String) -> [String: String]? {
        var text = text
        return text.withUTF8 { bytes -> [String: String]? in
            var reader = Reader(bytes: bytes)
            guard reader.take(UInt8(ascii: "{")) else { return nil }
            var values: [String: String] = [:]
            if reader.take(UInt8(ascii: "}")) { return reader.atEnd ? values : nil }
            repeat {
                guard let key = reader.string(), reader.take(UInt8(ascii: ":")), let value = reader.string(),
                      values.updateValue(value, forKey: key) == nil else { return nil } // a key twice: not ours
            } while reader.take(UInt8(ascii: ","))
            guard reader.take(UInt8(ascii: "}")), reader.atEnd else { return nil }
            return values
        }
    }

    /// A cursor over the bytes of a JSON text, for ``readObject(_:)``.
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A quoted string with the escapes ``JSONText/append(_:to:)`` writes.
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            // Without escapes (the common case): the bytes as they are.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
                guard bytes[index] >= 0x20 else { return nil }
                index += 1
            }
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index - 1]), as: UTF8.self)
            }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(escape)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        // Only the control characters are written as \u00XX.
                        guard index + 4 <= bytes.count, bytes[index] == 0x30, bytes[index + 1] == 0x30,
                              let high = Self.hexValue(bytes[index + 2]), let low = Self.hexValue(bytes[index + 3]), high < 2 else { return nil }
                        out.append(high << 4 | low)
                        index += 4
                    default:
                        return nil
                    }
                case 0x00..<0x20:
                    return nil
                default:
                    out.append(byte)
                }
            }
            return nil
        }

        static func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
    }

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
