import Foundation
import NurtureCore
@testable import NurtureApp
@testable import NurtureRuntime
import Testing

@Suite("Stored tracking events decided by the applier service")
struct EventApplierTests {
    /// Waits (at most `seconds`) for `condition`: the service works on its own task.
    func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date() + seconds
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return try await condition()
    }

    @Test("events a stopped process left pending are decided when the service starts; new ones as they are stored")
    func recovery() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        // The applier decides at the runtime's clock: a virtual one, after the events.
        let runtime = try harness.runtime(clock: ManualClock(monday + 120))
        _ = try await runtime.scheduler.upsert([lead("ada@example.com", ["job_title": "CTO", "employees": "300"])], now: monday)
        let visit = { (path: String) in (lead: LeadReference.email("ada@example.com"), recording: RecordedEvent(Event("page_visited", at: monday + 60, properties: ["path": path]))) }
        // Stored and answered, then the process was killed before deciding them.
        #expect(try await runtime.store.appendEvents([visit("/pricing"), visit("/blog")], now: monday + 60) == [true, true])
        let before = try #require(try await runtime.store.lead(.email("ada@example.com"))).lead.score
        // A poll far away: only the start and the bell can make it apply.
        let service = EventApplierService(applier: runtime.feedback.applier, pollInterval: .hours(1), logger: runtime.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            defer { group.cancelAll() }
            #expect(try await eventually { try await runtime.store.pendingEventCount() == 0 })
            let afterStart = try #require(try await runtime.store.lead(.email("ada@example.com"))).lead.score
            // pricing 5 + a page 1 twice.
            #expect(afterStart == before + 7, "\(before) → \(afterStart)")
            // Stored by the tracking routes: the bell wakes the service at once.
            _ = try await runtime.store.appendEvents([visit("/docs")], now: monday + 61)
            runtime.feedback.applier.notify()
            #expect(try await eventually { try await runtime.store.lead(.email("ada@example.com"))?.lead.score == afterStart + 1 })
            #expect(try await runtime.store.pendingEventCount() == 0)
        }
    }

    @Test("a stage move decided by the applier queues the next stage's email and rings the worker's doorbell")
    func doorbell() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        // The applier decides at the runtime's clock: a virtual one, as runOnce's.
        let clock = ManualClock(monday + 60)
        let runtime = try harness.runtime(clock: clock)
        _ = try await runtime.scheduler.upsert([lead("ada@example.com", ["job_title": "CTO", "employees": "300"])], now: monday)
        _ = try await runtime.runOnce(now: monday)
        let form = { (name: String) in (lead: LeadReference.email("ada@example.com"), recording: RecordedEvent(Event(Event.Kind.formSubmitted, at: monday + 60, properties: ["form": name]))) }
        _ = try await runtime.store.appendEvents([form("quote"), form("demo")], now: monday + 60)
        #expect(try await runtime.feedback.applier.drain() == EventApplier.Drained(taken: 2, busy: false))
        // fit 25 + a quote and a demo 40 → MQL; the worker is rung (a wait returns at once) and sends.
        #expect(try await runtime.store.lead(.email("ada@example.com"))?.lead.stage == "mql")
        // (At most 10 s: a doorbell that is never rung fails the test instead of hanging it.)
        let rung = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await runtime.doorbell.wait(); return !Task.isCancelled }
            group.addTask { try? await Task.sleep(for: .seconds(10)); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(rung)
        _ = try await runtime.runOnce(now: monday + 120)
        #expect(try harness.received().map(\.subject) == ["Welcome to Acme Analytics, ada", "What teams like your team measure first"])
    }

    @Test("a wait that ended while an event waited: the due pass leaves the lead to the applier, which decides the event, then the step that came due")
    func waitEndedWhilePending() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let clock = ManualClock(monday)
        let runtime = try harness.runtime(clock: clock)
        _ = try await runtime.scheduler.upsert([lead("ada@example.com")], now: monday)
        _ = try await runtime.runOnce(now: monday)
        #expect(try harness.received().count == 1)
        // A visit a second before the welcome's 2-day wait ends, decided a minute after it ended
        // (the applier's lag, or a restart).
        _ = try await runtime.store.appendEvents([(.email("ada@example.com"), RecordedEvent(Event("page_visited", at: monday + .days(2) - 1, properties: ["path": "/blog"])))], now: monday + .days(2) - 1)
        let later = monday + .days(2) + 60
        clock.set(later)
        #expect(try await runtime.scheduler.processDue(now: later) == 0, "left to the applier")
        #expect(try await runtime.feedback.applier.drain().taken == 1)
        let state = try #require(try await runtime.store.lead(.email("ada@example.com")))
        #expect(state.score.awarded["visited a page"] == 1)
        // The step that came due was taken, and the lead wakes again for the next one.
        #expect(try await runtime.store.nextWake().map { $0 > later } == true)
        _ = try await runtime.runOnce(now: later)
        #expect(try harness.received().count == 2)
    }

    @Test("nurture run decides what was left pending at its own time, not the clock's")
    func runOnceDecidesAtItsTime() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime() // the system clock: days after these virtual times
        _ = try await runtime.scheduler.upsert([lead("ada@example.com")], now: monday)
        _ = try await runtime.runOnce(now: monday)
        _ = try await runtime.store.appendEvents([(.email("ada@example.com"), RecordedEvent(Event("page_visited", at: monday + .days(2) - 1, properties: ["path": "/blog"])))], now: monday + .days(2) - 1)
        // The step due at +2d is decided and sent in this pass, at its time.
        _ = try await runtime.runOnce(now: monday + .days(2) + 60)
        #expect(try harness.received().count == 2)
        #expect(try await runtime.store.pendingEventCount() == 0)
    }
}
