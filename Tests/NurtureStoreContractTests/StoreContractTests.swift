import Foundation
import NurtureCore
import NurtureSQLite
import NurturePostgres
import Logging
import TestSupport
import Synchronization
import Testing

/// The store contract: one test body per guarantee, run against every storage adapter
/// (`Adapter.allCases`), the way GRDB runs one body against each of its writers. A new
/// adapter (PostgreSQL) adds a case and must pass the same bodies.
@Suite("Store contract")
struct StoreContractTests {
    /// A storage adapter under test: a fresh, empty store, and the adapter-specific ways to
    /// damage it that the poison-lead guarantee needs.
    enum Adapter: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case sqlite
        case postgres

        var testDescription: String { rawValue }

        /// Runs `body` on a fresh, empty store of this adapter (queuing the messages of
        /// `webhooks`), and removes the store after.
        func with(webhooks: WebhookRoutes = .none, _ body: (Subject) async throws -> Void) async throws {
            switch self {
            case .sqlite:
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-contract-\(UUID()).sqlite").path
                defer { for suffix in ["", "-wal", "-shm", ".migrate.lock"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
                let store = try SQLiteStore(path: path, webhooks: webhooks)
                try await body(Subject(store: store, corrupt: { email in
                    try await store.execute(sql: "UPDATE leads SET state = x'00ff' WHERE email = '\(email)'")
                }, poison: { email in
                    try await store.execute(sql: """
                        CREATE TRIGGER poison BEFORE UPDATE ON leads WHEN OLD.email = '\(email)'
                        BEGIN SELECT RAISE(ABORT, 'poisoned lead'); END
                        """)
                }, rebuildRollups: { try await store.rebuildRollups() }, rebuildStageEntries: { try await store.rebuildStageEntries() },
                execute: { try await store.execute(sql: $0) }))
            case .postgres:
                // A database of its own on the throwaway server; leases on the tests' virtual clock.
                let database = try TestPostgres.createDatabase()
                defer { TestPostgres.dropDatabase(database.name) }
                var logger = Logger(label: "contract")
                logger.logLevel = .warning
                let store = PostgresStore(url: try PostgresURL(database.url), logger: logger, leaseClock: .caller, webhooks: webhooks)
                try await store.migrate()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await store.client.run() }
                    defer { group.cancelAll() }
                    try await body(Subject(store: store, corrupt: { email in
                        try await store.execute(sql: "UPDATE leads SET state = '\\x00ff' WHERE email = '\(email)'")
                    }, poison: { email in
                        try await store.execute(sql: """
                            CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
                            BEGIN RAISE EXCEPTION 'poisoned lead' USING ERRCODE = 'check_violation'; END $$
                            """)
                        try await store.execute(sql: "CREATE TRIGGER poison BEFORE UPDATE ON leads FOR EACH ROW WHEN (OLD.email = '\(email)') EXECUTE FUNCTION poison()")
                    }, rebuildRollups: { try await store.rebuildRollups() }, rebuildStageEntries: { try await store.rebuildStageEntries() },
                    execute: { try await store.execute(sql: $0) }))
                }
            }
        }
    }

    struct Subject: Sendable {
        let store: any NurtureStore & SchemaMigrating
        let corrupt: @Sendable (String) async throws -> Void
        /// Makes every write of this lead's row fail (a trigger), as a row no write can take would.
        let poison: @Sendable (String) async throws -> Void
        /// Rebuilds the step rollups from the stored events.
        let rebuildRollups: @Sendable () async throws -> Void
        /// Rebuilds the stage entries from the leads and their stage changes.
        let rebuildStageEntries: @Sendable () async throws -> Void
        /// Runs one SQL statement (for data as another version would have left it).
        let execute: @Sendable (String) async throws -> Void
    }

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let worker = WorkerIdentity(id: "w1", host: "contract.invalid", pid: 1)
    static let other = WorkerIdentity(id: "w2", host: "contract.invalid", pid: 2)
    static let lease = TimeSpan(seconds: 30)

    /// Creates leads (a new state each) that wake at `wake` and queue one send each.
    @discardableResult
    func seed(_ store: any NurtureStore, _ emails: [String], wake: Date? = nil, send: Bool = true) async throws -> UpsertResult {
        try await store.upsertLeads(emails, now: Self.t0) { id, email, _, state in
            var fresh = LeadState(lead: Lead(id: id, email: email), now: Self.t0)
            fresh.lead.stage = "lead"
            state = fresh
            let effects: [Effect] = send ? [.send(SendRequest(key: SendKey(leadID: id, sequence: "s", step: "welcome", enrollment: 1), template: "welcome", subject: nil, tracking: true))] : []
            return LeadChange(effects: effects, nextWake: wake)
        }
    }

    /// Claims the queued sends (at most 10) at `t0` and records each as sent (token `t<id>`).
    func sendQueued(_ store: any NurtureStore) async throws -> [OutboxSend] {
        let claimed = try await store.claimSends(now: Self.t0, limit: 10, worker: Self.worker, duration: Self.lease)
        try await store.completeSends(claimed.map { ($0, SendResult.sent(messageID: "<\($0.id)@x>", reply: "250", tokenID: "t\($0.id)", links: 1)) }, now: Self.t0)
        return claimed
    }

    @Test("the installation id: 32 hex digits, the same every time it is asked, another for another database", arguments: Adapter.allCases)
    func installationID(adapter: Adapter) async throws {
        var ids: [String] = []
        for _ in 0..<2 {
            try await adapter.with { subject in
                let id = try await subject.store.installationID()
                #expect(id.count == 32 && id.allSatisfy(\.isHexDigit), "\(id)")
                #expect(try await subject.store.installationID() == id)
                ids.append(id)
            }
        }
        #expect(ids.count == 2 && ids[0] != ids[1])
    }

    @Test("upsert is idempotent and addresses compare case-insensitively", arguments: Adapter.allCases)
    func idempotentUpsert(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let first = try await seed(subject.store, ["Ada@Example.com"])
            let again = try await seed(subject.store, ["ada@example.com", " ADA@EXAMPLE.COM "])
            #expect(first.created == 1)
            #expect(again.created == 0 && again.updated == 2)
            #expect(try await subject.store.counts(now: Self.t0).leads == 1)
            #expect(try await subject.store.lead(.email("aDa@example.COM"))?.lead.email == "ada@example.com")
            #expect(try await subject.store.counts(now: Self.t0).queuedSends == 1, "the same send key is queued once")
        }
    }

    @Test("an event and its decision are written together; a client id seen before writes nothing", arguments: Adapter.allCases)
    func atomicDecisionAndIdempotency(adapter: Adapter) async throws {
        try await adapter.with { subject in
            try await seed(subject.store, ["ada@example.com"], send: false)
            let event = Event("page_visited", at: Self.t0, properties: ["path": "/pricing"])
            let first = try await subject.store.updateLead(.email("ada@example.com"), now: Self.t0, recording: RecordedEvent(event, clientID: "visit-1")) { state in
                state.lead.tags.insert("visited")
                return LeadChange(effects: [], nextWake: nil)
            }
            guard case .changed = first else { Issue.record("expected a change, got \(first)"); return }
            let second = try await subject.store.updateLead(.email("ada@example.com"), now: Self.t0, recording: RecordedEvent(event, clientID: "visit-1")) { state in
                state.lead.tags.insert("twice")
                return LeadChange(effects: [], nextWake: nil)
            }
            guard case .duplicate = second else { Issue.record("expected a duplicate, got \(second)"); return }
            let details = try #require(try await subject.store.details(.email("ada@example.com"), recent: 10))
            #expect(details.events.count == 1)
            #expect(details.state.lead.tags == ["visited"])
            guard case .unknownLead = try await subject.store.updateLead(.email("nobody@example.com"), now: Self.t0, recording: RecordedEvent(event), { _ in LeadChange(effects: [], nextWake: nil) }) else {
                Issue.record("an unknown lead")
                return
            }
        }
    }

    @Test("a lead's events are applied in the order they arrived, in one batch", arguments: Adapter.allCases)
    func perLeadOrder(adapter: Adapter) async throws {
        try await adapter.with { subject in
            try await seed(subject.store, ["ada@example.com", "bob@example.com"], send: false)
            let names = ["a", "b", "c", "d"]
            let batch = names.flatMap { name in
                [(LeadReference.email("ada@example.com"), RecordedEvent(Event(name, at: Self.t0))), (LeadReference.email("bob@example.com"), RecordedEvent(Event(name, at: Self.t0)))]
            }
            _ = try await subject.store.appendAndApply(batch, now: Self.t0, decide: { state, event in
                state.lead.fields["seen", default: ""] += event.type
                return []
            }, settle: { _ in LeadChange(effects: [], nextWake: nil) })
            #expect(try await subject.store.lead(.email("ada@example.com"))?.lead.fields["seen"] == "abcd")
            #expect(try await subject.store.lead(.email("bob@example.com"))?.lead.fields["seen"] == "abcd")
        }
    }

    @Test("due leads come oldest first, at most the limit, and only when due", arguments: Adapter.allCases)
    func dueOrderAndLimit(adapter: Adapter) async throws {
        try await adapter.with { subject in
            try await seed(subject.store, ["late@example.com"], wake: Self.t0 + 300, send: false)
            try await seed(subject.store, ["first@example.com"], wake: Self.t0 + 100, send: false)
            try await seed(subject.store, ["second@example.com"], wake: Self.t0 + 200, send: false)
            try await seed(subject.store, ["future@example.com"], wake: Self.t0 + 10_000, send: false)
            let seen = Mutex<[String]>([])
            let pass = try await subject.store.processDueLeads(now: Self.t0 + 1000, limit: 2) { state in
                seen.withLock { $0.append(state.lead.email) }
                return LeadChange(effects: [], nextWake: nil)
            }
            #expect(pass.processed == 2)
            #expect(seen.withLock { $0 } == ["first@example.com", "second@example.com"])
            #expect(try await subject.store.nextWake() == Self.t0 + 300)
        }
    }

    @Test("two claimers at once get disjoint sends", arguments: Adapter.allCases)
    func disjointClaims(adapter: Adapter) async throws {
        try await adapter.with { subject in
            try await seed(subject.store, (1...60).map { "l\($0)@example.com" })
            let store = subject.store
            async let a = store.claimSends(now: Self.t0, limit: 40, worker: Self.worker, duration: Self.lease)
            async let b = store.claimSends(now: Self.t0, limit: 40, worker: Self.other, duration: Self.lease)
            let (first, second) = try await (a, b)
            #expect(first.count + second.count == 60)
            #expect(Set(first.map(\.id)).isDisjoint(with: second.map(\.id)))
        }
    }

    @Test("an expired lease returns its sends; the late holder's completion changes nothing", arguments: Adapter.allCases)
    func expiredAndStaleLeases(adapter: Adapter) async throws {
        try await adapter.with { subject in
            try await seed(subject.store, ["ada@example.com"])
            let claimed = try await subject.store.claimSends(now: Self.t0, limit: 10, worker: Self.worker, duration: Self.lease)
            try #require(claimed.count == 1)
            #expect(try await subject.store.claimSends(now: Self.t0 + 29, limit: 10, worker: Self.other, duration: Self.lease).isEmpty)
            let again = try await subject.store.claimSends(now: Self.t0 + 31, limit: 10, worker: Self.other, duration: Self.lease)
            #expect(again.map(\.id) == claimed.map(\.id))
            #expect(again[0].lease.epoch > claimed[0].lease.epoch, "a new claim, a new fencing epoch")
            #expect(try await subject.store.completeSends([(claimed[0], .failed(reply: "late"))], now: Self.t0 + 32) == 1)
            #expect(try await subject.store.completeSends([(again[0], .sent(messageID: "<m@x>", reply: "250 ok"))], now: Self.t0 + 33) == 0)
            let sends = try #require(try await subject.store.details(.email("ada@example.com"), recent: 5)).sends
            #expect(sends.map(\.status) == ["sent"])
        }
    }

    @Test("a lead whose state cannot be read is parked; the others go on", arguments: Adapter.allCases)
    func poisonIsolated(adapter: Adapter) async throws {
        try await adapter.with { subject in
            try await seed(subject.store, ["ada@example.com", "bob@example.com", "eve@example.com"], wake: Self.t0)
            try await subject.corrupt("bob@example.com")
            let pass = try await subject.store.processDueLeads(now: Self.t0, limit: 10) { _ in LeadChange(effects: [], nextWake: nil) }
            #expect(pass.processed == 3)
            #expect(pass.parked.map(\.email) == ["bob@example.com"])
            let claimed = try await subject.store.claimSends(now: Self.t0, limit: 10, worker: Self.worker, duration: Self.lease)
            #expect(Set(claimed.compactMap { $0.recipient?.lead.email }) == ["ada@example.com", "eve@example.com"])
            #expect(try await subject.store.counts(now: Self.t0).parkedLeads == 1)
            await #expect(throws: StoreError.self) { try await subject.store.lead(.email("bob@example.com")) }
        }
    }

    @Test("a suppression survives re-import, whatever the address's spelling", arguments: Adapter.allCases)
    func suppressionSurvivesReimport(adapter: Adapter) async throws {
        try await adapter.with { subject in
            try await subject.store.suppress(email: "ada@example.com", reason: .unsubscribed, now: Self.t0)
            let seen = Mutex<[Suppression?]>([])
            _ = try await subject.store.upsertLeads([" Ada@Example.com"], now: Self.t0) { id, email, suppression, state in
                seen.withLock { $0.append(suppression) }
                state = LeadState(lead: Lead(id: id, email: email), now: Self.t0)
                return LeadChange(effects: [], nextWake: nil)
            }
            #expect(seen.withLock { $0 } == [.unsubscribed])
            #expect(try await subject.store.suppression(email: "ADA@example.com") == .unsubscribed)
        }
    }

    @Test("the funnel's facts: leads per stage, changes in the period, each stage's cohort and how fast it moved on", arguments: Adapter.allCases)
    func funnelFacts(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            try await seed(store, ["ada@example.com", "bob@example.com", "eve@example.com", "dan@example.com"], send: false)
            func move(_ email: String, _ from: String, _ to: String, after hours: Double) async throws {
                let at = Self.t0 + hours * 3600
                _ = try await store.updateLead(.email(email), now: at) { state in
                    state.lead.stage = to
                    return LeadChange(effects: [.stageChanged(StageChange(from: from, to: to, at: at, reason: "test"))], nextWake: nil)
                }
            }
            try await move("ada@example.com", "lead", "mql", after: 1)
            try await move("bob@example.com", "lead", "mql", after: 2)
            try await move("ada@example.com", "mql", "sql", after: 3)
            try await move("eve@example.com", "lead", "sql", after: 5)
            try await move("bob@example.com", "mql", "lead", after: 6)
            try await move("dan@example.com", "lead", "mql", after: 30) // after the period
            let stages = ["lead", "mql", "sql", "opportunity", "customer"]
            let period = ReportPeriod(since: Self.t0, until: Self.t0 + 86_400)
            let facts = try await store.funnelFacts(stages: stages, period: period)
            #expect(facts.leadsByStage == ["lead": 1, "mql": 1, "sql": 2])
            #expect(facts.changes == [
                .init(from: "lead", to: "mql"): 2, .init(from: "mql", to: "sql"): 1,
                .init(from: "lead", to: "sql"): 1, .init(from: "mql", to: "lead"): 1,
            ])
            #expect(facts.cohorts.map(\.stage) == ["lead", "mql", "sql", "opportunity"])
            #expect(facts.cohorts[0].entered == 5, "created in the period, and bob back")
            #expect(facts.cohorts[0].secondsToNext.sorted() == [3600, 7200, 18_000, 108_000])
            #expect(facts.cohorts[1].entered == 2 && facts.cohorts[1].secondsToNext == [7200])
            #expect(facts.cohorts[2].entered == 2 && facts.cohorts[2].secondsToNext.isEmpty)
            let report = FunnelReport(facts: facts, stages: stages, period: period)
            #expect(report.recycled == 1)
            #expect(report.conversions[0].entered == 5 && report.conversions[0].converted == 4 && report.conversions[0].medianSeconds == 12_600)
            #expect(report.conversions[1].rate == 0.5 && report.conversions[1].medianSeconds == 7200)
            #expect(report.stages.map(\.stage) == stages && report.stages.map(\.leads) == [1, 1, 2, 0, 0])
            // A later period sees dan's move, and no cohort from the first day.
            let later = try await store.funnelFacts(stages: stages, period: ReportPeriod(since: Self.t0 + 86_400, until: Self.t0 + 2 * 86_400))
            #expect(later.changes == [.init(from: "lead", to: "mql"): 1] && later.cohorts[0].entered == 0 && later.cohorts[1].entered == 1)
            #expect(facts.daily.map(\.leads).reduce(0, +) == 5 && later.daily == [DailyEntries(day: Self.t0 - 1_800_000_000.truncatingRemainder(dividingBy: 86_400) + 86_400, stage: "mql", leads: 1)])
            // Rebuilt from the leads and their stage changes (as a migration does), the same facts.
            try await subject.rebuildStageEntries()
            let rebuilt = try await store.funnelFacts(stages: stages, period: period)
            #expect(rebuilt.cohorts.map(\.entered) == facts.cohorts.map(\.entered))
            #expect(rebuilt.cohorts.map { $0.secondsToNext.sorted() } == facts.cohorts.map { $0.secondsToNext.sorted() })
        }
    }

    @Test("suppressions by reason, in all and in the period", arguments: Adapter.allCases)
    func suppressionCounts(adapter: Adapter) async throws {
        try await adapter.with { subject in
            try await subject.store.suppress(email: "old@example.com", reason: .unsubscribed, now: Self.t0 - 86_400)
            try await subject.store.suppress(email: "ada@example.com", reason: .unsubscribed, now: Self.t0 + 60)
            try await subject.store.suppress(email: "bob@example.com", reason: .bounced, now: Self.t0 + 120)
            let counts = try await subject.store.suppressionCounts(period: ReportPeriod(since: Self.t0, until: Self.t0 + 86_400))
            #expect(counts.total == ["unsubscribed": 2, "bounced": 1])
            #expect(counts.inPeriod == ["unsubscribed": 1, "bounced": 1])
        }
    }

    @Test("step rollups: unique human opens and clicks per email, machines apart, bounces, goals and attributed replies, by the hour sent", arguments: Adapter.allCases)
    func stepRollups(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            try await seed(store, ["ada@example.com", "bob@example.com", "eve@example.com"])
            let claimed = try await store.claimSends(now: Self.t0, limit: 10, worker: Self.worker, duration: Self.lease)
            try #require(claimed.count == 3)
            var byLead: [String: OutboxSend] = [:]
            for name in ["ada", "bob", "eve"] {
                let state = try #require(try await store.lead(.email("\(name)@example.com")))
                byLead[name] = claimed.first { $0.request.key.leadID == state.lead.id }
            }
            let ada = try #require(byLead["ada"]), bob = try #require(byLead["bob"]), eve = try #require(byLead["eve"])
            // Eve's address is refused at once, three hours later (a retry): the bounce is
            // recorded before the send fails, and counts in its own hour.
            let bounce = Event(Event.Kind.bounced, at: Self.t0 + 3 * 3600, properties: ["type": "hard"])
            _ = try await store.updateLead(.id(eve.request.key.leadID), now: Self.t0 + 3 * 3600, recording: RecordedEvent(bounce, clientID: "bounce-eve", sendID: eve.id)) { _ in
                LeadChange(effects: [], nextWake: nil)
            }
            try await store.completeSends([(ada, .sent(messageID: "<a@x>", reply: "250", tokenID: "a", links: 2)),
                                           (bob, .sent(messageID: "<b@x>", reply: "250", tokenID: "b", links: 2)),
                                           (eve, .failed(reply: "550 no such user"))], now: Self.t0)
            func hit(_ send: OutboxSend, _ type: String, url: String? = nil, machine: Bool = false, after seconds: Double) -> (lead: LeadReference, recording: RecordedEvent) {
                var properties = ["sequence": "s", "step": "welcome"]
                properties["url"] = url
                return (.id(send.request.key.leadID), RecordedEvent(Event(type, at: Self.t0 + seconds, properties: properties, isMachine: machine), sendID: send.id))
            }
            let hits = [
                hit(ada, Event.Kind.opened, after: 60), hit(ada, Event.Kind.opened, after: 90),
                hit(ada, Event.Kind.clicked, url: "https://a.example/", machine: true, after: 61),
                hit(ada, Event.Kind.clicked, url: "https://a.example/?who=ada%40example.com", after: 120), hit(ada, Event.Kind.clicked, url: "https://a.example/#top", after: 130),
                hit(ada, Event.Kind.clicked, url: "https://b.example/", after: 140),
                hit(bob, Event.Kind.opened, machine: true, after: 5),
            ]
            // Two batches: a link's first click in an email is unique across transactions too.
            _ = try await store.appendAndApply(Array(hits.prefix(4)), now: Self.t0 + 150, decide: { _, _ in [] }, settle: { _ in LeadChange(effects: [], nextWake: nil) })
            _ = try await store.appendAndApply(Array(hits.dropFirst(4)), now: Self.t0 + 150, decide: { _, _ in [] }, settle: { _ in LeadChange(effects: [], nextWake: nil) })
            // Bob replies through the API an hour later: credited to his latest email; a form
            // post two days later is outside its one-minute window: credited to none.
            let reply = RecordedEvent(Event(Event.Kind.replied, at: Self.t0 + 3600), clientID: "reply-1", attributeWithin: .days(7))
            for _ in 0..<2 {
                _ = try await store.updateLead(.email("bob@example.com"), now: Self.t0 + 3600, recording: reply) { _ in LeadChange(effects: [], nextWake: nil) }
            }
            let late = RecordedEvent(Event(Event.Kind.formSubmitted, at: Self.t0 + 2 * 86_400), attributeWithin: .minutes(1))
            _ = try await store.updateLead(.email("ada@example.com"), now: Self.t0 + 2 * 86_400, recording: late) { _ in LeadChange(effects: [], nextWake: nil) }
            // Ada meets the sequence's goal: credited to her latest email of it.
            _ = try await store.updateLead(.email("ada@example.com"), now: Self.t0 + 7200) { _ in
                LeadChange(effects: [.goalReached(sequence: "s", goal: "goal: visited /pricing")], nextWake: nil)
            }
            let period = ReportPeriod(since: Self.t0, until: Self.t0 + 86_400)
            let facts = try await store.stepFacts(period: period, sequence: nil)
            let key = StepFacts.Key(sequence: "s", step: "welcome")
            #expect(facts.counts == [key: [
                "sent": 3, "bounced": 1, "bounced_hard": 1, "opened": 1, "clicked": 1, "machine_opened": 1, "machine_clicked": 1,
                "replied": 1, "goal_exits": 1,
            ]])
            #expect(facts.links[key]?.sorted { $0.url < $1.url } == [
                StepFacts.Link(url: "https://a.example/", clicks: 2, uniqueClicks: 1), StepFacts.Link(url: "https://b.example/", clicks: 1, uniqueClicks: 1),
            ])
            let report = StepsReport(facts: facts, order: [("s", ["welcome", "follow-up"])], period: period)
            #expect(report.steps.map(\.step) == ["welcome", "follow-up"])
            let row = report.steps[0]
            #expect(row.delivered == 2 && row.openRate == 0.5 && row.clickRate == 0.5 && row.clickToOpen == 1 && row.machine.opened == 1 && row.machine.clicked == 1)
            #expect(report.steps[1].sent == 0 && report.steps[1].openRate == nil)
            // Counted by the hour sent: the next day has nothing; another sequence has nothing.
            #expect(try await store.stepFacts(period: ReportPeriod(since: Self.t0 + 86_400, until: Self.t0 + 2 * 86_400), sequence: nil).counts.isEmpty)
            #expect(try await store.stepFacts(period: period, sequence: "other").counts.isEmpty)
            #expect(try await store.stepFacts(period: period, sequence: "s").counts == facts.counts)
            // By the hour: the first hour has ada's and bob's emails, eve's bounce counts at 3h.
            let firstHour = ReportPeriod(since: Self.t0, until: Self.t0 + 3600)
            #expect(try await store.stepFacts(period: firstHour, sequence: nil).counts[key]?["sent"] == 2)
            // Rebuilt from the stored events (as a migration does), the same numbers.
            try await subject.rebuildRollups()
            let rebuilt = try await store.stepFacts(period: period, sequence: nil)
            #expect(rebuilt.counts == facts.counts)
            #expect(rebuilt.links[key]?.sorted { $0.url < $1.url } == facts.links[key]?.sorted { $0.url < $1.url })
            #expect(try await store.stepFacts(period: firstHour, sequence: nil).counts[key]?["sent"] == 2)
            // Another click on a link after the rebuild is not a first click again.
            _ = try await store.appendAndApply([hit(ada, Event.Kind.clicked, url: "https://b.example/?utm_content=x", after: 200)], now: Self.t0 + 200,
                                            decide: { _, _ in [] }, settle: { _ in LeadChange(effects: [], nextWake: nil) })
            #expect(try await store.stepFacts(period: period, sequence: nil).links[key]?.first { $0.url == "https://b.example/" }
                    == StepFacts.Link(url: "https://b.example/", clicks: 2, uniqueClicks: 1))
        }
    }

    @Test("the lead list: by stage, score range, sequence, tag and suppression, a page at a time", arguments: Adapter.allCases)
    func leadList(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            let people: [(email: String, stage: String, fit: Int, sequence: String?, tags: Set<String>)] = [
                ("ada@example.com", "mql", 30, "mql-nurture", ["webinar", "vip"]),
                ("bob@example.com", "lead", 5, "lead-welcome", []),
                ("eve@example.com", "mql", 60, nil, ["webinar"]),
                ("dan@example.com", "sql", 80, "sql-demo", ["vip"]),
            ]
            _ = try await store.upsertLeads(people.map(\.email), now: Self.t0) { id, email, _, state in
                let person = people.first { $0.email == email }!
                var fresh = LeadState(lead: Lead(id: id, email: email, stage: person.stage, fitScore: person.fit, tags: person.tags), now: Self.t0)
                fresh.enrollment = person.sequence.map { Enrollment(sequence: $0, number: 1, startedAt: Self.t0) }
                state = fresh
                return LeadChange(effects: [], nextWake: nil)
            }
            // Bob unsubscribes (his state says so); Eve's address is on the list.
            _ = try await store.updateLead(.email("bob@example.com"), now: Self.t0) { state in
                state.suppression = .unsubscribed
                return LeadChange(effects: [], nextWake: nil)
            }
            try await store.suppress(email: "eve@example.com", reason: .bounced, now: Self.t0)
            func emails(_ filter: LeadFilter) async throws -> [String] { try await store.leads(filter).map(\.email) }
            #expect(try await emails(LeadFilter()) == people.map(\.email))
            #expect(try await emails(LeadFilter(stage: "mql")) == ["ada@example.com", "eve@example.com"])
            #expect(try await emails(LeadFilter(minScore: 30, maxScore: 60)) == ["ada@example.com", "eve@example.com"])
            #expect(try await emails(LeadFilter(sequence: "sql-demo")) == ["dan@example.com"])
            #expect(try await emails(LeadFilter(tag: "vip")) == ["ada@example.com", "dan@example.com"])
            #expect(try await emails(LeadFilter(stage: "mql", tag: "vip")) == ["ada@example.com"])
            #expect(try await emails(LeadFilter(suppressed: true)) == ["bob@example.com", "eve@example.com"])
            #expect(try await emails(LeadFilter(suppressed: false)) == ["ada@example.com", "dan@example.com"])
            let page = try await store.leads(LeadFilter(limit: 2))
            #expect(page.map(\.email) == ["ada@example.com", "bob@example.com"])
            #expect(try await emails(LeadFilter(after: page.last?.id, limit: 2)) == ["eve@example.com", "dan@example.com"])
            let ada = try #require(page.first)
            #expect(ada.stage == "mql" && ada.score == 30 && ada.sequence == "mql-nurture" && ada.tags == ["vip", "webinar"] && ada.status == "active")
            #expect(try await store.leads(LeadFilter(stage: "mql")).last?.status == "bounced", "the address's suppression")
            #expect(page.last?.status == "unsubscribed")
        }
    }
}

extension EventInbox {
    /// The tracking server's two steps at once: the events stored pending, then every pending
    /// event applied.
    func appendAndApply(_ batch: [(lead: LeadReference, recording: RecordedEvent)], now: Date,
                        decide: @Sendable (inout LeadState, Event) -> [Effect],
                        settle: @Sendable (inout LeadState) -> LeadChange) async throws -> PendingEventsPass {
        _ = try await appendEvents(batch, now: now)
        return try await applyPendingEvents(limit: 10_000, now: now, decide: decide, settle: settle)
    }
}
