import Foundation
import NurtureCore
import Testing
import TestSupport
@testable import NurtureContent

@Suite("DKIM signing, verified by dkimpy")
struct DKIMSignerTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL

    @Test("custom header fields: the deployment's and the sequence's (which win), placeholders filled, DKIM-signed")
    func customHeaders() throws {
        let key = try DKIMKey(generating: .ed25519SHA256, domain: "acme.example", selector: "s1")
        let library = try TemplateLibrary(directory: Self.repository.appendingPathComponent("Templates"))
        let renderer = EmailRenderer(library: library, settings: EmailRenderer.Settings(
            from: try EmailAddress.parse("Acme <hello@acme.example>"), trackingBaseURL: "https://t.acme.example",
            secret: Secret("dkim-test-secret-0123456789"), dkim: DKIMSigner(keys: [key]),
            headers: [MessageHeader("Feedback-ID", "{{sequence}}:{{step}}:nurture-campaign-identifier-2026:acme-analytics-example-sender"), MessageHeader("List-Id", "Acme News <news.acme.example>")]))
        let lead = Lead(id: "1", email: "ada@example.com", fields: ["first_name": "Ada"], stage: "mql")
        let message = try renderer.render(
            template: "case-study", lead: lead, key: SendKey(leadID: "1", sequence: "mql-nurture", step: "case-study", enrollment: 1), date: 1_790_000_000,
            headers: [MessageHeader("list-id", "MQL nurture <mql.acme.example>"), MessageHeader("X-Campaign", "{{template}} for {{stage}}")]).message
        let text = String(decoding: message.rfc5322, as: UTF8.self)
        // Longer than a line and without a space, yet as written (an encoded word would hide it from Gmail).
        #expect(text.contains("\r\nFeedback-ID: mql-nurture:case-study:nurture-campaign-identifier-2026:acme-analytics-example-sender\r\n"), "\(text.prefix(1500))")
        #expect(text.contains("\r\nlist-id: MQL nurture <mql.acme.example>\r\n") && !text.contains("Acme News"), "the sequence's replaces the deployment's")
        #expect(text.contains("\r\nX-Campaign: case-study for mql\r\n"))
        let h = try #require(text.components(separatedBy: "h=").dropFirst().first?.components(separatedBy: ";").first)
        let names = h.replacingOccurrences(of: "\r\n\t ", with: "").split(separator: ":").map(String.init)
        #expect(names.contains("feedback-id") && names.contains("list-id") && names.contains("x-campaign"), "\(names)")
        #expect(try DKIMVerifier.verify(message.rfc5322, records: [key.dnsName: key.dnsRecord]).passed)
        let tampered = text.replacingOccurrences(of: "Feedback-ID: mql-nurture", with: "Feedback-ID: other")
        #expect(try !DKIMVerifier.verify(Array(tampered.utf8), records: [key.dnsName: key.dnsRecord]).passed)
    }

    /// The shipped welcome email for Ada, rendered with `dkim` (as `nurture serve` renders it).
    func message(_ signer: DKIMSigner?, to email: String = "ada@example.com") throws -> OutgoingMessage {
        let library = try TemplateLibrary(directory: Self.repository.appendingPathComponent("Templates"))
        let renderer = EmailRenderer(library: library, settings: EmailRenderer.Settings(
            from: try EmailAddress.parse("Acme Analytics <hello@acme.example>"), replyTo: try EmailAddress.parse("Marie <marie@acme.example>"),
            trackingBaseURL: "https://t.acme.example", secret: Secret("dkim-test-secret-0123456789"),
            unsubscribeMailto: "unsubscribe@acme.example", dkim: signer))
        let lead = Lead(id: "1", email: email, fields: ["first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines"])
        return try renderer.render(template: "welcome", lead: lead, key: SendKey(leadID: "1", sequence: "lead-welcome", step: "welcome", enrollment: 1), date: 1_790_000_000).message
    }

    @Test("relaxed canonicalization: RFC 6376 §3.4.5's example")
    func canonicalization() {
        let head = Array("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n".utf8)
        let (fields, bodyStart) = DKIMCanonicalization.split(head + Array(" C \r\nD \t E\r\n\r\n\r\n".utf8))
        #expect(fields.map(\.name) == ["A", "B"] && bodyStart == head.count)
        #expect(fields.map { String(decoding: DKIMCanonicalization.header($0.raw), as: UTF8.self) } == ["a:X", "b:Y Z"])
        #expect(String(decoding: DKIMCanonicalization.body(Array(" C \r\nD \t E\r\n\r\n\r\n".utf8)[...]), as: UTF8.self) == " C\r\nD E\r\n")
        #expect(DKIMCanonicalization.body([][...]).isEmpty && DKIMCanonicalization.body(Array("\r\n\r\n".utf8)[...]).isEmpty)
        #expect(String(decoding: DKIMCanonicalization.body(Array("x".utf8)[...]), as: UTF8.self) == "x\r\n")
    }

    @Test("RSA and Ed25519 signatures, together, verify; a changed header or body fails")
    func verifies() throws {
        let rsa = try DKIMKey(generating: .rsaSHA256, domain: "acme.example", selector: "rsa2026")
        let ed = try DKIMKey(generating: .ed25519SHA256, domain: "acme.example", selector: "ed2026")
        let records = [rsa.dnsName: rsa.dnsRecord, ed.dnsName: ed.dnsRecord]
        let signed = try message(DKIMSigner(keys: [rsa, ed]))
        let result = try DKIMVerifier.verify(signed.rfc5322, records: records)
        #expect(result.passed && result.lines.count == 2, "\(result.lines)")
        #expect(result.lines.contains("pass d=acme.example s=rsa2026 a=rsa-sha256") && result.lines.contains("pass d=acme.example s=ed2026 a=ed25519-sha256"), "\(result.lines)")
        // The unsigned message is the same message with the signatures in front.
        let plain = try message(nil)
        let text = String(decoding: signed.rfc5322, as: UTF8.self)
        #expect(text.hasSuffix(String(decoding: plain.rfc5322, as: UTF8.self)))
        // The signature fields' lines stay under 78 characters.
        let signatureLines = String(text.dropLast(String(decoding: plain.rfc5322, as: UTF8.self).count)).components(separatedBy: "\r\n")
        #expect(signatureLines.count > 8 && signatureLines.allSatisfy { $0.utf8.count <= 78 }, "\(signatureLines)")
        // RFC 8058: the unsubscribe fields are signed, and oversigned with From and Subject.
        let h = try #require(text.components(separatedBy: "h=").dropFirst().first?.components(separatedBy: ";").first)
        let names = h.replacingOccurrences(of: "\r\n\t ", with: "").split(separator: ":").map(String.init)
        #expect(names.filter { $0 == "list-unsubscribe" }.count == 2 && names.filter { $0 == "list-unsubscribe-post" }.count == 2, "\(names)")
        #expect(names.filter { $0 == "from" }.count == 2 && names.contains("content-type") && names.contains("mime-version"), "\(names)")

        for (what, tampered) in [
            ("subject", text.replacingOccurrences(of: "Subject: Welcome", with: "Subject: Wellcome")),
            ("body", text.replacingOccurrences(of: "Hi Ada,", with: "Hi Bob,")),
            ("an added From", text.replacingOccurrences(of: "From: Acme", with: "From: Evil <evil@evil.example>\r\nFrom: Acme")),
            ("the unsubscribe URL", text.replacingOccurrences(of: "List-Unsubscribe: <https://t.acme.example/u/", with: "List-Unsubscribe: <https://t.acme.example/u/X")),
        ] {
            #expect(tampered != text, "\(what)")
            let check = try DKIMVerifier.verify(Array(tampered.utf8), records: records)
            #expect(!check.passed && check.lines.allSatisfy { $0.hasPrefix("fail") }, "\(what): \(check.lines)")
        }
        // Folding changes that relaxed canonicalization absorbs still verify.
        let refolded = text.replacingOccurrences(of: "Subject: Welcome to", with: "Subject:   Welcome\r\n  to")
        #expect(try DKIMVerifier.verify(Array(refolded.utf8), records: records).passed)
        // The wrong public key fails.
        let other = try DKIMKey(generating: .ed25519SHA256, domain: "acme.example", selector: "ed2026")
        #expect(try !DKIMVerifier.verify(signed.rfc5322, records: [rsa.dnsName: rsa.dnsRecord, ed.dnsName: other.dnsRecord]).passed)
    }

    @Test("keys from openssl's PEM files: Ed25519, RSA in PKCS #8 and PKCS #1; short RSA keys and other files refused")
    func pemFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dkim-keys-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func openssl(_ arguments: [String]) throws -> String {
            let result = try runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["openssl"] + arguments)
            try #require(result.status == 0, "\(result.stderr)")
            return result.stdout
        }
        let ed = folder.appendingPathComponent("ed.pem").path, rsa = folder.appendingPathComponent("rsa.pem").path
        let pkcs1 = folder.appendingPathComponent("rsa1.pem").path, short = folder.appendingPathComponent("short.pem").path
        _ = try openssl(["genpkey", "-algorithm", "ed25519", "-out", ed])
        _ = try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsa])
        _ = try openssl(["rsa", "-in", rsa, "-traditional", "-out", pkcs1])
        _ = try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", short])
        for (path, algorithm) in [(ed, DKIMKey.Algorithm.ed25519SHA256), (rsa, .rsaSHA256), (pkcs1, .rsaSHA256)] {
            let pem = try String(contentsOfFile: path, encoding: .utf8)
            let key = try DKIMKey(domain: "Acme.Example", selector: "s1", pem: pem)
            #expect(key.algorithm == algorithm && key.domain == "acme.example" && key.dnsName == "s1._domainkey.acme.example")
            let signed = try message(DKIMSigner(keys: [key]))
            let result = try DKIMVerifier.verify(signed.rfc5322, records: [key.dnsName: key.dnsRecord])
            #expect(result.passed, "\(path): \(result.lines)")
            // The public key in the DNS record is the one openssl derives from the file.
            let publicPEM = try openssl(["pkey", "-in", path, "-pubout"])
            let der = Data(base64Encoded: publicPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined())!
            let p = try #require(key.dnsRecord.components(separatedBy: "p=").last)
            #expect(algorithm == .rsaSHA256 ? p == der.base64EncodedString() : p == der.suffix(32).base64EncodedString(), "\(path)")
        }
        #expect(throws: DKIMKeyError.weakKey) { try DKIMKey(domain: "acme.example", selector: "s1", pem: try String(contentsOfFile: short, encoding: .utf8)) }
        #expect(throws: DKIMKeyError.notAPrivateKey) { try DKIMKey(domain: "acme.example", selector: "s1", pem: "hello") }
        #expect(throws: DKIMKeyError.badDomain("localhost")) { try DKIMKey(generating: .ed25519SHA256, domain: "localhost", selector: "s1") }
        #expect(throws: DKIMKeyError.badSelector("s 1")) { try DKIMKey(generating: .ed25519SHA256, domain: "acme.example", selector: "s 1") }
        // A generated key's PEM reads back as the same key.
        let made = try DKIMKey(generating: .rsaSHA256, domain: "acme.example", selector: "s1")
        #expect(try DKIMKey(domain: "acme.example", selector: "s1", pem: made.pemRepresentation).dnsRecord == made.dnsRecord)
    }
}
