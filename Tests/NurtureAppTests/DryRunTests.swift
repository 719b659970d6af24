import Foundation
import NurtureContent
import NurtureCore
@testable import NurtureApp
@testable import NurtureRuntime
import Testing
import TestSupport

@Suite("Dry-run: the scheduler's engine on a virtual clock")
struct DryRunTests {
    static let workflow = WorkflowLoader.load(directory: Harness.repository.appendingPathComponent("Workflows").path).workflow!

    func dryRun() -> DryRun { DryRun(workflow: Self.workflow, renderer: nil) }

    static let scenario = ["clicked welcome +3h", "page_visited /pricing +4d", "opened getting-started +2d2h", "replied +12d", "form_submitted quote +12d1h"]

    @Test("the dry-run and the scheduler produce the same sends at the same times for the same scenario")
    func sameAsScheduler() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        let whatIfs = try Self.scenario.map { try WhatIf.parse($0, workflow: Self.workflow) }
        let ada = lead("ada@example.com", ["job_title": "CTO", "employees": "300"])

        let stored = try await runtime.scheduledSends(for: ada, whatIfs: whatIfs, from: monday, days: 30)

        // The dry-run of the same lead and scenario.
        let planned = simulatedSends(dryRun(), for: ada, whatIfs: whatIfs, from: monday, days: 30)
        #expect(stored.count >= 5)
        #expect(stored == planned)
        #expect(try harness.received().count == stored.count)
    }

    @Test("a loop means the same to both: send, wait 1d, goto sends each time round")
    func loopsAgree() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let workflows = try openWindowWorkflows(from: Harness.repository, into: harness.directory)
        try "stage: lead\nsteps:\n  - send: welcome\n  - wait: 1d\n  - goto: welcome\n"
            .write(to: workflows.appendingPathComponent("sequences/lead-welcome.yaml"), atomically: true, encoding: .utf8)
        let runtime = try harness.runtime(workflows: workflows.path)
        let workflow = WorkflowLoader.load(directory: workflows.path).workflow!
        let ada = lead("ada@example.com")
        let stored = try await runtime.scheduledSends(for: ada, whatIfs: [], from: monday, days: 15)
        let planned = simulatedSends(DryRun(workflow: workflow, renderer: nil), for: ada, whatIfs: [], from: monday, days: 15)
        // Every day, days 0 to 15 (these test workflows have no frequency cap).
        #expect(stored.map { String($0.prefix(while: { $0 != "h" })) } == (0...15).map { "\(Double($0 * 24))" })
        #expect(stored == planned)
        let messageIDs = try harness.received().map(\.messageID)
        #expect(messageIDs.count == 16)
        #expect(Set(messageIDs).count == 16, "each occurrence is its own email")
    }

    @Test("what-if events take the right branches")
    func branches() throws {
        let ada = Lead(id: "1", email: "ada@example.com", timeZone: "America/New_York")
        let opened = dryRun().timeline(for: ada, from: monday, days: 12, whatIfs: [try WhatIf.parse("opened getting-started +2d1h", workflow: Self.workflow)], render: false)
        #expect(sendSteps(opened) == ["welcome", "getting-started", "data-guide", "customer-story"])
        let ignored = dryRun().timeline(for: ada, from: monday, days: 12, render: false)
        #expect(sendSteps(ignored) == ["welcome", "getting-started", "reminder", "data-guide"])
        let decisions = ignored.entries.compactMap { if case .decided(_, _, let r) = $0.effect { r } else { nil } }
        #expect(decisions == ["opened 'getting-started' within 3d: no → reminder"])
    }

    @Test("send windows apply in each lead's time zone")
    func zones() {
        let tokyo = Lead(id: "1", email: "kenji@example.jp", timeZone: "Asia/Tokyo")
        let timeline = dryRun().timeline(for: tokyo, from: monday, days: 3, render: false)
        let first = timeline.entries.first { if case .send = $0.effect { true } else { false } }
        #expect(first?.at == LocalDateTime(parsing: "2026-11-24 09:00")!.instant(in: TimeZone(identifier: "Asia/Tokyo")!))
    }

    @Test("--sequence simulates one sequence from its stage, whatever its audience")
    func oneSequence() {
        let dry = DryRun(workflow: Self.workflow, renderer: nil, sequence: "mql-recycled")
        var lead = Lead(id: "1", email: "x@example.com", timeZone: "America/New_York")
        lead.stage = "mql"
        let timeline = dry.timeline(for: lead, from: monday, days: 30, render: false)
        #expect(sendSteps(timeline).first == "whats-new")
    }

    @Test("what-if errors name the problem", arguments: [
        ("opened welcom +2d", "unknown email 'welcom' (steps that send:"),
        ("opened welcome", "expected a time after the start at the end, like +2d"),
        ("clicked +2d", "which email?"),
        ("page_visited /pricing extra +2d", "did not understand 'extra'"),
    ])
    func errors(text: String, expected: String) {
        #expect(throws: WhatIfError.self) { try WhatIf.parse(text, workflow: Self.workflow) }
        do {
            _ = try WhatIf.parse(text, workflow: Self.workflow)
        } catch {
            #expect(error.description.contains(expected), "\(error)")
        }
    }

    @Test("what-ifs parse into events")
    func parsing() throws {
        let visit = try WhatIf.parse("visited https://acme.example/pricing?x=1 +5d", workflow: Self.workflow)
        #expect(visit.type == "page_visited")
        #expect(visit.properties == ["url": "https://acme.example/pricing?x=1", "path": "/pricing"])
        #expect(visit.offset == .days(5))
        let custom = try WhatIf.parse("webinar_attended topic=roi +4d2h", workflow: Self.workflow)
        #expect(custom.properties == ["topic": "roi"])
        #expect(try WhatIf.parse("form_submitted quote +6d", workflow: Self.workflow).properties == ["form": "quote"])
        #expect(try WhatIf.parse("replied +9d", workflow: Self.workflow).properties.isEmpty)
    }

    @Test("a file of leads is summarised: who gets what, who reaches which stage")
    func summary() async {
        let leads = (0..<200).map { i in
            Lead(id: "\(i)", email: "l\(i)@example.com", fields: ["job_title": i % 2 == 0 ? "CTO" : "Intern", "employees": "300"], timeZone: "America/New_York")
        }
        let whatIfs = [try! WhatIf.parse("clicked welcome +1h", workflow: Self.workflow), try! WhatIf.parse("page_visited /pricing +1d", workflow: Self.workflow)]
        let summary = await dryRun().summary(for: leads, from: monday, days: 30, whatIfs: whatIfs)
        #expect(summary.leads == 200)
        #expect(summary.emails["lead-welcome/welcome"] == 200)
        // CTOs (fit 25) reach MQL with 25 + 10 + 5 + 1 = 41; interns (fit 10) do not.
        #expect(summary.stages["mql"] == 100)
        #expect(summary.finalStages["lead"] == 100)
    }
}

