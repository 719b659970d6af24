import Foundation
import NurtureCore
@testable import NurtureDelivery
import Testing

@Suite("File transport")
struct FileTransportTests {
    @Test("writes the exact bytes as an .eml named after the Message-ID; a repeat replaces it")
    func writesAndReplaces() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-outbox-\(UUID())/nested")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let transport = FileTransport(directory: folder)
        let message = sampleMessage(id: "lead-42.welcome.1")
        let outcome = await transport.deliver(message)
        #expect(outcome.isAccepted)
        #expect(await transport.deliver(message).isAccepted)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(files == ["lead-42.welcome.1@nurture.test.eml"])
        let bytes = try Data(contentsOf: folder.appendingPathComponent(files[0]))
        #expect(Array(bytes) == message.rfc5322)
    }

    @Test("an unwritable folder is a transient storage failure")
    func unwritable() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-not-a-dir-\(UUID())")
        try Data("x".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = await FileTransport(directory: file).deliver(sampleMessage())
        #expect(outcome.failure?.phase == .storage)
        if case .transientFailure = outcome {} else { Issue.record("expected transient, got \(outcome)") }
    }

    @Test("Message-IDs become safe file names")
    func safeNames() {
        var message = sampleMessage()
        message.messageID = "<../../etc/passwd@evil>"
        #expect(FileTransport.fileName(for: message) == ".._.._etc_passwd@evil.eml")
    }
}

@Suite("Relay URLs")
struct RelayURLTests {
    @Test("the scheme picks the transport")
    func schemes() throws {
        guard case .smtp(let smtp) = try RelayURL.parse("smtp://mail.example.com:587") else { Issue.record("smtp"); return }
        #expect(smtp.starttls == .opportunistic)
        guard case .smtp(let withAuth) = try RelayURL.parse("smtps://mail.example.com", options: RelayOptions(username: "u", password: Secret("p")))
        else { Issue.record("smtps"); return }
        #expect(withAuth.starttls == .required)
        guard case .http = try RelayURL.parse("https://api.example.com/send") else { Issue.record("https"); return }
        guard case .file(let url) = try RelayURL.parse("file:///tmp/outbox") else { Issue.record("file"); return }
        #expect(url.path == "/tmp/outbox")
    }

    @Test("bad URLs are refused with a reason")
    func errors() {
        #expect(throws: RelayURLError.missingScheme("mail.example.com")) { try RelayURL.parse("mail.example.com") }
        #expect(throws: RelayURLError.unsupportedScheme("ftp")) { try RelayURL.parse("ftp://x") }
        #expect(throws: RelayURLError.missingHost("smtp://")) { try RelayURL.parse("smtp://") }
        #expect(throws: RelayURLError.missingPath("file://")) { try RelayURL.parse("file://") }
    }

    @Test("credentials in a URL are redacted in descriptions")
    func redaction() {
        #expect(RelayURL.redacted("smtp://user:pw@mail.example.com:587") == "smtp://<redacted>@mail.example.com:587")
        #expect(RelayURL.redacted("https://api.example.com/a@b") == "https://api.example.com/a@b")
        let config = SMTPConfiguration(url: "smtp://user:pw@mail.example.com", username: "user", password: Secret("hunter2"))
        #expect(!config.description.contains("pw"))
        #expect(!config.description.contains("hunter2"))
        #expect(!String(reflecting: config).contains("hunter2"))
    }
}
