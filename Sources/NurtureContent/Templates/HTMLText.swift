import Foundation

/// Small, dependency-free HTML helpers for email bodies: entity decoding, tag scanning,
/// URL finding, and a readable plain-text rendering of an HTML email.
enum HTMLText {
    /// The index of the `>` that ends the tag whose `<` is at `start` in UTF-8 bytes (quoted
    /// attribute values may contain `>`), or `nil` when the tag never ends.
    static func endOfTag(_ b: [UInt8], from start: Int) -> Int? {
        var j = start + 1
        var quote: UInt8 = 0
        while j < b.count {
            let d = b[j]
            if quote != 0 {
                if d == quote { quote = 0 }
            } else if d == UInt8(ascii: "\"") || d == UInt8(ascii: "'") {
                quote = d
            } else if d == UInt8(ascii: ">") {
                return j
            }
            j += 1
        }
        return nil
    }

    /// The byte range of the next `http://` or `https://` URL in UTF-8 text at or after
    /// `from`, without trailing punctuation that belongs to the sentence.
    static func nextURL(in b: [UInt8], from: Int) -> Range<Int>? {
        var i = from
        while i + 7 <= b.count {
            guard b[i] | 0x20 == UInt8(ascii: "h") else { i += 1; continue }
            let scheme: Int
            if matches(b, i, "https://") { scheme = 8 } else if matches(b, i, "http://") { scheme = 7 } else { i += 1; continue }
            var end = i + scheme
            while end < b.count, !urlStop(b[end]) { end += 1 }
            while end > i + scheme, ".,;:!?".utf8.contains(b[end - 1]) { end -= 1 }
            if end > i + scheme { return i..<end }
            i = end
        }
        return nil
    }

    /// Whether `b` holds `word` (ASCII, any case) at `i`.
    private static func matches(_ b: [UInt8], _ i: Int, _ word: String) -> Bool {
        let w = word.utf8
        guard i + w.count <= b.count else { return false }
        var k = i
        for c in w {
            let d = b[k]
            if (c >= 0x61 && c <= 0x7A ? d | 0x20 : d) != c { return false }
            k += 1
        }
        return true
    }

    /// Bytes that end a URL in plain text: whitespace, quotes, brackets.
    private static func urlStop(_ c: UInt8) -> Bool {
        switch c {
        case 0x20, 0x09, 0x0A, 0x0D, 0x0C, UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"),
             UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"): true
        default: false
        }
    }

    private static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "copy": "©", "reg": "®",
        "hellip": "…", "mdash": "—", "ndash": "–", "rsquo": "’", "lsquo": "‘", "rdquo": "”", "ldquo": "“", "euro": "€",
        "bull": "•", "middot": "·", "trade": "™",
    ]

    /// The text of one entity's name (`amp`, `#39`, `#x2014`), `nil` when unknown.
    static func decodeEntity(_ name: String) -> String? {
        if name.hasPrefix("#x") || name.hasPrefix("#X") {
            return UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
        }
        if name.hasPrefix("#") {
            return UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
        }
        return named[name]
    }

    /// Replaces `&amp;`, `&#39;`, `&#x2014;` and the common named entities.
    static func decodeEntities(_ text: String) -> String {
        // A byte test: `String.contains(String)` goes through Foundation's `range(of:)`.
        guard text.utf8.contains(UInt8(ascii: "&")) else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            if let semicolon = after.prefix(10).firstIndex(of: ";") {
                let name = after[..<semicolon]
                if let decoded = decodeEntity(String(name)) {
                    out += decoded
                    rest = after[after.index(after: semicolon)...]
                    continue
                }
            }
            out += "&"
            rest = after
        }
        return out + rest
    }

    /// A readable plain-text version of an HTML email: paragraphs and line breaks kept,
    /// links as `text (url)`, list items as `- item`, head, styles, scripts, comments and
    /// hidden preheaders dropped, lines wrapped at 76.
    static func plainText(fromHTML html: String) -> String {
        HTMLPlainText.render(html)
    }

    /// Breaks a line at spaces so it stays within `width` characters where possible;
    /// a word longer than that (a URL) stays whole. List items keep their indent.
    static func wrap(_ line: String, width: Int) -> String {
        guard line.utf8.count > width else { return line }
        // Most lines hold only scalars that are characters on their own (ASCII, Latin letters
        // with their accents precomposed, typographic punctuation): the same breaks are found
        // on the bytes, a character being a byte that does not continue a scalar.
        if line.unicodeScalars.allSatisfy(isSingleCharacter) { return wrapBytes(line, width: width) }
        return wrapCharacters(line, width: width)
    }

    /// Whether `scalar` is always a character of its own, whatever surrounds it: printable
    /// ASCII, Latin-1 and Latin Extended letters, general punctuation (dashes, quotes, the
    /// ellipsis) and currency signs. No marks, joiners, selectors, controls or emoji.
    static func isSingleCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20...0x7E, 0xA0...0x2FF, 0x2010...0x2027, 0x2030...0x205E, 0x20A0...0x20C0, 0x2122: true
        default: false
        }
    }

    /// ``wrap(_:width:)`` counting characters: for any line.
    static func wrapCharacters(_ line: String, width: Int) -> String {
        guard line.count > width else { return line }
        let indent = line.hasPrefix("- ") ? "  " : ""
        var out: [String] = []
        var current = ""
        var length = 0 // characters in `current`, kept as words are added
        for word in line.split(separator: " ") {
            let size = word.count
            if current.isEmpty {
                current = out.isEmpty ? String(word) : indent + word
                length = (out.isEmpty ? 0 : indent.count) + size
            } else if length + 1 + size <= width {
                current += " " + word
                length += 1 + size
            } else {
                out.append(current)
                current = indent + word
                length = indent.count + size
            }
        }
        if !current.isEmpty { out.append(current) }
        return out.joined(separator: "\n")
    }

    /// ``wrap(_:width:)`` for a line of ``isSingleCharacter(_:)`` scalars: the same output.
    static func wrapBytes(_ line: String, width: Int) -> String {
        guard line.utf8.count > width, line.utf8.count(where: { $0 & 0xC0 != 0x80 }) > width else { return line }
        let indent = line.utf8.starts(with: "- ".utf8) ? 2 : 0
        var out: [UInt8] = []
        out.reserveCapacity(line.utf8.count + 16)
        var length = 0 // characters on the current output line, 0 before the first word
        var line = line
        line.withUTF8 { b in
            var i = 0
            while i < b.count {
                if b[i] == 0x20 { i += 1; continue }
                var end = i
                var size = 0 // characters: bytes that do not continue a scalar
                while end < b.count, b[end] != 0x20 {
                    if b[end] & 0xC0 != 0x80 { size += 1 }
                    end += 1
                }
                if length == 0 {
                    length = size // the first line has no indent
                } else if length + 1 + size <= width {
                    out.append(0x20)
                    length += 1 + size
                } else {
                    out.append(0x0A)
                    for _ in 0..<indent { out.append(0x20) }
                    length = indent + size
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<end]))
                i = end
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The decoded value of attribute `name` in a tag's inner text.
    static func attribute(_ name: String, in tag: Substring) -> String? {
        HTMLAttribute.parse(tag).first { $0.name == name }?.value.map { decodeEntities(String($0)) }
    }
}
