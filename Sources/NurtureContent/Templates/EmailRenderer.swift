import Mustache
import NurtureCore

/// Turns a template and a lead into the message that is sent: Mustache rendering with
/// the lead's data, tracking, unsubscribe headers, and standards-clean MIME.
public struct EmailRenderer: Sendable {
    /// Sender and tracking settings (from configuration, or `nurture preview`'s defaults).
    public struct Settings: Sendable {
        public var from: EmailAddress
        public var replyTo: EmailAddress?
        /// `MAIL FROM` (bounce address); defaults to the From address.
        public var envelopeSender: String?
        /// Base URL of the tracking server, e.g. `https://t.acme.example`.
        public var trackingBaseURL: String
        /// Signs tracking tokens and derives Message-IDs.
        public var secret: Secret
        /// An address that accepts unsubscribe mails (`List-Unsubscribe: <mailto:…>`), if any.
        public var unsubscribeMailto: String?
        /// Signs each message with DKIM, when keys are configured.
        public var dkim: DKIMSigner?
        /// The installation's id, mixed into Message-IDs and tokens (see ``TrackingSigner``).
        public var installation: String?
        /// Header fields added to every email (`headers:` in nurture.yaml); a sequence's own
        /// replace those of the same name. Values may name the send (``HeaderTemplate``).
        public var headers: [MessageHeader] = []

        public init(
            from: EmailAddress, replyTo: EmailAddress? = nil, envelopeSender: String? = nil,
            trackingBaseURL: String, secret: Secret, unsubscribeMailto: String? = nil, dkim: DKIMSigner? = nil,
            headers: [MessageHeader] = []
        ) {
            self.from = from
            self.replyTo = replyTo
            self.envelopeSender = envelopeSender
            self.trackingBaseURL = trackingBaseURL
            self.secret = secret
            self.unsubscribeMailto = unsubscribeMailto
            self.dkim = dkim
            self.headers = headers
        }
    }

    /// A rendered message and the id its tracking events will carry.
    public struct Rendered: Sendable {
        public var message: OutgoingMessage
        public var sendID: SendID
        /// Distinct links rewritten for click tracking.
        public var trackedLinks: Int = 0
    }

    public let library: TemplateLibrary
    public let settings: Settings
    private let links: TrackingLinks

    public init(library: TemplateLibrary, settings: Settings) {
        self.library = library
        self.settings = settings
        self.links = TrackingLinks(baseURL: settings.trackingBaseURL, signer: TrackingSigner(secret: settings.secret, installation: settings.installation))
    }

    /// Renders `template` for `lead`.
    /// - Parameters:
    ///   - key: identifies the send; the same key gives the same Message-ID and tokens.
    ///   - date: seconds since 1970 for the `Date:` header.
    ///   - tracking: `false` leaves links and the pixel alone (a sequence can turn tracking off).
    ///   - subject: a Mustache subject that replaces the template's own.
    ///   - headers: the sequence's own header fields (over ``Settings/headers``).
    ///   - openPixel: `false` leaves the open pixel out (a sequence's `open_tracking: false`).
    ///   - sign: `false` skips the DKIM signatures (a web view shows only the HTML).
    public func render(
        template: String, lead: Lead, key: SendKey, date: Int64, tracking: Bool = true, subject: String? = nil,
        headers: [MessageHeader] = [], openPixel: Bool = true, sign: Bool = true
    ) throws(RenderError) -> Rendered {
        let (draft, id, tracked) = try draft(template: template, lead: lead, key: key, date: date, tracking: tracking, subject: subject, headers: headers, openPixel: openPixel)
        let message = MessageComposer().compose(draft)
        return Rendered(message: sign ? try signed(message, date: date) : message, sendID: id, trackedLinks: tracked)
    }

    /// A test send (`nurture preview --send-to`): the message `lead` would get from
    /// ``render(template:lead:key:date:tracking:subject:)``, addressed to `recipient`, its
    /// subject marked `[Test] ` and with a Message-ID of its own made from `unique` (mailboxes
    /// drop a second message with a Message-ID they have seen). No stored email has its id, so
    /// the tracking server lets its links lead where they will and records nothing.
    public func renderTest(
        template: String, lead: Lead, key: SendKey, date: Int64, tracking: Bool = true, subject: String? = nil,
        to recipient: EmailAddress, unique: String
    ) throws(RenderError) -> OutgoingMessage {
        var (draft, _, _) = try draft(template: template, lead: lead, key: key, date: date, tracking: tracking, subject: subject, headers: [], openPixel: true)
        draft.to = [recipient]
        draft.subject = "[Test] " + draft.subject
        draft.messageID = MessageComposer.messageID(unique: "test-" + unique, domain: settings.from.domain)
        return try signed(MessageComposer().compose(draft), date: date)
    }

