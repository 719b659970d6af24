import Foundation
import Testing
import TestSupport

@Suite("nurture send, run as a user would")
struct SendCommandTests {
    let message = ["--from", "Nurture <news@nurture.test>", "--subject", "Hello from Nurture ✓", "--text", "Hi there", "--html", "<p>Hi there</p>"]

    @Test("delivers to a real SMTP server with STARTTLS and AUTH from the environment; never prints the password")
    func smtpAccepted() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let certificate = try TestCertificate.make(in: folder)
        let server = try LoopbackServer.smtp(arguments: ["--tls-cert", certificate.certificate, "--tls-key", certificate.key, "--auth", "mailer:pa55-word"])
        defer { server.stop() }
        let result = try runNurture(
            ["send", "--relay", "smtp://127.0.0.1:\(server.port)", "--ca-file", certificate.certificate, "--to", "Ada <ada@example.com>"] + message,
            environment: ["NURTURE_SMTP_USER": "mailer", "NURTURE_SMTP_PASSWORD": "pa55-word"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("accepted by SMTP smtp://127.0.0.1:\(server.port)"))
        #expect(result.stdout.contains("250 2.0.0 Ok: queued as Q1"))
        #expect(!(result.stdout + result.stderr).contains("pa55-word"))
        let records = try server.records("messages.jsonl")
        try #require(records.count == 1)
        #expect(records[0]["auth_user"] as? String == "mailer")
        #expect(records[0]["rcpt_tos"] as? [String] == ["ada@example.com"])
        let messageID = result.stdout.split(separator: "\n").first { $0.hasPrefix("message-id: ") }?.dropFirst(12)
        let data = String(decoding: Data(base64Encoded: records[0]["data"] as! String)!, as: UTF8.self)
        #expect(data.contains("Message-ID: \(messageID ?? "?")\r\n"))
    }

    @Test("a 550 exits 1 and shows the server's reply")
    func smtpPermanent() throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let result = try runNurture(["send", "--relay", "smtp://127.0.0.1:\(server.port)", "--to", "reject550@example.com"] + message)
        #expect(result.status == 1)
        #expect(result.stderr.contains("permanent failure"))
        #expect(result.stderr.contains("550 5.1.1 <reject550@example.com>: Recipient address rejected: User unknown"))
    }

    @Test("a 451 exits 75 (try again later) and shows the server's reply")
    func smtpTransient() throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let result = try runNurture(["send", "--relay", "smtp://127.0.0.1:\(server.port)", "--to", "defer451@example.com"] + message)
        #expect(result.status == 75)
        #expect(result.stderr.contains("temporary failure"))
        #expect(result.stderr.contains("451 4.3.0"))
    }

    @Test("file:// writes an .eml into the folder")
    func fileRelay() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-outbox-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try runNurture(["send", "--relay", "file://\(folder.path)", "--to", "ada@example.com", "--message-id", "<welcome-1@nurture.test>"] + message)
        #expect(result.status == 0, "\(result.stderr)")
        let eml = try String(contentsOf: folder.appendingPathComponent("welcome-1@nurture.test.eml"), encoding: .utf8)
        #expect(eml.contains("Subject: =?UTF-8?B?"))
        #expect(eml.contains("To: ada@example.com\r\n"))
    }

    @Test("an HTTP relay gets the bearer token from NURTURE_RELAY_TOKEN, which is never printed")
    func httpRelay() throws {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        let result = try runNurture(
            ["send", "--relay", "http://127.0.0.1:\(server.port)/ok", "--to", "ada@example.com"] + message,
            environment: ["NURTURE_RELAY_TOKEN": "tok-SECRET"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!(result.stdout + result.stderr).contains("tok-SECRET"))
        let headers = try server.records("requests.jsonl").first?["headers"] as? [String: String]
        #expect(headers?["Authorization"] == "Bearer tok-SECRET")
    }

    @Test("bad input is refused before anything is sent", arguments: [
        (["--relay", "gopher://x", "--to", "ada@example.com"], "relay scheme 'gopher' is not supported"),
        (["--relay", "file:///tmp/x", "--to", "not-an-address"], "--to: 'not-an-address' is not an email address"),
    ])
    func badInput(arguments: [String], expected: String) throws {
        let result = try runNurture(["send"] + arguments + message)
        #expect(result.status == 64)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
    }
}
