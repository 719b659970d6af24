import Foundation
@testable import NurtureCore
import Testing

@Suite("Planner: every step type, on a virtual clock")
struct PlannerTests {
    let start = at("2026-11-23 10:00", ny) // a Monday
    let lead = Lead(id: "1", email: "ada@example.com", timeZone: ny)

    func run(_ steps: [Step], goals: [Goal] = [], events: [Event] = [], days: Int = 30, settings: Workflow.Settings = Workflow.Settings(defaultTimeZone: ny), lead: Lead? = nil) -> (LeadState, [Simulation.Entry]) {
        let workflow = seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", goals: goals, steps: steps)], settings: settings)
        return Simulation(engine: NurtureEngine(workflow: workflow)).run(lead ?? self.lead, from: start, until: start + .days(days), events: events)
    }

    @Test("send, wait, send: emails at the planned times, and the enrollment completes")
    func sendWaitSend() {
        let (state, timeline) = run([step("welcome", .send(template: "welcome", subject: nil)), step("w", .wait(.duration(.days(2)))), step("guide", .send(template: "guide", subject: "Hi {{first_name}}"))])
        #expect(sends(timeline).map(\.0) == [start, start + .days(2)])
        #expect(sendSteps(timeline) == ["welcome", "guide"])
        guard case .send(let request) = timeline.first(where: { if case .send = $0.effect { true } else { false } })!.effect else { return }
        #expect(request.key == SendKey(leadID: "1", sequence: "s", step: "welcome", enrollment: 1))
        #expect(timeline.contains { $0.effect == .enrollmentEnded(sequence: "s", reason: "completed") })
        #expect(state.enrollment == nil)
        #expect(state.pastEnrollments["s"]?.count == 1)
    }

