import Mustache

/// One template part (`welcome/html`, with its layout and partials) rendered once, when the
/// templates are loaded, with a marker in place of each value: the text between the values
/// is fixed, and rendering it for a lead only splices the lead's values in, escaped as
/// swift-mustache escapes them. Same bytes as rendering the template, at a fraction of the cost.
///
/// Only parts whose output cannot depend on the values in any other way are spliced (see
/// ``compile(_:part:sources:library:)``): no sections or inverted sections (they test and
/// repeat values), no transforms or dotted names, no set-delimiter tags, no indented
/// standalone partials or blocks (swift-mustache indents after a value that ends a line).
/// Every other part is rendered by swift-mustache, as are values that are not text or numbers.
struct SplicedTemplate: Sendable {
    enum Piece: Sendable, Equatable {
        case text(String)
        /// A value by name; `escaped` in HTML parts (`{{name}}`), not in text parts or `{{{name}}}`.
        case value(String, escaped: Bool)
    }

    let pieces: [Piece]
    /// The bytes of the fixed text, counted once: what each email reserves, and some more.
    private let fixedBytes: Int

    init(pieces: [Piece]) {
        self.pieces = pieces
        self.fixedBytes = pieces.reduce(0) { size, piece in
            if case .text(let text) = piece { size + text.utf8.count } else { size }
        }
    }

    /// The part with `context`'s values spliced in; nil when a value is neither text nor a
    /// number (swift-mustache renders it then).
    func render(_ context: [String: Any]) -> String? {
        var out = ""
        out.reserveCapacity(fixedBytes + 256)
        for piece in pieces {
            switch piece {
            case .text(let text):
                out += text
            case .value(let name, let escaped):
                let text: String
                switch context[name] {
                case nil: continue
                case let value as String: text = value
                case let value as Int: text = String(value)
                default: return nil
                }
                if escaped { Self.appendEscaped(text, to: &out) } else { out += text }
            }
        }
        return out
    }

    /// swift-mustache's HTML escaping (`String.htmlEscape()`), to the character: `<`, `>`, `&`,
    /// `"` and `'` when each is a character of its own (one followed by a combining mark is not).
    static func appendEscaped(_ text: String, to out: inout String) {
        // Most values have none of the five bytes: appended whole.
        guard text.utf8.contains(where: { $0 == 0x3C || $0 == 0x3E || $0 == 0x26 || $0 == 0x22 || $0 == 0x27 }) else {
            out += text
            return
        }
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
    }

    /// Begins and ends a marker; private-use code points no template may contain.
    static let open: Unicode.Scalar = "\u{E000}"
    static let close: Unicode.Scalar = "\u{E001}"

    /// Splices `part` if it can be (see the type's notes), by rendering it once through
    /// `library` with a marker for each value it names.
    /// - Parameters:
    ///   - part: the part's name in `library` (`welcome/html`).
    ///   - sources: every template file by name: its text and its scan.
    static func compile(_ part: String, sources: [String: (text: String, scan: MustacheScan)], library: MustacheLibrary) -> SplicedTemplate? {
        // The files the part is made of: itself, its layouts and partials, theirs.
        var files: [String] = []
        var queue = [part]
        while let name = queue.popLast() {
            guard !files.contains(name) else { continue }
            guard let source = sources[name] else { return nil }
            files.append(name)
            queue += source.scan.references.map(\.name)
        }
        var names: [String] = []
        for name in files {
            guard let source = sources[name] else { return nil }
            let scan = source.scan
            guard scan.sections.isEmpty, !scan.setsDelimiters, scan.problem == nil,
                  !source.text.unicodeScalars.contains(where: { $0 == open || $0 == close }),
                  !hasIndentedStandalone(source.text)
            else { return nil }
            for variable in scan.variables {
                guard !variable.isEmpty, variable.utf8.allSatisfy({ isNameByte($0) }) else { return nil }
                if !names.contains(variable) { names.append(variable) }
            }
        }
        // Each value a marker with `<` inside: escaped, it reads `&lt;`.
        var context: [String: Any] = [:]
        for (index, name) in names.enumerated() { context[name] = "\(open)\(index)<\(close)" }
        guard let rendered = library.render(context, withTemplate: part) else { return nil }

        var pieces: [Piece] = []
        var text = ""
        var scalars = rendered.unicodeScalars[...]
        while let start = scalars.firstIndex(of: open) {
            text.unicodeScalars += scalars[..<start]
            guard let end = scalars[start...].firstIndex(of: close) else { return nil }
            let inside = String(String.UnicodeScalarView(scalars[scalars.index(after: start)..<end]))
            let escaped: Bool
            let digits: Substring
            if inside.hasSuffix("&lt;") {
                (escaped, digits) = (true, inside.dropLast(4))
            } else if inside.hasSuffix("<") {
                (escaped, digits) = (false, inside.dropLast())
            } else {
                return nil
            }
            guard let index = Int(digits), names.indices.contains(index) else { return nil }
            if !text.isEmpty { pieces.append(.text(text)) }
            text = ""
            pieces.append(.value(names[index], escaped: escaped))
            scalars = scalars[scalars.index(after: end)...]
        }
        text.unicodeScalars += scalars
        if !text.isEmpty { pieces.append(.text(text)) }
        let spliced = SplicedTemplate(pieces: pieces)

        // swift-mustache indents after a value that ends a line inside an indented block or
        // partial, and an empty value moves that indentation to what follows: values that end
        // or start a line, and empty ones, must give swift-mustache's bytes too, or no splicing.
        for probe in [{ (marker: String) in marker + "\n" }, { $0 + "\r" }, { "\n" + $0 }, { _ in "" }] {
            var context: [String: Any] = [:]
            for (index, name) in names.enumerated() { context[name] = probe("\(open)\(index)\(close)") }
            guard let expected = library.render(context, withTemplate: part), spliced.render(context) == expected else { return nil }
        }
        return spliced
    }

    /// Letters, digits, `_` and `-`: a name looked up as a whole.
    private static func isNameByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x2D
    }

    /// Whether a line holds only whitespace and then a partial, block or layout tag: a
    /// standalone tag with an indentation, which swift-mustache applies after line-ending values.
    /// (A quick first test: the probes in ``compile(_:sources:library:)`` catch the other ways
    /// a tag gets an indentation.)
    static func hasIndentedStandalone(_ text: String) -> Bool {
        for line in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            guard let first = line.first, first == 0x20 || first == 0x09 else { continue }
            let rest = line.drop { $0 == 0x20 || $0 == 0x09 }
            if rest.starts(with: "{{>".utf8) || rest.starts(with: "{{$".utf8) || rest.starts(with: "{{<".utf8) { return true }
        }
        return false
    }
}
