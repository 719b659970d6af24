import Foundation
@testable import NurtureCore
import Testing

@Suite("Funnel: thresholds, manual stages, recycling, enrollment")
struct FunnelTests {
    let start = at("2026-11-23 10:00", ny)
    let cto = Lead(id: "7", email: "ada@corp.example", fields: ["first_name": "Ada", "job_title": "CTO", "employees": "300"], timeZone: ny)

    var workflow: Workflow {
        seedWorkflow(sequences: [
            Sequence(id: "welcome", stage: "lead", steps: [step("welcome", .send(template: "welcome", subject: nil)), step("w", .wait(.duration(.days(5)))), step("guide", .send(template: "guide", subject: nil))]),
            Sequence(id: "mql-nurture", stage: "mql", reEntry: .after(.days(30)), steps: [step("case-study", .send(template: "case-study", subject: nil)), step("w", .wait(.duration(.days(3)))), step("pricing", .send(template: "pricing", subject: nil))]),
            Sequence(id: "mql-recycled", stage: "mql", audience: .tag("recycled"), priority: 1, steps: [step("whats-new", .send(template: "whats-new", subject: nil))]),
            Sequence(id: "sql-demo", stage: "sql", steps: [step("demo-offer", .send(template: "demo-offer", subject: nil)), step("w", .wait(.duration(.days(90))))]),
            Sequence(id: "opportunity", stage: "opportunity", steps: [step("proof", .send(template: "proof", subject: nil))]),
        ])
    }

    @Test("the seeds' scenario: opens and clicks the welcome, visits pricing, requests a quote → SQL, demo offer sent")
    func seedScenario() {
        let events = [
            Event("email_opened", at: start + .hours(2), properties: ["step": "welcome"]),
            Event("email_clicked", at: start + .hours(2) + .minutes(1), properties: ["step": "welcome"]),
            Event("page_visited", at: start + .days(1), properties: ["path": "/pricing"]),
            Event("form_submitted", at: start + .days(2), properties: ["form": "quote"]),
        ]
        let (state, timeline) = Simulation(engine: NurtureEngine(workflow: workflow)).run(cto, from: start, until: start + .days(5), events: events)
        // fit 25 (CTO 15 + size 10); engagement 2 + 10 + 5 + 20 = 37 → total 62.
        #expect(state.lead.fitScore == 25)
        #expect(state.lead.engagementScore == 37)
        #expect(state.lead.score == 62)
        // 25 + 12 = 37 after the click, 42 after pricing → MQL (≥ 40, fit ≥ 10); SQL needs 70.
        #expect(stageChanges(timeline).map(\.to) == ["mql"])
        #expect(stageChanges(timeline).first?.reason == "qualified: score ≥ 40 and fit ≥ 10 (score 42, fit 25)")
        #expect(sendSteps(timeline) == ["welcome", "case-study", "pricing"])
        // The welcome sequence ended with the stage change; guide was never sent.
        #expect(timeline.contains { $0.effect == .enrollmentEnded(sequence: "welcome", reason: "moved to stage mql") })

        // A reply (+15 → 77) with the quote already on record qualifies for SQL.
        let more = events + [Event("replied", at: start + .days(2) + .hours(1))]
        let (sql, sqlTimeline) = Simulation(engine: NurtureEngine(workflow: workflow)).run(cto, from: start, until: start + .days(3), events: more)
        #expect(sql.lead.stage == "sql")
        #expect(sql.lead.score == 77)
        #expect(stageChanges(sqlTimeline).map(\.to) == ["mql", "sql"])
        #expect(sends(sqlTimeline).last.map { ($0.0, $0.1) }! == (start + .days(2) + .hours(1), "demo-offer"))
    }

    @Test("score alone never makes an SQL: the required event must have happened")
    func requiredEvents() {
        var rich = cto
        rich.fields["employees"] = "300"
        let clicks = (0..<6).map { Event("email_clicked", at: start + .hours($0 + 1), properties: ["step": "welcome"]) }
        let (state, _) = Simulation(engine: NurtureEngine(workflow: workflow)).run(rich, from: start, until: start + .days(1), events: clicks)
        #expect(state.lead.score == 85)
        #expect(state.lead.stage == "mql")
        // A machine reply is no reply.
        let (machine, _) = Simulation(engine: NurtureEngine(workflow: workflow)).run(rich, from: start, until: start + .days(1), events: clicks + [Event("replied", at: start + .hours(8), isMachine: true)])
        #expect(machine.lead.stage == "mql")
    }

    @Test("a lead can skip stages when it qualifies for a later one at once")
    func skipStages() {
        let events = [Event("form_submitted", at: start + .hours(1), properties: ["form": "quote"]), Event("email_clicked", at: start + .hours(1)), Event("replied", at: start + .hours(1))]
        let (state, timeline) = Simulation(engine: NurtureEngine(workflow: workflow)).run(cto, from: start, until: start + .days(1), events: events)
        #expect(state.lead.stage == "sql")
        #expect(stageChanges(timeline).map(\.description).first?.hasPrefix("lead → mql") == true)
        #expect(stageChanges(timeline).last?.to == "sql")
    }

    @Test("manual stages: reached only by a move, never left by thresholds")
    func manualStages() {
        let engine = NurtureEngine(workflow: workflow)
        var (state, _) = engine.start(cto, now: start)
        let effects = engine.moveToStage("opportunity", reason: "deal created in CRM", state: &state, now: start + .days(1))
        #expect(state.lead.stage == "opportunity")
        #expect(effects.contains { $0 == .stageChanged(StageChange(from: "lead", to: "opportunity", at: start + .days(1), reason: "deal created in CRM")) })
        #expect(effects.contains { if case .send(let r) = $0 { r.key.step == "proof" } else { false } })
        for i in 0..<10 { _ = engine.handle(Event("email_clicked", at: start + .days(2) + .minutes(i)), state: &state, now: start + .days(2) + .minutes(i)) }
        _ = engine.handle(Event("replied", at: start + .days(3)), state: &state, now: start + .days(3))
        #expect(state.lead.stage == "opportunity")
        #expect(state.stageHistory.count == 1)
    }

