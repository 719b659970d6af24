import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NurtureContent

/// `nurture dkim`: make a DKIM key, and print the DNS records of the configured ones.
struct DKIMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dkim",
        abstract: "Make DKIM keys and print the DNS records that publish them.",
        subcommands: [Keygen.self, DNS.self]
    )

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a DKIM private key file and print its DNS record and the nurture.yaml lines that use it.",
            discussion: """
            RSA keys have 2,048 bits (every receiver checks them). Ed25519 keys (RFC 8463) are \
            short, but not every receiver checks them yet: sign with both if you use one. The file \
            is written readable by its owner only, and never overwritten.

            Examples:
              nurture dkim keygen --domain acme.example --selector s2026 --out dkim.pem
              nurture dkim keygen --domain acme.example --selector ed2026 \\
                --algorithm ed25519 --out dkim-ed25519.pem
            """
        )

        enum Algorithm: String, ExpressibleByArgument, CaseIterable { case rsa, ed25519 }

        @Option(help: "The signing domain (d=): the From address's domain, or a parent of it, for DMARC.")
        var domain: String

        @Option(help: "The selector (s=): the key's name under <selector>._domainkey.<domain>.")
        var selector: String

        @Option(help: "rsa or ed25519.")
        var algorithm: Algorithm = .rsa

        @Option(help: "Where to write the private key (PEM).")
        var out: String

        func run() throws {
            let key: DKIMKey
            do {
                key = try DKIMKey(generating: algorithm == .rsa ? .rsaSHA256 : .ed25519SHA256, domain: domain, selector: selector)
            } catch {
                throw ValidationError("\(error)")
            }
            // Created only if absent, readable by its owner from the start (no moment when
            // another user could read it, and no race with a file made meanwhile).
            let descriptor = open(out, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else {
                let why = errno
                throw ValidationError(why == EEXIST
                    ? "--out: '\(out)' exists: nurture never overwrites a key (move it away, or pick another name)"
                    : "--out: cannot write '\(out)': \(String(cString: strerror(why)))")
            }
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            do {
                try handle.write(contentsOf: Data(key.pemRepresentation.utf8))
                try handle.close()
            } catch {
                throw ValidationError("--out: cannot write '\(out)': \(error)")
            }
            print("""
            wrote \(out) (\(key.algorithm.rawValue); keep it secret, readable by nurture only)

            Publish this TXT record, then add the key to nurture.yaml:

            \(DNS.zoneLine(key))

            dkim:
              - domain: \(key.domain)
                selector: \(key.selector)
                private_key_file: \(out)
            """)
        }
    }

    struct DNS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dns",
            abstract: "Print the DNS TXT record of each DKIM key in the configuration, as a zone-file line.",
            discussion: """
            Examples:
              nurture dkim dns --config nurture.yaml
            """
        )

        @OptionGroup var options: ServiceOptions

        func run() throws {
            let configuration = try options.configuration()
            guard !configuration.dkim.isEmpty else {
                throw ValidationError("no dkim keys in the configuration: make one with `nurture dkim keygen`")
            }
            for key in configuration.dkim { print(Self.zoneLine(key)) }
        }

        /// `<name>. IN TXT "…"`, the record cut into strings of at most 255 characters (RFC 1035).
        static func zoneLine(_ key: DKIMKey) -> String {
            var chunks: [String] = []
            var rest = Substring(key.dnsRecord)
            while !rest.isEmpty {
                chunks.append(String(rest.prefix(255)))
                rest = rest.dropFirst(255)
            }
            return "\(key.dnsName). IN TXT " + chunks.map { "\"\($0)\"" }.joined(separator: " ")
        }
    }
}
