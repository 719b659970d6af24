/// RFC 6376's "relaxed" canonicalization (§3.4.2, §3.4.4), on the bytes of a message, and
/// the split of a message into its header fields and body that signing needs.
enum DKIMCanonicalization {
    private static let space: UInt8 = 0x20, tab: UInt8 = 0x09, cr: UInt8 = 0x0D, lf: UInt8 = 0x0A, colon: UInt8 = 0x3A

    /// A header field as it stands in the message: its name, and all of its bytes from the
    /// name to the end of its last line, line breaks of folding included, without the final CRLF.
    struct Field {
        var name: String
        var raw: ArraySlice<UInt8>
    }

    /// The header fields of `message`, in order, and where its body starts (after the blank
    /// line; the end of `message` when there is none).
    static func split(_ message: [UInt8]) -> (fields: [Field], bodyStart: Int) {
        var fields: [Field] = []
        var fieldStart: Int?
        var fieldEnd = 0
        func close() {
            guard let start = fieldStart else { return }
            let raw = message[start..<fieldEnd]
            let name = raw.prefix { $0 != colon }
            fields.append(Field(name: String(decoding: name, as: UTF8.self).trimmingWhitespace(), raw: raw))
            fieldStart = nil
        }
        var index = 0
        while index < message.count {
            // One line: its content is [index, contentEnd); its LF (if any) is at lineEnd.
            var lineEnd = index
            while lineEnd < message.count, message[lineEnd] != lf { lineEnd += 1 }
            let contentEnd = lineEnd < message.count && lineEnd > index && message[lineEnd - 1] == cr ? lineEnd - 1 : lineEnd
            if contentEnd == index {
                // The blank line: the body follows it.
                close()
                return (fields, min(lineEnd + 1, message.count))
            }
            // A line that starts with a space or a tab continues the field before it.
            if message[index] != space && message[index] != tab { close(); fieldStart = index }
            fieldEnd = contentEnd
            index = lineEnd + 1
        }
        close()
        return (fields, message.count)
    }

    /// `name:value`: the name lower-cased, the value unfolded, each run of spaces and tabs one
    /// space, none around the colon or at the end. No CRLF.
    static func header(_ raw: ArraySlice<UInt8>) -> [UInt8] {
        guard let colonIndex = raw.firstIndex(of: colon) else { return Array(raw) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        for byte in raw[raw.startIndex..<colonIndex] where byte != space && byte != tab && byte != cr && byte != lf {
            out.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
        }
        out.append(colon)
        var pendingSpace = false
        var started = false
        for byte in raw[(colonIndex + 1)...] {
            switch byte {
            case cr, lf: continue
            case space, tab: pendingSpace = started
            default:
                if pendingSpace { out.append(space) }
                pendingSpace = false
                started = true
                out.append(byte)
            }
        }
        return out
    }

    /// The body: each line's trailing spaces and tabs removed and inner runs made one space;
    /// empty lines at the end removed; a CRLF after the last line (nothing for an empty body).
    static func body(_ body: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var pendingEmptyLines = 0
        var index = body.startIndex
        while index < body.endIndex {
            var lineEnd = index
            while lineEnd < body.endIndex, body[lineEnd] != lf { lineEnd += 1 }
            let hasBreak = lineEnd < body.endIndex
            let contentEnd = hasBreak && lineEnd > index && body[lineEnd - 1] == cr ? lineEnd - 1 : lineEnd
            var line: [UInt8] = []
            var pendingSpace = false
            for byte in body[index..<contentEnd] {
                if byte == space || byte == tab {
                    pendingSpace = true
                } else {
                    if pendingSpace { line.append(space) }
                    pendingSpace = false
                    line.append(byte)
                }
            }
            if line.isEmpty {
                if hasBreak || contentEnd > index { pendingEmptyLines += 1 }
            } else {
                for _ in 0..<pendingEmptyLines { out += [cr, lf] }
                pendingEmptyLines = 0
                out += line
                out += [cr, lf]
            }
            index = hasBreak ? lineEnd + 1 : body.endIndex
        }
        return out
    }
}

private extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
