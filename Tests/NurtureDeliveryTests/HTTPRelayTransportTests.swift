import Foundation
import NurtureCore
import NurtureContent
@testable import NurtureDelivery
import Testing
import TestSupport

@Suite("HTTP relay transport against a real HTTP server on loopback")
struct HTTPRelayTransportTests {
    func transport(_ server: LoopbackServer, path: String, format: HTTPRelayFormat = .nurture) -> HTTPRelayTransport {
        HTTPRelayTransport(configuration: HTTPRelayConfiguration(
            url: "http://127.0.0.1:\(server.port)\(path)",
            headers: [(name: "Authorization", value: Secret("Bearer key-123"))],
            format: format, timeout: .seconds(10), connections: 2))
    }

    func json(_ record: [String: Any]) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(decodeBase64(record["body"]))) as! [String: Any]
    }

    /// POSTs `count` messages at once to `/barrier/count`, which the server answers only once
    /// all of them wait there together: each accepted proves `count` concurrent transfers.
    private func postTogether(_ count: Int, connections: Int, threads: Int) async throws -> (outcomes: [DeliveryOutcome], peers: Int) {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        let relay = HTTPRelayTransport(configuration: HTTPRelayConfiguration(
            url: "http://127.0.0.1:\(server.port)/barrier/\(count)", headers: [], format: .nurture,
            timeout: .seconds(20), connections: connections), threads: threads)
        let outcomes = await withTaskGroup(of: DeliveryOutcome.self) { group in
            for _ in 0..<count { group.addTask { await relay.deliver(sampleMessage()) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let peers = Set(try server.records("requests.jsonl").map { "\($0["peer"]!)" }).count
        return (outcomes, peers)
    }

    @Test("one thread carries several connections' requests at once (libcurl's multi interface)")
    func oneThreadManyConnections() async throws {
        let result = try await postTogether(4, connections: 4, threads: 1)
        #expect(result.outcomes.filter(\.isAccepted).count == 4, "\(result.outcomes)")
        #expect(result.peers == 4)
    }

    @Test("requests are shared out so that every thread's connections are used")
    func threadsShareTheConnections() async throws {
        // 5 connections over 2 threads: 3 and 2. Five requests at once need all five; a
        // thread given more than its connections would hold one back and the server would
        // refuse them all.
        let result = try await postTogether(5, connections: 5, threads: 2)
        #expect(result.outcomes.filter(\.isAccepted).count == 5, "\(result.outcomes)")
        #expect(result.peers == 5)
    }

    @Test("2xx is accepted; the request carries the headers and the documented JSON body")
    func acceptedNurtureFormat() async throws {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        let message = sampleMessage()
        let outcome = await transport(server, path: "/ok").deliver(message)
        #expect(outcome == .accepted(reply: #"{"id": "msg-1", "status": "queued"}"#))

        let records = try server.records("requests.jsonl")
        try #require(records.count == 1)
        let headers = records[0]["headers"] as! [String: String]
        #expect(headers["Authorization"] == "Bearer key-123")
        #expect(headers["Content-Type"] == "application/json")
        let body = try json(records[0])
        #expect(body["message_id"] as? String == message.messageID)
        #expect((body["from"] as? [String: String]) == ["email": "news@nurture.test", "name": "Nurture Team"])
        #expect((body["to"] as? [[String: String]]) == [["email": "ada@example.com", "name": "Ada Lovelace"]])
        #expect(body["subject"] as? String == "Welcome, Ada — your guide inside")
        #expect(body["text"] as? String == message.text)
        #expect(body["html"] as? String == message.html)
        #expect((body["headers"] as? [String: String])?["List-Unsubscribe"] == "<https://t.nurture.test/u/abc>")
        let envelope = body["envelope"] as? [String: Any]
        #expect(envelope?["from"] as? String == "news@nurture.test")
        #expect(envelope?["to"] as? [String] == ["ada@example.com"])
    }

    @Test("Postmark format")
    func postmarkFormat() async throws {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        let message = sampleMessage()
        #expect(await transport(server, path: "/ok", format: .postmark).deliver(message).isAccepted)
        let body = try json(try #require(try server.records("requests.jsonl").first))
        #expect(body["From"] as? String == "Nurture Team <news@nurture.test>")
        #expect(body["To"] as? String == "Ada Lovelace <ada@example.com>")
        #expect(body["HtmlBody"] as? String == message.html)
        #expect(body["TextBody"] as? String == message.text)
        let headers = body["Headers"] as? [[String: String]]
        #expect(headers?.first == ["Name": "Message-ID", "Value": message.messageID])
        // Comes back in Postmark's webhooks, so a bounce finds its email.
        #expect(body["Metadata"] as? [String: String] == ["nurture_message_id": message.messageID])
    }

    @Test("every JSON format carries Reply-To; Postmark's address lines quote a display name with a comma or quotes")
    func replyToAndQuoting() async throws {
        let message = MessageComposer().compose(MessageComposer.Draft(
            from: try EmailAddress("news@nurture.test", displayName: "Acme, Inc."),
            to: [try EmailAddress("ada@example.com", displayName: #"Lovelace, Ada "Countess""#)],
            replyTo: try EmailAddress("marie@nurture.test", displayName: "Marie Dupont"),
            subject: "Hi", text: "Hi", html: nil,
            messageID: MessageComposer.messageID(unique: "reply-to", domain: "nurture.test"), date: 1_795_000_000))
        var bodies: [HTTPRelayFormat: [String: Any]] = [:]
        for format in [HTTPRelayFormat.nurture, .postmark, .sendgrid] {
            let server = try LoopbackServer.http()
            defer { server.stop() }
            #expect(await transport(server, path: "/ok", format: format).deliver(message).isAccepted)
            bodies[format] = try json(try #require(try server.records("requests.jsonl").first))
        }
        #expect((bodies[.nurture]?["reply_to"] as? [String: String]) == ["email": "marie@nurture.test", "name": "Marie Dupont"])
        #expect((bodies[.sendgrid]?["reply_to"] as? [String: String]) == ["email": "marie@nurture.test", "name": "Marie Dupont"])
        #expect(bodies[.postmark]?["ReplyTo"] as? String == "Marie Dupont <marie@nurture.test>")
        #expect(bodies[.postmark]?["From"] as? String == #""Acme, Inc." <news@nurture.test>"#)
        #expect(bodies[.postmark]?["To"] as? String == #""Lovelace, Ada \"Countess\"" <ada@example.com>"#)
        // Without a Reply-To, none is sent.
        let server = try LoopbackServer.http()
        defer { server.stop() }
        #expect(await transport(server, path: "/ok", format: .postmark).deliver(sampleMessage()).isAccepted)
        #expect(try json(try #require(try server.records("requests.jsonl").first))["ReplyTo"] == nil)
    }

    @Test("SendGrid format puts text/plain before text/html")
    func sendgridFormat() async throws {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        let message = sampleMessage()
        #expect(await transport(server, path: "/ok", format: .sendgrid).deliver(message).isAccepted)
        let body = try json(try #require(try server.records("requests.jsonl").first))
        let content = body["content"] as? [[String: String]]
        #expect(content?.map { $0["type"] } == ["text/plain", "text/html"])
        let personalizations = body["personalizations"] as? [[String: Any]]
        #expect((personalizations?.first?["to"] as? [[String: String]])?.first?["email"] == "ada@example.com")
        // Comes back in each SendGrid event, so a bounce finds its email.
        #expect(body["custom_args"] as? [String: String] == ["nurture_message_id": message.messageID])
    }

    @Test("rfc822 format posts the exact message bytes")
    func rfc822Format() async throws {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        let message = sampleMessage()
        #expect(await transport(server, path: "/ok", format: .rfc822).deliver(message).isAccepted)
        let record = try #require(try server.records("requests.jsonl").first)
        #expect((record["headers"] as? [String: String])?["Content-Type"] == "message/rfc822")
        #expect(decodeBase64(record["body"]) == message.rfc5322)
    }

    @Test("429 is transient and honours Retry-After in seconds")
    func tooManyRequests() async throws {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        let outcome = await transport(server, path: "/slow-down").deliver(sampleMessage())
        guard case .transientFailure(let failure) = outcome else { Issue.record("expected transient, got \(outcome)"); return }
        #expect(failure.code == 429)
        #expect(failure.retryAfter == .seconds(120))
        #expect(failure.reply.contains("rate limited"))
    }

    @Test("503 is transient and honours Retry-After as an HTTP date")
    func unavailable() async throws {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        let outcome = await transport(server, path: "/unavailable").deliver(sampleMessage())
        guard case .transientFailure(let failure) = outcome else { Issue.record("expected transient, got \(outcome)"); return }
        #expect(failure.code == 503)
        let wait = try #require(failure.retryAfter)
        let expected = Date(timeIntervalSince1970: 2_139_722_880).timeIntervalSinceNow // 2037-10-21 07:28:00 UTC
        #expect(abs(Double(wait.components.seconds) - expected) < 120)
    }

    @Test("other 4xx are permanent, with the API's words")
    func permanent() async throws {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        for (path, status, words) in [("/bad", 422, "invalid recipient"), ("/unauthorized", 401, "bad API key")] {
            let outcome = await transport(server, path: path).deliver(sampleMessage())
            guard case .permanentFailure(let failure) = outcome else { Issue.record("expected permanent, got \(outcome)"); continue }
            #expect(failure.code == status)
            #expect(failure.reply.contains(words))
            #expect(failure.retryAfter == nil)
        }
    }

    @Test("a dead port is a transient connection failure")
    func deadPort() async throws {
        let relay = HTTPRelayTransport(configuration: HTTPRelayConfiguration(
            url: "http://127.0.0.1:\(deadLoopbackPort())/ok", connectTimeout: .seconds(2), timeout: .seconds(5)))
        let outcome = await relay.deliver(sampleMessage())
        guard case .transientFailure(let failure) = outcome else { Issue.record("expected transient, got \(outcome)"); return }
        #expect(failure.phase == .connection)
    }

    @Test("connections are kept alive across requests")
    func keepAlive() async throws {
        let server = try LoopbackServer.http()
        defer { server.stop() }
        let relay = transport(server, path: "/ok")
        for _ in 0..<10 { #expect(await relay.deliver(sampleMessage()).isAccepted) }
        let peers = Set(try server.records("requests.jsonl").map { "\($0["peer"]!)" })
        #expect(peers.count == 1)
    }

    @Test("Retry-After parsing", arguments: [
        ("0", Duration.seconds(0)), ("  30 ", .seconds(30)), ("Sun, 06 Nov 1994 08:49:37 GMT", .seconds(0)),
    ])
    func retryAfterParsing(value: String, expected: Duration) {
        #expect(RetryAfter.parse(value, now: Date()) == expected)
    }

    @Test("Retry-After nonsense is ignored")
    func retryAfterInvalid() {
        #expect(RetryAfter.parse("soon", now: Date()) == nil)
        #expect(RetryAfter.parse("-5", now: Date()) == nil)
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49 GMT", now: Date()) == nil)
    }

    @Test("an HTTP date in the future gives the remaining wait")
    func retryAfterDate() {
        let now = Date(timeIntervalSince1970: 784_111_777 - 90) // 90 s before Sun, 06 Nov 1994 08:49:37 GMT
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .seconds(90))
    }
}
