import Foundation
import Hummingbird
import HummingbirdTesting
import NurtureCore
import NurtureServer
@testable import NurtureApp
@testable import NurtureRuntime
import Testing
import TestSupport

/// The attacks and careless inputs of the hardening issue, against the live HTTP API.
@Suite("Hardening: the API refuses what it cannot store faithfully")
struct HardeningAPITests {
    typealias Setup = TrackingServerTests.Setup
    static var auth: HTTPFields { TrackingServerTests.auth }

    @Test("a suppressed mailbox re-added with white space, case or compatibility forms is the same lead and gets nothing")
    func suppressedVariants() async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        try await setup.runtime.store.suppress(email: "victim@example.com", reason: .unsubscribed, now: Date())
        try await setup.app.test(.live) { client in
            let variants = [
                " victim@example.com", "victim@example.com\r\n", "\tvictim@example.com", "Victim@Example.COM",
                "\u{00A0}victim@example.com", "ｖｉｃｔｉｍ@ｅｘａｍｐｌｅ.ｃｏｍ", "victim@EXAMPLE.com ",
            ]
            for (index, variant) in variants.enumerated() {
                let body = try JSONSerialization.data(withJSONObject: ["email": variant, "first_name": "V\(index)"])
                let response = try await client.execute(uri: "/v1/leads", method: .post, headers: Self.auth, body: ByteBuffer(bytes: body))
                #expect(response.status == (index == 0 ? .created : .ok), "\(variant.debugDescription)")
            }
            for refused in ["victim@exa\u{200B}mple.com", "victim\u{202E}@example.com", "a@b@example.com", "vіctim@example.com", "victim@ехample.com"] {
                let body = try JSONSerialization.data(withJSONObject: ["email": refused])
                let response = try await client.execute(uri: "/v1/leads", method: .post, headers: Self.auth, body: ByteBuffer(bytes: body))
                #expect(response.status == .badRequest, "\(refused.debugDescription)")
            }
        }
        _ = try await setup.runtime.runOnce(now: Date())
        #expect(try setup.harness.received().isEmpty)
        #expect(try await setup.runtime.store.counts(now: Date()).leads == 1)
        let lead = try #require(try await setup.runtime.store.lead(.email(" VICTIM@example.com")))
        #expect(lead.lead.email == "victim@example.com")
    }

    @Test("every field is type-checked, every list capped, JSON required", arguments: [
        (#"{"type": "replied", "email": "ada@example.com", "at": true}"#, 400, "'at' must be"),
        (#"{"type": "replied", "email": "ada@example.com", "at": 1}"#, 400, "before 2000"),
        (#"{"type": "replied", "email": "ada@example.com", "at": [1]}"#, 400, "'at' must be"),
        (#"{"type": "replied", "email": 42}"#, 400, "'email' must be text"),
        (#"{"type": "replied", "lead_id": true}"#, 400, "'lead_id' must be"),
        (#"{"type": "replied", "lead_id": 1.5}"#, 400, "'lead_id' must be"),
        (#"{"type": true, "email": "ada@example.com"}"#, 400, "'type' is required"),
        (#"{"type": "page visited\n", "email": "ada@example.com"}"#, 400, "'type' is required"),
        (#"{"type": "replied", "email": "ada@example.com", "properties": {"n": true}}"#, 400, "must be text"),
        (#"{"type": "replied", "email": "ada@example.com", "properties": {"n": "a\u0000b"}}"#, 400, "NUL character"),
        (#"{"type": "replied", "email": "ada@example.com", "id": 7}"#, 400, "'id' must be text"),
        (#"{"type": "replied", "email": " a@b@example.com"}"#, 400, "more than one '@'"),
        (#"{"events": []}"#, 400, "no events"),
        (#"[]"#, 400, "no events"),
    ])
    func eventFields(payload: String, status: Int, reason: String) async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        _ = try await setup.runtime.scheduler.upsert([lead("ada@example.com")], now: Date())
        try await setup.app.test(.router) { client in
            let response = try await client.execute(uri: "/v1/events", method: .post, headers: Self.auth, body: ByteBuffer(string: payload))
            #expect(response.status.code == status, "\(payload)")
            #expect(String(buffer: response.body).contains(reason), "\(String(buffer: response.body))")
        }
        #expect(try #require(try await setup.runtime.store.details(.email("ada@example.com"), recent: 10)).events.isEmpty)
    }

    @Test("leads: a time zone must be an IANA name; relay reports are capped and never empty; JSON content type and UTF-8 required")
    func leadsRelaysAndEncodings() async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        try await setup.app.test(.router) { client in
            for zone in ["../../etc/passwd", "Mars/Olympus", "+05:00", ""] {
                let body = try JSONSerialization.data(withJSONObject: ["email": "ada@example.com", "timezone": zone])
                let response = try await client.execute(uri: "/v1/leads", method: .post, headers: Self.auth, body: ByteBuffer(bytes: body))
                #expect(response.status == .badRequest, "\(zone)")
                #expect(String(buffer: response.body).contains("time zone"))
            }
            let many = "[" + Array(repeating: #"{"type": "delivered", "email": "ada@example.com"}"#, count: 1001).joined(separator: ",") + "]"
            let capped = try await client.execute(uri: "/v1/webhooks/relay", method: .post, headers: Self.auth, body: ByteBuffer(string: many))
            #expect(capped.status == .contentTooLarge)
            #expect(String(buffer: capped.body).contains("at most 1000 reports"))
            for empty in ["[]", #"{"events": []}"#] {
                let response = try await client.execute(uri: "/v1/webhooks/relay", method: .post, headers: Self.auth, body: ByteBuffer(string: empty))
                #expect(response.status == .badRequest)
            }
            let event = #"{"type": "replied", "email": "ada@example.com"}"#
            let key: HTTPFields = [.authorization: "Bearer \(TrackingServerTests.apiKey)"]
            #expect(try await client.execute(uri: "/v1/events", method: .post, headers: key, body: ByteBuffer(string: event)).status == .unsupportedMediaType)
            var form = key
            form[.contentType] = "application/x-www-form-urlencoded"
            #expect(try await client.execute(uri: "/v1/leads", method: .post, headers: form, body: ByteBuffer(string: event)).status == .unsupportedMediaType)
            var utf16 = key
            utf16[.contentType] = "application/json; charset=utf-16"
            #expect(try await client.execute(uri: "/v1/events", method: .post, headers: utf16, body: ByteBuffer(string: event)).status == .unsupportedMediaType)
            var bytes: [UInt8] = [0xFF, 0xFE]
            for unit in event.utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
            let sixteen = try await client.execute(uri: "/v1/events", method: .post, headers: Self.auth, body: ByteBuffer(bytes: bytes))
            #expect(sixteen.status == .badRequest)
            #expect(String(buffer: sixteen.body).contains("UTF-8"))
            // /metrics holds business figures: behind the key unless configured public.
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/metrics", method: .get, headers: Self.auth).status == .ok)
        }
        let open = Application(router: NurtureRoutes.router(api: setup.runtime.feedback, options: .init(apiKey: nil, publicMetrics: true, exposition: setup.runtime.metricsExposition), logger: setup.runtime.logger))
        try await open.test(.router) { (client) async throws in
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v1/leads/ada@example.com", method: .get).status == .unauthorized)
        }
        #expect(try await setup.runtime.store.counts(now: Date()).leads == 0)
    }

    @Test("one virtual clock drives the routes, the event batcher and the store: a hit an hour after the send is recorded at that hour")
    func injectedClock() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let workflows = try openWindowWorkflows(from: Harness.repository, into: harness.directory)
        let clock = ManualClock(monday)
        let runtime = try harness.runtime(workflows: workflows.path, clock: clock)
        _ = try await runtime.scheduler.upsert([lead("ada@example.com")], now: monday)
        _ = try await runtime.runOnce(now: monday)
        let record = try #require(try harness.smtp.records("messages.jsonl").last)
        let html = try #require(try ParsedMessage.parse(decodeBase64(record["data"])).parts.first { $0.content_type == "text/html" }).content
        let open = try #require(html.components(separatedBy: "https://t.acme.example/o/").dropFirst().first).prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        clock.advance(by: 3600)
        let app = Application(router: NurtureRoutes.router(api: runtime.feedback, options: .init(apiKey: Secret(TrackingServerTests.apiKey), clock: clock), logger: runtime.logger))
        try await app.test(.router) { (client) async throws in
            #expect(try await client.execute(uri: "/o/\(open)", method: .get).status == .ok)
        }
        let events = try #require(try await runtime.store.details(.email("ada@example.com"), recent: 5)).events
        let opened = try #require(events.first { $0.event.type == "email_opened" })
        #expect(opened.event.at == monday + 3600)
        #expect(opened.recordedAt == monday + 3600)
        #expect(!opened.event.isMachine, "an hour after delivery on the virtual clock: a person")
    }

    // MARK: - POST /v1/leads: tags, store-owned keys, caps

    static func tags(_ count: Int) -> String {
        #"{"email": "ada@example.com", "tags": ["# + (1...count).map { "\"t\($0)\"" }.joined(separator: ", ") + "]}"
    }

    @Test("leads: tags are a capped list of strings; stage, scores and id are refused with a reason; fields are capped and one line", arguments: [
        (#"{"email": "ada@example.com", "tags": "x"}"#, #""tags" must be a list of tags such as ["vip", "trial"] (found text)"#),
        (#"{"email": "ada@example.com", "tags": ["a\r\nb", {"x": 1}]}"#, #""tags" must be a list of tags without control characters (tag 1 contains U+000D)"#),
        (#"{"email": "ada@example.com", "tags": ["a", {"x": 1}]}"#, #""tags" must be a list of text tags (tag 2 is an object)"#),
        (#"{"email": "ada@example.com", "tags": [""]}"#, "tag 1 is empty"),
        (tags(101), #""tags" must be a list of at most 100 tags (found 101)"#),
        (#"{"email": "ada@example.com", "stage": "customer"}"#, "stages move by the funnel, or by `nurture leads stage`"),
        (#"{"email": "ada@example.com", "fit_score": 100}"#, #""fit_score" cannot be set here"#),
        (#"{"email": "ada@example.com", "engagement_score": 100}"#, #""engagement_score" cannot be set here"#),
        (#"{"email": "ada@example.com", "id": "lead-7"}"#, "lead ids are the store's"),
        (#"{"email": "ada@example.com", "first_name": "Ada\r\nBcc: eve@evil.example"}"#, #""first_name" must be one line of text without control characters (found a line break, U+000D)"#),
        (#"{"email": "ada@example.com", "first_name": "\#(String(repeating: "a", count: 100_000))"}"#, #""first_name" must be at most 4,096 characters (found 100000)"#),
        (#"{"email": "ada@example.com", "\#(String(repeating: "k", count: 65))": "x"}"#, "a field name is 1–64 characters"),
        (#"{"email": "ada@example.com", "": "x"}"#, "a field name is 1–64 characters"),
    ])
    func leadLimits(payload: String, reason: String) async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        try await setup.app.test(.router) { client in
            let response = try await client.execute(uri: "/v1/leads", method: .post, headers: Self.auth, body: ByteBuffer(string: payload))
            #expect(response.status == .badRequest, "\(payload.prefix(200))")
            let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: [String: String]]
            let message = try #require(body?["error"]?["message"], "\(String(buffer: response.body))")
            #expect(message.hasPrefix("body: ") && message.contains(reason), "\(message)")
        }
        #expect(try await setup.runtime.store.counts(now: Date()).leads == 0)
    }

    @Test("leads: 100 tags are accepted and stored")
    func hundredTags() async throws {
        let setup = try Setup()
        defer { setup.harness.cleanUp() }
        try await setup.app.test(.router) { client in
            let response = try await client.execute(uri: "/v1/leads", method: .post, headers: Self.auth, body: ByteBuffer(string: Self.tags(100)))
            #expect(response.status == .created, "\(String(buffer: response.body))")
        }
        let lead = try #require(try await setup.runtime.store.lead(.email("ada@example.com")))
        #expect(lead.lead.tags.count == 100)
    }
}

