import Foundation
import Hummingbird
import HummingbirdTesting
import NurtureCore
import NurtureServer
@testable import NurtureApp
@testable import NurtureRuntime
import Testing
import TestSupport

@Suite("Tags on lead updates: the API and the scheduler")
struct LeadTagsTests {
    static let auth: HTTPFields = [.authorization: "Bearer tags-api-key-0123456789", .contentType: "application/json"]

    @Test("POST /v1/leads on an existing lead adds its tags and removes -tags; the new ones count in conditions at once")
    func apiTags() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        let app = Application(
            router: NurtureRoutes.router(api: runtime.feedback, options: .init(apiKey: Secret("tags-api-key-0123456789")), logger: runtime.logger),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let created = try await client.execute(uri: "/v1/leads", method: .post, headers: Self.auth, body: ByteBuffer(string: #"{"email": "ada@example.com", "tags": ["trial", "-ignored"]}"#))
            #expect(created.status == .created)
            let updated = try await client.execute(uri: "/v1/leads", method: .post, headers: Self.auth, body: ByteBuffer(string: #"{"email": "Ada@Example.com", "tags": ["webinar-2026", "-trial"]}"#))
            #expect(updated.status == .ok)
            let lead = try await client.execute(uri: "/v1/leads/ada@example.com", method: .get, headers: Self.auth)
            let json = try JSONSerialization.jsonObject(with: Data(buffer: lead.body)) as? [String: Any]
            #expect(json?["tags"] as? [String] == ["webinar-2026"])
        }
        // Stored with the lead (the list filter reads the column).
        let listed = try await runtime.store.leads(LeadFilter(tag: "webinar-2026"))
        #expect(listed.map(\.email) == ["ada@example.com"])
    }

    @Test("the scheduler's tag: added and removed tags are effects; an unknown lead is nil")
    func schedulerTag() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        _ = try await runtime.scheduler.upsert([lead("ada@example.com")], now: monday)
        let change = try #require(try await runtime.scheduler.tag(.email("ada@example.com"), add: ["vip", "webinar"], remove: ["none"], now: monday))
        #expect(change.effects.contains(.tagAdded("vip")) && change.effects.contains(.tagAdded("webinar")))
        let again = try #require(try await runtime.scheduler.tag(.email("ada@example.com"), add: ["vip"], remove: ["webinar"], now: monday))
        #expect(again.effects.filter { if case .tagAdded = $0 { true } else { false } }.isEmpty)
        #expect(again.effects.contains(.tagRemoved("webinar")))
        #expect(try await runtime.store.lead(.email("ada@example.com"))?.lead.tags == ["vip"])
        #expect(try await runtime.scheduler.tag(.email("nobody@example.com"), add: ["x"], remove: [], now: monday) == nil)
    }
}

@Suite("Event-triggered sequences through the scheduler, on a real SQLite file")
struct TriggeredSequenceServiceTests {
    @Test("an MQL who attends the webinar: the shipped follow-up starts at once, mql-nurture is paused, and the lead's report says so")
    func webinar() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let workflows = try openWindowWorkflows(from: Harness.repository, into: harness.directory)
        let runtime = try harness.runtime(workflows: workflows.path)
        _ = try await runtime.scheduler.upsert([lead("ada@example.com")], now: monday)
        _ = try await runtime.scheduler.move(.email("ada@example.com"), to: "mql", reason: "test", now: monday)
        let change = try await runtime.scheduler.handle(Event("webinar_attended", at: monday + 3600), lead: .email("ada@example.com"), now: monday + 3600).change
        #expect(change?.effects.contains(.enrollmentPaused(sequence: "mql-nurture", by: "webinar-follow-up")) == true)
        #expect(change?.effects.contains { if case .send(let request) = $0 { request.template == "webinar-follow-up" } else { false } } == true)
        let report = try #require(try await runtime.feedback.leadReport(email: "ada@example.com", now: monday + 3600))
        #expect((report["paused_enrollment"] as? [String: any Sendable])?["sequence"] as? String == "mql-nurture")
        #expect((report["enrollment"] as? [String: any Sendable])?["sequence"] as? String == "webinar-follow-up")
    }
}
