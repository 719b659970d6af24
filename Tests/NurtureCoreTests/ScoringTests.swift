import Foundation
@testable import NurtureCore
import Testing

@Suite("Scoring engine")
struct ScoringTests {
    let t0 = at("2026-11-23 10:00")
    var engine: ScoringEngine { ScoringEngine(model: seedWorkflow(sequences: []).scoring) }

    @Test("points per event, with property filters; machine events score nothing")
    func points() {
        var state = ScoreState()
        #expect(engine.apply(Event("email_clicked", at: t0), to: &state, now: t0) == [ScoreChange(rule: "clicked", points: 10)])
        #expect(engine.apply(Event("page_visited", at: t0, properties: ["path": "/pricing/teams"]), to: &state, now: t0) == [ScoreChange(rule: "pricing", points: 5)])
        #expect(engine.apply(Event("page_visited", at: t0, properties: ["path": "/blog"]), to: &state, now: t0).isEmpty)
        #expect(engine.apply(Event("email_clicked", at: t0, isMachine: true), to: &state, now: t0).isEmpty)
        #expect(engine.engagement(state, at: t0) == 15)
    }

    @Test("once per lead, and caps per rule")
    func onceAndCaps() {
        var state = ScoreState()
        let quote = Event("form_submitted", at: t0, properties: ["form": "quote"])
        #expect(engine.apply(quote, to: &state, now: t0) == [ScoreChange(rule: "quote", points: 20)])
        #expect(engine.apply(quote, to: &state, now: t0) == [ScoreChange(rule: "quote", points: 0, note: "once per lead")])
        var opens: [ScoreChange] = []
        for _ in 0..<7 { opens += engine.apply(Event("email_opened", at: t0), to: &state, now: t0) }
        #expect(opens.map(\.points) == [2, 2, 2, 2, 2, 0, 0])
        #expect(opens.last?.note == "cap of 10 reached")
        #expect(state.awarded == ["quote": 20, "opened": 10])
        #expect(engine.engagement(state, at: t0) == 30)
    }

    @Test("negative points: unsubscribe takes 50 and does not decay")
    func negative() {
        let decaying = ScoringEngine(model: seedWorkflow(sequences: [], decay: .halfLife(.days(30))).scoring)
        var state = ScoreState()
        _ = decaying.apply(Event("email_clicked", at: t0), to: &state, now: t0)
        _ = decaying.apply(Event("unsubscribed", at: t0), to: &state, now: t0)
        #expect(decaying.engagement(state, at: t0) == -40)
        #expect(decaying.engagement(state, at: t0 + .days(30)) == -45) // 10 → 5, -50 stays
    }

    @Test("fit rules: patterns, ranges, lists, disqualifiers")
    func fit() {
        let lead = Lead(id: "1", email: "ada@uni.edu", fields: ["job_title": "VP Engineering", "employees": "1,200"])
        #expect(engine.fitBreakdown(of: lead).map(\.description) == ["+15 decision maker", "+10 company size", "-30 student"])
        var state = ScoreState()
        engine.updateFit(of: lead, state: &state)
        #expect(state.fit == -5)
        #expect(engine.fitBreakdown(of: Lead(id: "2", email: "x@corp.com", fields: ["employees": "12"])).isEmpty)
    }

    @Test("half-life decay: points halve every half-life, continuously")
    func halfLife() {
        let engine = ScoringEngine(model: seedWorkflow(sequences: [], decay: .halfLife(.days(30))).scoring)
        var state = ScoreState()
        _ = engine.apply(Event("email_clicked", at: t0), to: &state, now: t0)
        _ = engine.apply(Event("form_submitted", at: t0, properties: ["form": "quote"]), to: &state, now: t0)
        #expect(engine.engagement(state, at: t0) == 30)
        #expect(engine.engagement(state, at: t0 + .days(30)) == 15)
        #expect(engine.engagement(state, at: t0 + .days(60)) == 8) // 7.5 rounds to 8
        // New points start from today's decayed value.
        _ = engine.apply(Event("email_clicked", at: t0 + .days(30)), to: &state, now: t0 + .days(30))
        #expect(engine.engagement(state, at: t0 + .days(30)) == 25)
        #expect(engine.engagement(state, at: t0 + .days(60)) == 13) // 12.5 rounds to 13
    }

    @Test("inactivity decay: N points per period after a grace, never below zero, independent of when it is computed")
    func inactivity() {
        let engine = ScoringEngine(model: seedWorkflow(sequences: [], decay: .inactivity(points: 5, every: .days(7), grace: .days(14))).scoring)
        var state = ScoreState()
        _ = engine.apply(Event("email_clicked", at: t0), to: &state, now: t0)
        _ = engine.apply(Event("email_clicked", at: t0), to: &state, now: t0)
        #expect(engine.engagement(state, at: t0 + .days(14)) == 20)
        #expect(engine.engagement(state, at: t0 + .days(21)) == 15)
        #expect(engine.engagement(state, at: t0 + .days(28)) == 10)
        #expect(engine.engagement(state, at: t0 + .days(34)) == 10)
        #expect(engine.engagement(state, at: t0 + .days(35)) == 5)
        #expect(engine.engagement(state, at: t0 + .days(100)) == 0)
        // A non-engagement event in between (a bounce) must not restart the grace period.
        var other = state
        _ = engine.apply(Event("bounced", at: t0 + .days(20), properties: ["type": "soft"]), to: &other, now: t0 + .days(20))
        #expect(engine.engagement(other, at: t0 + .days(35)) == 5)
        // Engagement folds the penalty in (the lost points stay lost) and restarts the clock.
        _ = engine.apply(Event("email_clicked", at: t0 + .days(35)), to: &state, now: t0 + .days(35))
        #expect(engine.engagement(state, at: t0 + .days(35)) == 15)
        #expect(engine.engagement(state, at: t0 + .days(49)) == 15)
        #expect(engine.engagement(state, at: t0 + .days(56)) == 10)
    }

    @Test("property: whatever happens, the total score stays within 0…100", arguments: 0..<20)
    func totalInRange(seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed))
        let workflow = seedWorkflow(sequences: [], decay: seed % 2 == 0 ? .halfLife(.days(10)) : .inactivity(points: 3, every: .days(2), grace: .days(1)))
        let engine = NurtureEngine(workflow: workflow)
        let titles = ["CTO", "intern", "", "Head of Data"]
        var lead = Lead(id: "p", email: seed % 3 == 0 ? "s@uni.edu" : "p@corp.com", fields: ["job_title": titles[seed % 4], "employees": "\(seed * 300)"])
        lead.timeZone = "UTC"
        var (state, _) = engine.start(lead, now: t0)
        let types = ["email_opened", "email_clicked", "page_visited", "form_submitted", "replied", "unsubscribed", "bounced"]
        var now = t0
        for _ in 0..<200 {
            now = now + TimeSpan(seconds: Int.random(in: 60...(3 * 86_400), using: &generator))
            let type = types.randomElement(using: &generator)!
            let event = Event(type, at: now, properties: ["path": "/pricing", "form": "quote"], isMachine: Bool.random(using: &generator) && type == "email_opened")
            _ = engine.handle(event, state: &state, now: now)
            #expect((0...100).contains(state.lead.score))
            _ = engine.tick(&state, now: now + .days(1))
            #expect((0...100).contains(state.lead.score))
        }
    }
}

/// A deterministic random generator (SplitMix64) for property tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
