import Foundation
import NurtureCore

/// Header field formatting: RFC 5322 folding, RFC 2047 encoded words, and the rules that
/// keep every header valid whatever the data:
///
/// - No value carries a CR or LF of its own (nor another control or line-separator
///   character): header injection is impossible.
/// - Every physical line is at most 998 octets (RFC 5322 §2.1.1 "MUST"), and at most 78
///   wherever folding allows (the "SHOULD"). Free text (subjects, display names, extension
///   fields) can always be made to fit, since encoded words can split it anywhere. Only a
///   structured element that cannot be folded (a Message-ID, a URL in `List-Unsubscribe`,
///   a field name) can be longer than a line; such a header is reported as a
///   ``MessageComposer/HeaderError`` instead of being written.
/// - Text that itself looks like an encoded word (contains `=?`) is encoded, so a mail
///   client shows the literal characters and never decodes an attacker's CR/LF.
enum HeaderEncoding {
    /// The longest line we aim for (RFC 5322 §2.1.1 "SHOULD").
    static let preferredLineLength = 78
    /// The hard limit on a line, CRLF excluded (RFC 5322 §2.1.1 "MUST").
    static let maximumLineLength = 998
    /// RFC 2047 §2: an encoded word is at most 75 characters.
    static let maximumEncodedWordLength = 75

