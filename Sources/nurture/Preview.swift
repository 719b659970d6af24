import ArgumentParser
import Foundation
import NurtureApp
import NurtureContent
import NurtureCore

/// `nurture preview`: render one template for one lead, exactly as it would be sent.
struct Preview: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a template for a lead and print the message (no database, no config needed).",
        discussion: """
        TEMPLATE is a folder name in the templates folder (e.g. welcome). The lead is a flat JSON \
        object of fields: {"email": "ada@example.com", "first_name": "Ada", "company": "…"}.
        --format eml prints the exact bytes that would be sent; html and text print the bodies \
        after tracking is added. The signing secret comes from --secret or NURTURE_SECRET \
        (default: a development secret — tokens made with it are not valid in production).
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

    @Option(help: "The templates folder.")
    var templates = "Templates"

    @Option(help: "The sender.")
    var from = "Acme Analytics <hello@acme-analytics.example>"

    @Option(help: "The tracking server's base URL.")
    var trackingURL = "http://localhost:8080"

    @Option(help: "Signing secret for tracking tokens (prefer NURTURE_SECRET).")
    var secret: String?

    @Option(help: "An address that accepts unsubscribe emails, added to List-Unsubscribe.")
    var unsubscribeMailto: String?

    @Flag(help: "Leave links and the open pixel untracked.")
    var noTracking = false

    @Option(help: "Sequence, step and enrollment that identify the send (they fix the Message-ID and tokens).")
    var sendKey = "preview/preview/1"

    static let developmentSecret = "nurture-development-secret-do-not-use-in-production"

    func run() throws {
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
        let sender: EmailAddress
        do {
            sender = try EmailAddress.parse(from)
        } catch {
            throw ValidationError("--from: \(error)")
        }
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
            from: sender, trackingBaseURL: trackingURL,
            secret: Secret(secret ?? environmentSecret ?? Self.developmentSecret),
            unsubscribeMailto: unsubscribeMailto))
        let rendered: EmailRenderer.Rendered
        do {
            rendered = try renderer.render(
                template: template, lead: theLead,
                key: SendKey(leadID: theLead.id, sequence: keyParts[0], step: keyParts[1], enrollment: enrollment),
                date: Int64(Date().timeIntervalSince1970), tracking: !noTracking)
        } catch {
            throw ValidationError("\(error)")
        }
        switch format {
        case .eml: FileHandle.standardOutput.write(Data(rendered.message.rfc5322))
        case .html: print(rendered.message.html ?? "", terminator: "")
        case .text: print(rendered.message.text ?? "", terminator: "")
        }
    }
}
