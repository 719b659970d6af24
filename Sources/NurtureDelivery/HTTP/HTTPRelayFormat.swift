import Foundation
import NurtureCore

/// The request body an HTTP relay expects. Each case is documented in docs/relays.md
/// ("HTTP relay body formats").
public enum HTTPRelayFormat: String, Sendable, CaseIterable {
    /// Nurture's generic JSON: `message_id`, `from`, `to`, `subject`, `text`, `html`,
    /// `headers`, `envelope`. For a relay you write yourself or an adapter in front of one.
    case nurture
    /// Postmark's `/email` API: `From`, `To`, `Subject`, `TextBody`, `HtmlBody`, `Headers`.
    case postmark
    /// SendGrid's v3 `/mail/send` API: `personalizations`, `from`, `subject`, `content`, `headers`.
    case sendgrid
    /// The RFC 5322 message itself as the body, `Content-Type: message/rfc822`
    /// (APIs that take raw MIME).
    case rfc822

    /// The `Content-Type` of the request body.
    var contentType: String {
        self == .rfc822 ? "message/rfc822" : "application/json"
    }

    /// The request body for `message`.
    func body(for message: OutgoingMessage) -> [UInt8] {
        switch self {
        case .rfc822:
            return message.rfc5322
        case .nurture:
            return Self.encode(NurtureBody(message))
        case .postmark:
            return Self.encode(PostmarkBody(message))
        case .sendgrid:
            return Self.encode(SendGridBody(message))
        }
    }

    private static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and arrays cannot fail.
        return Array(try! encoder.encode(value))
    }
}

private struct Mailbox: Encodable {
    var email: String
    var name: String?
    init(_ address: EmailAddress) {
        email = address.address
        name = address.displayName
    }
}

private struct NurtureBody: Encodable {
    struct Envelope: Encodable {
        var from: String
        var to: [String]
    }
    var message_id: String
    var from: Mailbox
    var to: [Mailbox]
    var reply_to: Mailbox?
    var subject: String
    var text: String?
    var html: String?
    var headers: [String: String]
    var envelope: Envelope

    init(_ m: OutgoingMessage) {
        message_id = m.messageID
        from = Mailbox(m.from)
        to = m.to.map(Mailbox.init)
        reply_to = m.replyTo.map(Mailbox.init)
        subject = m.subject
        text = m.text
        html = m.html
        headers = Dictionary(m.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        envelope = Envelope(from: m.envelopeSender, to: m.recipients)
    }
}

private struct PostmarkBody: Encodable {
    struct Header: Encodable {
        var Name: String
        var Value: String
    }
    var From: String
    var To: String
    var ReplyTo: String?
    var Subject: String
    var TextBody: String?
    var HtmlBody: String?
    var Headers: [Header]
    /// Comes back in Postmark's webhooks: how a bounce finds its email. Postmark takes values
    /// of at most 80 characters; a longer Message-ID is left out (the bounce is then matched by
    /// its address).
    var Metadata: [String: String]?

    init(_ m: OutgoingMessage) {
        From = m.from.quotedDescription
        To = m.to.map(\.quotedDescription).joined(separator: ", ")
        ReplyTo = m.replyTo?.quotedDescription
        Subject = m.subject
        TextBody = m.text
        HtmlBody = m.html
        Headers = [Header(Name: "Message-ID", Value: m.messageID)] + m.headers.map { Header(Name: $0.name, Value: $0.value) }
        Metadata = m.messageID.count <= 80 ? ["nurture_message_id": m.messageID] : nil
    }
}

private struct SendGridBody: Encodable {
    struct Personalization: Encodable { var to: [Mailbox] }
    struct Content: Encodable {
        var type: String
        var value: String
    }
    var personalizations: [Personalization]
    var from: Mailbox
    var reply_to: Mailbox?
    var subject: String
    var content: [Content]
    var headers: [String: String]
    /// Comes back in each of SendGrid's events: how a bounce finds its email.
    var custom_args: [String: String]

    init(_ m: OutgoingMessage) {
        personalizations = [Personalization(to: m.to.map(Mailbox.init))]
        from = Mailbox(m.from)
        reply_to = m.replyTo.map(Mailbox.init)
        subject = m.subject
        // SendGrid requires text/plain before text/html.
        content = [m.text.map { Content(type: "text/plain", value: $0) }, m.html.map { Content(type: "text/html", value: $0) }]
            .compactMap { $0 }
        headers = Dictionary(m.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        headers["Message-ID"] = m.messageID
        custom_args = ["nurture_message_id": m.messageID]
    }
}
