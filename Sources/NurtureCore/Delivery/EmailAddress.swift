import Foundation

/// A mailbox: an address (`local@domain`) with an optional display name.
///
/// The address is always held in its canonical form (see ``canonical(_:)``), the one Nurture
/// stores and compares everywhere, so that two spellings of one mailbox are one lead and
/// one suppression.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    /// The canonical address, `local@domain`, as used in the SMTP envelope.
    public let address: String
    /// The human-readable name shown by mail clients, if any.
    public let displayName: String?

    /// Creates a mailbox from an address (canonicalised) and an optional display name.
    /// - Throws: ``EmailAddressError`` when `address` is not a usable address.
    public init(_ address: String, displayName: String? = nil) throws(EmailAddressError) {
        self.address = try Self.canonical(address)
        // A display name is free text (often a lead's name): control characters become spaces.
        let name = displayName.map { String(String.UnicodeScalarView($0.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 })) }?
            .trimmingASCIIWhitespace()
        self.displayName = (name?.isEmpty ?? true) ? nil : name
    }

    /// The one form of an address that Nurture stores and compares: surrounding white space
    /// (any Unicode space, CR, LF, tab) removed, compatibility forms folded (NFKC: full-width
    /// `ａ` is `a`), lower-cased, and the domain as A-labels (`bücher.example` is
    /// `xn--bcher-kva.example`).
    ///
    /// Refused, with the reason: no `@` or more than one; control, zero-width, bidirectional
    /// or other invisible characters anywhere; a local part that is not an RFC 5322 dot-atom
    /// of ASCII characters (quoted or non-ASCII local parts reach almost no relay); a domain
    /// label that is not letters, digits and inner hyphens, mixes Latin, Greek and Cyrillic
    /// letters (homoglyphs), or cannot become an A-label; lengths over 64/253/254.
    public static func canonical(_ text: String) throws(EmailAddressError) -> String {
        if let ascii = asciiCanonical(text) { return ascii }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        for scalar in trimmed.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned:
                throw .invalidCharacter(text, Character(scalar))
            case .spaceSeparator:
                throw .invalidCharacter(text, Character(scalar))
            default:
                break
            }
        }
        let folded = trimmed.precomposedStringWithCompatibilityMapping
        let parts = folded.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { throw .missingAt(text) }
        guard parts.count == 2 else { throw .multipleAt(text) }
        let local = parts[0], domain = parts[1]
        guard !local.isEmpty, !domain.isEmpty else { throw .emptyPart(text) }
        guard local.utf8.count <= 64 else { throw .tooLong(text) }
        for scalar in local.unicodeScalars where !isAtext(scalar) && scalar != "." {
            throw scalar.isASCII ? .invalidCharacter(text, Character(scalar)) : .nonASCIILocalPart(text)
        }
        guard !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..") else { throw .invalidLocalPart(text) }
        let asciiDomain = try canonicalDomain(String(domain), original: text)
        let address = local.lowercased() + "@" + asciiDomain
        guard address.utf8.count <= 254 else { throw .tooLong(text) }
        return address
    }

    /// The common case, in one pass over the bytes: a plain ASCII address (surrounded by ASCII
    /// white space at most) whose parts are already valid. `nil` sends anything else to the
    /// full check, which gives the reason. (ASCII is its own NFKC form; its A-labels are itself.)
    private static func asciiCanonical(_ text: String) -> String? {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == 0x20 || last == 0x09 || last == 0x0A || last == 0x0D { bytes.removeLast() }
        var start = 0
        while start < bytes.count, bytes[start] == 0x20 || bytes[start] == 0x09 || bytes[start] == 0x0A || bytes[start] == 0x0D { start += 1 }
        guard start < bytes.count else { return nil }
        var at: Int?
        for i in start..<bytes.count {
            let byte = bytes[i]
            guard byte > 0x20, byte < 0x7F else { return nil }
            if byte == UInt8(ascii: "@") {
                guard at == nil else { return nil }
                at = i
            } else if byte >= 0x41, byte <= 0x5A {
                bytes[i] = byte + 0x20 // lower case
            }
        }
        guard let at, at > start, at < bytes.count - 1, at - start <= 64, bytes.count - start <= 254 else { return nil }
        // Local part: a dot-atom.
        var previousDot = true
        for byte in bytes[start..<at] {
            if byte == UInt8(ascii: ".") {
                if previousDot { return nil }
                previousDot = true
            } else {
                guard isAtext(Unicode.Scalar(byte)) else { return nil }
                previousDot = false
            }
        }
        if previousDot { return nil }
        // Domain: LDH labels of 1 to 63, not starting or ending with '-', a top label not all digits.
        var labelStart = at + 1
        var allDigits = true
        for i in (at + 1)...bytes.count {
            if i == bytes.count || bytes[i] == UInt8(ascii: ".") {
                let length = i - labelStart
                guard length >= 1, length <= 63, bytes[labelStart] != UInt8(ascii: "-"), bytes[i - 1] != UInt8(ascii: "-") else { return nil }
                if i == bytes.count, allDigits { return nil }
                labelStart = i + 1
                allDigits = true
                continue
            }
            guard isLDH(bytes[i]) else { return nil }
            if bytes[i] < 0x30 || bytes[i] > 0x39 { allDigits = false }
        }
        guard bytes.count - (at + 1) <= 253 else { return nil }
        return String(decoding: bytes[start...], as: UTF8.self)
    }

    /// The canonical form of `text`, or `text` itself when it is not a valid address (for
    /// lookups, which then find nothing, and for rows stored before addresses were checked).
    public static func canonicalIfValid(_ text: String) -> String {
        (try? canonical(text)) ?? text
    }

    /// The domain as lower-case A-labels, checked label by label.
    private static func canonicalDomain(_ domain: String, original: String) throws(EmailAddressError) -> String {
        let lowered = domain.lowercased()
        let labels = lowered.split(separator: ".", omittingEmptySubsequences: false)
        var out: [String] = []
        for label in labels {
            guard !label.isEmpty else { throw .invalidDomain(original) }
            var ascii = String(label)
            if !label.unicodeScalars.allSatisfy(\.isASCII) {
                var scripts = Set<Script>()
                for scalar in label.unicodeScalars where !scalar.isASCII {
                    switch scalar.properties.generalCategory {
                    case .lowercaseLetter, .uppercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                         .nonspacingMark, .spacingMark, .decimalNumber:
                        scripts.insert(Script(scalar))
                    default:
                        throw .invalidCharacter(original, Character(scalar))
                    }
                }
                if label.unicodeScalars.contains(where: { $0.properties.isAlphabetic && $0.isASCII }) { scripts.insert(.latin) }
                scripts.remove(.other)
                guard scripts.count <= 1 else { throw .mixedScripts(original) }
                guard let encoded = Punycode.encode(Array(label.unicodeScalars)) else { throw .invalidDomain(original) }
                ascii = "xn--" + encoded
            }
            guard ascii.utf8.count <= 63, ascii.utf8.allSatisfy({ isLDH($0) }),
                  ascii.utf8.first != UInt8(ascii: "-"), ascii.utf8.last != UInt8(ascii: "-")
            else { throw .invalidDomain(original) }
            out.append(ascii)
        }
        if let top = out.last, top.utf8.allSatisfy({ (0x30...0x39).contains($0) }) { throw .invalidDomain(original) }
        let result = out.joined(separator: ".")
        guard result.utf8.count <= 253 else { throw .tooLong(original) }
        return result
    }

    private static func isLDH(_ byte: UInt8) -> Bool {
        (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == UInt8(ascii: "-")
    }

    /// RFC 5322 `atext`: the characters of a dot-atom other than the dot.
    private static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", "/", "=", "?", "^", "_", "`", "{", "|", "}", "~": true
        default: false
        }
    }

    /// The scripts whose letters are mistaken for one another.
    private enum Script: Hashable {
        case latin, greek, cyrillic, other

        init(_ scalar: Unicode.Scalar) {
            switch scalar.value {
            case 0x00C0...0x024F, 0x1E00...0x1EFF: self = .latin
            case 0x0370...0x03FF, 0x1F00...0x1FFF: self = .greek
            case 0x0400...0x052F: self = .cyrillic
            default: self = .other
            }
        }
    }

    /// Parses `Name <local@domain>` or a bare `local@domain`.
    public static func parse(_ text: String) throws(EmailAddressError) -> EmailAddress {
        let trimmed = text.trimmingASCIIWhitespace()
        if let bad = trimmed.unicodeScalars.first(where: { $0.value < 0x20 && $0 != "\t" }) {
            throw .invalidCharacter(text, Character(bad))
        }
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            var name = String(trimmed[..<open]).trimmingASCIIWhitespace()
            if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") {
                name = String(name.dropFirst().dropLast())
            }
            let inner = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            return try EmailAddress(inner, displayName: name)
        }
        return try EmailAddress(trimmed)
    }

    /// The domain part, after the `@`.
    public var domain: Substring {
        address[address.index(after: address.lastIndex(of: "@")!)...]
    }

    public var description: String {
        if let displayName { return "\(displayName) <\(address)>" }
        return address
    }

    /// `Name <address>` as RFC 5322 writes it, for APIs that parse it (Postmark's `From` and
    /// `To`): the name quoted when it holds a character with a meaning there (`,` `;` `<` `"` …),
    /// with `"` and `\` escaped. Non-ASCII names are left to the API to encode.
    public var quotedDescription: String {
        guard let displayName else { return address }
        let specials: Set<Character> = ["(", ")", "<", ">", "[", "]", ":", ";", "@", "\\", ",", ".", "\""]
        guard displayName.contains(where: { specials.contains($0) }) else { return "\(displayName) <\(address)>" }
        let escaped = displayName.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\" <\(address)>"
    }
}

