/// The plain-text rendering of an HTML email, on UTF-8 bytes: it runs for every email
/// without a text part, so it avoids Character and NSString work (graphemes are never
/// split, since only ASCII bytes are ever compared or replaced).
enum HTMLPlainText {
    private static let space = UInt8(ascii: " ")
    private static let newline = UInt8(ascii: "\n")

    /// - Parameter wrap: `false` leaves long lines whole (``SplicedText`` wraps after splicing).
    static func render(_ html: String, wrap: Bool = true) -> String {
        let b = Array(html.utf8)
        let n = b.count
        var out: [UInt8] = []
        out.reserveCapacity(n / 2)
        var lastSpace = false
        var pendingLink: [UInt8]?
        var linkStart = 0
        var i = 0

        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C }
        func appendText(_ c: UInt8) {
            if isSpace(c) {
                if !lastSpace { out.append(space) }
                lastSpace = true
            } else {
                out.append(c)
                lastSpace = false
            }
        }
        func append(_ s: String) { out.append(contentsOf: s.utf8) }
        func lower(_ c: UInt8) -> UInt8 { (0x41...0x5A).contains(c) ? c + 0x20 : c }
        /// Index just after the `>` that ends `</name…>`, searching from `from`; `nil` if absent.
        func skipPast(closing name: [UInt8], from: Int) -> Int? {
            var j = from
            while j + 1 + name.count < n {
                if b[j] == UInt8(ascii: "<"), b[j + 1] == UInt8(ascii: "/") {
                    var k = 0
                    while k < name.count, lower(b[j + 2 + k]) == name[k] { k += 1 }
                    if k == name.count {
                        var e = j + 2 + k
                        while e < n, b[e] != UInt8(ascii: ">") { e += 1 }
                        return min(n, e + 1)
                    }
                }
                j += 1
            }
            return nil
        }

