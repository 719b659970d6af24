import Foundation
import NurtureCore

/// Header field formatting: RFC 5322 folding, RFC 2047 encoded words, and the rule that
/// makes header injection impossible — no value ever carries a CR or LF of its own.
enum HeaderEncoding {
    /// The longest line we aim for (RFC 5322 §2.1.1 "SHOULD"); 998 is the hard limit.
    static let preferredLineLength = 78

    /// `value` with CR, LF and other control characters replaced by spaces.
    static func sanitize(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return value }
        return String(String.UnicodeScalarView(value.unicodeScalars.map { scalar in
            (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F ? " " : scalar
        }))
    }

    static func isPlainASCII(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F || $0 == 0x09 }
    }

    /// A complete unstructured header field (`Subject`, custom headers), folded,
    /// CRLF-terminated. Non-ASCII text becomes UTF-8 encoded words.
    static func unstructured(_ name: String, _ value: String) -> String {
        let clean = sanitize(value)
        if isPlainASCII(clean) {
            let folded = fold(name + ": " + clean)
            // A run without spaces too long for a line (RFC 5322's 998) goes out as encoded
            // words, which can be split anywhere.
            if folded.split(separator: "\r\n").allSatisfy({ $0.utf8.count <= 998 }) {
                return folded + "\r\n"
            }
        }
        return name + ": " + encodedWords(clean, firstLineUsed: name.count + 2).joined(separator: "\r\n ") + "\r\n"
    }

    /// A complete address header field (`From`, `To`, `Reply-To`).
    static func addresses(_ name: String, _ mailboxes: [EmailAddress]) -> String {
        let items = mailboxes.map(mailbox)
        var line = name + ":"
        var out = ""
        for (index, item) in items.enumerated() {
            let piece = " " + item + (index < items.count - 1 ? "," : "")
            if line.count + piece.count > preferredLineLength, line.count > name.count + 1 {
                out += line + "\r\n"
                line = ""
            }
            line += piece
        }
        return out + line + "\r\n"
    }

    /// One mailbox: `"Display Name" <local@domain>`, with an encoded-word name when needed.
    static func mailbox(_ address: EmailAddress) -> String {
        guard let rawName = address.displayName else { return address.address }
        let name = sanitize(rawName)
        if !isPlainASCII(name) {
            return encodedWords(name, firstLineUsed: 0).joined(separator: "\r\n ") + " <\(address.address)>"
        }
        let atomSafe = name.unicodeScalars.allSatisfy { s in
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || " !#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(s)
        }
        if atomSafe { return "\(name) <\(address.address)>" }
        let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(quoted)\" <\(address.address)>"
    }

    /// RFC 2047 `=?UTF-8?B?…?=` words, each at most 75 characters, never splitting a
    /// character across words.
    static func encodedWords(_ text: String, firstLineUsed: Int) -> [String] {
        let maxBytesPerWord = 45 // 60 base64 chars + 12 of framing = 72 <= 75
        // The first word shares its line with the field name; keep that line near 78 too.
        let firstWordBytes = max(12, (preferredLineLength - 12 - firstLineUsed) / 4 * 3)
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let utf8 = Array(String(character).utf8)
            let limit = words.isEmpty ? min(firstWordBytes, maxBytesPerWord) : maxBytesPerWord
            if chunk.count + utf8.count > limit, !chunk.isEmpty {
                words.append(word(chunk))
                chunk = []
            }
            chunk += utf8
        }
        if !chunk.isEmpty || words.isEmpty { words.append(word(chunk)) }
        return words
    }

    private static func word(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?" + Data(bytes).base64EncodedString() + "?="
    }

    /// Folds an ASCII header line at spaces so lines stay near 78 characters; a run with
    /// no space longer than that stays whole (up to the 998 limit, which the caller
    /// cannot exceed since values are bounded).
    static func fold(_ line: String) -> String {
        guard line.utf8.count > preferredLineLength else { return line }
        var out = ""
        var current = ""
        for (index, word) in line.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            let piece = index == 0 ? String(word) : " " + word
            if current.count + piece.count > preferredLineLength, !current.trimmingCharacters(in: .whitespaces).isEmpty, index > 1 {
                out += current + "\r\n"
                current = piece
            } else {
                current += piece
            }
        }
        return out + current
    }
}
