import Foundation
import Logging
import NurtureCore
import NurturePostgres
import Synchronization
import Testing
import TestSupport

/// What only the PostgreSQL adapter promises, beyond the shared contract: leases on the
/// database's clock, one migration when several processes start together, concurrent
/// importers, wake-ups across processes, and URLs that never leak a password.
@Suite("PostgreSQL store")
struct PostgresStoreTests {
    static let logger: Logger = {
        var logger = Logger(label: "postgres-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with `count` stores on one fresh database (as `count` processes would),
    /// their pools running.
    func withStores(_ count: Int, clock: PostgresStore.LeaseClock = .database, migrate: Bool = true,
                    _ body: ([PostgresStore]) async throws -> Void) async throws {
        let database = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(database.name) }
        let stores = try (0..<count).map { _ in PostgresStore(url: try PostgresURL(database.url), logger: Self.logger, leaseClock: clock) }
        if migrate { try await stores[0].migrate() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { await store.client.run() } }
            defer { group.cancelAll() }
            try await body(stores)
        }
    }

    func seed(_ store: PostgresStore, _ emails: [String], now: Date) async throws -> UpsertResult {
        try await store.upsertLeads(emails, now: now) { id, email, _, state in
            if state == nil { state = LeadState(lead: Lead(id: id, email: email), now: now) }
            let send = SendRequest(key: SendKey(leadID: id, sequence: "s", step: "welcome", enrollment: 1), template: "welcome", subject: nil, tracking: true)
            return LeadChange(effects: [.send(send)], nextWake: nil)
        }
    }

    @Test("statements queued on a connection at once run in order; one that fails fails the transaction, and its error is the one thrown")
    func pipelinedStatements() async throws {
        try await withStores(1, migrate: false) { stores in
            let store = stores[0]
            // In order: the table exists before the rows go in.
            try await store.executePipelined(["CREATE TABLE piped (x integer PRIMARY KEY)", "INSERT INTO piped VALUES (1)", "INSERT INTO piped VALUES (2)"])
            do {
                try await store.executePipelined(["INSERT INTO piped VALUES (3)", "INSERT INTO piped VALUES (1)", "INSERT INTO piped VALUES (4)"])
                Issue.record("a duplicate key was accepted")
            } catch {
                #expect("\(error)".contains("duplicate key"), "the first failure, not the aborted statement after it: \(error)")
            }
            // Nothing of the failed transaction was kept: 3 and 4 go in now, 1 and 2 are still there.
            try await store.executePipelined(["INSERT INTO piped VALUES (3)", "INSERT INTO piped VALUES (4)"])
            do {
                try await store.executePipelined(["INSERT INTO piped VALUES (2)"])
                Issue.record("the first transaction's rows were lost")
            } catch {
                #expect("\(error)".contains("duplicate key"))
            }
        }
    }