/// Why a string is not a usable email address.
public enum EmailAddressError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingAt(String)
    case multipleAt(String)
    case emptyPart(String)
    case tooLong(String)
    case invalidCharacter(String, Character)
    case invalidLocalPart(String)
    case nonASCIILocalPart(String)
    case invalidDomain(String)
    case mixedScripts(String)

    public var description: String {
        switch self {
        case .missingAt(let s): "'\(Self.shown(s))' is not an email address: expected local@domain"
        case .multipleAt(let s): "'\(Self.shown(s))' is not an email address: it has more than one '@'"
        case .emptyPart(let s): "'\(Self.shown(s))' is not an email address: the part before or after '@' is empty"
        case .tooLong(let s): "'\(Self.shown(s))' is too long for an email address"
        case .invalidCharacter(let s, let c):
            "'\(Self.shown(s))' is not an email address: it contains \(c.unicodeScalars.map { String(format: "U+%04X", $0.value) }.joined()) \(c.debugDescription)"
        case .invalidLocalPart(let s): "'\(Self.shown(s))' is not an email address: dots must separate the characters before '@'"
        case .nonASCIILocalPart(let s): "'\(Self.shown(s))' is not supported: the part before '@' must be ASCII letters, digits or !#$%&'*+-/=?^_`{|}~."
        case .invalidDomain(let s): "'\(Self.shown(s))' is not an email address: the domain is not valid"
        case .mixedScripts(let s): "'\(Self.shown(s))' is not accepted: a domain label mixes Latin, Greek or Cyrillic letters"
        }
    }

    /// The input as it can be printed on one line (control and invisible characters escaped).
    private static func shown(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars.prefix(300) {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned:
                out += String(format: "\\u{%X}", scalar.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs, CR and LF.
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}
