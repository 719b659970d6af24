/// Quoted-printable content transfer encoding (RFC 2045 §6.7).
enum QuotedPrintable {
    /// The upper-case hex digit of a value 0...15.
    @inline(__always) private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? 0x30 + value : 0x37 + value
    }

    /// Encodes UTF-8 text. Line breaks in `text` (LF or CRLF) become hard CRLF breaks;
    /// longer lines get soft breaks so no encoded line exceeds 76 characters.
    static func encode(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { encode($0) }
    }

    /// Encodes UTF-8 bytes, as the `String` overload does, into a buffer sized for the worst
    /// case (every byte escaped, a soft break every 25 escapes), written without bounds checks.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let capacity = bytes.count * 3 + (bytes.count / 25 + 1) * 3
        return [UInt8](unsafeUninitializedCapacity: capacity) { out, written in
            var o = 0
            var lineLength = 0
            var i = 0
            let n = bytes.count
            while i < n {
                let byte = bytes[i]
                // The common case first: a printable character other than '=' and '.', well
                // inside the line, is copied as it is (no soft break can be due before the
                // 75th character, so the look-ahead below is not needed).
                if lineLength < 74, byte >= 33, byte <= 126, byte != UInt8(ascii: "="), byte != UInt8(ascii: ".") {
                    out[o] = byte
                    o += 1
                    lineLength += 1
                    i += 1
                    continue
                }
                if byte == 0x0D, i + 1 < n, bytes[i + 1] == 0x0A {
                    i += 1
                    continue // the LF that follows emits the break
                }
                if byte == 0x0A {
                    out[o] = 0x0D
                    out[o + 1] = 0x0A
                    o += 2
                    lineLength = 0
                    i += 1
                    continue
                }
                let atLineEnd = i + 1 == n || bytes[i + 1] == 0x0A || (bytes[i + 1] == 0x0D && i + 2 < n && bytes[i + 2] == 0x0A)
                let literal: Bool
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\t"): literal = !atLineEnd
                case UInt8(ascii: "="): literal = false
                // A leading '.' is escaped so the body survives relays that mishandle dot-stuffing.
                case UInt8(ascii: "."): literal = lineLength != 0
                case 33...126: literal = true
                default: literal = false
                }
                let width = literal ? 1 : 3
                // Leave room for the soft break's '=' unless this is the last character of the line.
                if lineLength + width > (atLineEnd ? 76 : 75) {
                    out[o] = UInt8(ascii: "=")
                    out[o + 1] = 0x0D
                    out[o + 2] = 0x0A
                    o += 3
                    lineLength = 0
                }
                if literal {
                    out[o] = byte
                    o += 1
                } else {
                    out[o] = UInt8(ascii: "=")
                    out[o + 1] = hexDigit(byte >> 4)
                    out[o + 2] = hexDigit(byte & 0x0F)
                    o += 3
                }
                lineLength += width
                i += 1
            }
            written = o
        }
    }
}