    @Test("p14 on a database with leads keeps JSON; p1 to p14 at once writes binary; after a switch every process follows within the setting's max age")
    func leadStateFormatRollout() async throws {
        let database = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(database.name) }
        // Two processes; the second one's clock for the setting's age is the test's.
        let elapsed = Mutex<Duration>(.zero)
        let stores = [
            PostgresStore(url: try PostgresURL(database.url), logger: Self.logger, leaseClock: .caller),
            PostgresStore(url: try PostgresURL(database.url), logger: Self.logger, leaseClock: .caller,
                          stateFormat: LeadStateFormatCache(elapsed: { elapsed.withLock { $0 } })),
        ]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { await store.client.run() } }
            defer { group.cancelAll() }
            // A lead written by the version before (JSON, state version 1).
            try await stores[0].migrate(upTo: "p13: events set aside")
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            let old = try LeadStateCoder().encode(LeadState(lead: Lead(id: "1", email: "old@example.com"), now: t0), as: .json)
            try await stores[0].execute(sql: """
                INSERT INTO leads (id, email, stage, score, fit_score, engagement_score, status, fields, state, state_version, created_at, updated_at)
                VALUES (1, 'old@example.com', 'lead', 0, 0, 0, 'active', '{}', decode('\(old.base64EncodedString())', 'base64'), 1, now(), now())
                """)
            try await stores[0].execute(sql: "SELECT setval('leads_id_seq', 1)")
            #expect(try await stores[0].migrate() == ["p14: binary lead states"])
            #expect(try await stores[1].leadStateFormat() == .json, "processes of the version before may still be running")
            _ = try await seed(stores[1], ["old@example.com", "new@example.com"], now: t0)
            #expect(try await stores[1].leadStateVersions() == [1: 2])

            // Switched by one process; the other, which read JSON, follows once its reading is
            // 10 s old, however its callers' times go.
            try await stores[0].setLeadStateFormat(.binary)
            elapsed.withLock { $0 = .milliseconds(9_900) }
            _ = try await seed(stores[1], ["old@example.com"], now: t0 + 3600)
            #expect(try await stores[1].leadStateVersions() == [1: 2])
            elapsed.withLock { $0 = .seconds(10) }
            _ = try await seed(stores[1], ["old@example.com"], now: t0)
            #expect(try await stores[1].leadStateVersions() == [1: 1, 2: 1])
            #expect(try await stores[0].lead(.email("old@example.com"))?.lead.id == "1")
        }
        try await withStores(1) { stores in
            let format = try await stores[0].leadStateFormat()
            #expect(format == .binary, "a database created by this version")
        }
    }

    @Test("leases are measured on the database's clock, whatever the callers' clocks say")
    func databaseClock() async throws {
        try await withStores(2) { stores in
            let now = Date()
            _ = try await seed(stores[0], ["ada@example.com"], now: now)
            let a = WorkerIdentity(id: "a", host: "h", pid: 1), b = WorkerIdentity(id: "b", host: "h", pid: 2)
            // The caller's clock runs 10 minutes ahead; the lease still ends 30 s after the database's now.
            let before = Date()
            let claimed = try await stores[0].claimSends(now: Date() + 600, limit: 10, worker: a, duration: TimeSpan(seconds: 30))
            let after = Date()
            try #require(claimed.count == 1)
            let until = claimed[0].lease.until
            #expect(until >= before + 29 && until <= after + 31, "30 s from the database's now: \(until), claimed between \(before) and \(after)")
            // A second process whose clock runs an hour ahead does not take the lease.
            #expect(try await stores[1].claimSends(now: now + 3600, limit: 10, worker: b, duration: TimeSpan(seconds: 30)).isEmpty)
            // Nor does it take the worker for dead: its heartbeat is fresh on the database's clock.
            #expect(try await stores[1].recoverDeadWorkers(now: now + 3600, deadAfter: TimeSpan(seconds: 30), host: "other", isRunning: { _ in true }) == 0)
            #expect(try await stores[0].completeSends([(claimed[0], .sent(messageID: "<m@x>", reply: "250"))], now: now) == 0)
        }
    }

    @Test("several processes migrating an empty database at once: one applies, the others find it done")
    func concurrentMigrations() async throws {
        try await withStores(4, migrate: false) { stores in
            let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                for store in stores { group.addTask { try await store.migrate() } }
                var all: [[String]] = []
                for try await names in group { all.append(names) }
                return all
            }
            #expect(applied.filter { !$0.isEmpty }.count == 1)
            #expect(try await stores[0].pendingMigrations().isEmpty)
            let rows = try TestPostgres.psql("SELECT count(*) FROM schema_migrations", database: stores[0].databaseName)
            #expect(applied.flatMap { $0 }.count == Int(rows), "each migration applied once: \(applied)")
            #expect(Int(rows) == PostgresStore.migrationNames.count)
        }
    }

    @Test("two importers of overlapping lists at once: every address once, every welcome queued once")
    func concurrentImports() async throws {
        try await withStores(2) { stores in
            let now = Date()
            let first = (0..<300).map { "l\($0)@example.com" }
            let second = (150..<450).map { "L\($0)@Example.com" }.reversed()
            async let a = seed(stores[0], first, now: now)
            async let b = seed(stores[1], Array(second), now: now)
            let (ra, rb) = try await (a, b)
            #expect(ra.created + rb.created == 450)
            #expect(ra.sendsQueued + rb.sendsQueued == 450)
            let counts = try await stores[0].counts(now: now)
            #expect(counts.leads == 450 && counts.queuedSends == 450)
        }
    }

    @Test("a send queued by one process wakes the others (NOTIFY); a decision that queues nothing does not")
    func wakeups() async throws {
        try await withStores(2) { stores in
            let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
            let listener = stores[1]
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await listener.listenForWakeups { continuation.yield() }
                }
                defer { group.cancelAll() }
                // Wait until the listener listens: a notification made before is not delivered.
                var listening = false
                for _ in 0..<200 where !listening {
                    listening = try TestPostgres.psql("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%'",
                                                      database: stores[0].databaseName) != "0"
                    if !listening { try await Task.sleep(for: .milliseconds(20)) }
                }
                try #require(listening)
                let now = Date()
                _ = try await seed(stores[0], ["ada@example.com"], now: now)
                var iterator = stream.makeAsyncIterator()
                _ = await iterator.next() // the queued welcome rang
                // A decision that queues nothing and brings nothing forward announces nothing:
                // the next ring is the one of the send queued after it, and nothing is left over.
                _ = try await stores[0].updateLead(.email("ada@example.com"), now: now, recording: nil) { _ in LeadChange(effects: [], nextWake: nil) }
                _ = try await seed(stores[0], ["bob@example.com"], now: now)
                _ = await iterator.next()
                _ = try await stores[0].updateLead(.email("bob@example.com"), now: now, recording: nil) { _ in LeadChange(effects: [], nextWake: nil) }
                try await Task.sleep(for: .milliseconds(300)) // the time a stray notification would take to arrive
                continuation.finish()
                #expect(await iterator.next() == nil, "no ring for decisions that queued nothing")
            }
        }
    }

    @Test("the relay's rate is one bucket for the whole deployment: what one process takes, the other does not get")
    func sharedRate() async throws {
        try await withStores(2) { stores in
            // A bucket of 10 that refills at one permit every 1,000 s: no refill during the test.
            #expect(try await stores[0].takePermits(7, perSecond: 0.001, burst: 10) == 7)
            #expect(try await stores[1].takePermits(7, perSecond: 0.001, burst: 10) == 3)
            #expect(try await stores[0].takePermits(5, perSecond: 0.001, burst: 10) == 0)
            let both = try await withThrowingTaskGroup(of: Int.self) { group in
                for store in stores { group.addTask { try await store.takePermits(1, perSecond: 0.001, burst: 10) } }
                return try await group.reduce(0, +)
            }
            #expect(both == 0)
        }
    }

    @Test("URLs: parts, sslmode, pool size; the password never shows")
    func urls() throws {
        let url = try PostgresURL("postgres://nurture:s%40cret@db.internal:6543/marketing?sslmode=require&pool_size=20")
        #expect(url.host == "db.internal" && url.port == 6543 && url.username == "nurture" && url.password == "s@cret")
        #expect(url.database == "marketing" && url.sslMode == .require && url.poolSize == 20)
        #expect(!url.description.contains("cret") && url.description.contains("<redacted>"))
        #expect(try PostgresURL("postgresql://u@h/d").sslMode == .prefer)
        #expect(try PostgresURL("postgres://u:50%25OFF@h/d").password == "50%OFF", "decoded once")
        #expect(try PostgresURL("postgres://u@h/d?sslmode=verify-full").sslMode == .verifyFull)
        #expect(throws: PostgresURLError.missingPart("database name (the path: postgres://user@host/DATABASE)")) { try PostgresURL("postgres://u:p@h:5432") }
        #expect(throws: PostgresURLError.invalid("sslmode", "sometimes")) { try PostgresURL("postgres://u@h/d?sslmode=sometimes") }
        #expect(throws: PostgresURLError.unknownParameter("sslcert")) { try PostgresURL("postgres://u@h/d?sslcert=x") }
        #expect(throws: PostgresURLError.missingPart("user")) { try PostgresURL("postgres://h/d") }
        let location = try StoreLocation(parsing: "postgres://nurture:hunter2@db/m")
        #expect(!location.description.contains("hunter2"))
    }

    @Test("an unreachable server is reported with what went wrong, and no password")
    func unreachable() async throws {
        let store = PostgresStore(url: try PostgresURL("postgres://nurture:hunter2@127.0.0.1:1/x?sslmode=disable"), logger: Self.logger)
        do {
            try await store.migrate()
            Issue.record("migrated on a closed port")
        } catch {
            let text = "\(error)"
            #expect(text.contains("PostgreSQL") && text.localizedCaseInsensitiveContains("refused"), "\(text)")
            #expect(!text.contains("hunter2"))
        }
    }
}