func sendSteps(_ timeline: DryRun.Timeline) -> [String] {
    timeline.entries.compactMap { if case .send(let r) = $0.effect { r.key.step } else { nil } }
}

/// Sends as `"hours-from-start sequence/step"`, in time order.
func chronological(_ sends: [(Date, SendKey)], from start: Date) -> [String] {
    sends.sorted { ($0.0, $0.1.step) < ($1.0, $1.1.step) }
        .map { "\($0.0.timeIntervalSince(start) / 3600)h \($0.1.sequence)/\($0.1.step)" }
}

/// The dry-run's sends for `lead`, as `"hours-from-start sequence/step"`, sorted.
func simulatedSends(_ dryRun: DryRun, for lead: Lead, whatIfs: [WhatIf], from start: Date, days: Int) -> [String] {
    var simulated = lead
    simulated.id = "1"
    let timeline = dryRun.timeline(for: simulated, from: start, days: days, whatIfs: whatIfs, render: false)
    return chronological(timeline.entries.compactMap { entry -> (Date, SendKey)? in
        if case .send(let request) = entry.effect { (entry.at, request.key) } else { nil }
    }, from: start)
}

extension Runtime {
    /// The scheduler's sends for `lead`, as `"hours-from-start sequence/step"`, sorted: the
    /// service on a virtual clock that jumps to the next due moment or scripted event.
    func scheduledSends(for lead: Lead, whatIfs: [WhatIf], from start: Date, days: Int) async throws -> [String] {
        _ = try await scheduler.upsert([lead], now: start)
        var events = whatIfs.map { $0.event(from: start) }.sorted { $0.at < $1.at }
        let end = start + .days(days)
        var now = start
        _ = try await runOnce(now: now)
        while true {
            let wake = try await store.nextWake()
            if let event = events.first, wake.map({ event.at <= $0 }) ?? true, event.at <= end {
                events.removeFirst()
                now = event.at
                try await scheduler.handle(event, lead: .email(lead.email), now: now)
                _ = try await delivery.deliverDue(now: now)
            } else if let wake, wake <= end {
                now = wake
                _ = try await runOnce(now: now)
            } else {
                break
            }
        }
        return chronological(try #require(try await store.details(.email(lead.email), recent: 1000)).sends.map { ($0.plannedAt, $0.key) }, from: start)
    }
}