    @Test("recycling: an SQL without engagement for 60 days goes back to MQL, tagged, into the recycle sequence")
    func recycle() {
        let events = [Event("form_submitted", at: start + .hours(1), properties: ["form": "quote"]), Event("email_clicked", at: start + .hours(1)), Event("replied", at: start + .hours(1))]
        let (state, timeline) = Simulation(engine: NurtureEngine(workflow: workflow)).run(cto, from: start, until: start + .days(70), events: events)
        let changes = stageChanges(timeline)
        #expect(changes.map(\.to) == ["mql", "sql", "mql"])
        #expect(changes.last?.reason == "recycled: no engagement for 60d")
        #expect(changes.last?.at == start + .hours(1) + .days(60))
        #expect(state.lead.tags.contains("recycled"))
        // The recycle sequence (priority 1, audience: tag recycled) was chosen over mql-nurture.
        #expect(sendSteps(timeline).last == "whats-new")
        #expect(state.stageHistory.map(\.to) == ["mql", "sql", "mql"])
        #expect(state.milestones.isEmpty)

        // Engagement keeps an SQL from going cold.
        let engaged = events + (1...4).map { Event("page_visited", at: start + .days($0 * 20), properties: ["path": "/docs"]) }
        let (kept, _) = Simulation(engine: NurtureEngine(workflow: workflow)).run(cto, from: start, until: start + .days(70), events: engaged)
        #expect(kept.lead.stage == "sql")

        // Once recycled, it takes new interest to move forward again: a new reply re-qualifies it.
        let back = events + [Event("replied", at: start + .days(80))]
        let (requalified, again) = Simulation(engine: NurtureEngine(workflow: workflow)).run(cto, from: start, until: start + .days(81), events: back)
        #expect(stageChanges(again).map(\.to) == ["mql", "sql", "mql", "sql"])
        #expect(requalified.lead.stage == "sql")
    }

    @Test("re-entry rules: never, and after a delay")
    func reEntry() {
        let engine = NurtureEngine(workflow: workflow)
        var (state, _) = engine.start(cto, now: start)
        _ = engine.moveToStage("mql", reason: "test", state: &state, now: start)
        _ = engine.tick(&state, now: start + .days(3))
        #expect(state.pastEnrollments["mql-nurture"]?.count == 1)
        _ = engine.moveToStage("lead", reason: "test", state: &state, now: start + .days(4))
        // Back in lead: the welcome sequence (re-entry never) is not run again.
        #expect(state.enrollment == nil)
        // Back to MQL within 30 days: no re-entry yet.
        let early = engine.moveToStage("mql", reason: "test", state: &state, now: start + .days(10))
        #expect(state.enrollment == nil)
        #expect(early.contains { if case .notEnrolled(let stage, let reason) = $0 { stage == "mql" && reason.contains("re-entry only 30d after the last one") } else { false } })
        _ = engine.moveToStage("lead", reason: "test", state: &state, now: start + .days(40))
        _ = engine.moveToStage("mql", reason: "test", state: &state, now: start + .days(41))
        #expect(state.enrollment?.sequence == "mql-nurture")
        #expect(state.enrollment?.number == 2)
    }

    @Test("property: a lead is never in two sequences at once", arguments: 0..<10)
    func oneEnrollment(seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed) + 100)
        let types = ["email_opened", "email_clicked", "page_visited", "form_submitted", "replied"]
        var events: [Event] = []
        var time = start
        for _ in 0..<60 {
            time = time + TimeSpan(seconds: Int.random(in: 600...(5 * 86_400), using: &generator))
            events.append(Event(types.randomElement(using: &generator)!, at: time, properties: ["path": "/pricing", "form": "quote", "step": "welcome"]))
        }
        let (_, timeline) = Simulation(engine: NurtureEngine(workflow: workflow)).run(cto, from: start, until: time + .days(100), events: events)
        var active: String?
        for entry in timeline {
            switch entry.effect {
            case .enrolled(let sequence, _):
                #expect(active == nil, "enrolled in \(sequence) while in \(active ?? "")")
                active = sequence
            case .enrollmentEnded(let sequence, _):
                #expect(active == sequence)
                active = nil
            case .send(let request):
                #expect(request.key.sequence == active)
            default:
                break
            }
        }
    }

    @Test("changed fit rules (a reload) re-score a lead the next time the engine looks at it")
    func fitRulesChange() {
        var (state, _) = NurtureEngine(workflow: workflow).start(cto, now: start)
        #expect(state.lead.fitScore == 25)
        var changed = workflow
        changed.scoring.fit.append(FitRule(field: "first_name", test: .equals("ada"), points: 7))
        _ = NurtureEngine(workflow: changed).tick(&state, now: start + .hours(1))
        #expect(state.lead.fitScore == 32)
    }

    @Test("the same history gives the same timeline (deterministic)")
    func deterministic() {
        let events = [Event("email_clicked", at: start + .hours(5), properties: ["step": "welcome"]), Event("page_visited", at: start + .days(1), properties: ["path": "/pricing"])]
        let a = Simulation(engine: NurtureEngine(workflow: workflow)).run(cto, from: start, until: start + .days(30), events: events)
        let b = Simulation(engine: NurtureEngine(workflow: workflow)).run(cto, from: start, until: start + .days(30), events: events)
        #expect(a.1 == b.1)
        #expect(a.0 == b.0)
    }
}
