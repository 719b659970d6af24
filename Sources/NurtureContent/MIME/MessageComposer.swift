import NurtureCore

/// Builds the RFC 5322 / MIME bytes of a message from its parts.
///
/// Output: CRLF line ends; UTF-8 text parts in quoted-printable (no line over 76
/// characters); non-ASCII subjects and display names as RFC 2047 encoded words;
/// `multipart/alternative` (text, then HTML) when both parts are present. Header values
/// are sanitized, so CR/LF in a lead's data can never start a new header.
/// The output is a pure function of the input: the same message gives the same bytes.
public struct MessageComposer: Sendable {
    public init() {}

    /// The parts of one message, before encoding.
    public struct Draft: Sendable {
        public var from: EmailAddress
        public var to: [EmailAddress]
        public var replyTo: EmailAddress?
        public var subject: String
        public var text: String?
        public var html: String?
        /// `<unique@domain>`; see ``MessageComposer/messageID(unique:domain:)``.
        public var messageID: String
        /// Seconds since 1970 for the `Date:` header.
        public var date: Int64
        /// Extra headers, e.g. `List-Unsubscribe`, in order.
        public var headers: [MessageHeader]
        /// `MAIL FROM`; defaults to the From address.
        public var envelopeSender: String?

        public init(
            from: EmailAddress, to: [EmailAddress], replyTo: EmailAddress? = nil, subject: String,
            text: String?, html: String?, messageID: String, date: Int64, headers: [MessageHeader] = [],
            envelopeSender: String? = nil
        ) {
            self.from = from
            self.to = to
            self.replyTo = replyTo
            self.subject = subject
            self.text = text
            self.html = html
            self.messageID = messageID
            self.date = date
            self.headers = headers
            self.envelopeSender = envelopeSender
        }
    }

    /// Builds the message. A draft with neither text nor HTML gets an empty text part.
    public func compose(_ draft: Draft) -> OutgoingMessage {
        var head = ""
        head += "Date: " + RFC5322Date.format(secondsSince1970: draft.date) + "\r\n"
        head += HeaderEncoding.addresses("From", [draft.from])
        head += HeaderEncoding.addresses("To", draft.to)
        if let replyTo = draft.replyTo { head += HeaderEncoding.addresses("Reply-To", [replyTo]) }
        head += HeaderEncoding.unstructured("Subject", draft.subject)
        head += "Message-ID: " + HeaderEncoding.sanitize(draft.messageID) + "\r\n"
        head += "MIME-Version: 1.0\r\n"
        for header in draft.headers where Self.isValidFieldName(header.name) {
            head += HeaderEncoding.unstructured(header.name, header.value)
        }

        var bytes = Array(head.utf8)
        let text = draft.text ?? (draft.html == nil ? "" : nil)
        switch (text, draft.html) {
        case (let text?, let html?):
            let boundary = Self.boundary(for: draft.messageID)
            bytes += Array("Content-Type: multipart/alternative; boundary=\"\(boundary)\"\r\n\r\n".utf8)
            bytes += Array("This is a multi-part message in MIME format.\r\n".utf8)
            bytes += Array("\r\n--\(boundary)\r\n".utf8)
            bytes += Self.part(contentType: "text/plain", body: text)
            bytes += Array("\r\n--\(boundary)\r\n".utf8)
            bytes += Self.part(contentType: "text/html", body: html)
            bytes += Array("\r\n--\(boundary)--\r\n".utf8)
        case (let text?, nil):
            bytes += Self.part(contentType: "text/plain", body: text)
            if !text.hasSuffix("\n") { bytes += [0x0D, 0x0A] }
        case (nil, let html?):
            bytes += Self.part(contentType: "text/html", body: html)
            if !html.hasSuffix("\n") { bytes += [0x0D, 0x0A] }
        case (nil, nil):
            preconditionFailure("unreachable: text defaults to empty")
        }

        return OutgoingMessage(
            envelopeSender: draft.envelopeSender ?? draft.from.address,
            recipients: draft.to.map(\.address),
            messageID: draft.messageID,
            from: draft.from,
            to: draft.to,
            subject: HeaderEncoding.sanitize(draft.subject),
            text: text,
            html: draft.html,
            headers: draft.headers.map { MessageHeader($0.name, HeaderEncoding.sanitize($0.value)) },
            rfc5322: bytes
        )
    }

    /// A Message-ID value `<unique@domain>`; `unique` is cleaned to the characters RFC 5322
    /// allows in an id, so callers may pass a key such as `lead-42.seq.step-3.e1`.
    public static func messageID(unique: String, domain: some StringProtocol) -> String {
        let allowed = unique.unicodeScalars.filter { s in
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || ".-_+=$".unicodeScalars.contains(s)
        }
        let cleanDomain = String(domain).unicodeScalars.filter { s in
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || ".-".unicodeScalars.contains(s)
        }
        return "<\(String(String.UnicodeScalarView(allowed)))@\(cleanDomain.isEmpty ? "localhost" : String(String.UnicodeScalarView(cleanDomain)))>"
    }

    private static func part(contentType: String, body: String) -> [UInt8] {
        Array("Content-Type: \(contentType); charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n".utf8)
            + QuotedPrintable.encode(body)
    }

    /// A boundary that cannot occur in quoted-printable content ("=_" is never produced
    /// by the encoder, since a literal '=' is always escaped) and is stable per message.
    static func boundary(for messageID: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a
        for byte in messageID.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return "=_nurture_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// RFC 5322 field names: printable ASCII except ':' and space.
    public static func isValidFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }
    }
}
