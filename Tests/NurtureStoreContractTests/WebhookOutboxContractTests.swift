import Foundation
import NurtureCore
import Testing

/// The webhook outbox's guarantees, on every storage adapter.
extension StoreContractTests {
    static let hooks = WebhookRoutes([
        WebhookEndpoint(url: "https://crm.example/a", events: [.stageChanged, .unsubscribed], stages: ["mql"]),
        WebhookEndpoint(url: "https://crm.example/b", events: [.scoreCrossed], scoreThresholds: [50]),
    ])

    @Test("webhooks: queued with the change that calls for them, leased and fenced, retried, dead-lettered, requeued, taken back from a dead worker", arguments: Adapter.allCases)
    func webhookOutbox(adapter: Adapter) async throws {
        try await adapter.with(webhooks: Self.hooks) { subject in
            let store = subject.store
            let t0 = Self.t0, worker = Self.worker, other = Self.other, lease = Self.lease
            try await seed(store, ["ada@example.com"], send: false)
            // A new lead in stage lead with a score of 0 calls for nothing.
            #expect(try await store.claimWebhooks(now: t0, limit: 10, worker: worker, duration: lease).isEmpty)

            let t1 = t0 + 60
            _ = try await store.updateLead(.email("ada@example.com"), now: t1) { state in
                state.lead.fitScore = 60
                state.lead.stage = "mql"
                return LeadChange(effects: [.stageChanged(StageChange(from: "lead", to: "mql", at: t1, reason: "score 60 ≥ 40"))], nextWake: nil)
            }
            // Into sql: endpoint a wants moves into mql only; the score does not cross 50 again.
            _ = try await store.updateLead(.email("ada@example.com"), now: t1) { state in
                state.lead.stage = "sql"
                return LeadChange(effects: [.stageChanged(StageChange(from: "mql", to: "sql", at: t1, reason: "demo"))], nextWake: nil)
            }
            let claimed = try await store.claimWebhooks(now: t1, limit: 10, worker: worker, duration: lease)
            #expect(claimed.map(\.message.type).sorted() == [.scoreCrossed, .stageChanged])
            let stage = try #require(claimed.first { $0.message.type == .stageChanged })
            let score = try #require(claimed.first { $0.message.type == .scoreCrossed })
            #expect(stage.message.endpoint == "https://crm.example/a")
            #expect(score.message.endpoint == "https://crm.example/b")
            #expect(stage.message.id.hasPrefix("msg_"))
            let payload = try WebhookPayload.decode(stage.message.body)
            #expect(payload.type == .stageChanged)
            #expect(payload.data.from == "lead" && payload.data.to == "mql" && payload.data.reason == "score 60 ≥ 40")
            #expect(payload.data.lead.email == "ada@example.com" && payload.data.lead.score == 60 && payload.data.lead.stage == "mql")
            let crossed = try WebhookPayload.decode(score.message.body)
            #expect(crossed.data.threshold == 50 && crossed.data.direction == "up" && crossed.data.scoreBefore == 0 && crossed.data.scoreAfter == 60)

            // Leased: no one else gets them.
            #expect(try await store.claimWebhooks(now: t1, limit: 10, worker: other, duration: lease).isEmpty)
            let stale = try await store.completeWebhooks([(score, .delivered(response: "HTTP 204")), (stage, .retry(at: t1 + 5, error: "attempt 1: HTTP 503"))], now: t1)
            #expect(stale == 0)
            #expect(try await store.claimWebhooks(now: t1 + 4, limit: 10, worker: worker, duration: lease).isEmpty)
            #expect(try await store.nextWebhookDue() == t1 + 5)

            // Due again: the same message, one attempt made.
            let again = try await store.claimWebhooks(now: t1 + 5, limit: 10, worker: worker, duration: lease)
            #expect(again.count == 1)
            #expect(again.first?.attempts == 1)
            #expect(again.first?.message.id == stage.message.id)
            #expect(again.first?.message.body == stage.message.body)
            // Its lease runs out and another worker takes it: the first holder's outcome is refused.
            let stolen = try await store.claimWebhooks(now: t1 + 5 + 31, limit: 10, worker: other, duration: lease)
            #expect(stolen.count == 1)
            #expect(try await store.completeWebhooks([(try #require(again.first), .delivered(response: "HTTP 200"))], now: t1 + 36) == 1)
            #expect(try await store.completeWebhooks([(try #require(stolen.first), .dead(error: "gave up after 2 attempts: HTTP 503"))], now: t1 + 36) == 0)

            let records = try await store.webhooks(leadID: stage.message.leadID, limit: 10)
            // Newest first: the score's (queued second, for the second endpoint), then the stage's.
            #expect(records.map(\.status) == [.delivered, .dead])
            #expect(records.last?.attempts == 2)
            #expect(records.last?.lastError == "gave up after 2 attempts: HTTP 503")
            #expect(records.first?.deliveredAt == t1)
            #expect(try await store.webhooks(status: .dead, limit: 10).map(\.id) == [stage.message.id])
            #expect(try await store.webhookCounts() == [.delivered: 1, .dead: 1])

            // Queued again by an operator: due now, attempts from zero.
            let t2 = t1 + 3600
            #expect(try await store.requeueDeadWebhooks(ids: [], now: t2) == 1)
            #expect(try await store.requeueDeadWebhooks(ids: [], now: t2) == 0)
            let requeued = try await store.claimWebhooks(now: t2, limit: 10, worker: worker, duration: lease)
            #expect(requeued.map(\.attempts) == [0])
            // Its worker dies: the webhook is back at once, not when the lease runs out.
            try await store.recoverDeadWorkers(now: t2, deadAfter: .minutes(1), host: worker.host, isRunning: { $0 != worker.pid })
            #expect(try await store.claimWebhooks(now: t2, limit: 10, worker: other, duration: lease).count == 1)
        }
    }

    @Test("no webhooks are queued when none are configured", arguments: Adapter.allCases)
    func noWebhooks(adapter: Adapter) async throws {
        try await adapter.with { subject in
            try await seed(subject.store, ["ada@example.com"], send: false)
            _ = try await subject.store.updateLead(.email("ada@example.com"), now: Self.t0) { state in
                state.lead.stage = "mql"
                return LeadChange(effects: [.stageChanged(StageChange(from: "lead", to: "mql", at: Self.t0, reason: "r")), .suppressed(.unsubscribed)], nextWake: nil)
            }
            #expect(try await subject.store.webhookCounts().isEmpty)
        }
    }
}