        while i < n {
            let c = b[i]
            if c == UInt8(ascii: "<") {
                // A comment.
                if i + 3 < n, b[i + 1] == UInt8(ascii: "!"), b[i + 2] == UInt8(ascii: "-"), b[i + 3] == UInt8(ascii: "-") {
                    var j = i + 4
                    while j + 2 < n, !(b[j] == UInt8(ascii: "-") && b[j + 1] == UInt8(ascii: "-") && b[j + 2] == UInt8(ascii: ">")) { j += 1 }
                    i = j + 2 < n ? j + 3 : n
                    continue
                }
                guard let j = HTMLText.endOfTag(b, from: i) else { break } // an unterminated tag: the rest is dropped
                let tag = b[(i + 1)..<j]
                i = j + 1
                lastSpace = false
                var k = tag.startIndex
                let closing = k < tag.endIndex && tag[k] == UInt8(ascii: "/")
                while k < tag.endIndex, tag[k] == UInt8(ascii: "/") { k += 1 }
                var name: [UInt8] = []
                while k < tag.endIndex, (0x30...0x39).contains(tag[k]) || (0x41...0x5A).contains(tag[k]) || (0x61...0x7A).contains(tag[k]) {
                    name.append(lower(tag[k]))
                    k += 1
                }
                // Hidden content (the preheader) is for inbox previews, not for readers.
                if !closing, contains(tag, "none"), let style = attribute("style", in: tag),
                   style.replacingOccurrences(of: " ", with: "").lowercased().contains("display:none"),
                   let after = skipPast(closing: name, from: i) {
                    i = after
                    continue
                }
                switch String(decoding: name, as: UTF8.self) {
                case "head", "style", "script", "title":
                    if !closing, let after = skipPast(closing: name, from: i) { i = after }
                case "br":
                    out.append(newline)
                case "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "ul", "ol", "blockquote", "section", "header", "footer":
                    append("\n\n")
                case "hr":
                    append("\n\n----\n\n")
                case "li":
                    if !closing { append("\n- ") }
                case "td", "th":
                    if closing { out.append(space) }
                case "a":
                    if closing {
                        if let url = pendingLink {
                            var s = linkStart, e = out.count
                            while s < e, isSpace(out[s]) { s += 1 }
                            while e > s, isSpace(out[e - 1]) { e -= 1 }
                            let label = out[s..<e]
                            if label.isEmpty {
                                out.append(contentsOf: url)
                            } else if !label.elementsEqual(url) {
                                append(" (")
                                out.append(contentsOf: url)
                                append(")")
                            }
                        }
                        pendingLink = nil
                    } else if let href = attribute("href", in: tag) {
                        let lowered = href.lowercased()
                        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
                            pendingLink = Array(href.utf8)
                        } else if lowered.hasPrefix("mailto:") || lowered.hasPrefix("tel:") {
                            // Shown as the reader would type it: the address (without
                            // ?subject=…) or the number, unless the label already is it.
                            let target = href[href.index(after: href.firstIndex(of: ":")!)...]
                            let shown = lowered.hasPrefix("mailto:") ? target.prefix { $0 != "?" } : target
                            pendingLink = shown.isEmpty ? nil : Array(HTMLText.decodeEntities(String(shown)).utf8)
                        } else {
                            pendingLink = nil
                        }
                        linkStart = out.count
                    }
                case "img":
                    if let alt = attribute("alt", in: tag), !alt.isEmpty { append(alt) }
                default:
                    break
                }
                continue
            }
            if c == 0xC2, i + 1 < n, b[i + 1] == 0xA0 { // a no-break space: a space that does not collapse
                out.append(space)
                lastSpace = false
                i += 2
                continue
            }
            if c == UInt8(ascii: "&"), let (decoded, length) = entity(b, at: i) {
                for d in decoded.utf8 { appendText(d) }
                i += length
                continue
            }
            appendText(c)
            i += 1
        }

        // Tidy: trim each line, at most one blank line in a row, no leading/trailing blanks.
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        while start <= out.count {
            var end = start
            while end < out.count, out[end] != newline { end += 1 }
            var s = start, e = end
            while s < e, out[s] == space || out[s] == 0x09 { s += 1 }
            while e > s, out[e - 1] == space || out[e - 1] == 0x09 { e -= 1 }
            let line = out[s..<e]
            if !(line.isEmpty && (lines.last?.isEmpty ?? true)) { lines.append(line) }
            start = end + 1
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        var text = ""
        text.reserveCapacity(out.count + 16)
        for line in lines {
            let string = String(decoding: line, as: UTF8.self)
            text += wrap && line.count > 76 ? HTMLText.wrap(string, width: 76) : string
            text += "\n"
        }
        return text
    }

    /// The entity at `i` (`&amp;`, `&#39;`, `&#x2014;`, a named one) and its length in bytes.
    static func entity(_ b: [UInt8], at i: Int) -> (String, Int)? {
        var j = i + 1
        while j < b.count, j - i <= 10, b[j] != UInt8(ascii: ";") { j += 1 }
        guard j < b.count, b[j] == UInt8(ascii: ";"), j > i + 1 else { return nil }
        let name = String(decoding: b[(i + 1)..<j], as: UTF8.self)
        guard let decoded = HTMLText.decodeEntity(name) else { return nil }
        return (decoded, j - i + 1)
    }

    /// The decoded value of attribute `name` in a tag's bytes (after `<`, before `>`).
    static func attribute(_ name: String, in tag: ArraySlice<UInt8>) -> String? {
        let text = tag.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
        return HTMLAttribute.parse(text[...]).first { $0.name == name }?.value.map { HTMLText.decodeEntities(String($0)) }
    }

    /// Whether `bytes` contain `word` (lower-case ASCII letters, matched in any case).
    static func contains(_ bytes: ArraySlice<UInt8>, _ word: StaticString) -> Bool {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes.count >= w.count else { return false }
        var i = bytes.startIndex
        while i + w.count <= bytes.endIndex {
            var k = 0
            while k < w.count, (bytes[i + k] | 0x20) == w[k] { k += 1 }
            if k == w.count { return true }
            i += 1
        }
        return false
    }
}
