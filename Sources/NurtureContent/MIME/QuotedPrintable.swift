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

    /// Encodes UTF-8 bytes, as the `String` overload does. Each byte is appended on its
    /// own: no temporary arrays on this path, which runs over every body of every email.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 8 + 8)
        var lineLength = 0
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\r"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\n") {
                i += 1
                continue // the LF that follows emits the break
            }
            if byte == UInt8(ascii: "\n") {
                out.append(0x0D)
                out.append(0x0A)
                lineLength = 0
                i += 1
                continue
            }
            let atLineEnd = i + 1 == bytes.count || bytes[i + 1] == UInt8(ascii: "\n")
                || (bytes[i + 1] == UInt8(ascii: "\r") && i + 2 < bytes.count && bytes[i + 2] == UInt8(ascii: "\n"))
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
                out.append(UInt8(ascii: "="))
                out.append(0x0D)
                out.append(0x0A)
                lineLength = 0
            }
            if literal {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "="))
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0F))
            }
            lineLength += width
            i += 1
        }
        return out
    }
}
