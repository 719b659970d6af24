import Foundation
import NurtureContent
import NurtureCore
@testable import NurtureDelivery
import Testing
import TestSupport

@Suite("SMTP transport against a real SMTP server on loopback")
struct SMTPTransportTests {
    func transport(_ server: LoopbackServer, connections: Int = 1, starttls: SMTPConfiguration.STARTTLS? = .off) -> SMTPTransport {
        SMTPTransport(configuration: SMTPConfiguration(
            url: "smtp://127.0.0.1:\(server.port)", starttls: starttls, timeout: .seconds(10), connections: connections))
    }

    @Test("the envelope and the exact message bytes arrive")
    func deliversExactBytes() async throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let message = sampleMessage()
        let outcome = await transport(server).deliver(message)
        guard case .accepted(let reply) = outcome else { Issue.record("expected acceptance, got \(outcome)"); return }
        #expect(reply.hasPrefix("250 2.0.0 Ok: queued as Q1"))

        let records = try server.records("messages.jsonl")
        try #require(records.count == 1)
        #expect(records[0]["mail_from"] as? String == "news@nurture.test")
        #expect(records[0]["rcpt_tos"] as? [String] == ["ada@example.com"])
        #expect(decodeBase64(records[0]["data"]) == message.rfc5322)
    }

    @Test("lines starting with a dot survive SMTP's dot-stuffing byte for byte")
    func dotStuffing() async throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let raw = "From: a@nurture.test\r\nTo: ada@example.com\r\nSubject: dots\r\n\r\n.\r\n..two\r\n.three\r\nend\r\n"
        let outcome = await transport(server).deliver(rawMessage(raw))
        #expect(outcome.isAccepted)
        let records = try server.records("messages.jsonl")
        #expect(records.count == 1)
        #expect(decodeBase64(records.first?["data"]) == Array(raw.utf8))
    }

    @Test("a 550 for the recipient is permanent, with the server's text")
    func permanentRecipient() async throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let outcome = await transport(server).deliver(sampleMessage(to: "reject550@example.com"))
        guard case .permanentFailure(let failure) = outcome else { Issue.record("expected permanent, got \(outcome)"); return }
        #expect(failure.code == 550)
        #expect(failure.phase == .recipient)
        #expect(failure.reply.contains("5.1.1"))
        #expect(failure.reply.contains("User unknown"))
        #expect(try server.records("messages.jsonl").isEmpty)
    }

    @Test("a 451 is transient, with the server's text")
    func transientRecipient() async throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let outcome = await transport(server).deliver(sampleMessage(to: "defer451@example.com"))
        guard case .transientFailure(let failure) = outcome else { Issue.record("expected transient, got \(outcome)"); return }
        #expect(failure.code == 451)
        #expect(failure.phase == .recipient)
        #expect(failure.reply.contains("Temporary lookup failure"))
    }

    @Test("a 554 after DATA is permanent and blames the content")
    func permanentContent() async throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let outcome = await transport(server).deliver(sampleMessage(to: "spam554@example.com"))
        guard case .permanentFailure(let failure) = outcome else { Issue.record("expected permanent, got \(outcome)"); return }
        #expect(failure.code == 554)
        #expect(failure.phase == .content)
        #expect(failure.reply.contains("rejected as spam"))
    }

    @Test("a refusal does not spoil the connection for the next message")
    func refusalThenAcceptance() async throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let smtp = transport(server)
        #expect(await smtp.deliver(sampleMessage(to: "once451@example.com")).failure?.code == 451)
        #expect(await smtp.deliver(sampleMessage(to: "once451@example.com")).isAccepted)
        #expect(await smtp.deliver(sampleMessage(to: "reject550@example.com")).failure?.code == 550)
        #expect(await smtp.deliver(sampleMessage()).isAccepted)
        #expect(try server.records("messages.jsonl").count == 2)
    }

    @Test("a port nobody listens on is a transient connection failure")
    func deadPort() async throws {
        let smtp = SMTPTransport(configuration: SMTPConfiguration(
            url: "smtp://127.0.0.1:\(deadLoopbackPort())", starttls: .off, connectTimeout: .seconds(2), timeout: .seconds(5)))
        let outcome = await smtp.deliver(sampleMessage())
        guard case .transientFailure(let failure) = outcome else { Issue.record("expected transient, got \(outcome)"); return }
        #expect(failure.phase == .connection)
        #expect(failure.code == nil)
        #expect(!failure.reply.isEmpty)
    }

    @Test("one connection carries many messages")
    func reusesOneConnection() async throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let smtp = transport(server, connections: 1)
        for _ in 0..<25 {
            #expect(await smtp.deliver(sampleMessage()).isAccepted)
        }
        #expect(try server.records("messages.jsonl").count == 25)
        #expect(try server.lines("connections.log").count == 1)
    }

    @Test("N connections send concurrently, each reused")
    func concurrentConnections() async throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let smtp = transport(server, connections: 4)
        let accepted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<60 { group.addTask { await smtp.deliver(sampleMessage()).isAccepted } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(accepted == 60)
        let records = try server.records("messages.jsonl")
        #expect(records.count == 60)
        let connections = try server.lines("connections.log").count
        #expect(connections >= 2 && connections <= 4, "saw \(connections) connections")
        let peers = Set(records.map { "\($0["peer"]!)" })
        #expect(peers.count == connections)
    }

    @Test("every connection carries a message at once, the relay's answer to one not holding up another")
    func connectionsDoNotWaitForEachOther() async throws {
        // The server answers the end of each message only once all five are there together.
        // libcurl waits for that answer blocking its thread, so a transport that drove two
        // SMTP connections from one thread would hold one back and all five would time out.
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let smtp = SMTPTransport(configuration: SMTPConfiguration(
            url: "smtp://127.0.0.1:\(server.port)", starttls: .off, timeout: .seconds(20), connections: 5))
        let outcomes = await withTaskGroup(of: DeliveryOutcome.self) { group in
            for i in 0..<5 { group.addTask { await smtp.deliver(sampleMessage(to: "barrier5-\(i)@example.com")) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter(\.isAccepted).count == 5, "\(outcomes)")
        #expect(try server.lines("connections.log").count == 5)
    }

    @Test("STARTTLS required, certificate verified against a CA file, AUTH accepted")
    func starttlsAndAuth() async throws {
        let certificate = try TestCertificate.make(in: FileManager.default.temporaryDirectory.appendingPathComponent("nurture-cert-\(UUID())").creatingDirectory())
        let server = try LoopbackServer.smtp(arguments: ["--tls-cert", certificate.certificate, "--tls-key", certificate.key, "--auth", "mailer:s3cret"])
        defer { server.stop() }
        let configuration = SMTPConfiguration(
            url: "smtp://127.0.0.1:\(server.port)", username: "mailer", password: Secret("s3cret"),
            caFile: certificate.certificate, timeout: .seconds(10), connections: 1)
        #expect(configuration.starttls == .required)
        #expect(!configuration.description.contains("s3cret"))
        let outcome = await SMTPTransport(configuration: configuration).deliver(sampleMessage())
        #expect(outcome.isAccepted, "\(outcome)")
        let records = try server.records("messages.jsonl")
        try #require(records.count == 1)
        #expect(records[0]["tls"] as? Bool == true)
        #expect(records[0]["auth_user"] as? String == "mailer")

        var wrong = configuration
        wrong.password = Secret("wrong")
        let refused = await SMTPTransport(configuration: wrong).deliver(sampleMessage())
        guard case .permanentFailure(let failure) = refused else { Issue.record("expected permanent, got \(refused)"); return }
        #expect(failure.phase == .authentication)
        #expect(failure.code == 535)
    }

    @Test("STARTTLS required but not offered fails permanently instead of sending in clear text")
    func starttlsRequiredNotOffered() async throws {
        let server = try LoopbackServer.smtp()
        defer { server.stop() }
        let outcome = await transport(server, starttls: .required).deliver(sampleMessage())
        guard case .permanentFailure(let failure) = outcome else { Issue.record("expected permanent, got \(outcome)"); return }
        #expect(failure.phase == .connection)
        #expect(try server.records("messages.jsonl").isEmpty)
    }
}

extension URL {
    func creatingDirectory() throws -> URL {
        try FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
        return self
    }
}
