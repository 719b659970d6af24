import Foundation
import NurtureCore
@testable import NurtureApp
@testable import NurtureRuntime
import NurtureSQLite
import Testing
import TestSupport

@Suite("Scheduler on a virtual clock: real SQLite file, real SMTP server")
struct SchedulerIntegrationTests {
    @Test("imported leads get the right emails in the right order at the right (virtual) times")
    func nurtures() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        let result = try await runtime.scheduler.upsert([lead("ada@example.com"), lead("grace@example.com")], now: monday)
        #expect(result == UpsertResult(created: 2, updated: 0, sendsQueued: 2))

        _ = try await runtime.runOnce(now: monday)
        #expect(try harness.received().map(\.subject).sorted() == ["Welcome to Acme Analytics, ada", "Welcome to Acme Analytics, grace"])
        // Nothing more until the 2-day wait ends.
        try await runtime.advance(from: monday, hours: 47)
        #expect(try harness.received().count == 2)
        _ = try await runtime.runOnce(now: monday + .days(2))
        #expect(try harness.received().count == 4)
        #expect(try harness.received().suffix(2).allSatisfy { $0.subject.hasPrefix("3 metrics every") })
        // Nobody opened the guide: 3 days later (Saturday) the branch takes 'else', and the
        // reminder waits for the send window: Monday 09:00.
        try await runtime.advance(from: monday + .days(2), hours: 5 * 24 - 2)
        #expect(try harness.received().count == 4)
        _ = try await runtime.runOnce(now: monday + .days(7) - .hours(1))
        #expect(try harness.received().suffix(2).allSatisfy { $0.subject.hasPrefix("In case you missed it") })

