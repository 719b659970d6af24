import Foundation
import NurtureCore
import Testing

@Suite("Outbound webhook routes")
struct WebhookRoutesTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    var ids: () -> String {
        var n = 0
        return { n += 1; return "msg_\(n)" }
    }

    func lead(score: Int, stage: String = "lead") -> Lead {
        Lead(id: "7", email: "ada@example.com", stage: stage, fitScore: score)
    }

    @Test("each endpoint gets the events it asked for; stage_changed only into its stages")
    func routing() throws {
        let routes = WebhookRoutes([
            WebhookEndpoint(url: "https://a.example/hook", events: [.stageChanged, .goalReached], stages: ["sql"]),
            WebhookEndpoint(url: "https://b.example/hook", events: [.stageChanged, .unsubscribed, .bounced, .complained]),
        ])
        let effects: [Effect] = [
            .stageChanged(StageChange(from: "lead", to: "mql", at: now, reason: "score 42 ≥ 40")),
            .goalReached(sequence: "mql-nurture", goal: "booked a demo"),
            .suppressed(.unsubscribed),
            .suppressed(.manual),
        ]
        let messages = routes.messages(for: effects, lead: lead(score: 42, stage: "mql"), scoreBefore: 42, now: now, newID: ids)
        #expect(messages.map { "\($0.endpoint) \($0.type.rawValue)" } == [
            "https://a.example/hook goal_reached",
            "https://b.example/hook stage_changed",
            "https://b.example/hook unsubscribed",
        ])
        #expect(Set(messages.map(\.id)).count == 3)
        let goal = try WebhookPayload.decode(messages[0].body)
        #expect(goal.data.sequence == "mql-nurture" && goal.data.goal == "booked a demo")
        #expect(goal.data.lead == WebhookPayload.LeadSummary(id: "7", email: "ada@example.com", stage: "mql", score: 42))
        // The body as sent: Standard Webhooks' shape, keys sorted, ISO 8601 time.
        let body = String(decoding: messages[1].body, as: UTF8.self)
        #expect(body == #"{"data":{"from":"lead","lead":{"email":"ada@example.com","id":"7","score":42,"stage":"mql"},"reason":"score 42 ≥ 40","to":"mql"},"timestamp":"2027-01-15T08:00:00Z","type":"stage_changed"}"#)
    }

    @Test("score_crossed: each threshold passed, up or down; none when the score stays on one side")
    func scoreCrossed() throws {
        let routes = WebhookRoutes([WebhookEndpoint(url: "https://a.example/hook", events: [.scoreCrossed], scoreThresholds: [80, 50])])
        let up = routes.messages(for: [], lead: lead(score: 85), scoreBefore: 40, now: now, newID: ids)
        #expect(try up.map { try WebhookPayload.decode($0.body).data.threshold } == [50, 80])
        #expect(try up.allSatisfy { try WebhookPayload.decode($0.body).data.direction == "up" })
        let down = routes.messages(for: [], lead: lead(score: 49), scoreBefore: 50, now: now, newID: ids)
        #expect(try down.map { try WebhookPayload.decode($0.body).data.direction } == ["down"])
        #expect(routes.messages(for: [], lead: lead(score: 60), scoreBefore: 55, now: now, newID: ids).isEmpty)
        #expect(routes.messages(for: [], lead: lead(score: 50), scoreBefore: 50, now: now, newID: ids).isEmpty)
        #expect(WebhookRoutes.none.messages(for: [.suppressed(.bounced)], lead: lead(score: 99), scoreBefore: 0, now: now).isEmpty)
    }

    @Test("retries back off from the first delay, doubling to the cap, honour Retry-After, and stop at the last attempt")
    func retry() {
        let retry = WebhookRetry(maxAttempts: 5, firstDelay: TimeSpan(seconds: 5), maxDelay: TimeSpan(seconds: 30))
        #expect(retry.next(after: 1, now: now, jitter: 1) == now + 5)
        #expect(retry.next(after: 2, now: now, jitter: 1) == now + 10)
        #expect(retry.next(after: 4, now: now, jitter: 1) == now + 30)
        #expect(retry.next(after: 2, now: now, jitter: 0.5) == now + 5)
        #expect(retry.next(after: 1, now: now, jitter: 1, retryAfter: 20) == now + 20)
        #expect(retry.next(after: 1, now: now, jitter: 1, retryAfter: 3600) == now + 30)
        #expect(retry.next(after: 5, now: now, jitter: 1) == nil)
    }
}
