import ArgumentParser
import Foundation
import NurtureContent
import NurtureCore
import NurtureDelivery

/// `nurture send`: one message through a relay, to check a relay's settings by hand.
struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one email through a relay and print the relay's answer.",
        discussion: """
        The relay URL picks the transport: smtp://host:port, smtps://host:port, \
        https://api.example.com/send (an HTTP email API) or file://DIR (one .eml file per message).
        Credentials come from --user/--password or NURTURE_SMTP_USER/NURTURE_SMTP_PASSWORD; \
        an HTTP relay's bearer token from NURTURE_RELAY_TOKEN. Secrets are never printed.
        Exit status: 0 accepted, 1 refused for good (e.g. 550), 75 failed for now (e.g. 451, \
        connection refused): try again later.

        Examples:
          nurture send --relay smtp://127.0.0.1:25 --from hello@acme.example \\
            --to me@acme.example --subject 'Relay check' --text 'It works.'
          NURTURE_RELAY_TOKEN=… nurture send --format postmark \\
            --relay https://api.postmarkapp.com/email --from hello@acme.example \\
            --to me@acme.example --subject Hi --html-file hi.html
        """
    )

    @Option(help: "Where to send: smtp://, smtps://, http(s):// or file:// URL.")
    var relay: String

    @Option(help: "The sender, 'Name <address>' or an address.")
    var from: String

    @Option(help: "A recipient, 'Name <address>' or an address. Repeat for several.")
    var to: [String]

    @Option(help: "The subject line (UTF-8).")
    var subject: String

    @Option(help: "The plain-text body.")
    var text: String?

    @Option(help: "The HTML body.")
    var html: String?

    @Option(help: "Read the plain-text body from this file.")
    var textFile: String?

    @Option(help: "Read the HTML body from this file.")
    var htmlFile: String?

    @Option(name: .customLong("header"), help: "An extra message header 'Name: value'. Repeatable.")
    var headers: [String] = []

    @Option(help: "The Message-ID to use (default: a new random one).")
    var messageID: String?

    @OptionGroup var relayFlags: RelayFlags

    func run() async throws {
        let relay = try relayFlags.relay(relay)
        let fromAddress = try parseAddress(from, option: "--from")
        let recipients = try to.map { try parseAddress($0, option: "--to") }
        let textBody = try text ?? textFile.map { try readFile($0, option: "--text-file") }
        let htmlBody = try html ?? htmlFile.map { try readFile($0, option: "--html-file") }
        guard textBody != nil || htmlBody != nil else {
            throw ValidationError("Give a body with --text, --html, --text-file or --html-file.")
        }
        let extra = try headers.map { line in
            guard let colon = line.firstIndex(of: ":") else {
                throw ValidationError("--header '\(line)' is not 'Name: value'.")
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            guard MessageComposer.isValidFieldName(name) else {
                throw ValidationError("--header '\(line)': '\(name)' is not a valid header name.")
            }
            return MessageHeader(name, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }

        let message = MessageComposer().compose(MessageComposer.Draft(
            from: fromAddress, to: recipients, subject: subject, text: textBody, html: htmlBody,
            messageID: messageID ?? MessageComposer.messageID(unique: UUID().uuidString.lowercased(), domain: fromAddress.domain),
            date: Int64(Date().timeIntervalSince1970), headers: extra
        ))

        let outcome = await relay.makeTransport().deliver(message)
        switch outcome {
        case .accepted(let reply):
            print("accepted by \(relay): \(reply)")
            print("message-id: \(message.messageID)")
        case .transientFailure(let failure):
            printError("not delivered, temporary failure (retry later) via \(relay): \(failure)")
            throw ExitCode(75)
        case .permanentFailure(let failure):
            printError("not delivered, permanent failure via \(relay): \(failure)")
            throw ExitCode(1)
        }
    }

    private func parseAddress(_ text: String, option: String) throws -> EmailAddress {
        do {
            return try EmailAddress.parse(text)
        } catch {
            throw ValidationError("\(option): \(error)")
        }
    }

    private func readFile(_ path: String, option: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("\(option): cannot read '\(path)': \(error.localizedDescription)")
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((terminalSafe(text) + "\n").utf8))
}
