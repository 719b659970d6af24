import Foundation

/// Small, dependency-free HTML helpers for email bodies: entity decoding, tag scanning,
/// URL finding, and a readable plain-text rendering of an HTML email.
enum HTMLText {
    /// The index of the `>` that ends the tag starting at `text` (quotes respected).
    static func endOfTag(_ text: Substring) -> Substring.Index? {
        var quote: Character?
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == ">" {
                return index
            }
            index = text.index(after: index)
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
                var decoded: String?
                if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    decoded = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else if name.hasPrefix("#") {
                    decoded = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else {
                    decoded = named[String(name)]
                }
                if let decoded {
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
    /// links as `text (url)`, list items as `- item`, head, styles, scripts and comments dropped.
    static func plainText(fromHTML html: String) -> String {
        var out = ""
        var rest = html[...]
        var pendingLink: String?
        var linkTextStart = out.endIndex
        while let lt = rest.firstIndex(of: "<") {
            out += collapse(rest[..<lt])
            let tagText = rest[lt...]
            if tagText.hasPrefix("<!--") {
                rest = tagText.range(of: "-->").map { tagText[$0.upperBound...] } ?? ""
                continue
            }
            guard let gt = endOfTag(tagText) else { rest = ""; break }
            let tag = tagText[tagText.index(after: lt)..<gt]
            rest = tagText[tagText.index(after: gt)...]
            let closing = tag.hasPrefix("/")
            let name = tag.drop(while: { $0 == "/" }).prefix(while: { $0.isLetter || $0.isNumber }).lowercased()
            // Hidden content (the preheader) is for inbox previews, not for readers.
            if !closing, let style = attribute("style", in: tag),
               style.replacingOccurrences(of: " ", with: "").lowercased().contains("display:none"),
               let end = rest.range(of: "</\(name)", options: .caseInsensitive) {
                rest = rest[end.lowerBound...]
                if let gt = rest.firstIndex(of: ">") { rest = rest[rest.index(after: gt)...] }
                continue
            }
            switch name {
            case "head", "style", "script", "title":
                if !closing, let end = rest.range(of: "</\(name)", options: .caseInsensitive) {
                    rest = rest[end.lowerBound...]
                    if let gt = rest.firstIndex(of: ">") { rest = rest[rest.index(after: gt)...] }
                }
            case "br":
                out += "\n"
            case "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "ul", "ol", "blockquote", "section", "header", "footer":
                out += "\n\n"
            case "hr":
                out += "\n\n----\n\n"
            case "li":
                if !closing { out += "\n- " }
            case "td", "th":
                if closing { out += " " }
            case "a":
                if closing {
                    if let url = pendingLink {
                        let label = out[linkTextStart...].trimmingCharacters(in: .whitespacesAndNewlines)
                        if label != url && !label.isEmpty { out += " (\(url))" } else if label.isEmpty { out += url }
                    }
                    pendingLink = nil
                } else if let href = attribute("href", in: tag) {
                    let lower = href.lowercased()
                    pendingLink = lower.hasPrefix("http://") || lower.hasPrefix("https://") ? href : nil
                    linkTextStart = out.endIndex
                }
            case "img":
                if let alt = attribute("alt", in: tag), !alt.isEmpty { out += alt }
            default:
                break
            }
        }
        out += collapse(rest)
        // Tidy: trim each line, at most one blank line in a row, no leading/trailing blanks.
        var lines: [String] = []
        for line in out.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty, lines.last?.isEmpty ?? true { continue }
            lines.append(trimmed)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.map { wrap($0, width: 76) }.joined(separator: "\n") + "\n"
    }

    /// Breaks a line at spaces so it stays within `width` characters where possible;
    /// a word longer than that (a URL) stays whole. List items keep their indent.
    static func wrap(_ line: String, width: Int) -> String {
        guard line.count > width else { return line }
        let indent = line.hasPrefix("- ") ? "  " : ""
        var out: [String] = []
        var current = ""
        for word in line.split(separator: " ") {
            if current.isEmpty {
                current = out.isEmpty ? String(word) : indent + word
            } else if current.count + 1 + word.count <= width {
                current += " " + word
            } else {
                out.append(current)
                current = indent + word
            }
        }
        if !current.isEmpty { out.append(current) }
        return out.joined(separator: "\n")
    }

    /// Text between tags: entities decoded, whitespace runs (newlines included) as one space.
    private static func collapse(_ text: Substring) -> String {
        guard !text.isEmpty else { return "" }
        var out = ""
        var lastWasSpace = false
        for c in decodeEntities(String(text)) {
            if c.isWhitespace && c != "\u{00A0}" {
                if !lastWasSpace { out.append(" ") }
                lastWasSpace = true
            } else {
                out.append(c == "\u{00A0}" ? " " : c)
                lastWasSpace = false
            }
        }
        return out
    }

    /// The decoded value of attribute `name` in a tag's inner text.
    static func attribute(_ name: String, in tag: Substring) -> String? {
        HTMLAttribute.parse(tag).first { $0.name == name }?.value.map { decodeEntities(String($0)) }
    }
}