        let details = try #require(try await runtime.store.details(.email("ada@example.com"), recent: 10))
        #expect(details.sends.map(\.status) == ["sent", "sent", "sent"])
        #expect(details.state.enrollment?.sequence == "lead-welcome")
    }

    @Test("a restart in the middle: no duplicates, no gaps, same Message-IDs")
    func restart() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        do {
            let first = try harness.runtime()
            _ = try await first.scheduler.upsert((1...5).map { lead("lead\($0)@example.com") }, now: monday)
            _ = try await first.runOnce(now: monday)
        }
        #expect(try harness.received().count == 5)
        // A new process on the same database file picks up where the first stopped.
        let second = try harness.runtime()
        _ = try await second.runOnce(now: monday) // nothing new is due
        #expect(try harness.received().count == 5)
        _ = try await second.runOnce(now: monday + .days(2))
        let received = try harness.received()
        #expect(received.count == 10)
        #expect(Set(received.map(\.messageID)).count == 10)
    }

    @Test("a send leased to a worker that went silent goes out again when the lease ends, once, with the same Message-ID; the late worker's outcome is refused")
    func expiredLease() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        _ = try await runtime.scheduler.upsert([lead("ada@example.com")], now: monday)
        // A worker on another machine claims the send, hands it to the relay, and goes silent.
        let other = WorkerIdentity(id: "other", host: "elsewhere.invalid", pid: 1)
        let claimed = try await runtime.store.claimSends(now: monday, limit: 10, worker: other, duration: .init(seconds: 30))
        try #require(claimed.count == 1)
        let rendered = try runtime.workflows.renderer.render(template: claimed[0].request.template, lead: try #require(try await runtime.store.lead(.email("ada@example.com"))).lead, key: claimed[0].request.key, date: 0)
        _ = await runtime.delivery.transport.deliver(rendered.message)
        // Before the lease ends, nobody else takes it.
        #expect(try await runtime.delivery.deliverDue(now: monday + 10).total == 0)
        // After it, the send goes again — once, with the same Message-ID.
        #expect(try await runtime.delivery.deliverDue(now: monday + 31).sent == 1)
        #expect(try await runtime.delivery.deliverDue(now: monday + 40).total == 0)
        let received = try harness.received()
        #expect(received.count == 2)
        #expect(received[0].messageID == received[1].messageID)
        // The silent worker comes back and records its outcome: fenced off, nothing changes.
        let stale = try await runtime.store.completeSends([(claimed[0], .failed(reply: "late"))], now: monday + 50)
        #expect(stale == 1)
        #expect(try #require(try await runtime.store.details(.email("ada@example.com"), recent: 5)).sends.first?.status == "sent")
    }

    @Test("a worker killed on this host: a restart takes its leases back at once, not after the lease")
    func deadWorkerRecovered() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        _ = try await runtime.scheduler.upsert([lead("ada@example.com"), lead("bob@example.com")], now: monday)
        // A process that has exited: its pid no longer runs here.
        let gone = ChildProcess()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        waitForExit(gone)
        let dead = WorkerIdentity(id: "dead", host: runtime.delivery.worker.host, pid: gone.processIdentifier)
        try await runtime.store.heartbeat(dead, now: monday, duration: .init(seconds: 30))
        #expect(try await runtime.store.claimSends(now: monday, limit: 10, worker: dead, duration: .init(seconds: 30)).count == 2)
        // A live worker on the same host, still heartbeating, keeps its leases.
        #expect(try await runtime.delivery.deliverDue(now: monday + 1).total == 0)
        #expect(try await runtime.delivery.recoverDeadWorkers(now: monday + 1) == 2)
        #expect(try await runtime.delivery.deliverDue(now: monday + 1).sent == 2)
    }

    @Test("heartbeats renew leases; sends given back are queued again at once")
    func renewAndRelease() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        _ = try await runtime.scheduler.upsert([lead("ada@example.com"), lead("bob@example.com")], now: monday)
        let alive = WorkerIdentity(id: "alive", host: runtime.delivery.worker.host, pid: ProcessInfo.processInfo.processIdentifier)
        let claimed = try await runtime.store.claimSends(now: monday, limit: 10, worker: alive, duration: .init(seconds: 30))
        try #require(claimed.count == 2)
        try await runtime.store.heartbeat(alive, now: monday + 25, duration: .init(seconds: 30))
        #expect(try await runtime.delivery.recoverDeadWorkers(now: monday + 40) == 0)
        #expect(try await runtime.delivery.deliverDue(now: monday + 40).total == 0, "renewed until +55s")
        try await runtime.store.releaseSends([claimed[1]], now: monday + 41)
        #expect(try await runtime.delivery.deliverDue(now: monday + 41).sent == 1)
    }

    @Test("a 451 is retried with backoff and delivered")
    func transientRetried() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        _ = try await runtime.scheduler.upsert([lead("once451@example.com")], now: monday)
        let first = try await runtime.delivery.deliverDue(now: monday)
        #expect(first.retried == 1)
        #expect(try harness.received().isEmpty)
        // Backoff: the first retry is 2.5–5 minutes later (5 min base, jitter 50–100%).
        #expect(try await runtime.delivery.deliverDue(now: monday + .minutes(2)).total == 0)
        // (Past the 5-minute bound with room for the real time the first pass took: the
        // retry is measured from when the 451 came, not from `monday`.)
        #expect(try await runtime.delivery.deliverDue(now: monday + .minutes(6)).sent == 1)
        #expect(try harness.received().map(\.to) == ["once451@example.com"])
        let sends = try #require(try await runtime.store.details(.email("once451@example.com"), recent: 5)).sends
        #expect(sends.first?.attempts == 2)
    }

    @Test("a send that comes due outside the send window waits for it, without using an attempt")
    func windowAtSendTime() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        _ = try await runtime.scheduler.upsert([lead("ada@example.com")], now: monday)
        // The worker only gets to it at 20:00 New York time.
        let evening = try await runtime.delivery.deliverDue(now: monday + .hours(10))
        #expect(evening.deferred == 1)
        let send = try #require(try await runtime.store.details(.email("ada@example.com"), recent: 5)?.sends.first)
        #expect(send.status == "queued")
        #expect(send.attempts == 0)
        #expect(try harness.received().isEmpty)
        #expect(try await runtime.store.nextSendDue() == LocalDateTime(parsing: "2026-11-24 09:00")!.instant(in: TimeZone(identifier: "America/New_York")!))
        _ = try await runtime.delivery.deliverDue(now: monday + .hours(23))
        #expect(try harness.received().count == 1)
    }

    @Test("transient failures stop after max_attempts")
    func gaveUp() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime(maxAttempts: 3)
        _ = try await runtime.scheduler.upsert([lead("defer451@example.com")], now: monday)
        var now = monday
        for _ in 0..<3 {
            _ = try await runtime.delivery.deliverDue(now: now)
            now = now + .hours(1)
        }
        let send = try #require(try await runtime.store.details(.email("defer451@example.com"), recent: 5)?.sends.first)
        #expect(send.status == "failed")
        #expect(send.attempts == 3)
        #expect(send.reply?.contains("gave up after 3 attempts") == true)
    }

    @Test("a 550 suppresses the address and ends the enrollment; a suppressed lead gets nothing")
    func permanentSuppresses() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        _ = try await runtime.scheduler.upsert([lead("reject550@example.com"), lead("ada@example.com")], now: monday)
        let tally = try await runtime.delivery.deliverDue(now: monday)
        #expect(tally.failed == 1 && tally.sent == 1)
        let state = try #require(try await runtime.store.lead(.email("reject550@example.com")))
        #expect(state.suppression == .bounced)
        #expect(state.enrollment == nil)
        #expect(try await runtime.store.suppression(email: "REJECT550@example.com") == .bounced)
        // Re-importing the address does not bring it back.
        _ = try await runtime.scheduler.upsert([lead("reject550@example.com", ["company": "X"])], now: monday + .days(1))
        try await runtime.advance(from: monday, hours: 24 * 7)
        #expect(try harness.received().allSatisfy { $0.to == "ada@example.com" })

        // A manual suppression stops the other lead too.
        try await runtime.store.suppress(email: "ada@example.com", reason: .manual, now: monday + .days(8))
        let before = try harness.received().count
        _ = try await runtime.store.updateLead(.email("ada@example.com"), now: monday + .days(8)) { state in
            LeadChange(effects: runtime.workflows.engine.suppress(.manual, state: &state, now: monday + .days(8)), nextWake: nil)
        }
        try await runtime.advance(from: monday + .days(8), hours: 24 * 10)
        #expect(try harness.received().count == before)
    }

    @Test("an address suppressed before its lead exists is imported without enrollment or email")
    func suppressedNewcomer() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        try await runtime.store.suppress(email: "Gone@Example.com", reason: .unsubscribed, now: monday)
        let result = try await runtime.scheduler.upsert([lead("gone@example.com"), lead("ada@example.com")], now: monday)
        #expect(result == UpsertResult(created: 2, updated: 0, sendsQueued: 1))
        let state = try #require(try await runtime.store.lead(.email("gone@example.com")))
        #expect(state.suppression == .unsubscribed)
        #expect(state.enrollment == nil)
        #expect(state.lead.stage == "lead")
        _ = try await runtime.runOnce(now: monday)
        #expect(try harness.received().map(\.to) == ["ada@example.com"])
    }

    @Test("quiet hours: a lead imported at night in its zone gets its email at 09:00 local")
    func quietHours() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        // Monday 10:00 New York is 00:00 Tuesday in Tokyo.
        _ = try await runtime.scheduler.upsert([lead("kenji@example.jp", zone: "Asia/Tokyo")], now: monday)
        try await runtime.advance(from: monday, hours: 8)
        #expect(try harness.received().isEmpty)
        _ = try await runtime.runOnce(now: monday + .hours(9)) // 09:00 Tokyo
        #expect(try harness.received().map(\.to) == ["kenji@example.jp"])
    }

    @Test("two scheduler instances on one database file never send the same step twice")
    func twoInstances() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let a = try harness.runtime()
        let b = try harness.runtime()
        _ = try await a.scheduler.upsert((1...40).map { lead("l\($0)@example.com") }, now: monday)
        for hours in [0, 48, 167] {
            let now = monday + .hours(hours)
            async let x = a.runOnce(now: now)
            async let y = b.runOnce(now: now)
            _ = try await (x, y)
        }
        let received = try harness.received()
        #expect(received.count == 120)
        #expect(Set(received.map(\.messageID)).count == 120)
    }
}

