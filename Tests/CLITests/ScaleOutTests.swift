import Foundation
import Testing
import TestSupport

/// Several `nurture serve` processes on one PostgreSQL database, each with its own relay, as an
/// operator runs them on several machines: exactly once, a kill -9, a process frozen past its
/// lease, wake-ups across processes.
extension LongRunningProcessTests {
    @Suite("Scale-out: N nurture serve on one PostgreSQL", .serialized)
    struct ScaleOutTests {
        let serve = ServeCommandTests()
        static let connections = 4
        // Two sends per connection: one on the wire, one rendered and waiting for it.
        static let inFlightBound = 2 * connections + 16

        /// Processes sharing one database: a folder, an HTTP port and a relay each.
        struct Cluster {
            var database: (name: String, url: String)
            var folders: [URL]
            var relays: [LoopbackServer]

            func stop() {
                for relay in relays { relay.stop() }
                TestPostgres.dropDatabase(database.name)
            }

            /// Message-IDs received by each relay (one line each).
            func received(_ index: Int) -> [String] { (try? relays[index].lines("ids.txt")) ?? [] }
            var all: [String] { relays.indices.flatMap(received) }
        }

        func prepare(processes: Int, leads count: Int, relay extra: String = "", poll: String = "1s") throws -> Cluster {
            let database = try TestPostgres.createDatabase()
            var folders: [URL] = []
            var relays: [LoopbackServer] = []
            for _ in 0..<processes {
                let smtp = try LoopbackServer.smtp()
                let (folder, _) = try serve.setUp(smtp: smtp)
                let config = folder.appendingPathComponent("nurture.yaml")
                let text = try String(contentsOf: config, encoding: .utf8)
                    .replacingOccurrences(of: "database: \(folder.path)/nurture.sqlite", with: "database: \"\(database.url)\"")
                    .replacingOccurrences(of: "starttls: \"off\", connections: 2", with: "starttls: \"off\", connections: \(Self.connections)\(extra)")
                    .replacingOccurrences(of: "poll_interval: 1s", with: "poll_interval: \(poll)")
                try text.write(to: config, atomically: true, encoding: .utf8)
                folders.append(folder)
                relays.append(smtp)
            }
            if count > 0 {
                let csv = "email,first_name,timezone\n" + (1...count).map { "lead\($0)@example.com,Lead\($0),America/New_York" }.joined(separator: "\n") + "\n"
                try csv.write(to: folders[0].appendingPathComponent("leads.csv"), atomically: true, encoding: .utf8)
                let imported = try runNurture(["leads", "import", "leads.csv", "--config", "nurture.yaml"], directory: folders[0])
                try #require(imported.status == 0, "\(imported.stderr)")
            }
            return Cluster(database: database, folders: folders, relays: relays)
        }