    @Test("a late tick does not shift the rest of the schedule")
    func lateTickKeepsSchedule() {
        let workflow = seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", steps: [
            step("a", .send(template: "a", subject: nil)), step("w1", .wait(.duration(.days(1)))),
            step("b", .send(template: "b", subject: nil)), step("w2", .wait(.duration(.days(1)))),
            step("c", .send(template: "c", subject: nil)),
        ])])
        let engine = NurtureEngine(workflow: workflow)
        var (state, _) = engine.start(lead, now: start)
        // The scheduler comes round 3 hours late for the first wait…
        let effects = engine.tick(&state, now: start + .days(1) + .hours(3))
        #expect(effects.contains { if case .send(let r) = $0 { r.key.step == "b" } else { false } })
        // …but the second wait still ends 2 days after the start.
        #expect(engine.nextWake(state, after: start + .days(1) + .hours(3)) == start + .days(2))
    }

    @Test("outside the send window, a send waits for the window to open, in the lead's time zone")
    func sendWindow() {
        let window = SendWindow(days: [.mon, .tue, .wed, .thu, .fri], start: 9 * 60, end: 17 * 60)
        let settings = Workflow.Settings(defaultTimeZone: ny, sendWindow: window)
        let steps = [step("a", .send(template: "a", subject: nil)), step("w", .wait(.duration(.days(4)))), step("b", .send(template: "b", subject: nil))]
        // New York: Monday 10:00 is inside; +4d is Friday 10:00, inside.
        #expect(sends(run(steps, settings: settings).1).map(\.0) == [start, start + .days(4)])
        // Tokyo: Monday 10:00 NY is Tuesday 00:00 Tokyo → deferred to Tuesday 09:00 Tokyo;
        // then +4d is Saturday 09:00 Tokyo → deferred to Monday 09:00 Tokyo.
        let tokyo = Lead(id: "2", email: "kenji@example.jp", timeZone: "Asia/Tokyo")
        let (_, timeline) = run(steps, settings: settings, lead: tokyo)
        #expect(sends(timeline).map(\.0) == [at("2026-11-24 09:00", "Asia/Tokyo"), at("2026-11-30 09:00", "Asia/Tokyo")])
        #expect(timeline.contains { if case .deferred(let s, _, let reason) = $0.effect { s == "b" && reason.contains("send window") } else { false } })
        // No zone on the lead: the workflow's default applies.
        let noZone = Lead(id: "3", email: "x@example.com")
        #expect(sends(run(steps, settings: Workflow.Settings(defaultTimeZone: "Asia/Tokyo", sendWindow: window), lead: noZone).1).first?.0 == at("2026-11-24 09:00", "Asia/Tokyo"))
    }

    @Test("send windows are DST-correct: 09:00 local before and after the clocks change")
    func dst() {
        // New York leaves DST on Sunday 2026-11-01. A lead enrolled Saturday 2026-10-31 20:00.
        let saturday = at("2026-10-31 20:00", ny)
        let window = SendWindow(days: [.mon, .tue, .wed, .thu, .fri], start: 9 * 60, end: 17 * 60)
        let workflow = seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", steps: [
            step("a", .send(template: "a", subject: nil)), step("w", .wait(.untilNext(days: [.fri], hour: 9, minute: 0))),
            step("b", .send(template: "b", subject: nil)),
        ])], settings: Workflow.Settings(defaultTimeZone: ny, sendWindow: window))
        let (_, timeline) = Simulation(engine: NurtureEngine(workflow: workflow)).run(lead, from: saturday, until: saturday + .days(10))
        let times = sends(timeline).map(\.0)
        #expect(times == [at("2026-11-02 09:00", ny), at("2026-11-06 09:00", ny)])
        // 09:00 EST is 14:00 UTC after the change (it was 13:00 UTC before).
        #expect(times[0] == at("2026-11-02 14:00", "UTC"))
        // And forward in spring: Monday 2027-03-15 09:00 EDT = 13:00 UTC.
        #expect(SendWindow(days: [.mon], start: 540, end: 1020).nextOpening(atOrAfter: at("2027-03-13 12:00", ny), in: TimeZone(identifier: ny)!) == at("2027-03-15 13:00", "UTC"))
    }

    @Test("a window opening inside a DST gap opens at the first valid minute")
    func dstGap() {
        // Europe/Paris springs forward at 02:00 on 2027-03-28: 02:30 does not exist.
        let window = SendWindow(days: [.sun], start: 150, end: 240)
        let opening = window.nextOpening(atOrAfter: at("2027-03-28 00:00", "Europe/Paris"), in: TimeZone(identifier: "Europe/Paris")!)
        #expect(opening == at("2027-03-28 01:00", "UTC")) // 03:00 CEST
    }

    @Test("branch on opened: yes within the window, no at its end, machine opens ignored")
    func branchOpened() {
        let steps = [
            step("welcome", .send(template: "welcome", subject: nil)),
            step("b", .branch(Branch(on: .opened, step: "welcome", within: .days(3), then: .step("yes"), else: .step("no")))),
            step("yes", .send(template: "yes", subject: nil)), step("x", .exit),
            step("no", .send(template: "no", subject: nil)),
        ]
        let opened = Event("email_opened", at: start + .days(1), properties: ["step": "welcome"])
        let (_, yes) = run(steps, events: [opened])
        #expect(sends(yes).map(\.1) == ["welcome", "yes"])
        #expect(sends(yes).last?.0 == start + .days(1)) // woke at once, not at the deadline
        #expect(decisions(yes) == ["opened 'welcome' within 3d: yes → yes"])

        let (_, no) = run(steps)
        #expect(sends(no).map(\.1) == ["welcome", "no"])
        #expect(sends(no).last?.0 == start + .days(3))
        #expect(decisions(no) == ["opened 'welcome' within 3d: no → no"])

        let late = Event("email_opened", at: start + .days(4), properties: ["step": "welcome"])
        #expect(sendSteps(run(steps, events: [late]).1) == ["welcome", "no"])

        let proxy = Event("email_opened", at: start + .minutes(1), properties: ["step": "welcome"], isMachine: true)
        #expect(sendSteps(run(steps, events: [proxy]).1) == ["welcome", "no"])
    }

    @Test("a click counts as an open; replies attach to the latest email; engagement before the branch counts")
    func branchEngagementRules() {
        let steps = [
            step("welcome", .send(template: "welcome", subject: nil)),
            step("w", .wait(.duration(.days(2)))),
            step("b", .branch(Branch(on: .opened, step: "welcome", within: .days(3), then: .step("yes"), else: .exit))),
            step("b2", .branch(Branch(on: .replied, step: "welcome", within: .days(3), then: .step("yes"), else: .exit))),
            step("yes", .send(template: "yes", subject: nil)),
        ]
        let click = Event("email_clicked", at: start + .hours(5), properties: ["step": "welcome", "url": "https://a.example"])
        #expect(sendSteps(run(steps, events: [click]).1) == ["welcome", "yes"])
        // Reached at +2d, the branch finds the open from +5h at once.
        #expect(sends(run(steps, events: [click]).1).last?.0 == start + .days(2))

        let reply = Event("replied", at: start + .hours(1))
        let replySteps = [steps[0], steps[1], steps[3], steps[4]]
        #expect(sendSteps(run(replySteps, events: [reply]).1) == ["welcome", "yes"])
        // An event for another enrollment or sequence is not this email's.
        let other = Event("email_opened", at: start + .hours(1), properties: ["step": "welcome", "sequence": "other"])
        #expect(sendSteps(run(steps, events: [other]).1) == ["welcome"])
    }

    @Test("branch on a step that was never sent takes else at once")
    func branchNeverSent() {
        let steps = [
            step("i", .if(.tag("vip"), then: .next, else: .step("b"))),
            step("welcome", .send(template: "welcome", subject: nil)),
            step("b", .branch(Branch(on: .clicked, step: "welcome", within: .days(3), then: .exit, else: .next))),
            step("fallback", .send(template: "fallback", subject: nil)),
        ]
        let (_, timeline) = run(steps)
        #expect(sends(timeline).map(\.1) == ["fallback"])
        #expect(decisions(timeline).last == "clicked 'welcome': never sent → next")
    }

    @Test("if, set, score and goto")
    func conditionsAndUpdates() {
        let steps = [
            step("i", .if(.field("job_title", .matches(try! Pattern("(?i)cto"))), then: .step("tech"), else: .next)),
            step("biz", .send(template: "business", subject: nil)), step("g", .goto(.step("end"))),
            step("tech", .send(template: "technical", subject: nil)),
            step("end", .set(.addTag("nurtured"))), step("f", .set(.field("persona", "builder"))), step("s", .score(7)),
            step("untag", .set(.removeTag("new"))),
        ]
        var cto = lead
        cto.fields["job_title"] = "CTO"
        cto.tags = ["new"]
        let (state, timeline) = run(steps, lead: cto)
        #expect(sendSteps(timeline) == ["tech"])
        #expect(state.lead.tags == ["nurtured"])
        #expect(state.lead.fields["persona"] == "builder")
        #expect(state.lead.engagementScore == 7)
        #expect(timeline.contains { $0.effect == .tagRemoved("new") })
        #expect(sendSteps(run(steps).1) == ["biz"])
    }

    @Test("a stage step ends the enrollment and starts the new stage's sequence")
    func stageStep() {
        let workflow = seedWorkflow(sequences: [
            Sequence(id: "lead-seq", stage: "lead", steps: [step("welcome", .send(template: "welcome", subject: nil)), step("promote", .stage("opportunity"))]),
            Sequence(id: "opp-seq", stage: "opportunity", steps: [step("proof", .send(template: "proof", subject: nil))]),
        ])
        let (state, timeline) = Simulation(engine: NurtureEngine(workflow: workflow)).run(lead, from: start, until: start + .days(1))
        #expect(sendSteps(timeline) == ["welcome", "proof"])
        #expect(stageChanges(timeline).map(\.description) == ["lead → opportunity: step 'promote' of sequence 'lead-seq'"])
        #expect(timeline.contains { $0.effect == .enrollmentEnded(sequence: "lead-seq", reason: "moved to stage opportunity") })
        #expect(state.lead.stage == "opportunity")
    }

    @Test("goals: sequence goals end the enrollment at once; goal steps only after they are passed")
    func goals() {
        let demo = EventFilter(type: "form_submitted", properties: ["form": .equals("demo")])
        let steps = [
            step("a", .send(template: "a", subject: nil)), step("w", .wait(.duration(.days(2)))),
            step("g", .goal(Goal(filter: EventFilter(type: "page_visited"), then: .step("thanks")))),
            step("w2", .wait(.duration(.days(2)))), step("b", .send(template: "b", subject: nil)), step("x", .exit),
            step("thanks", .send(template: "thanks", subject: nil)),
        ]
        let (_, timeline) = run(steps, goals: [Goal(filter: demo)], events: [Event("form_submitted", at: start + .days(1), properties: ["form": "demo"])])
        #expect(sendSteps(timeline) == ["a"])
        #expect(timeline.contains { $0.effect == .goalReached(sequence: "s", goal: "goal: form_submitted where form is 'demo'") })
        #expect(timeline.contains { $0.effect == .enrollmentEnded(sequence: "s", reason: "goal → exit") })

        // A visit before the goal step is passed does nothing; after, it jumps to 'thanks'.
        let early = Event("page_visited", at: start + .days(1), properties: ["path": "/blog"])
        #expect(sendSteps(run(steps, events: [early]).1) == ["a", "b"])
        let later = Event("page_visited", at: start + .days(3), properties: ["path": "/blog"])
        let (_, jumped) = run(steps, events: [later])
        #expect(sends(jumped).map(\.1) == ["a", "thanks"])
        #expect(sends(jumped).last?.0 == start + .days(3))
    }

    @Test("wait until a date (in the lead's zone or a given one) and until the next weekday")
    func waitsUntil() {
        let steps = [
            step("w", .wait(.until(LocalDateTime(year: 2026, month: 12, day: 1, hour: 9, minute: 30), timeZone: nil))),
            step("a", .send(template: "a", subject: nil)),
            step("w2", .wait(.until(LocalDateTime(year: 2026, month: 12, day: 2, hour: 9), timeZone: "Europe/Paris"))),
            step("b", .send(template: "b", subject: nil)),
            step("w3", .wait(.untilNext(days: [.tue], hour: 10, minute: 0))),
            step("c", .send(template: "c", subject: nil)),
            step("w4", .wait(.until(LocalDateTime(year: 2020, month: 1, day: 1), timeZone: nil))),
            step("d", .send(template: "d", subject: nil)),
        ]
        let times = sends(run(steps).1).map(\.0)
        #expect(times == [
            at("2026-12-01 09:30", ny), at("2026-12-02 09:00", "Europe/Paris"), at("2026-12-08 10:00", ny), at("2026-12-08 10:00", ny),
        ])
    }

    @Test("business-day waits count only the send window's days (or the days named), at the same local time")
    func businessDays() {
        // A Monday-to-Friday window, a lead enrolled Friday 2026-11-27 10:00 in New York.
        let window = SendWindow(days: [.mon, .tue, .wed, .thu, .fri], start: 9 * 60, end: 17 * 60)
        let friday = at("2026-11-27 10:00", ny)
        let workflow = seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", steps: [
            step("a", .send(template: "a", subject: nil)), step("w", .wait(.businessDays(1, days: nil))),
            step("b", .send(template: "b", subject: nil)), step("w2", .wait(.businessDays(3, days: nil))),
            step("c", .send(template: "c", subject: nil)), step("w3", .wait(.businessDays(2, days: [.sat]))),
            step("d", .send(template: "d", subject: nil)),
        ])], settings: Workflow.Settings(defaultTimeZone: ny, sendWindow: window))
        let (_, timeline) = Simulation(engine: NurtureEngine(workflow: workflow)).run(lead, from: friday, until: friday + .days(30))
        // Friday + 1 business day is Monday; Monday + 3 is Thursday; then two Saturdays later,
        // held by the window until Monday 09:00.
        #expect(sends(timeline).map(\.0) == [friday, at("2026-11-30 10:00", ny), at("2026-12-03 10:00", ny), at("2026-12-14 09:00", ny)])
        #expect(timeline.contains { if case .waiting(let s, _, let reason) = $0.effect { s == "w" && reason == "wait 1 business day" } else { false } })
        // Without a window: Monday to Friday. Saturday + 1 business day is Monday, at the same time.
        let saturday = at("2026-11-28 15:45", ny)
        let plain = seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", steps: [
            step("w", .wait(.businessDays(1, days: nil))), step("a", .send(template: "a", subject: nil)),
        ])], settings: Workflow.Settings(defaultTimeZone: ny))
        let (_, plainTimeline) = Simulation(engine: NurtureEngine(workflow: plain)).run(lead, from: saturday, until: saturday + .days(10))
        #expect(sends(plainTimeline).map(\.0) == [at("2026-11-30 15:45", ny)])
    }

    @Test("the frequency cap holds across sequences and defers, never drops")
    func frequencyCap() {
        let settings = Workflow.Settings(defaultTimeZone: ny, frequencyCap: FrequencyCap(max: 2, per: .days(7)))
        let steps = (1...4).flatMap { i in [step("m\(i)", .send(template: "m\(i)", subject: nil)), step("w\(i)", .wait(.duration(.days(1))))] }
        let (_, timeline) = run(steps, settings: settings)
        #expect(sends(timeline).map(\.0) == [start, start + .days(1), start + .days(7), start + .days(8)])
        #expect(timeline.contains { if case .deferred(let s, _, let r) = $0.effect { s == "m3" && r.contains("frequency cap of 2 per 1w") } else { false } })
        // The cap also counts sends of the previous stage's sequence.
        let workflow = seedWorkflow(sequences: [
            Sequence(id: "l", stage: "lead", steps: [step("a", .send(template: "a", subject: nil)), step("b", .send(template: "b", subject: nil)), step("up", .stage("opportunity"))]),
            Sequence(id: "o", stage: "opportunity", steps: [step("c", .send(template: "c", subject: nil))]),
        ], settings: settings)
        let (_, across) = Simulation(engine: NurtureEngine(workflow: workflow)).run(lead, from: start, until: start + .days(10))
        #expect(sends(across).map(\.0) == [start, start, start + .days(7)])
    }

    @Test("exit ends the sequence; an empty tail completes it")
    func exit() {
        let (_, timeline) = run([step("a", .send(template: "a", subject: nil)), step("stop", .exit), step("b", .send(template: "b", subject: nil))])
        #expect(sendSteps(timeline) == ["a"])
        #expect(timeline.contains { $0.effect == .enrollmentEnded(sequence: "s", reason: "exit step 'stop'") })
    }

    @Test("suppressed leads get nothing more: unsubscribe, hard bounce, complaint; soft bounces do not suppress")
    func suppression() {
        let steps = [step("a", .send(template: "a", subject: nil)), step("w", .wait(.duration(.days(2)))), step("b", .send(template: "b", subject: nil))]
        for (type, properties, suppression) in [("unsubscribed", [String: String](), Suppression.unsubscribed), ("bounced", [:], .bounced), ("complained", [:], .complained)] {
            let (state, timeline) = run(steps, events: [Event(type, at: start + .days(1), properties: properties)])
            #expect(sendSteps(timeline) == ["a"], "\(type)")
            #expect(state.suppression == suppression)
            #expect(state.enrollment == nil)
        }
        let (soft, timeline) = run(steps, events: [Event("bounced", at: start + .days(1), properties: ["type": "soft"])])
        #expect(soft.suppression == nil)
        #expect(sendSteps(timeline) == ["a", "b"])
    }

    @Test("a loop sends its step each time round, each occurrence its own email; engagement with an earlier one does not count")
    func loopsSendEachTime() {
        let steps = [
            step("digest", .send(template: "digest", subject: nil)), step("w", .wait(.duration(.days(7)))),
            step("b", .branch(Branch(on: .opened, step: "digest", within: .days(1), then: .exit, else: .step("again")))),
            step("again", .goto(.step("digest"))),
        ]
        // Opens the first digest at once (a branch after the first wait sees it too late: after
        // its window), and never opens another; an open tagged with occurrence 1 arrives late.
        let late = Event("email_opened", at: start + .days(8), properties: ["sequence": "s", "step": "digest", "enrollment": "1", "occurrence": "1"])
        let (_, timeline) = run(steps, events: [late], days: 29)
        let keys = timeline.compactMap { entry -> SendKey? in if case .send(let r) = entry.effect { r.key } else { nil } }
        #expect(keys.map(\.occurrence) == [1, 2, 3, 4, 5])
        #expect(Set(keys.map(\.description)).count == 5)
        #expect(keys[0].description == "1/s/digest/1")
        #expect(keys[1].description == "1/s/digest/1/2")
        #expect(sends(timeline).map(\.0) == (0..<5).map { start + .days(7 * $0) })
    }

    @Test("the step limit stops a loop that validation would have refused")
    func runawayLoop() {
        let (_, timeline) = run([step("a", .set(.addTag("x"))), step("g", .goto(.step("a")))])
        #expect(timeline.contains { if case .enrollmentEnded(_, let reason) = $0.effect { reason.contains("without a wait") } else { false } })
    }
}
