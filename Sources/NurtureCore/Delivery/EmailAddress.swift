/// A mailbox: an address (`local@domain`) with an optional display name.
///
/// Parsing is deliberately conservative: it accepts what real signup forms produce and
/// rejects anything that could break an SMTP envelope or a header (whitespace, control
/// characters, angle brackets, a missing or doubled `@`).
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    /// The bare address, `local@domain`, as used in the SMTP envelope.
    public let address: String
    /// The human-readable name shown by mail clients, if any.
    public let displayName: String?

    /// Creates a mailbox from a bare address and an optional display name.
    /// - Throws: ``EmailAddressError`` when `address` is not a usable address.
    public init(_ address: String, displayName: String? = nil) throws(EmailAddressError) {
        let trimmed = address.trimmingASCIIWhitespace()
        guard let at = trimmed.lastIndex(of: "@") else { throw .missingAt(address) }
        let local = trimmed[..<at]
        let domain = trimmed[trimmed.index(after: at)...]
        guard !local.isEmpty, !domain.isEmpty else { throw .emptyPart(address) }
        guard local.count <= 64, domain.count <= 253 else { throw .tooLong(address) }
        for scalar in trimmed.unicodeScalars {
            switch scalar {
            case " ", "\t", "<", ">", "(", ")", ",", ";", ":", "\\", "\"", "[", "]":
                throw .invalidCharacter(address, Character(scalar))
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { throw .invalidCharacter(address, Character(scalar)) }
            }
        }
        guard !domain.contains("@"), !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains("..") else {
            throw .invalidDomain(address)
        }
        self.address = trimmed
        // A display name is free text (often a lead's name): control characters become spaces.
        let name = displayName.map { String(String.UnicodeScalarView($0.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 })) }?
            .trimmingASCIIWhitespace()
        self.displayName = (name?.isEmpty ?? true) ? nil : name
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
}

/// Why a string is not a usable email address.
public enum EmailAddressError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingAt(String)
    case emptyPart(String)
    case tooLong(String)
    case invalidCharacter(String, Character)
    case invalidDomain(String)

    public var description: String {
        switch self {
        case .missingAt(let s): "'\(s)' is not an email address: expected local@domain"
        case .emptyPart(let s): "'\(s)' is not an email address: the part before or after '@' is empty"
        case .tooLong(let s): "'\(s)' is too long for an email address"
        case .invalidCharacter(let s, let c):
            "'\(s.debugDescription.dropFirst().dropLast())' is not an email address: it contains \(c.debugDescription)"
        case .invalidDomain(let s): "'\(s)' is not an email address: the domain is not valid"
        }
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