@Suite("Frequency caps through the service")
struct CapIntegrationTests {
    @Test("the cap defers the second email of the week to when a slot frees")
    func capHolds() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let workflows = harness.directory.appendingPathComponent("Workflows")
        try FileManager.default.createDirectory(at: workflows.appendingPathComponent("sequences"), withIntermediateDirectories: true)
        try """
        settings: { default_time_zone: America/New_York, frequency_cap: { max: 1, per: 7d } }
        stages: [ { name: lead } ]
        """.write(to: workflows.appendingPathComponent("funnel.yaml"), atomically: true, encoding: .utf8)
        try """
        stage: lead
        steps:
          - send: welcome
          - wait: 1d
          - send: getting-started
        """.write(to: workflows.appendingPathComponent("sequences/s.yaml"), atomically: true, encoding: .utf8)
        let runtime = try harness.runtime(workflows: workflows.path)
        _ = try await runtime.scheduler.upsert([lead("ada@example.com")], now: monday)
        try await runtime.advance(from: monday, hours: 7 * 24 - 1)
        #expect(try harness.received().count == 1)
        _ = try await runtime.runOnce(now: monday + .days(7))
        #expect(try harness.received().count == 2)
    }
}

@Suite("Poison isolation: one unreadable lead never stops the others")
struct PoisonLeadTests {
    @Test("a lead whose stored state is corrupted is parked with its error; every other lead gets its emails")
    func corruptedState() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let runtime = try harness.runtime()
        _ = try await runtime.scheduler.upsert([lead("ada@example.com"), lead("bob@example.com"), lead("eve@example.com")], now: monday)
        // Bob's row is damaged, and Eve's was written by a newer Nurture.
        let file = try SQLiteStore(path: harness.database, migrate: false)
        try await file.execute(sql: "UPDATE leads SET state = x'7b226c656164223a' WHERE email = 'bob@example.com'")
        try await file.execute(sql: "UPDATE leads SET state_version = 99 WHERE email = 'eve@example.com'")
        try await file.execute(sql: "UPDATE leads SET next_wake_at = 0")
        _ = try await runtime.runOnce(now: monday)
        #expect(try harness.received().map(\.to) == ["ada@example.com"])
        // A week later Ada is still nurtured; the parked leads stay out of every pass.
        try await runtime.advance(from: monday, hours: 24 * 7)
        #expect(try harness.received().filter { $0.to == "ada@example.com" }.count >= 2)
        #expect(try harness.received().allSatisfy { $0.to == "ada@example.com" })
        #expect(try await runtime.store.counts(now: Date()).parkedLeads == 2)
        await #expect(throws: StoreError.self) { try await runtime.store.details(.email("bob@example.com"), recent: 5) }
        do {
            _ = try await runtime.store.details(.email("eve@example.com"), recent: 5)
        } catch {
            #expect("\(error)".contains("state version 99 is newer than this Nurture reads (2)"))
        }
        // Events for a parked lead are kept, not lost, and do not fail the others'.
        let stored = try await runtime.store.appendEvents(
            [(.email("bob@example.com"), RecordedEvent(Event("page_visited", at: monday))), (.email("ada@example.com"), RecordedEvent(Event("page_visited", at: monday)))],
            now: monday)
        #expect(stored == [true, true])
        let pass = try await runtime.store.applyPendingEvents(limit: 100, now: monday, decide: { _, _ in [] }, settle: { _ in LeadChange(effects: [], nextWake: nil) })
        #expect(pass.applied == 1 && pass.skipped == 1)
        #expect(try await runtime.store.pendingEventCount() == 0)
    }
}