        /// `nurture serve` in `folder`, its log in `serve.log` there.
        func start(_ folder: URL) throws -> ChildProcess {
            let process = ChildProcess()
            process.executableURL = builtProduct("nurture")
            process.arguments = ["serve", "--config", folder.appendingPathComponent("nurture.yaml").path, "--log-level", "warning"]
            process.currentDirectoryURL = folder
            let log = folder.appendingPathComponent("serve.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: log)
            try process.run()
            return process
        }

        func stop(_ process: ChildProcess) {
            if process.isRunning { process.terminate() }
            waitForExit(process)
        }

        @Test("two processes, each with its own relay: every lead gets its welcome exactly once, and both sent some")
        func exactlyOnce() throws {
            let cluster = try prepare(processes: 2, leads: 3_000)
            defer { cluster.stop() }
            let processes = try cluster.folders.map(start)
            defer { processes.forEach(stop) }
            #expect(serve.eventually(90) { Set(cluster.all).count >= 3_000 }, "\(Set(cluster.all).count) distinct received")
            usleep(500_000)
            let all = cluster.all
            print("scale-out: 2 processes, 3,000 welcomes: \(cluster.received(0).count) + \(cluster.received(1).count) sent, \(all.count - Set(all).count) duplicate Message-IDs")
            #expect(Set(all).count == 3_000)
            #expect(all.count == 3_000, "0 duplicate Message-IDs")
            #expect(!cluster.received(0).isEmpty && !cluster.received(1).isEmpty, "both processes sent some")
            #expect(try TestPostgres.psql("SELECT count(*) FROM sends WHERE status = 'sent'", database: cluster.database.name) == "3000")
            // SIGTERM: each stops gracefully (the connection pool last) and exits 0.
            for process in processes { process.terminate() }
            for process in processes {
                #expect(waitForExit(process, seconds: 15))
                #expect(process.terminationStatus == 0)
            }
            #expect(try TestPostgres.psql("SELECT count(*) FROM workers", database: cluster.database.name) == "0", "both retired")
        }

        @Test("relay.rate_limit holds for the deployment: two processes at 50/s send 50/s together, not 100")
        func sharedRateLimit() throws {
            let cluster = try prepare(processes: 2, leads: 600, relay: ", rate_limit: 50")
            defer { cluster.stop() }
            let started = Date()
            let processes = try cluster.folders.map(start)
            defer { processes.forEach(stop) }
            #expect(serve.eventually(60) { Set(cluster.all).count >= 600 }, "\(Set(cluster.all).count) received")
            let took = Date().timeIntervalSince(started)
            print("scale-out: 600 emails, 2 processes, rate_limit 50: \(String(format: "%.1f", took)) s (\(cluster.received(0).count) + \(cluster.received(1).count))")
            // 600 at 50/s with a burst of 50 takes at least 11 s; at 50/s each it would take 5.5 s.
            #expect(took >= 10.5, "\(took) s: faster than the deployment's rate")
            #expect(!cluster.received(0).isEmpty && !cluster.received(1).isEmpty)
        }

        @Test("kill -9 one of two mid-send: the other delivers the rest within a minute; repeats only of what was in flight, same Message-ID")
        func killOne() throws {
            let cluster = try prepare(processes: 2, leads: 3_000, relay: ", rate_limit: 100")
            defer { cluster.stop() }
            let processes = try cluster.folders.map(start)
            defer { processes.forEach(stop) }
            #expect(serve.eventually(60) { cluster.received(0).count >= 300 })
            kill(processes[0].processIdentifier, SIGKILL)
            waitForExit(processes[0])
            let killed = Date()
            #expect(serve.eventually(90) { Set(cluster.all).count >= 3_000 }, "\(Set(cluster.all).count) distinct received")
            let after = Date().timeIntervalSince(killed)
            let all = cluster.all
            print("scale-out: kill -9 of one of 2: all 3,000 delivered \(String(format: "%.1f", after)) s after the kill, \(all.count - 3_000) repeats")
            #expect(Set(all).count == 3_000)
            #expect(after < 60)
            #expect(all.count - 3_000 <= Self.inFlightBound)
        }

        @Test("a process frozen (SIGSTOP) past its lease and resumed: the other sends its work, the late one changes nothing")
        func frozenPastLease() throws {
            let cluster = try prepare(processes: 2, leads: 1_500, relay: ", rate_limit: 40")
            defer { cluster.stop() }
            let processes = try cluster.folders.map(start)
            defer {
                kill(processes[0].processIdentifier, SIGCONT)
                processes.forEach(stop)
            }
            #expect(serve.eventually(60) { cluster.received(0).count >= 100 })
            kill(processes[0].processIdentifier, SIGSTOP)
            let frozenAt = cluster.received(0).count
            // Past the lease (30 s) and the next claim that finds it expired: real time must pass here.
            Thread.sleep(forTimeInterval: 40)
            kill(processes[0].processIdentifier, SIGCONT)
            #expect(serve.eventually(90) { Set(cluster.all).count >= 1_500 }, "\(Set(cluster.all).count) distinct received")
            usleep(3_000_000) // the resumed process's late outcomes, if any, are written now
            let all = cluster.all
            let lateSends = cluster.received(0).count - frozenAt
            let port = try FaultTests().portOf(cluster.folders[0])
            let metrics = serve.http("http://127.0.0.1:\(port)/metrics", ["-H", "Authorization: Bearer serve-test-api-key"]) ?? ""
            let stale = metrics.split(separator: "\n").first { $0.hasPrefix("nurture_stale_completions_total ") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
            print("scale-out: SIGSTOP 40 s then SIGCONT: \(all.count - 1_500) repeats, \(lateSends) sent by the resumed process (its in-flight sends), \(stale) late outcomes refused")
            #expect(Set(all).count == 1_500)
            // What was in flight at the freeze (handed to the relay, outcome not yet written) went
            // out again from the other process; nothing the frozen one had claimed and not started.
            #expect(all.count - 1_500 <= Self.inFlightBound)
            #expect(lateSends <= Self.connections, "the resumed process finished what it was sending and started nothing it had claimed before")
            #expect(all.count == 1_500 || stale > 0, "its late outcomes were refused (fenced), and counted")
            #expect(try TestPostgres.psql("SELECT count(*) FROM sends WHERE status = 'sent'", database: cluster.database.name) == "1500")
            #expect(try TestPostgres.psql("SELECT count(*) FROM sends WHERE status <> 'sent'", database: cluster.database.name) == "0")
        }

        @Test("poll_interval 60 s: an email queued by another process is delivered in under a second (NOTIFY)")
        func wakeAcrossProcesses() throws {
            let cluster = try prepare(processes: 2, leads: 0, poll: "60s")
            defer { cluster.stop() }
            let server = try start(cluster.folders[1])
            defer { stop(server) }
            let port = try FaultTests().portOf(cluster.folders[1])
            #expect(serve.eventually { serve.http("http://127.0.0.1:\(port)/healthz") == "ok\n" })
            // Its first pass is done and it sleeps for a minute, listening.
            #expect(serve.eventually {
                (try? TestPostgres.psql("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%'", database: cluster.database.name)) == "1"
            })
            var latencies: [Double] = []
            for n in 1...3 {
                let add = try runNurture(["leads", "add", "--email", "late\(n)@example.com", "--config", "nurture.yaml"], directory: cluster.folders[0])
                let queued = Date()
                try #require(add.status == 0 && add.stdout.contains("1 email queued"), "\(add.stdout)\(add.stderr)")
                #expect(serve.eventually(5) { cluster.received(1).count >= n })
                latencies.append(Date().timeIntervalSince(queued))
            }
            print("scale-out: queued by one process, delivered by the other (poll 60 s): \(latencies.map { String(format: "%.0f ms", $0 * 1000) }.joined(separator: ", "))")
            #expect(latencies.allSatisfy { $0 < 1 }, "\(latencies)")
        }
    }
}

