/// Quoted-printable content transfer encoding (RFC 2045 §6.7).
enum QuotedPrintable {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Encodes UTF-8 text. Line breaks in `text` (LF or CRLF) become hard CRLF breaks;
    /// longer lines get soft breaks so no encoded line exceeds 76 characters.
    static func encode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + text.utf8.count / 8)
        var lineLength = 0
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\r"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\n") {
                i += 1
                continue // the LF that follows emits the break
            }
            if byte == UInt8(ascii: "\n") {
                out.append(contentsOf: [0x0D, 0x0A])
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
                out.append(contentsOf: [UInt8(ascii: "="), 0x0D, 0x0A])
                lineLength = 0
            }
            if literal {
                out.append(byte)
            } else {
                out.append(contentsOf: [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
            lineLength += width
            i += 1
        }
        return out
    }
}
