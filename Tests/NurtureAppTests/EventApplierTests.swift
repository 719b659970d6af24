import Foundation
import GRDB
import NurtureCore
@testable import NurtureApp
@testable import NurtureRuntime
import Synchronization
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

    @Test("a lead whose events cannot be written does not hold up the others: fewer at a time, then set aside after failing alone twice; a fault that passes sets nothing aside")
    func poisonedLeadSetAside() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime(clock: ManualClock(monday + 120))
        let emails = ["ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
        _ = try await runtime.scheduler.upsert(emails.map { lead($0) }, now: monday)
        let visits = { (rounds: Int) in
            (0..<rounds).flatMap { round in
                emails.map { (lead: LeadReference.email($0), recording: RecordedEvent(Event("page_visited", at: monday + 60 + Double(round), properties: ["path": "/blog"]))) }
            }
        }
        func score(_ email: String) async throws -> Int { try #require(try await runtime.store.lead(.email(email))).lead.score }
        let before = try await score("ada@example.com")
        // Any write of bob's row fails, as a row no write can take would.
        let database = try DatabaseQueue(path: harness.database)
        let poison = "CREATE TRIGGER poison BEFORE UPDATE ON leads WHEN OLD.email = 'bob@example.com' BEGIN SELECT RAISE(ABORT, 'poisoned lead'); END"
        let pauses = Mutex(0)
        func applier(_ pause: @escaping @Sendable () async throws -> Void) -> EventApplier {
            EventApplier(store: runtime.store, workflows: runtime.feedback.applier.workflows, doorbell: runtime.doorbell, metrics: runtime.metrics,
                         logger: runtime.logger, clock: ManualClock(monday + 120), batchSize: 8, setAsideAfter: 2, pauseBeforeRetry: pause)
        }

        // A fault that passes while the applier waits to try bob's event alone again: every
        // event is decided, nothing is set aside.
        try await database.write { db in try db.execute(sql: poison) }
        _ = try await runtime.store.appendEvents(visits(2), now: monday + 60)
        let passing = applier {
            pauses.withLock { $0 += 1 }
            try await database.write { db in try db.execute(sql: "DROP TRIGGER poison") }
        }
        #expect(try await passing.drain() == EventApplier.Drained(taken: 8))
        #expect(pauses.withLock { $0 } == 1)
        #expect(try await runtime.store.setAsideEventCount() == 0)
        for email in emails { #expect(try await score(email) == before + 2, "\(email)") }

        // A fault that stays: bob's events are set aside at the second failure alone; the
        // others', before and after them, are decided.
        try await database.write { db in try db.execute(sql: poison) }
        _ = try await runtime.store.appendEvents(visits(2), now: monday + 70)
        let staying = applier { pauses.withLock { $0 += 1 } }
        let drained = try await staying.drain()
        #expect(drained.setAside.map(\.count) == [2])
        #expect(drained.taken == 6)
        #expect(pauses.withLock { $0 } == 2)
        #expect(try await runtime.store.pendingEventCount() == 0)
        #expect(try await runtime.store.setAsideEventCount() == 2)
        for email in ["ada@example.com", "cy@example.com", "dee@example.com"] {
            #expect(try await score(email) == before + 4, "\(email)")
        }
        #expect(try await score("bob@example.com") == before + 2)
        let reason = try await database.read { db in try String.fetchAll(db, sql: "SELECT apply_error FROM events WHERE apply_error IS NOT NULL") }
        #expect(reason.count == 2 && reason.allSatisfy { $0.contains("poisoned lead") }, "\(reason)")
        // Set aside, not lost: the gauge counts them.
        #expect(try await runtime.metricsExposition().contains("nurture_events_set_aside 2"))
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
