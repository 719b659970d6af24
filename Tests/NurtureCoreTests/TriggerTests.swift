import Foundation
@testable import NurtureCore
import Testing

@Suite("Event-triggered sequences and event-history conditions, on a virtual clock")
struct TriggerTests {
    let start = at("2026-11-23 10:00", ny) // a Monday
    let lead = Lead(id: "1", email: "ada@example.com", timeZone: ny)
    let webinar = EventFilter(type: "webinar_attended")

    /// The stage's sequence: an email, a 3-day wait, then an invitation unless the lead
    /// attended lately, then the last email.
    var stageSequence: Sequence {
        Sequence(id: "nurture", stage: "lead", steps: [
            step("case-study", .send(template: "case-study", subject: nil)),
            step("w", .wait(.duration(.days(3)))),
            step("attended", .if(.event(webinar, within: .days(90), atLeast: 1), then: .step("last"), else: .next)),
            step("invite", .send(template: "webinar-invite", subject: nil)),
            step("last", .send(template: "pricing", subject: nil)),
        ])
    }

    func followUp(_ mode: Trigger.Mode, stage: String = "", reEntry: ReEntry = .never) -> Sequence {
        var sequence = Sequence(id: "follow-up", stage: stage, reEntry: reEntry, steps: [
            step("recording", .send(template: "webinar-follow-up", subject: nil)),
            step("w", .wait(.duration(.days(1)))),
            step("more", .send(template: "demo-offer", subject: nil)),
        ])
        sequence.trigger = Trigger(filter: webinar, mode: mode)
        return sequence
    }

    func run(_ sequences: [Sequence], events: [Event], days: Int = 20) -> (LeadState, [Simulation.Entry]) {
        Simulation(engine: NurtureEngine(workflow: seedWorkflow(sequences: sequences))).run(lead, from: start, until: start + .days(days), events: events)
    }

    @Test("pause: the follow-up starts at once; the stage's sequence waits and resumes with its wait shifted; the invitation is skipped")
    func pause() {
        let (state, timeline) = run([stageSequence, followUp(.pause)], events: [Event("webinar_attended", at: start + .days(1))])
        #expect(sends(timeline).map(\.1) == ["case-study", "recording", "more", "last"])
        // The 3-day wait had 2 days left at the pause (+1d); the pause lasted a day (to +2d): +4d.
        #expect(sends(timeline).map(\.0) == [start, start + .days(1), start + .days(2), start + .days(4)])
        #expect(timeline.contains { $0.effect == .enrollmentPaused(sequence: "nurture", by: "follow-up") })
        #expect(timeline.contains { $0.effect == .enrollmentResumed(sequence: "nurture") && $0.at == start + .days(2) })
        #expect(decisions(timeline).contains { $0.contains("webinar_attended within 90d: yes → last") })
        #expect(state.enrollment == nil && state.pausedEnrollment == nil)
    }

    @Test("without the event, the stage's sequence runs as written: the invitation goes")
    func noEvent() {
        let (_, timeline) = run([stageSequence, followUp(.pause)], events: [])
        #expect(sends(timeline).map(\.1) == ["case-study", "invite", "last"])
    }

    @Test("replace: the stage's sequence ends for good")
    func replace() {
        let (_, timeline) = run([stageSequence, followUp(.replace)], events: [Event("webinar_attended", at: start + .days(1))])
        #expect(sends(timeline).map(\.1) == ["case-study", "recording", "more"])
        #expect(timeline.contains { $0.effect == .enrollmentEnded(sequence: "nurture", reason: "replaced by follow-up (webinar_attended)") })
    }

