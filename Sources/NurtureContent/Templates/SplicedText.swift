/// The text part of a template without one, made once from its spliced HTML
/// (``SplicedTemplate``) instead of from each email's HTML (``HTMLPlainText``): the lines
/// with the values' places kept, the values spliced in for each email, long lines wrapped then.
/// The same text, to the byte, as ``HTMLPlainText/render(_:wrap:)`` of the rendered HTML.
///
/// A value may only stand where it cannot change the text around it:
/// - in text, outside a link's label, with no `&` in the ten bytes before it that a `;` in
///   the value could end as an entity;
/// - or as the whole `href` of a link whose label is fixed text without `://` (the text shows
///   ` (URL)` after the label).
/// Else the template's text is made from each email's HTML. And a value is spliced only when
/// it reads the same alone as in its place: text with no line breaks, tabs, no-break spaces,
/// `<` or `>`, no space at its ends or twice in a row, not empty; a URL in `http(s)://`
/// without quotes, spaces, `<`, `>` or `&`. Other values make that email's text from its HTML.
struct SplicedText: Sendable {
    enum Piece: Sendable, Equatable {
        case text(String)
        /// The value of ``slots``[index].
        case value(Int)
    }

    struct Slot: Sendable, Equatable {
        var name: String
        /// The whole `href` of a link, not text.
        var link: Bool
        /// Spliced unescaped (`{{{name}}}`): the value must not hold `&` either.
        var unescaped: Bool
    }

    /// The lines, unwrapped.
    let lines: [[Piece]]
    let slots: [Slot]

    /// The text for `context`'s values; nil when a value cannot be spliced (see the type's notes).
    func render(_ context: [String: Any]) -> String? {
        var values: [String] = []
        values.reserveCapacity(slots.count)
        for slot in slots {
            let value: String
            switch context[slot.name] {
            case let text as String: value = text
            case let number as Int: value = String(number)
            default: return nil
            }
            guard slot.link ? Self.isPlainURL(value) : Self.isPlainText(value, unescaped: slot.unescaped) else { return nil }
            values.append(value)
        }
        var text = ""
        for line in lines {
            var spliced = ""
            for piece in line {
                switch piece {
                case .text(let fixed): spliced += fixed
                case .value(let index): spliced += values[index]
                }
            }
            text += spliced.utf8.count > 76 ? HTMLText.wrap(spliced, width: 76) : spliced
            text += "\n"
        }
        return text
    }

    /// Text that reads the same alone as in its place in the HTML (see the type's notes).
    static func isPlainText(_ value: String, unescaped: Bool) -> Bool {
        let bytes = value.utf8
        guard let first = bytes.first, let last = bytes.last, first != 0x20, last != 0x20 else { return false }
        var previous: UInt8 = 0
        for byte in bytes {
            switch byte {
            case 0x09, 0x0A, 0x0C, 0x0D, 0x3C, 0x3E: return false
            case 0x20 where previous == 0x20: return false
            case 0xA0 where previous == 0xC2: return false
            case 0x26 where unescaped: return false
            default: break
            }
            previous = byte
        }
        return true
    }