    /// `value` with CR, LF and every other control character (C0 except tab, DEL, C1) and
    /// the Unicode line and paragraph separators replaced by spaces.
    static func sanitize(_ value: String) -> String {
        func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
            let v = scalar.value
            return (v < 0x20 && scalar != "\t") || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029
        }
        guard value.unicodeScalars.contains(where: isUnsafe) else { return value }
        return String(String.UnicodeScalarView(value.unicodeScalars.map { isUnsafe($0) ? " " : $0 }))
    }

    static func isPlainASCII(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F || $0 == 0x09 }
    }

    /// Whether a reader could take part of `text` for an RFC 2047 encoded word. Deliberately
    /// wider than the grammar (any `=?`): such text is always encoded, never passed through.
    static func mayLookEncoded(_ text: String) -> Bool {
        text.containsBytes("=?")
    }

    // MARK: - Fields

    /// A complete unstructured header field (`Subject`, `X-…` and other extension fields),
    /// folded, CRLF-terminated. Text is written as it is when it folds into lines of 78;
    /// otherwise (non-ASCII, something like an encoded word, or a run without spaces too
    /// long for a line) it becomes UTF-8 encoded words, which fold anywhere.
    static func unstructured(_ name: String, _ value: String) throws(MessageComposer.HeaderError) -> String {
        let clean = sanitize(value)
        var plain: Folder?
        if isPlainASCII(clean), !mayLookEncoded(clean) {
            var folder = Folder(name)
            for token in words(clean) { folder.append(token) }
            // Plain text that folds into lines of 78 is the answer, with no need to encode.
            if folder.longestLine <= preferredLineLength { return try folder.finished() }
            plain = folder
        }
        var encoded = Folder(name)
        encoded.appendEncoded(clean)
        if let plain, plain.longestLine <= encoded.longestLine { return try plain.finished() }
        return try encoded.finished()
    }

    /// A structured field whose value must stay literal (a Message-ID, `List-*`, `References`):
    /// folded only at spaces outside `<…>` and quotes, never encoded.
    static func structured(_ name: String, _ value: String) throws(MessageComposer.HeaderError) -> String {
        // A short, clean value is its own folding: one line, as written.
        if name.utf8.count + 2 + value.utf8.count <= preferredLineLength, isPlainASCII(value),
           !value.utf8.contains(0x09), !value.containsBytes("  "), value.first != " ", value.last != " " {
            return "\(name): \(value)\r\n"
        }
        var folder = Folder(name)
        for token in structuredTokens(sanitize(value)) { folder.append(token) }
        return try folder.finished()
    }

    /// A complete address header field (`From`, `To`, `Reply-To`).
    static func addresses(_ name: String, _ mailboxes: [EmailAddress]) throws(MessageComposer.HeaderError) -> String {
        var folder = Folder(name)
        for (index, mailbox) in mailboxes.enumerated() {
            let separator = index < mailboxes.count - 1 ? "," : ""
            guard let displayName = mailbox.displayName.map(sanitize), !displayName.isEmpty else {
                folder.append(mailbox.address + separator)
                continue
            }
            appendDisplayName(displayName, to: &folder)
            folder.append("<\(mailbox.address)>" + separator)
        }
        return try folder.finished()
    }

    /// A display name as atoms, a quoted string, or encoded words, whichever is valid and
    /// folds into the shortest lines (plain text when it fits in 78).
    private static func appendDisplayName(_ name: String, to folder: inout Folder) {
        let start = folder.lineCount - 1
        var plain: (folder: Folder, longest: Int)?
        if isPlainASCII(name), !mayLookEncoded(name) {
            var candidate = folder
            for token in words(isAtomPhrase(name) ? name : quoted(name)) { candidate.append(token) }
            let longest = candidate.longestLine(from: start)
            // Plain text that folds into lines of 78 is the answer, with no need to encode.
            if longest <= preferredLineLength {
                folder = candidate
                return
            }
            plain = (candidate, longest)
        }
        var encoded = folder
        encoded.appendEncoded(name)
        if let plain, plain.longest <= encoded.longestLine(from: start) {
            folder = plain.folder
            return
        }
        folder = encoded
    }

    /// Atoms separated by single spaces (so a reader gives back exactly this text).
    private static func isAtomPhrase(_ name: String) -> Bool {
        let atext = " !#$%&'*+-/=?^_`{|}~".unicodeScalars
        let atomChars = name.unicodeScalars.allSatisfy { s in
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || atext.contains(s)
        }
        return atomChars && !name.split(separator: " ", omittingEmptySubsequences: false).contains(where: \.isEmpty)
    }

    private static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    // MARK: - Tokens

    /// `text` split at single spaces into tokens that `joined(separator: " ")` gives back
    /// exactly; runs of spaces stay with the following token, so no token is empty and a
    /// fold never leaves a line of white space only.
    static func words(_ text: String) -> [String] {
        var tokens: [String] = []
        var pending = ""
        for piece in text.split(separator: " ", omittingEmptySubsequences: false) {
            if piece.isEmpty {
                pending += " "
            } else {
                tokens.append(pending + piece)
                pending = ""
            }
        }
        guard !tokens.isEmpty else { return text.isEmpty ? [] : [text] }
        tokens[tokens.count - 1] += pending
        return tokens
    }

    /// Tokens of a structured value: split at spaces outside `<…>` and `"…"`.
    static func structuredTokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var inAngle = false, inQuote = false, escaped = false
        for character in text {
            if character == " ", !inAngle, !inQuote {
                if !current.isEmpty, current.contains(where: { $0 != " " }) {
                    tokens.append(current)
                    current = ""
                } else {
                    current.append(character)
                }
                continue
            }
            current.append(character)
            if escaped { escaped = false; continue }
            switch character {
            case "\\" where inQuote: escaped = true
            case "\"" where !inAngle: inQuote.toggle()
            case "<" where !inQuote: inAngle = true
            case ">" where !inQuote: inAngle = false
            default: break
            }
        }
        if !current.isEmpty {
            if current.contains(where: { $0 != " " }) || tokens.isEmpty { tokens.append(current) } else { tokens[tokens.count - 1] += current }
        }
        return tokens
    }

    /// The items of an RFC 2369 list field (`<url>, <url>`): split at commas outside `<…>`,
    /// trimmed, empty ones left out.
    static func listItems(_ text: String) -> [String] {
        var items: [String] = []
        var current = ""
        var inAngle = false
        for character in text {
            switch character {
            case "<": inAngle = true
            case ">": inAngle = false
            case "," where !inAngle:
                items.append(current)
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        items.append(current)
        return items.map { $0.trimmed() }.filter { !$0.isEmpty }
    }

    // MARK: - Folding

    /// A header field being written: `Name:` then tokens, each preceded by one space, which
    /// is where a line may be folded. A line is folded before a token that would take it
    /// past 78; the first token always stays on the field-name line (a fold right after the
    /// colon makes some parsers keep a leading space).
    struct Folder {
        private(set) var lines: [String]
        private var hasToken = false

        init(_ name: String) { lines = [name + ":"] }

        var lineCount: Int { lines.count }
        var longestLine: Int { longestLine(from: 0) }
        func longestLine(from index: Int) -> Int { lines[index...].map(\.utf8.count).max() ?? 0 }

        private var room: Int { HeaderEncoding.preferredLineLength - lines[lines.count - 1].utf8.count }

        /// Appends `" " + token`, first folding the line if it would pass 78 octets.
        mutating func append(_ token: String) {
            let piece = " " + token
            if hasToken, piece.utf8.count > room {
                lines.append(piece)
            } else {
                lines[lines.count - 1] += piece
            }
            hasToken = true
        }

        /// Appends `text` as RFC 2047 `=?UTF-8?B?…?=` words separated by folding white space
        /// (which readers ignore between encoded words, RFC 2047 §6.2). Each word is at most
        /// 75 characters, fills what is left of its line, and holds whole characters:
        /// grapheme clusters where they fit in a word, else Unicode scalars, never part of a
        /// UTF-8 sequence.
        mutating func appendEncoded(_ text: String) {
            var units: [[UInt8]] = []
            for character in text {
                let bytes = Array(character.utf8)
                if bytes.count <= Self.capacity(HeaderEncoding.maximumEncodedWordLength) {
                    units.append(bytes)
                } else {
                    units += character.unicodeScalars.map { Array(String($0).utf8) }
                }
            }
            var index = 0
            while index < units.count {
                // The space before the word is part of the line too.
                if hasToken, Self.capacity(room - 1) < units[index].count { lines.append("") }
                let capacity = max(Self.capacity(room - 1), units[index].count)
                var chunk: [UInt8] = []
                while index < units.count, chunk.count + units[index].count <= capacity {
                    chunk += units[index]
                    index += 1
                }
                lines[lines.count - 1] += " =?UTF-8?B?" + Data(chunk).base64EncodedString() + "?="
                hasToken = true
            }
        }

        /// How many bytes an encoded word of at most `length` characters (and 75) holds.
        private static func capacity(_ length: Int) -> Int {
            max(0, (min(length, HeaderEncoding.maximumEncodedWordLength) - 12) / 4 * 3)
        }

        /// The field, CRLF-terminated; refused when a line would pass 998 octets, naming the
        /// longest element of that line (the one that could not be folded).
        func finished() throws(MessageComposer.HeaderError) -> String {
            if let line = lines.first(where: { $0.utf8.count > HeaderEncoding.maximumLineLength }) {
                let name = lines[0].prefix { $0 != ":" }
                let element = line.split(separator: " ").max { $0.utf8.count < $1.utf8.count } ?? Substring(line)
                throw .unfoldable(field: Self.shortened(name), octets: line.utf8.count, element: Self.shortened(element))
            }
            return lines.joined(separator: "\r\n") + "\r\n"
        }

        private static func shortened(_ text: some StringProtocol) -> String {
            text.count <= 60 ? String(text) : String(text.prefix(60)) + "…"
        }
    }
}
