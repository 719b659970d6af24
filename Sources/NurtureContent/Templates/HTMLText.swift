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

    /// The range of the next `http://` or `https://` URL in plain text, without trailing
    /// punctuation that belongs to the sentence.
    static func nextURL(in text: Substring) -> Range<Substring.Index>? {
        var search = text[...]
        while let h = search.firstIndex(where: { $0 == "h" || $0 == "H" }) {
            let rest = search[h...]
            let lower = rest.prefix(8).lowercased()
            let schemeLength = lower.hasPrefix("https://") ? 8 : lower.hasPrefix("http://") ? 7 : 0
            guard schemeLength > 0 else {
                search = search[search.index(after: h)...]
                continue
            }
            var end = rest.index(h, offsetBy: schemeLength)
            while end < text.endIndex, !Self.urlStop(text[end]) { end = text.index(after: end) }
            while end > rest.index(h, offsetBy: schemeLength), ".,;:!?".contains(text[text.index(before: end)]) {
                end = text.index(before: end)
            }
            if end > rest.index(h, offsetBy: schemeLength) { return h..<end }
            search = text[end...]
        }
        return nil
    }

    private static func urlStop(_ c: Character) -> Bool {
        c.isWhitespace || "<>\"'()[]".contains(c)
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
        guard text.contains("&") else { return text }
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
        guard line.utf8.count > width, line.count > width else { return line }
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

    /// The decoded value of attribute `name` in a tag's inner text.
    static func attribute(_ name: String, in tag: Substring) -> String? {
        HTMLAttribute.parse(tag).first { $0.name == name }?.value.map { decodeEntities(String($0)) }
    }
}
