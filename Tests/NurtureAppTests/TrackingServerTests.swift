import Foundation
import Hummingbird
import HummingbirdTesting
import NurtureContent
import NurtureCore
import NurtureServer
@testable import NurtureApp
@testable import NurtureRuntime
import Testing
import TestSupport

@Suite("Tracking server and the feedback loop, over real HTTP on loopback")
struct TrackingServerTests {
    static let apiKey = "test-api-key-0123456789"

    /// A runtime on the shipped funnel (send window open), its HTTP application, and helpers.
    struct Setup {
        let harness: Harness
        let runtime: Runtime
        var app: some ApplicationProtocol {
            Application(
                router: NurtureRoutes.router(api: runtime.feedback, options: .init(apiKey: Secret(TrackingServerTests.apiKey), exposition: runtime.metricsExposition), logger: runtime.logger),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        }

        init(rules: MachineRules? = nil) throws {
            harness = try Harness()
            let workflows = try openWindowWorkflows(from: Harness.repository, into: harness.directory)
            runtime = try harness.runtime(workflows: workflows.path, machineRules: rules)
        }

        /// The tracking tokens in the most recent message the SMTP server got.
        func tokens() throws -> (open: String, clicks: [String], unsubscribe: String) {
            let record = try #require(try harness.smtp.records("messages.jsonl").last)
            let raw = String(decoding: decodeBase64(record["data"]), as: UTF8.self)
            let html = try #require(try ParsedMessage.parse(decodeBase64(record["data"])).parts.first { $0.content_type == "text/html" }).content
            func all(_ prefix: String) -> [String] {
                html.components(separatedBy: "https://t.acme.example/\(prefix)/").dropFirst().map { String($0.prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })) }
            }
            _ = raw
            return (try #require(all("o").first), all("c"), try #require(all("u").first))
        }
    }

    static var auth: HTTPFields { [.authorization: "Bearer \(apiKey)", .contentType: "application/json"] }