extension LongRunningProcessTests {
    @Suite("Every command on a PostgreSQL URL")
    struct PostgresCommandTests {
        @Test("leads import, add, show, stage, suppress, run and dry-run --email work on postgres://, as on a SQLite file")
        func commands() throws {
            let scale = ScaleOutTests()
            let cluster = try scale.prepare(processes: 1, leads: 12)
            defer { cluster.stop() }
            let folder = cluster.folders[0]
            func nurture(_ arguments: [String]) throws -> CommandResult {
                try runNurture(arguments + ["--config", "nurture.yaml"], directory: folder)
            }
            let add = try nurture(["leads", "add", "--email", "Grace@Example.com", "--field", "first_name=Grace", "--field", "company=Navy"])
            #expect(add.status == 0 && add.stdout.contains("added grace@example.com"), "\(add.stdout)\(add.stderr)")
            let run = try nurture(["run"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("sent 13"), "\(run.stdout)")
            #expect(run.stdout.contains("database: 13 leads, 13 emails sent, 0 queued"), "\(run.stdout)")
            #expect(try cluster.relays[0].lines("ids.txt").count == 13)
            let stage = try nurture(["leads", "stage", "grace@example.com", "sql", "--reason", "booked a demo"])
            #expect(stage.status == 0 && stage.stdout.contains("is now in stage sql"), "\(stage.stdout)\(stage.stderr)")
            let suppress = try nurture(["leads", "suppress", "lead3@example.com"])
            #expect(suppress.status == 0, "\(suppress.stderr)")
            let show = try nurture(["leads", "show", "grace@example.com"])
            #expect(show.status == 0, "\(show.stderr)")
            #expect(show.stdout.contains("sql") && show.stdout.contains("booked a demo") && show.stdout.contains("sent"), "\(show.stdout)")
            let shown = try nurture(["leads", "show", "lead3@example.com"])
            #expect(shown.stdout.contains("suppressed") || shown.stdout.contains("manual"), "\(shown.stdout)")
            #expect(try TestPostgres.psql("SELECT reason FROM suppressions WHERE email = 'lead3@example.com'", database: cluster.database.name) == "manual")
            let dryRun = try runNurture(["dry-run", "--email", "grace@example.com", "--config", "nurture.yaml", "--days", "3",
                                         "--workflows", "Workflows", "--templates", ServeCommandTests.repository.appendingPathComponent("Templates").path], directory: folder)
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("grace@example.com") || dryRun.stdout.contains("Grace"), "\(dryRun.stdout)")
            let missing = try nurture(["leads", "show", "nobody@example.com"])
            #expect(missing.status == 1 && missing.stderr.contains("no lead nobody@example.com"))
            let check = try nurture(["migrate", "--check"])
            #expect(check.status == 0 && check.stdout.contains("up to date") && check.stdout.contains("<redacted>") == false)
        }
    }
}
