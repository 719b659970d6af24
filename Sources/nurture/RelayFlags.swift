import ArgumentParser
import Foundation
import NurtureCore
import NurtureDelivery

/// Relay settings shared by every command that sends.
struct RelayFlags: ParsableArguments {
    @Option(help: "SMTP user name (or NURTURE_SMTP_USER).")
    var user: String?

    @Option(help: "SMTP password (prefer NURTURE_SMTP_PASSWORD: flags show in the process list).")
    var password: String?

    @Option(help: "STARTTLS for smtp:// relays: required, opportunistic or off (default: required with credentials, else opportunistic).")
    var starttls: SMTPConfiguration.STARTTLS?

    @Flag(help: "Do not verify the relay's TLS certificate (tests only).")
    var insecure = false

    @Option(help: "A PEM file of CA certificates to trust for the relay.")
    var caFile: String?

    @Option(name: .customLong("relay-header"), help: "An HTTP relay request header 'Name: value'. Repeatable.")
    var relayHeaders: [String] = []

    @Option(help: "HTTP relay body format: nurture, postmark, sendgrid or rfc822.")
    var format: HTTPRelayFormat = .nurture

    @Option(help: "Seconds allowed for one message, connection included.")
    var timeout: Int?

    @Option(help: "Parallel connections to the relay.")
    var connections = 4

    func relay(_ url: String) throws -> RelayURL {
        let environment = ProcessInfo.processInfo.environment
        var headers: [(name: String, value: Secret)] = try relayHeaders.map { line in
            guard let colon = line.firstIndex(of: ":") else {
                throw ValidationError("--relay-header '\(line.prefix(while: { $0 != " " }))…' is not 'Name: value'.")
            }
            return (String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                    Secret(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        if let token = environment["NURTURE_RELAY_TOKEN"], !token.isEmpty,
           !headers.contains(where: { $0.name.lowercased() == "authorization" }) {
            headers.append((name: "Authorization", value: Secret("Bearer \(token)")))
        }
        let options = RelayOptions(
            username: user ?? environment["NURTURE_SMTP_USER"].flatMap { $0.isEmpty ? nil : $0 },
            password: (password ?? environment["NURTURE_SMTP_PASSWORD"]).flatMap { $0.isEmpty ? nil : Secret($0) },
            starttls: starttls, headers: headers, format: format, verifyPeer: !insecure, caFile: caFile,
            timeout: timeout.map { .seconds($0) }, connections: connections
        )
        do {
            return try RelayURL.parse(url, options: options)
        } catch {
            throw ValidationError("--relay: \(error)")
        }
    }
}

extension SMTPConfiguration.STARTTLS: ExpressibleByArgument {}
extension HTTPRelayFormat: ExpressibleByArgument {}
