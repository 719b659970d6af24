import NurtureCore

/// Builds the RFC 5322 / MIME bytes of a message from its parts.
///
/// Output: CRLF line ends; UTF-8 text parts in quoted-printable (no line over 76
/// characters); non-ASCII subjects and display names as RFC 2047 encoded words;
/// `multipart/alternative` (text, then HTML) when both parts are present. Header values
/// are sanitized, so CR/LF in a lead's data can never start a new header; text that looks
/// like an encoded word is itself encoded, so no reader decodes it into one; and every
/// header line is at most 998 octets, and at most 78 wherever folding allows (see
/// `HeaderEncoding`).
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

    /// Why a header cannot be written.
    public enum HeaderError: Error, Equatable, Sendable, CustomStringConvertible {
        /// An element with no place to fold (a Message-ID, a URL in `List-Unsubscribe`, a
        /// field name, a token of a structured field) would need a line of `octets`, over
        /// RFC 5322's limit of 998. `field` and `element` are shortened to 60 characters.
        case unfoldable(field: String, octets: Int, element: String)

        public var description: String {
            switch self {
            case .unfoldable(let field, let octets, let element):
                "header '\(field)' cannot be written: '\(element)' has no place to fold and needs a line of \(octets) octets; RFC 5322 limits a line to 998"
            }
        }
    }

    /// Builds the message. A draft with neither text nor HTML gets an empty text part.
    ///
    /// Never writes an invalid line: a header that cannot be written (see ``HeaderError``)
    /// is left out, or, in an RFC 2369 list such as `List-Unsubscribe`, only the item that
    /// is too long. Use ``composeChecked(_:)`` to be told instead.
    public func compose(_ draft: Draft) -> OutgoingMessage {
        Self.build(draft).message
    }

    /// Builds the message, or refuses it when one of its headers cannot be written within
    /// RFC 5322's line limit: it would have to lose that header (or a `List-Unsubscribe`
    /// item). Free text (subject, display names, extension fields) never causes this.
    public func composeChecked(_ draft: Draft) throws(HeaderError) -> OutgoingMessage {
        let (message, problems) = Self.build(draft)
        if let problem = problems.first { throw problem }
        return message
    }

    /// Fields whose values are structured and must stay literal: folded at spaces outside
    /// `<…>` and quotes, never turned into encoded words (which readers would not decode).
    static func isStructured(_ lowercasedName: String) -> Bool {
        lowercasedName.hasPrefix("list-")
            || ["message-id", "in-reply-to", "references", "resent-message-id"].contains(lowercasedName)
    }

    /// RFC 2369 fields: a comma-separated list of `<URL>`s, folded only between items.
    static let urlListFields: Set<String> = [
        "list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive",
    ]

    private static func build(_ draft: Draft) -> (message: OutgoingMessage, problems: [HeaderError]) {
        var head = ""
        var problems: [HeaderError] = []
        /// Appends the field, or records why it is left out.
        func add(_ field: () throws(HeaderError) -> String) {
            do { head += try field() } catch { problems.append(error) }
        }
        head += "Date: " + RFC5322Date.format(secondsSince1970: draft.date) + "\r\n"
        add { () throws(HeaderError) in try HeaderEncoding.addresses("From", [draft.from]) }
        add { () throws(HeaderError) in try HeaderEncoding.addresses("To", draft.to) }
        if let replyTo = draft.replyTo { add { () throws(HeaderError) in try HeaderEncoding.addresses("Reply-To", [replyTo]) } }
        add { () throws(HeaderError) in try HeaderEncoding.unstructured("Subject", draft.subject) }
        add { () throws(HeaderError) in try HeaderEncoding.structured("Message-ID", draft.messageID) }
        head += "MIME-Version: 1.0\r\n"
        var written: [MessageHeader] = []
        for header in draft.headers where Self.isValidFieldName(header.name) {
            let name = header.name, value = HeaderEncoding.sanitize(header.value)
            let lowercased = name.lowercased()
            // Plain ASCII that fits a line of 998 goes as written, folded at spaces only: an
            // encoded word would hide a Feedback-ID or List-Id from the receivers that read
            // them. Text that looks like an encoded word ("=?"), longer text and non-ASCII
            // are encoded, so that they read back literally.
            let asWritten = HeaderEncoding.isPlainASCII(value) && !value.containsBytes("=?") && name.utf8.count + 2 + value.utf8.count <= 998
            guard asWritten || (HeaderEncoding.isPlainASCII(value) && Self.isStructured(lowercased)) else {
                do {
                    head += try HeaderEncoding.unstructured(name, value)
                    written.append(MessageHeader(name, value))
                } catch { problems.append(error) }
                continue
            }
            var list = value
            var recorded = false
            if Self.urlListFields.contains(lowercased) {
                let items = HeaderEncoding.listItems(value)
                list = items.joined(separator: ", ")
                do {
                    head += try HeaderEncoding.structured(name, list)
                    written.append(MessageHeader(name, list))
                    continue
                } catch {
                    problems.append(error)
                    recorded = true
                }
                // Keep the items that fit a line of their own, even on the field-name line.
                list = items.filter { name.utf8.count + 2 + $0.utf8.count + 1 <= HeaderEncoding.maximumLineLength }
                    .joined(separator: ", ")
                guard !list.isEmpty else { continue }
            }
            do {
                head += try HeaderEncoding.structured(name, list)
                written.append(MessageHeader(name, list))
            } catch {
                if !recorded { problems.append(error) }
            }
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

        let message = OutgoingMessage(
            envelopeSender: draft.envelopeSender ?? draft.from.address,
            recipients: draft.to.map(\.address),
            messageID: draft.messageID,
            from: draft.from,
            to: draft.to,
            replyTo: draft.replyTo,
            subject: HeaderEncoding.sanitize(draft.subject),
            text: text,
            html: draft.html,
            headers: written,
            rfc5322: bytes
        )
        return (message, problems)
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
