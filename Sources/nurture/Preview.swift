import ArgumentParser
import Foundation
import NurtureApp
import NurtureContent
import NurtureCore
import NurtureDelivery

/// `nurture preview`: render one template for one lead, exactly as it would be sent, and
/// optionally send that message to a tester (`--send-to`) through the configured relay.
struct Preview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a template for a lead and print the message, or send it to a tester (--send-to).",
        discussion: """
        TEMPLATE is a folder name in the templates folder (e.g. welcome). The lead is a flat JSON \
        object of fields: {"email": "ada@example.com", "first_name": "Ada", "company": "…"}.
        --format eml prints the exact bytes that would be sent; html and text print the bodies \
        after tracking is added. Printing needs no database and no configuration: the signing \
        secret comes from --secret or NURTURE_SECRET (default: a development secret, whose tokens \
        are not valid in production).

        --send-to ADDRESS sends the message the lead would get to ADDRESS instead, through the \
        configured relay (--config, ./nurture.yaml if present, NURTURE_* variables), with the \
        configured sender, tracking URL and secret (each flag given here wins). Its subject starts \
        with [Test] and it has a Message-ID of its own. Its links lead where they will and record \
        nothing: no lead received it. Exit status as for nurture send: 1 refused, 75 try later.

        Examples:
          echo '{"email": "ada@example.com", "first_name": "Ada"}' > ada.json
          nurture preview welcome --lead ada.json           (the message, as sent)
          nurture preview welcome --lead ada.json --format html > welcome.html
          nurture preview welcome --lead ada.json --send-to me@acme.example
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case eml, html, text
    }

    @Argument(help: "The template's name, as its folder in the templates folder.")
    var template: String

    @Option(help: "A JSON file with the lead's fields ('-' for standard input).")
    var lead: String

    @Option(help: "What to print: eml, html or text.")
    var format: Format = .eml

    @Option(help: "The templates folder (default: the configuration's with --send-to or --config, else Templates).")
    var templates: String?

    @Option(help: "The sender (default: the configuration's with --send-to or --config, else 'Acme Analytics <hello@acme-analytics.example>').")
    var from: String?

    @Option(help: "The tracking server's base URL (default: the configuration's with --send-to or --config, else http://localhost:8080).")
    var trackingURL: String?

    @Option(help: "Signing secret for tracking tokens (prefer NURTURE_SECRET).")
    var secret: String?

    @Option(help: "An address that accepts unsubscribe emails, added to List-Unsubscribe.")
    var unsubscribeMailto: String?

    @Flag(help: "Leave links and the open pixel untracked.")
    var noTracking = false

    @Option(help: "Sequence, step and enrollment that identify the send (they fix the Message-ID and tokens).")
    var sendKey = "preview/preview/1"

    @Option(help: "Send the message to this address (a tester's) instead of printing it. Repeatable.")
    var sendTo: [String] = []

    @OptionGroup var options: ServiceOptions

    static let developmentSecret = "nurture-development-secret-do-not-use-in-production"

    func run() async throws {
        // At most 1 MiB, its size looked at before anything is read (as for `dry-run --lead`).
        let data: Data
        let read = lead == "-"
            ? LimitedFile.read(descriptor: FileHandle.standardInput.fileDescriptor, limit: DryRunCommand.maxLeadFileBytes)
            : LimitedFile.read(lead, limit: DryRunCommand.maxLeadFileBytes)
        switch read {
        case .success(let bytes): data = bytes
        case .failure(let failure): throw ValidationError("--lead: '\(lead)': \(failure)")
        }
        let theLead: Lead
        do {
            theLead = try LeadJSON.decode(data, source: lead)
        } catch {
            throw ValidationError("\(error)")
        }
        let recipients = try sendTo.map { address in
            do {
                return try EmailAddress.parse(address)
            } catch {
                throw ValidationError("--send-to: \(error)")
            }
        }
        // The configuration is read to send, or when asked for: its relay, sender and tracking.
        let configuration = !recipients.isEmpty || options.config != nil ? try options.configuration() : nil
        let sender: EmailAddress
        if let from {
            do {
                sender = try EmailAddress.parse(from)
            } catch {
                throw ValidationError("--from: \(error)")
            }
        } else {
            sender = configuration?.from ?? (try! EmailAddress.parse("Acme Analytics <hello@acme-analytics.example>"))
        }
        let templates = templates ?? configuration?.templates ?? "Templates"
        let keyParts = sendKey.split(separator: "/").map(String.init)
        guard keyParts.count == 3, let enrollment = Int(keyParts[2]) else {
            throw ValidationError("--send-key must be SEQUENCE/STEP/ENROLLMENT, e.g. welcome-series/welcome/1")
        }
        let library: TemplateLibrary
        do {
            library = try TemplateLibrary(directory: URL(fileURLWithPath: templates))
        } catch {
            printError(error.errors.map { $0.description(inFolder: templates) }.joined(separator: "\n"))
            throw ExitCode(65)
        }
        let environmentSecret = ProcessInfo.processInfo.environment["NURTURE_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        let renderer = EmailRenderer(library: library, settings: EmailRenderer.Settings(
            from: sender, replyTo: configuration?.replyTo, envelopeSender: configuration?.bounceAddress,
            trackingBaseURL: trackingURL ?? configuration?.trackingBaseURL ?? "http://localhost:8080",
            secret: secret.map { Secret($0) } ?? configuration?.secret ?? Secret(environmentSecret ?? Self.developmentSecret),
            unsubscribeMailto: unsubscribeMailto ?? configuration?.unsubscribeMailto,
            dkim: configuration.flatMap { $0.dkim.isEmpty ? nil : DKIMSigner(keys: $0.dkim) },
            headers: configuration?.headers ?? []))
        let key = SendKey(leadID: theLead.id, sequence: keyParts[0], step: keyParts[1], enrollment: enrollment)
        let now = Int64(Date().timeIntervalSince1970)
        if let configuration, !recipients.isEmpty {
            // The values this test send uses: a flag's own replaces the configuration's.
            try ServiceOptions.checkForSending(configuration, logger: options.logger(), fromGiven: from != nil, trackingURL: trackingURL)
            try await send(renderer, key: key, date: now, to: recipients, relay: configuration.relay, lead: theLead)
            return
        }
        let rendered: EmailRenderer.Rendered
        do {
            rendered = try renderer.render(template: template, lead: theLead, key: key, date: now, tracking: !noTracking)
        } catch {
            throw ValidationError("\(error)")
        }
        switch format {
        case .eml: FileHandle.standardOutput.write(Data(rendered.message.rfc5322))
        case .html: print(rendered.message.html ?? "", terminator: "")
        case .text: print(rendered.message.text ?? "", terminator: "")
        }
    }

    /// Sends the lead's message to each tester, one message each; prints the relay's answers.
    private func send(_ renderer: EmailRenderer, key: SendKey, date: Int64, to recipients: [EmailAddress], relay: RelayURL, lead: Lead) async throws {
        let transport = relay.makeTransport()
        var status: Int32 = 0
        for recipient in recipients {
            let message: OutgoingMessage
            do {
                message = try renderer.renderTest(
                    template: template, lead: lead, key: key, date: date, tracking: !noTracking,
                    to: recipient, unique: UUID().uuidString.lowercased())
            } catch {
                throw ValidationError("\(error)")
            }
            switch await transport.deliver(message) {
            case .accepted(let reply):
                print("sent '\(template)' as \(lead.email) would get it to \(recipient.address): accepted by \(relay): \(reply)")
                print("message-id: \(message.messageID)")
            case .transientFailure(let failure):
                printError("not sent to \(recipient.address), temporary failure (retry later) via \(relay): \(failure)")
                if status == 0 { status = 75 }
            case .permanentFailure(let failure):
                printError("not sent to \(recipient.address), permanent failure via \(relay): \(failure)")
                status = 1
            }
        }
        if status != 0 { throw ExitCode(status) }
    }
}