    @Test("a trigger in the triggered sequence, a machine's event, a stage the trigger does not take, a re-entry refused: nothing starts")
    func refusals() {
        let twice = [Event("webinar_attended", at: start + .hours(1)), Event("webinar_attended", at: start + .hours(2))]
        let (_, again) = run([stageSequence, followUp(.pause)], events: twice)
        #expect(sends(again).map(\.1).filter { $0 == "recording" }.count == 1)
        #expect(again.contains { if case .notEnrolled(_, let reason) = $0.effect { reason.contains("the lead is in the triggered sequence follow-up") } else { false } })
        let (_, machine) = run([stageSequence, followUp(.pause)], events: [Event("webinar_attended", at: start + .days(1), isMachine: true)])
        #expect(!sends(machine).map(\.1).contains("recording"))
        let (_, otherStage) = run([stageSequence, followUp(.pause, stage: "mql")], events: [Event("webinar_attended", at: start + .days(1))])
        #expect(!sends(otherStage).map(\.1).contains("recording"))
        let later = [Event("webinar_attended", at: start + .days(1)), Event("webinar_attended", at: start + .days(10))]
        let (_, never) = run([stageSequence, followUp(.pause)], events: later)
        #expect(sends(never).map(\.1).filter { $0 == "recording" }.count == 1)
        let (_, allowed) = run([stageSequence, followUp(.pause, reEntry: .after(.days(5)))], events: later)
        #expect(sends(allowed).map(\.1).filter { $0 == "recording" }.count == 2)
    }

    @Test("a stage move during the triggered sequence ends both; the new stage's sequence starts")
    func stageMove() {
        let mql = Sequence(id: "mql-seq", stage: "mql", steps: [step("mql-hello", .send(template: "mql", subject: nil))])
        let events = [Event("webinar_attended", at: start + .hours(1)), Event("form_submitted", at: start + .hours(2), properties: ["form": "quote"]),
                      Event("email_clicked", at: start + .hours(3)), Event("email_clicked", at: start + .hours(4))]
        let richLead = Lead(id: "1", email: "ada@example.com", fields: ["job_title": "CTO", "employees": "300"], timeZone: ny)
        let (state, timeline) = Simulation(engine: NurtureEngine(workflow: seedWorkflow(sequences: [stageSequence, followUp(.pause), mql])))
            .run(richLead, from: start, until: start + .days(10), events: events)
        #expect(stageChanges(timeline).map(\.to) == ["mql"])
        #expect(timeline.contains { $0.effect == .enrollmentEnded(sequence: "nurture", reason: "moved to stage mql") })
        #expect(sends(timeline).map(\.1).contains("mql-hello"))
        #expect(!timeline.contains { $0.effect == .enrollmentResumed(sequence: "nurture") })
        #expect(state.pausedEnrollment == nil)
    }

