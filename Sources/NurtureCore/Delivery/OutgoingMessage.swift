/// One email ready for a transport: the envelope, the structured content (for HTTP email
/// APIs that take fields) and the exact RFC 5322 bytes (for SMTP and files).
///
/// Both views describe the same message; they are built together by the message composer.
public struct OutgoingMessage: Sendable {
    /// `MAIL FROM` address (the bounce address).
    public var envelopeSender: String
    /// `RCPT TO` addresses.
    public var recipients: [String]
    /// The `Message-ID` header value, with angle brackets: `<id@domain>`.
    public var messageID: String
    public var from: EmailAddress
    public var to: [EmailAddress]
    /// Where replies go, when not to ``from``.
    public var replyTo: EmailAddress?
    public var subject: String
    public var text: String?
    public var html: String?
    /// Extra headers beyond the standard set (e.g. `List-Unsubscribe`), in order.
    public var headers: [MessageHeader]
    /// The complete message as it goes on the wire: CRLF line ends, dot-stuffing not applied.
    public var rfc5322: [UInt8]

    public init(
        envelopeSender: String, recipients: [String], messageID: String, from: EmailAddress,
        to: [EmailAddress], replyTo: EmailAddress? = nil, subject: String, text: String?, html: String?,
        headers: [MessageHeader] = [], rfc5322: [UInt8]
    ) {
        self.envelopeSender = envelopeSender
        self.recipients = recipients
        self.messageID = messageID
        self.from = from
        self.to = to
        self.replyTo = replyTo
        self.subject = subject
        self.text = text
        self.html = html
        self.headers = headers
        self.rfc5322 = rfc5322
    }
}

/// A header field name and its unencoded value.
public struct MessageHeader: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}