    /// `message` with its DKIM signatures, when keys are configured.
    private func signed(_ message: OutgoingMessage, date: Int64) throws(RenderError) -> OutgoingMessage {
        guard let dkim = settings.dkim else { return message }
        do {
            // The custom fields too (Gmail wants Feedback-ID signed).
            return try dkim.sign(message, time: date, alsoSigning: message.headers.map { $0.name.lowercased() })
        } catch {
            throw .signing(error)
        }
    }

    private func draft(
        template: String, lead: Lead, key: SendKey, date: Int64, tracking: Bool, subject: String?, headers: [MessageHeader], openPixel: Bool
    ) throws(RenderError) -> (MessageComposer.Draft, SendID, Int) {
        guard library.contains(template) else {
            throw .unknownTemplate(template, known: library.names)
        }
        let to: EmailAddress
        do {
            to = try EmailAddress(lead.email, displayName: lead.displayName)
        } catch {
            throw .invalidRecipient(lead.email, error)
        }
        let id = links.signer.sendID(for: key)
        let unsubscribeURL = links.unsubscribeURL(id)
        var context = Self.context(for: lead, defaults: library.defaults, unsubscribeURL: unsubscribeURL)
        context["view_url"] = links.viewURL(id)

        let renderedSubject: String
        if let subject {
            do {
                renderedSubject = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + subject).render(context, library: library.library)
            } catch {
                throw .invalidSubject(subject)
            }
        } else {
            renderedSubject = library.render(template, part: "subject", context: context) ?? ""
        }
        let html = library.render(template, part: "html", context: context) ?? ""
        var text = library.hasText(template)
            ? library.render(template, part: "text", context: context) ?? ""
            : library.plainText(template, html: html, context: context)
        var body = html
        var tracked = 0
        if tracking {
            let instrumenter = TrackingInstrumenter(links: links)
            let instrumented = instrumenter.instrumentHTML(html, send: id, openPixel: openPixel)
            tracked = instrumented.tracked.count
            body = instrumented.html
            text = instrumenter.instrumentText(text, send: id, untracked: instrumented.untracked)
        }

        var unsubscribe = "<\(unsubscribeURL)>"
        if let mailto = settings.unsubscribeMailto {
            unsubscribe += ", <mailto:\(mailto)?subject=unsubscribe-\(links.signer.sign(.unsubscribe(id)))>"
        }
        let draft = MessageComposer.Draft(
            from: settings.from, to: [to], replyTo: settings.replyTo,
            subject: renderedSubject.trimmed(.whitespacesAndNewlines),
            text: text, html: body,
            messageID: MessageComposer.messageID(unique: id.description, domain: settings.from.domain),
            date: date,
            headers: [
                MessageHeader("List-Unsubscribe", unsubscribe),
                MessageHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ] + HeaderTemplate.render(HeaderTemplate.merge(settings.headers, headers), sequence: key.sequence, step: key.step, template: template, stage: lead.stage),
            envelopeSender: settings.envelopeSender
        )
        return (draft, id, tracked)
    }

    /// What templates see: every lead field (with defaults for missing or empty ones),
    /// `email`, `stage`, `score`, `fit_score`, `engagement_score`, `tags`, `unsubscribe_url`
    /// (and `view_url`, added by ``render(template:lead:key:date:tracking:subject:)``).
    static func context(for lead: Lead, defaults: [String: String], unsubscribeURL: String) -> [String: Any] {
        var context: [String: Any] = defaults
        for (key, value) in lead.fields where !value.isBlank() {
            context[key] = value
        }
        // The sender's postal address is the sender's: a lead field of that name does not replace it.
        if let postal = defaults["postal_address"] { context["postal_address"] = postal }
        context["email"] = lead.email
        context["stage"] = lead.stage
        context["score"] = lead.score
        context["fit_score"] = lead.fitScore
        context["engagement_score"] = lead.engagementScore
        context["tags"] = lead.tags.sorted()
        context["unsubscribe_url"] = unsubscribeURL
        return context
    }
}

/// Why a message could not be rendered.
public enum RenderError: Error, CustomStringConvertible {
    case unknownTemplate(String, known: [String])
    case invalidRecipient(String, EmailAddressError)
    case invalidSubject(String)
    case signing(DKIMKeyError)

    public var description: String {
        switch self {
        case .unknownTemplate(let name, let known):
            "unknown template '\(name)' (templates: \(known.joined(separator: ", ")))"
        case .invalidRecipient(_, let error): "cannot send to the lead: \(error)"
        case .invalidSubject(let subject): "the subject '\(subject)' is not valid Mustache"
        case .signing(let error): "DKIM: \(error)"
        }
    }
}