    /// An `http(s)://` URL that reads the same in an attribute and in text.
    static func isPlainURL(_ value: String) -> Bool {
        let lower = value.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return false }
        return value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x27 && $0 != 0x3C && $0 != 0x3E && $0 != 0x26 }
    }

    private static let link = "https://nurture.invalid/"

    /// The text of `html`'s template, or nil when a value stands where it could change the
    /// text around it. Checked on a sample of values against ``HTMLPlainText`` before use.
    static func compile(_ html: SplicedTemplate) -> SplicedText? {
        var slots: [Slot] = []
        for piece in html.pieces {
            if case .value(let name, let escaped) = piece { slots.append(Slot(name: name, link: false, unescaped: !escaped)) }
        }
        func marker(_ index: Int) -> String { "\(SplicedTemplate.open)\(index)\(SplicedTemplate.close)" }
        func withMarkers() -> String {
            var out = ""
            var index = 0
            for piece in html.pieces {
                switch piece {
                case .text(let text): out += text
                case .value:
                    out += (slots[index].link ? link : "") + marker(index)
                    index += 1
                }
            }
            return out
        }
        // Fixed text that reads as a marker (`&#xE000;`) would be taken for a value.
        let fixed = HTMLPlainText.render(html.pieces.reduce(into: "") { out, piece in if case .text(let text) = piece { out += text } })
        guard !fixed.unicodeScalars.contains(where: { $0 == SplicedTemplate.open || $0 == SplicedTemplate.close }) else { return nil }
        // Where each value stands: in text, as a link's href, or somewhere it could change more.
        guard let links = classify(Array(withMarkers().utf8), count: slots.count) else { return nil }
        for index in links { slots[index].link = true }

        // The text of the HTML with the markers (links as URLs), cut at the markers.
        let text = HTMLPlainText.render(withMarkers(), wrap: false)
        var lines: [[Piece]] = []
        var seen = Set<Int>()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            var pieces: [Piece] = []
            var rest = Substring(line)
            while let start = rest.unicodeScalars.firstIndex(of: SplicedTemplate.open) {
                guard let end = rest.unicodeScalars[start...].firstIndex(of: SplicedTemplate.close),
                      let index = Int(rest.unicodeScalars[rest.unicodeScalars.index(after: start)..<end].reduce(into: "") { $0.unicodeScalars.append($1) }),
                      slots.indices.contains(index), seen.insert(index).inserted
                else { return nil }
                var before = rest[..<start]
                if slots[index].link {
                    // Shown as ` (URL)` after its label.
                    guard before.hasSuffix(" (" + link), rest[rest.unicodeScalars.index(after: end)...].hasPrefix(")") else { return nil }
                    before = before.dropLast(link.count)
                }
                if !before.isEmpty { pieces.append(.text(String(before))) }
                pieces.append(.value(index))
                rest = rest[rest.unicodeScalars.index(after: end)...]
            }
            if !rest.isEmpty { pieces.append(.text(String(rest))) }
            lines.append(pieces)
        }
        let spliced = SplicedText(lines: lines, slots: slots)

        // A sample of values, through both ways: the same text, or no splicing.
        for sample in ["Ada", "Zoë Ångström & Sons", "x"] {
            var context: [String: Any] = [:]
            for slot in slots { context[slot.name] = slot.link ? "https://example.com/\(sample.count)?a=b" : sample }
            guard let html = html.render(context) else { return nil }
            // (A value the text cannot take, `&` where it is not escaped, is checked by the others.)
            if let text = spliced.render(context), text != HTMLPlainText.render(html) { return nil }
        }
        return spliced
    }

    /// Where each marker stands in the HTML's bytes, following ``HTMLPlainText``'s reading
    /// (comments, tags, links). Returns the markers that are a link's whole `href`, or nil
    /// when one stands anywhere else but in text outside a link's label, or after an `&`
    /// that its value could end as an entity.
    private static func classify(_ b: [UInt8], count: Int) -> Set<Int>? {
        let open = Array(String(SplicedTemplate.open).utf8)
        let close = Array(String(SplicedTemplate.close).utf8)
        let href = Array("href=\"".utf8)
        func marker(at i: Int) -> (index: Int, end: Int)? {
            guard b[i...].starts(with: open) else { return nil }
            var j = i + open.count
            var index = 0
            while j < b.count, (0x30...0x39).contains(b[j]) { index = index * 10 + Int(b[j] - 0x30); j += 1 }
            guard b[j...].starts(with: close), index < count else { return nil }
            return (index, j + close.count)
        }
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C }
        var links = Set<Int>()
        var label: (start: Int, link: Bool)? // inside <a …>: where its label starts, and whether its href is a value
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "<") {
                if b[i...].starts(with: "<!--".utf8) {
                    // A value in a comment could end it (`--` before a fixed `>`): refused.
                    var j = i + 4
                    while j + 2 < b.count, !(b[j] == 0x2D && b[j + 1] == 0x2D && b[j + 2] == 0x3E) {
                        if marker(at: j) != nil { return nil }
                        j += 1
                    }
                    i = j + 3
                    continue
                }
                guard let end = HTMLText.endOfTag(b, from: i) else { return nil }
                let tag = b[(i + 1)..<end]
                let closing = tag.first == UInt8(ascii: "/")
                // The name as HTMLPlainText reads it: the letters and digits after any `/`.
                let name = String(decoding: tag.drop { $0 == UInt8(ascii: "/") }.prefix { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }, as: UTF8.self).lowercased()
                let isAnchor = name == "a"
                // Inside a label, an element HTMLPlainText skips whole could hide its `</a>`.
                if label != nil, ["head", "style", "script", "title"].contains(name) || HTMLPlainText.contains(tag, "none") { return nil }
                // A marker in a tag: only as the whole `href="…"` of a link.
                var link = false
                var j = tag.startIndex
                while j < tag.endIndex {
                    guard let found = marker(at: j) else {
                        j += 1
                        continue
                    }
                    let attribute = j - href.count
                    guard isAnchor, !closing, attribute - 1 >= tag.startIndex, isSpace(b[attribute - 1]),
                          b[attribute..<j].elementsEqual(href), found.end < tag.endIndex, b[found.end] == UInt8(ascii: "\"")
                    else { return nil }
                    links.insert(found.index)
                    link = true
                    j = found.end
                }
                if isAnchor {
                    if closing, let open = label {
                        // A link shown as ` (URL)` needs a fixed label that cannot be that URL.
                        if open.link {
                            let text = HTMLText.decodeEntities(String(decoding: b[open.start..<i], as: UTF8.self)).trimmed()
                            guard !text.isEmpty, !text.contains("://"), !text.contains("<") else { return nil }
                        }
                        label = nil
                    } else if !closing {
                        guard label == nil else { return nil } // a link inside a link
                        label = (end + 1, link)
                    }
                }
                i = end + 1
                continue
            }
            if let found = marker(at: i) {
                // In text: not in a link's label, and no `&` it could end as an entity.
                guard label == nil else { return nil }
                var k = i - 1
                // HTMLPlainText reads an entity's name up to 10 bytes: its `;` up to 11 after the `&`.
                while k >= 0, k >= i - 11, b[k] != UInt8(ascii: ";") {
                    if b[k] == UInt8(ascii: "&") { return nil }
                    k -= 1
                }
                i = found.end
                continue
            }
            i += 1
        }
        return links
    }
}
