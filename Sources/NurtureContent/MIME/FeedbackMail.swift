import Foundation

/// What a message in the bounce mailbox says, read from its MIME structure:
///
/// - a delivery status notification (RFC 3464, `multipart/report; report-type=delivery-status`):
///   each failed recipient, hard (status 5.x.x) or soft (4.x.x); delays and successes say
///   nothing;
/// - a complaint (RFC 5965 ARF, `multipart/report; report-type=feedback-report`, feedback type
///   `abuse` or `fraud`): the recipient who complained;
/// - an unsubscribe request sent to the `List-Unsubscribe` mailto: the signed token in its
///   subject (`unsubscribe-<token>`, a reply's `Re:` allowed);
/// - anything else (an out-of-office, a person's reply): left for a human.
///
/// For reports, the original message's `Message-ID` (from its enclosed copy or headers) finds
/// the email that bounced; the report's own `Message-ID` makes a second reading a duplicate.
public enum FeedbackMail: Sendable, Equatable {
    case bounce([Bounce], originalMessageID: String?, reportID: String?)
    case complaint(recipient: String?, originalMessageID: String?, reportID: String?)
    case unsubscribe(token: String)
    case other

    public struct Bounce: Sendable, Equatable {
        public var recipient: String
        public var hard: Bool
        /// `5.1.1 (Diagnostic-Code)`.
        public var reason: String
    }

    public init(raw: [UInt8]) {
        let message = MIMEEntity(raw)
        let reportID = message.header("Message-ID")
        if message.contentType == "multipart/report" {
            let reportType = message.contentTypeParameter("report-type")?.lowercased()
            if reportType == "delivery-status", let status = message.all.first(where: { $0.contentType == "message/delivery-status" || $0.contentType == "message/global-delivery-status" }) {
                let bounces = Self.bounces(status)
                self = bounces.isEmpty ? .other : .bounce(bounces, originalMessageID: Self.originalMessageID(message), reportID: reportID)
                return
            }
            if reportType == "feedback-report", let report = message.all.first(where: { $0.contentType == "message/feedback-report" }) {
                let fields = report.fieldGroups.flatMap { $0 }
                func field(_ name: String) -> String? { fields.first { $0.name.lowercased() == name.lowercased() }?.value }
                let type = field("Feedback-Type")?.lowercased() ?? "abuse"
                guard type == "abuse" || type == "fraud" else {
                    self = .other
                    return
                }
                let original = Self.original(message)
                let recipient = field("Original-Rcpt-To").map(Self.address) ?? original?.header("To").map(Self.address)
                self = .complaint(recipient: recipient, originalMessageID: original?.header("Message-ID"), reportID: reportID)
                return
            }
        }
        if let subject = message.header("Subject"), let token = Self.unsubscribeToken(subject) {
            self = .unsubscribe(token: token)
            return
        }
        self = .other
    }

    /// The failed recipients of a `message/delivery-status` part: its per-recipient groups
    /// with `Action: failed`.
    static func bounces(_ status: MIMEEntity) -> [Bounce] {
        var bounces: [Bounce] = []
        for group in status.fieldGroups.dropFirst() {
            func field(_ name: String) -> String? { group.first { $0.name.lowercased() == name.lowercased() }?.value }
            guard field("Action")?.lowercased() == "failed",
                  let recipient = (field("Final-Recipient") ?? field("Original-Recipient")).map(address), recipient.contains("@") else { continue }
            let code = field("Status")?.trimmingCharacters(in: .whitespaces) ?? "5.0.0"
            var reason = code
            if let diagnostic = field("Diagnostic-Code") { reason += " (\(diagnostic.prefix(300)))" }
            bounces.append(Bounce(recipient: recipient, hard: !code.hasPrefix("4"), reason: reason))
        }
        return bounces
    }

    /// The enclosed original message (or its headers).
    static func original(_ message: MIMEEntity) -> MIMEEntity? {
        message.parts.dropFirst().lazy.compactMap(\.enclosed).first
    }

    static func originalMessageID(_ message: MIMEEntity) -> String? {
        original(message)?.header("Message-ID")
    }

    /// `rfc822; ada@example.com` or `<ada@example.com>` → `ada@example.com`.
    static func address(_ value: String) -> String {
        var text = value
        if let semicolon = text.firstIndex(of: ";") { text = String(text[text.index(after: semicolon)...]) }
        if let open = text.firstIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = String(text[text.index(after: open)..<close])
        }
        return text.trimmingCharacters(in: .whitespaces)
    }

    /// `unsubscribe-<token>` in a subject, after any `Re:`/`Fwd:` prefixes.
    static func unsubscribeToken(_ subject: String) -> String? {
        var text = subject.trimmingCharacters(in: .whitespaces)
        while let colon = text.firstIndex(of: ":"), text[..<colon].count <= 4, ["re", "fw", "fwd", "aw", "sv", "tr"].contains(text[..<colon].lowercased()) {
            text = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard text.lowercased().hasPrefix("unsubscribe-") else { return nil }
        let token = text.dropFirst("unsubscribe-".count).prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." || $0 == "~" }
        return token.isEmpty ? nil : String(token)
    }
}
