import Foundation
import NurtureCore
import Testing

/// A/B steps' counts per variant, on every storage adapter.
extension StoreContractTests {
    @Test("A/B steps: each send keeps its variant; the steps report counts each variant's sends, opens and clicks", arguments: Adapter.allCases)
    func variantCounts(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            let emails = ["a1@example.com", "a2@example.com", "b1@example.com"]
            try await store.upsertLeads(emails, now: Self.t0) { id, email, _, state in
                state = LeadState(lead: Lead(id: id, email: email), now: Self.t0)
                let variant = email.hasPrefix("a") ? "a" : "b"
                return LeadChange(effects: [.send(SendRequest(key: SendKey(leadID: id, sequence: "s", step: "pricing", enrollment: 1), template: "pricing",
                                                              subject: variant == "b" ? "Pricing, plainly" : nil, tracking: true, variant: variant))], nextWake: nil)
            }
            let claimed = try await sendQueued(store)
            #expect(claimed.count == 3)
            // One a opens, the b opens and clicks.
            var hits: [(lead: LeadReference, recording: RecordedEvent)] = []
            for send in claimed {
                let email = try #require(try await store.lead(.id(send.request.key.leadID))).lead.email
                let properties = ["sequence": "s", "step": "pricing"]
                if email == "a1@example.com" || email == "b1@example.com" {
                    hits.append((.id(send.request.key.leadID), RecordedEvent(Event(Event.Kind.opened, at: Self.t0 + 60, properties: properties), sendID: send.id)))
                }
                if email == "b1@example.com" {
                    hits.append((.id(send.request.key.leadID), RecordedEvent(Event(Event.Kind.clicked, at: Self.t0 + 70, properties: properties.merging(["url": "https://x.example/"]) { $1 }), sendID: send.id)))
                }
            }
            _ = try await store.appendAndApply(hits, now: Self.t0 + 80, decide: { _, _ in [] }, settle: { _ in LeadChange(effects: [], nextWake: nil) })
            let facts = try await store.stepFacts(period: ReportPeriod(since: Self.t0 - 3600, until: Self.t0 + 3600), sequence: nil)
            let variants = try #require(facts.variants[StepFacts.Key(sequence: "s", step: "pricing")])
            #expect(variants["a"]?["sent"] == 2 && variants["a"]?["opened"] == 1 && variants["a"]?["clicked"] == 0)
            #expect(variants["b"]?["sent"] == 1 && variants["b"]?["opened"] == 1 && variants["b"]?["clicked"] == 1)
            let report = StepsReport(facts: facts, order: [("s", ["pricing"])], period: ReportPeriod(since: Self.t0 - 3600, until: Self.t0 + 3600))
            #expect(report.steps.first?.variants.map(\.variant) == ["a", "b"])
            #expect(report.steps.first?.variants.last?.clickRate == 1)
            // Outside the period: nothing.
            #expect(try await store.stepFacts(period: ReportPeriod(since: Self.t0 + 86_400, until: Self.t0 + 2 * 86_400), sequence: nil).variants.isEmpty)
        }
    }
}