    @Test("event conditions: within a window, at least N times, with property tests; people's events only")
    func eventConditions() {
        let clickedPricing = EventFilter(type: "email_clicked", properties: ["url": .prefix("https://acme.example/pricing")])
        let condition = Condition.event(clickedPricing, within: .days(7), atLeast: 2)
        let engine = NurtureEngine(workflow: seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", audience: nil, steps: [
            step("w", .wait(.duration(.days(30)))),
            step("check", .if(condition, then: .exit, else: .exit)),
        ])]))
        var (state, _) = engine.start(lead, now: start)
        func holds(at now: Date) -> Bool { condition.evaluate(state.lead, history: engine.history(state, now: now)) }
        _ = engine.handle(Event("email_clicked", at: start, properties: ["url": "https://acme.example/pricing?x=1"]), state: &state, now: start)
        _ = engine.handle(Event("email_clicked", at: start + .hours(1), properties: ["url": "https://acme.example/blog"]), state: &state, now: start + .hours(1))
        _ = engine.handle(Event("email_clicked", at: start + .hours(2), properties: ["url": "https://acme.example/pricing"], isMachine: true), state: &state, now: start + .hours(2))
        #expect(!holds(at: start + .hours(3)))
        _ = engine.handle(Event("email_clicked", at: start + .days(2), properties: ["url": "https://acme.example/pricing"]), state: &state, now: start + .days(2))
        #expect(holds(at: start + .days(3)))
        #expect(!holds(at: start + .days(8))) // the first click is more than 7 days old by then
        #expect(condition.description == "email_clicked where url starts with 'https://acme.example/pricing' at least 2 times within 1w")
        // No history: an event condition does not hold (it never errs on the side of sending).
        #expect(!condition.evaluate(state.lead))
    }

    @Test("a branch on one link: a click on another link of the email is not it")
    func perLinkBranch() {
        let recording = FieldTest.prefix("https://acme.example/webinars/recording")
        let steps = [
            step("invite", .send(template: "webinar-invite", subject: nil)),
            step("b", .branch(Branch(on: .clicked, step: "invite", within: .days(3), then: .step("watched"), else: .exit, link: recording))),
            step("watched", .send(template: "thanks", subject: nil)),
        ]
        let workflow = seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", steps: steps)])
        func clicks(_ urls: [String]) -> [String] {
            let events = urls.enumerated().map { index, url in
                Event("email_clicked", at: start + .hours(index + 1), properties: ["sequence": "s", "step": "invite", "enrollment": "1", "url": url])
            }
            let (_, timeline) = Simulation(engine: NurtureEngine(workflow: workflow)).run(lead, from: start, until: start + .days(5), events: events)
            return sends(timeline).map(\.1) + decisions(timeline)
        }
        let other = clicks(["https://acme.example/pricing"])
        #expect(!other.contains("watched"))
        #expect(other.contains { $0.contains("clicked 'invite' (link starts with 'https://acme.example/webinars/recording') within 3d: no → exit") }, "\(other)")
        let right = clicks(["https://acme.example/pricing", "https://acme.example/webinars/recording?utm_source=nurture"])
        #expect(right.contains("watched"))
        #expect(right.contains { $0.contains("within 3d: yes → watched") })
    }

    @Test("A/B variants: assigned by weight (10,000 leads within 2%), the same for a lead every time, independent between steps; weight 0 never")
    func variants() {
        let variants = [Variant(id: "a", weight: 50), Variant(id: "b", subject: "B", weight: 30), Variant(id: "c", template: "other", weight: 20), Variant(id: "off", weight: 0)]
        var counts: [String: Int] = [:]
        var sameOnOtherStep = 0
        for n in 0..<10_000 {
            let lead = "\(n + 1)"
            let first = Variant.assigned(variants, lead: lead, sequence: "mql-nurture", step: "pricing")?.id ?? "none"
            counts[first, default: 0] += 1
            #expect(Variant.assigned(variants, lead: lead, sequence: "mql-nurture", step: "pricing")?.id == first)
            if Variant.assigned(variants, lead: lead, sequence: "mql-nurture", step: "case-study")?.id == first { sameOnOtherStep += 1 }
        }
        for (id, weight) in [("a", 0.5), ("b", 0.3), ("c", 0.2)] {
            #expect(abs(Double(counts[id] ?? 0) / 10_000 - weight) < 0.02, "\(id): \(counts)")
        }
        #expect(counts["off"] == nil && counts["none"] == nil)
        // Independent: the same variant on another step about as often as chance says (0.38).
        #expect(abs(Double(sameOnOtherStep) / 10_000 - 0.38) < 0.03, "\(sameOnOtherStep)")
        #expect(Variant.assigned([Variant(id: "x", weight: 0)], lead: "1", sequence: "s", step: "t") == nil)

        // Through the planner: the send carries the variant, its template and subject.
        let steps = [Step(id: "pricing", .send(template: "pricing", subject: "A"), variants: variants)]
        let (_, timeline) = Simulation(engine: NurtureEngine(workflow: seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", steps: steps)]))).run(lead, from: start, until: start + .days(1))
        guard case .send(let request)? = timeline.first(where: { if case .send = $0.effect { true } else { false } })?.effect else {
            Issue.record("no send")
            return
        }
        let expected = Variant.assigned(variants, lead: lead.id, sequence: "s", step: "pricing")
        #expect(request.variant == expected?.id)
        #expect(request.template == (expected?.template ?? "pricing"))
        #expect(request.subject == (expected?.subject ?? "A"))
    }

    @Test("a goal that ends the triggered sequence resumes the paused one")
    func goalEndsTriggered() {
        var follow = followUp(.pause)
        follow.goals = [Goal(filter: EventFilter(type: "form_submitted"))]
        let events = [Event("webinar_attended", at: start + .hours(1)), Event("form_submitted", at: start + .hours(2), properties: ["form": "ebook"])]
        let (state, timeline) = run([stageSequence, follow], events: events)
        #expect(timeline.contains { $0.effect == .enrollmentResumed(sequence: "nurture") && $0.at == start + .hours(2) })
        #expect(!sends(timeline).map(\.1).contains("more"))
        #expect(sends(timeline).map(\.1).contains("last"))
        #expect(state.pausedEnrollment == nil)
    }

    @Test("the event that fires the trigger and qualifies the lead: the stage move first, then the trigger pauses the new stage's sequence")
    func triggerAndQualify() {
        // Webinar attendance is worth 30 points here: with a fit of 25 it qualifies the lead for mql.
        var workflow = seedWorkflow(sequences: [stageSequence, followUp(.pause),
                                                Sequence(id: "mql-seq", stage: "mql", steps: [step("w", .wait(.duration(.days(2)))), step("mql-hello", .send(template: "mql", subject: nil))])])
        workflow.scoring.engagement.append(EngagementRule(id: "webinar", filter: webinar, points: 30))
        let richLead = Lead(id: "1", email: "ada@example.com", fields: ["job_title": "CTO", "employees": "300"], timeZone: ny)
        let (_, timeline) = Simulation(engine: NurtureEngine(workflow: workflow)).run(richLead, from: start, until: start + .days(10), events: [Event("webinar_attended", at: start + .hours(1))])
        #expect(stageChanges(timeline).map(\.to) == ["mql"])
        #expect(sends(timeline).map(\.1).contains("recording"))
        #expect(timeline.contains { $0.effect == .enrollmentPaused(sequence: "mql-seq", by: "follow-up") })
        #expect(sends(timeline).map(\.1).last == "mql-hello")
    }

    @Test("while paused, the paused sequence still sees its emails' clicks (its branch after the pause says yes) and its goals")
    func pausedSeesEvents() {
        let nurture = Sequence(id: "nurture", stage: "lead", goals: [Goal(filter: EventFilter(type: "form_submitted", properties: ["form": .equals("quote")]))], steps: [
            step("case-study", .send(template: "case-study", subject: nil)),
            step("b", .branch(Branch(on: .clicked, step: "case-study", within: .days(2), then: .step("clicked"), else: .exit))),
            step("clicked", .send(template: "thanks", subject: nil)),
        ])
        let click = Event("email_clicked", at: start + .hours(3), properties: ["sequence": "nurture", "step": "case-study", "enrollment": "1", "url": "https://x.example/"])
        let (_, clicked) = run([nurture, followUp(.pause)], events: [Event("webinar_attended", at: start + .hours(1)), click])
        #expect(sends(clicked).map(\.1) == ["case-study", "recording", "more", "clicked"])
        let quote = Event("form_submitted", at: start + .hours(3), properties: ["form": "quote"])
        let (state, quoted) = run([nurture, followUp(.pause)], events: [Event("webinar_attended", at: start + .hours(1)), quote])
        #expect(!sends(quoted).map(\.1).contains("clicked"))
        #expect(!quoted.contains { $0.effect == .enrollmentResumed(sequence: "nurture") })
        #expect(state.pausedEnrollment == nil)
    }

    @Test("a calendar wait keeps its calendar after a pause: until next Tuesday 10:00 is still a Tuesday at 10:00")
    func calendarWaitAfterPause() {
        let nurture = Sequence(id: "nurture", stage: "lead", steps: [
            step("w", .wait(.untilNext(days: [.tue], hour: 10, minute: 0))),
            step("tuesday", .send(template: "t", subject: nil)),
        ])
        let (_, timeline) = run([nurture, followUp(.pause)], events: [Event("webinar_attended", at: start + .hours(5))])
        // Paused Monday 15:00 to Tuesday 15:00 (a day), past Tuesday 10:00: counted from the
        // shifted start (Tuesday 10:00), the next Tuesday 10:00 is a week later, not 15:00 that day.
        let time = sends(timeline).first { $0.1 == "tuesday" }?.0
        #expect(time == at("2026-12-01 10:00", ny), "\(String(describing: time))")
    }
}
