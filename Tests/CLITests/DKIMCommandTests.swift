import Foundation
import Testing
import TestSupport

/// DKIM as an operator sets it up: `nurture dkim keygen`, the DNS records from `nurture dkim
/// dns`, then `nurture serve` signing what it sends, checked by dkimpy.
@Suite("DKIM: keygen, dns, and nurture serve signing what it sends")
struct DKIMCommandTests {
    @Test("keys made by nurture dkim keygen sign every email nurture serve sends; dkimpy verifies both signatures")
    func serveSigns() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let serve = ServeCommandTests()
        let (folder, port) = try serve.setUp(smtp: smtp)
        for (selector, algorithm) in [("rsa2026", "rsa"), ("ed2026", "ed25519")] {
            let made = try runNurture(["dkim", "keygen", "--domain", "acme.example", "--selector", selector, "--algorithm", algorithm, "--out", "\(selector).pem"], directory: folder)
            #expect(made.status == 0 && made.stdout.contains("\(selector)._domainkey.acme.example. IN TXT \"v=DKIM1; k=\(algorithm); p="), "\(made.stdout)\(made.stderr)")
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("\(selector).pem").path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            // Never over an existing key.
            let again = try runNurture(["dkim", "keygen", "--domain", "acme.example", "--selector", selector, "--out", "\(selector).pem"], directory: folder)
            #expect(again.status != 0 && again.stderr.contains("exists"))
        }
        let config = folder.appendingPathComponent("nurture.yaml")
        try (try String(contentsOf: config, encoding: .utf8) + """

        dkim:
          - { domain: acme.example, selector: rsa2026, private_key_file: rsa2026.pem }
          - { domain: acme.example, selector: ed2026, private_key_file: ed2026.pem }

        """).write(to: config, atomically: true, encoding: .utf8)
        let dns = try runNurture(["dkim", "dns", "--config", "nurture.yaml"], directory: folder)
        try #require(dns.status == 0, "\(dns.stderr)")
        var records: [String: String] = [:]
        for line in dns.stdout.split(separator: "\n") {
            let name = String(line.prefix { $0 != " " }.dropLast())
            let value = line.components(separatedBy: "\"").enumerated().filter { $0.offset % 2 == 1 }.map(\.element).joined()
            records[name] = value
        }
        #expect(records.keys.sorted() == ["ed2026._domainkey.acme.example", "rsa2026._domainkey.acme.example"], "\(dns.stdout)")

        let process = try serve.start(folder)
        defer { process.terminate(); waitForExit(process) }
        let base = "http://127.0.0.1:\(port)"
        #expect(serve.eventually { serve.http("\(base)/healthz") == "ok\n" })
        let auth = ["-H", "Authorization: Bearer serve-test-api-key", "-H", "Content-Type: application/json"]
        #expect(serve.http("\(base)/v1/leads", ["-X", "POST"] + auth + ["-d", #"{"email": "ada@example.com", "first_name": "Ada", "company": "Analytical Engines"}"#]) != nil)
        #expect(try serve.eventually(10) { try smtp.records("messages.jsonl").count == 1 })
        let record = try #require(try smtp.records("messages.jsonl").first)
        let message = Array(Data(base64Encoded: record["data"] as? String ?? "") ?? Data())
        let result = try DKIMVerifier.verify(message, records: records)
        #expect(result.passed && result.lines.count == 2, "\(result.lines)")
        // What the relay received, with one header changed, fails.
        let text = String(decoding: message, as: UTF8.self)
        let tampered = text.replacingOccurrences(of: "Subject: Welcome", with: "Subject: Re: Welcome")
        #expect(tampered != text)
        #expect(try !DKIMVerifier.verify(Array(tampered.utf8), records: records).passed)

        // An international domain goes out as its A-label, in the envelope and in To (and
        // signed); a non-ASCII local part, which most relays cannot take, is refused at the door.
        #expect(serve.http("\(base)/v1/leads", ["-X", "POST"] + auth + ["-d", #"{"email": "mueller@bücher.example", "first_name": "Jörg"}"#]) != nil)
        #expect(try serve.eventually(10) { try smtp.records("messages.jsonl").count == 2 })
        let international = try #require(try smtp.records("messages.jsonl").last)
        #expect(international["rcpt_tos"] as? [String] == ["mueller@xn--bcher-kva.example"])
        let bytes = Array(Data(base64Encoded: international["data"] as? String ?? "") ?? Data())
        #expect(String(decoding: bytes, as: UTF8.self).contains("<mueller@xn--bcher-kva.example>"))
        #expect(try DKIMVerifier.verify(bytes, records: records).passed)
        #expect(serve.status("\(base)/v1/leads", ["-X", "POST"] + auth + ["-d", #"{"email": "müller@example.com"}"#]) == 400)
    }

    @Test("a bad key stops nurture serve before it starts, naming the file, the line and what is wrong")
    func badKey() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let (folder, _) = try ServeCommandTests().setUp(smtp: smtp)
        let config = folder.appendingPathComponent("nurture.yaml")
        let original = try String(contentsOf: config, encoding: .utf8)
        try "not a key".write(to: folder.appendingPathComponent("junk.pem"), atomically: true, encoding: .utf8)
        for (entry, expected) in [
            ("dkim: { domain: acme.example, selector: s1, private_key_file: missing.pem }", "dkim.private_key_file 'missing.pem': cannot read"),
            ("dkim: { domain: acme.example, selector: s1, private_key_file: junk.pem }", "dkim.private_key_file 'junk.pem': not a PEM private key"),
            ("dkim: { domain: localhost, selector: s1, private_key_file: junk.pem }", "dkim.domain: 'localhost' is not a domain name"),
            ("dkim: { domain: acme.example, selector: s1 }", "dkim: missing 'private_key_file'"),
            ("dkim: { domain: acme.example, selector: s1, private_key_file: junk.pem, key: x }", "unknown key 'key' in dkim"),
        ] {
            try (original + "\n" + entry + "\n").write(to: config, atomically: true, encoding: .utf8)
            let line = original.split(separator: "\n", omittingEmptySubsequences: false).count + 1
            let result = try runNurture(["serve", "--config", "nurture.yaml"], directory: folder)
            #expect(result.status == 78 && result.stderr.contains("nurture.yaml:\(line):") && result.stderr.contains(expected), "\(entry): \(result.stderr)")
        }
        // A key that cannot be read stops only the commands that send: a report works.
        try (original + "\ndkim: { domain: acme.example, selector: s1, private_key_file: missing.pem }\n").write(to: config, atomically: true, encoding: .utf8)
        let report = try runNurture(["report", "--config", "nurture.yaml"], directory: folder)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(try runNurture(["run", "--config", "nurture.yaml"], directory: folder).status == 78)
    }
}