    func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
    }

    @Test("the seeds' scenario: opens and clicks the welcome, visits /pricing, requests a quote → MQL, score, and the MQL email goes out")
    func seedsScenario() async throws {
        // The person opens and clicks within seconds of delivery here: no delay counts as a machine's.
        var rules = MachineRules()
        rules.openWithin = TimeSpan(seconds: 0)
        rules.clickWithin = TimeSpan(seconds: 0)
        let setup = try Setup(rules: rules)
        defer { setup.harness.cleanUp() }
        let runtime = setup.runtime
        try await setup.app.test(.live) { client in
            let created = try await client.execute(uri: "/v1/leads", method: .post, headers: Self.auth,
                body: ByteBuffer(string: #"{"email": "ada@example.com", "first_name": "Ada", "job_title": "CTO", "employees": 300, "timezone": "America/New_York"}"#))
            #expect(created.status == .created)
            _ = try await runtime.runOnce(now: Date())
            let welcome = try setup.tokens()
            #expect(try setup.harness.received().map(\.subject) == ["Welcome to Acme Analytics, Ada"])

            let pixel = try await client.execute(uri: "/o/\(welcome.open)", method: .get)
            #expect(pixel.status == .ok)
            #expect(pixel.headers[.contentType] == "image/gif")
            #expect(pixel.headers[.cacheControl]?.contains("no-store") == true)
            #expect(pixel.body.readableBytes == 43)

            let firstClick = try #require(welcome.clicks.first)
            let click = try await client.execute(uri: "/c/\(firstClick)", method: .get)
            #expect(click.status == .found)
            #expect(click.headers[.location] == "https://acme-analytics.example/start?utm_source=nurture&utm_campaign=welcome")
            // Answered once stored; decided right after (the service's applier, here by hand).
            #expect(try await runtime.store.pendingEventCount() == 2)
            #expect(try await runtime.feedback.applier.drain().taken == 2)

            let events = #"{"events": [{"type": "page_visited", "email": "ada@example.com", "properties": {"path": "/pricing"}, "id": "visit-1"}, {"type": "form_submitted", "email": "ada@example.com", "properties": {"form": "quote"}, "id": "quote-1"}]}"#
            let posted = try await client.execute(uri: "/v1/events", method: .post, headers: Self.auth, body: ByteBuffer(string: events))
            #expect(posted.status == .accepted)
            #expect(json(posted)["recorded"] as? Int == 2)
            // Posting the same events again records nothing (idempotent by id).
            let again = try await client.execute(uri: "/v1/events", method: .post, headers: Self.auth, body: ByteBuffer(string: events))
            #expect(json(again)["duplicates"] as? Int == 2)

            let leadResponse = try await client.execute(uri: "/v1/leads/ada@example.com", method: .get, headers: Self.auth)
            let lead = json(leadResponse)
            // fit 25 (CTO 15, size 10) + open 2 + click 10 + pricing 5 + visit 1 + quote 20 = 63 → MQL; SQL needs 70.
            #expect(lead["stage"] as? String == "mql")
            #expect(lead["fit_score"] as? Int == 25)
            #expect(lead["score"] as? Int == 63)
            #expect((lead["stage_history"] as? [[String: Any]])?.first?["reason"] as? String == "qualified: score ≥ 40 and fit ≥ 10 (score 43, fit 25)")
            let engagement = (lead["breakdown"] as? [String: Any])?["engagement"] as? [[String: Any]]
            #expect(engagement?.contains { $0["rule"] as? String == "requested a quote" && $0["points"] as? Int == 20 } == true)

            // The quote request was MQL nurture's goal: the lead left it; the stage change had queued case-study first.
            _ = try await runtime.runOnce(now: Date())
            #expect(try setup.harness.received().map(\.subject).contains("What teams like your team measure first"))
        }
    }

    @Test("tampered or foreign tokens get 404 and record nothing; click targets cannot be changed")
    func tampering() async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        _ = try await setup.runtime.scheduler.upsert([lead("ada@example.com")], now: Date() - 60)
        _ = try await setup.runtime.runOnce(now: Date() - 60)
        let tokens = try setup.tokens()
        let foreign = TrackingSigner(secret: Secret("another-secret-0123456789"))
        let firstClick = try #require(tokens.clicks.first)
        let click = try #require(TrackingSigner(secret: Secret("integration-test-secret-0123456789")).verify(firstClick))
        guard case .click(let id, _) = click else { Issue.record("not a click token"); return }
        try await setup.app.test(.live) { client in
            var flipped = tokens.open
            flipped.replaceSubrange(flipped.index(flipped.startIndex, offsetBy: 5)...flipped.index(flipped.startIndex, offsetBy: 5), with: flipped.dropFirst(5).first == "A" ? "B" : "A")
            for uri in ["/o/\(flipped)", "/o/not-a-token", "/c/\(tokens.open)", "/o/\(foreign.sign(.open(id)))",
                        "/c/\(foreign.sign(.click(id, url: "https://evil.example/")))", "/u/\(flipped)"] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .notFound, "\(uri)")
                #expect(response.headers[.location] == nil)
            }
            #expect(try await client.execute(uri: "/u/\(flipped)", method: .post).status == .notFound)
        }
        let details = try #require(try await setup.runtime.store.details(.email("ada@example.com"), recent: 50))
        #expect(details.events.isEmpty)
    }

    @Test("a link of ours whose email is not stored (a test send) still redirects, and records nothing")
    func clickOfAnUnstoredSend() async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        _ = try await setup.runtime.scheduler.upsert([lead("ada@example.com")], now: Date() - 60)
        let signer = TrackingSigner(secret: Secret("integration-test-secret-0123456789"))
        let id = signer.sendID(for: SendKey(leadID: "ada@example.com", sequence: "preview", step: "preview", enrollment: 1))
        try await setup.app.test(.live) { client in
            let click = try await client.execute(uri: "/c/\(signer.sign(.click(id, url: "https://acme.example/pricing")))", method: .get)
            #expect(click.status == .found && click.headers[.location] == "https://acme.example/pricing")
            // Its other links name an email that does not exist.
            #expect(try await client.execute(uri: "/u/\(signer.sign(.unsubscribe(id)))", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/o/\(signer.sign(.open(id)))", method: .get).status == .ok)
        }
        let details = try #require(try await setup.runtime.store.details(.email("ada@example.com"), recent: 50))
        #expect(details.events.isEmpty)
    }

    @Test("machine opens and scanner clicks are recorded, flagged, and not scored")
    func machines() async throws {
        // Windows wide enough that a loaded test machine cannot push these hits out of them.
        var rules = MachineRules()
        rules.openWithin = .hours(1)
        rules.clickWithin = .hours(1)
        let setup = try Setup(rules: rules)
        defer { setup.harness.cleanUp() }
        _ = try await setup.runtime.scheduler.upsert([lead("ada@example.com")], now: Date())
        _ = try await setup.runtime.runOnce(now: Date()) // delivered now: hits inside the windows are a proxy's or a scanner's
        let tokens = try setup.tokens()
        try await setup.app.test(.live) { client in
            #expect(try await client.execute(uri: "/o/\(tokens.open)", method: .get).status == .ok)
            let link = try #require(tokens.clicks.first)
            #expect(try await client.execute(uri: "/c/\(link)", method: .get).status == .found)
            let ua: HTTPFields = [.userAgent: "Mozilla/5.0 (compatible; Mimecast URL protection)"]
            #expect(try await client.execute(uri: "/c/\(link)", method: .get, headers: ua).status == .found)
        }
        let details = try #require(try await setup.runtime.store.details(.email("ada@example.com"), recent: 50))
        #expect(details.events.count == 3)
        #expect(details.events.allSatisfy { $0.event.isMachine })
        #expect(details.state.lead.engagementScore == 0)
        #expect(details.state.enrollment?.engagement.isEmpty == true)
    }

    @Test("the web view shows the email as sent, with the same tracked links; a bad token gets 404")
    func webView() async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        _ = try await setup.runtime.scheduler.upsert([lead("ada@example.com", ["company": "Analytical Engines"])], now: Date() - 60)
        _ = try await setup.runtime.runOnce(now: Date() - 60)
        let tokens = try setup.tokens()
        let record = try #require(try setup.harness.smtp.records("messages.jsonl").last)
        let html = try #require(try ParsedMessage.parse(decodeBase64(record["data"])).parts.first { $0.content_type == "text/html" }).content
        let view = try #require(html.components(separatedBy: "https://t.acme.example/v/").dropFirst().first.map { String($0.prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })) })
        try await setup.app.test(.live) { client in
            let page = try await client.execute(uri: "/v/\(view)", method: .get)
            #expect(page.status == .ok)
            let body = String(buffer: page.body)
            #expect(body.contains("we want that for Analytical Engines too."))
            #expect(body.contains("https://t.acme.example/c/\(try #require(tokens.clicks.first))"))
            #expect(try await client.execute(uri: "/v/\(tokens.open)", method: .get).status == .notFound)
        }
    }

    @Test("unsubscribe: GET shows a page and changes nothing; POST (one-click) unsubscribes")
    func unsubscribe() async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        _ = try await setup.runtime.scheduler.upsert([lead("ada@example.com")], now: Date() - 60)
        _ = try await setup.runtime.runOnce(now: Date() - 60)
        let tokens = try setup.tokens()
        try await setup.app.test(.live) { client in
            let page = try await client.execute(uri: "/u/\(tokens.unsubscribe)", method: .get)
            #expect(page.status == .ok)
            #expect(String(buffer: page.body).contains(#"<form method="post" action="/u/\#(tokens.unsubscribe)">"#))
            #expect(try await setup.runtime.store.suppression(email: "ada@example.com") == nil)
            let done = try await client.execute(uri: "/u/\(tokens.unsubscribe)", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "List-Unsubscribe=One-Click"))
            #expect(done.status == .ok)
        }
        #expect(try await setup.runtime.store.suppression(email: "ada@example.com") == .unsubscribed)
        let state = try #require(try await setup.runtime.store.lead(.email("ada@example.com")))
        #expect(state.suppression == .unsubscribed)
        #expect(state.enrollment == nil)
    }

    @Test("the API: 401 without the key; 4xx with a reason for bad input, and nothing recorded")
    func apiErrors() async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        _ = try await setup.runtime.scheduler.upsert([lead("ada@example.com")], now: Date())
        try await setup.app.test(.live) { client in
            let body = ByteBuffer(string: #"{"type": "page_visited", "email": "ada@example.com"}"#)
            #expect(try await client.execute(uri: "/v1/events", method: .post, body: body).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/events", method: .post, headers: [.authorization: "Bearer wrong"], body: body).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/leads/ada@example.com", method: .get).status == .unauthorized)
            for (payload, status, reason) in [
                ("{not json", HTTPResponse.Status.badRequest, "not valid JSON"),
                (#"{"type": "page_visited", "email": "ada@example.com", "colour": "red"}"#, .badRequest, "unknown field 'colour'"),
                (#"{"email": "ada@example.com"}"#, .badRequest, "'type' is required"),
                (#"{"events": [{"type": "replied", "email": "ada@example.com"}, {"type": "page_visited"}]}"#, .badRequest, "events[1]: give the lead's 'email' or 'lead_id'"),
                (#"{"type": "replied", "email": "ada@example.com", "at": "yesterday"}"#, .badRequest, "'at' must be an ISO 8601 time"),
                ("[" + String(repeating: #"{"type": "x", "email": "a@b.c"},"#, count: 40_000) + "1]", .contentTooLarge, "larger than"),
            ] {
                let response = try await client.execute(uri: "/v1/events", method: .post, headers: Self.auth, body: ByteBuffer(string: payload))
                #expect(response.status == status, "\(payload.prefix(60))")
                #expect(String(buffer: response.body).contains(reason), "\(String(buffer: response.body))")
            }
            let badLead = try await client.execute(uri: "/v1/leads", method: .post, headers: Self.auth, body: ByteBuffer(string: #"{"first_name": "X"}"#))
            #expect(badLead.status == .badRequest)
            #expect(try await client.execute(uri: "/v1/leads/nobody@example.com", method: .get, headers: Self.auth).status == .notFound)
            #expect(try await client.execute(uri: "/v1/leads/ada%40example.com", method: .get, headers: Self.auth).status == .ok)
        }
        #expect(try #require(try await setup.runtime.store.details(.email("ada@example.com"), recent: 10)).events.isEmpty)
    }

    @Test("relay webhooks: a hard bounce by Message-ID suppresses; metrics and health are served")
    func webhooksAndMetrics() async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        _ = try await setup.runtime.scheduler.upsert([lead("ada@example.com")], now: Date() - 60)
        _ = try await setup.runtime.runOnce(now: Date() - 60)
        let messageID = try #require(try setup.harness.received().first).messageID
        try await setup.app.test(.live) { client in
            let report = #"{"type": "bounced", "message_id": "\#(messageID)", "bounce_type": "hard", "reason": "550 5.1.1 mailbox unavailable"}"#
            let response = try await client.execute(uri: "/v1/webhooks/relay", method: .post, headers: Self.auth, body: ByteBuffer(string: report))
            #expect(response.status == .accepted)
            #expect(json(response)["applied"] as? Int == 1)
            // A relay retrying its webhook: the same bounce of the same message is kept once.
            let again = try await client.execute(uri: "/v1/webhooks/relay", method: .post, headers: Self.auth, body: ByteBuffer(string: report))
            #expect(again.status == .accepted)
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get, headers: Self.auth).body)
            #expect(metrics.contains(#"nurture_events_total{type="bounced",machine="false"} 1"#))
            #expect(metrics.contains(#"nurture_sends_total{outcome="sent"} 1"#))
            #expect(metrics.contains("nurture_queue_depth 0"))
            #expect(metrics.contains("nurture_relay_latency_seconds_bucket"))
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(String(buffer: health.body) == "ok\n")
        }
        #expect(try await setup.runtime.store.suppression(email: "ada@example.com") == .bounced)
        let events = try #require(try await setup.runtime.store.details(.email("ada@example.com"), recent: 20)).events
        #expect(events.filter { $0.event.type == "bounced" }.count == 1)
    }
}
