import Foundation
import Testing
import TestSupport

/// Faults as an operator meets them, against the real `nurture serve` and a real SMTP server:
/// kill -9 in the middle of a send, SIGTERM under a backlog, a relay that is down.
///
/// "In flight" at a kill: sends handed to the relay whose outcome was not yet recorded — at
/// most twice the relay connections plus one group of outcomes (16) per kill. Only those may repeat,
/// and they repeat with the same Message-ID.
extension LongRunningProcessTests {
    @Suite("Faults: kill -9, SIGTERM under a backlog, relay down", .serialized)
    struct FaultTests {
        let serve = ServeCommandTests()
        static let connections = 4
        // Two sends per connection: one on the wire, one rendered and waiting for it.
        static let inFlightBound = 2 * connections + 16

        /// A folder with `count` leads imported (each has its welcome queued), and `nurture.yaml`
        /// pointing at the relay on `relayPort` with `extra` relay settings.
        func prepare(leads count: Int, relayPort: Int, relay extra: String = "") throws -> URL {
            let smtp = try LoopbackServer.smtp()
            defer { smtp.stop() }
            let (folder, _) = try serve.setUp(smtp: smtp)
            let config = folder.appendingPathComponent("nurture.yaml")
            let text = try String(contentsOf: config, encoding: .utf8)
                .replacingOccurrences(of: "smtp://127.0.0.1:\(smtp.port)\", starttls: \"off\", connections: 2", with: "smtp://127.0.0.1:\(relayPort)\", starttls: \"off\", connections: \(Self.connections)\(extra)")
            try text.write(to: config, atomically: true, encoding: .utf8)
            let csv = "email,first_name,timezone\n" + (1...count).map { "lead\($0)@example.com,Lead\($0),America/New_York" }.joined(separator: "\n") + "\n"
            try csv.write(to: folder.appendingPathComponent("leads.csv"), atomically: true, encoding: .utf8)
            let imported = try runNurture(["leads", "import", "leads.csv", "--config", "nurture.yaml"], directory: folder)
            try #require(imported.status == 0, "\(imported.stderr)")
            return folder
        }

        func ids(_ smtp: LoopbackServer) -> [String] { (try? smtp.lines("ids.txt")) ?? [] }

        @Test("kill -9 five times during a 10,000-email send: nothing lost, repeats only of what was in flight, same Message-IDs")
        func killNineFiveTimes() throws {
            let smtp = try LoopbackServer.smtp()
            defer { smtp.stop() }
            let folder = try prepare(leads: 10_000, relayPort: smtp.port)
            for kill in 1...5 {
                let process = try serve.start(folder)
                let target = kill * 1_500
                #expect(serve.eventually(60) { ids(smtp).count >= target }, "kill \(kill): \(ids(smtp).count) received")
                Foundation.kill(process.processIdentifier, SIGKILL)
                waitForExit(process)
            }
            let last = try serve.start(folder)
            defer { last.terminate(); waitForExit(last) }
            #expect(serve.eventually(120) { Set(ids(smtp)).count >= 10_000 }, "\(Set(ids(smtp)).count) distinct received")
            let received = ids(smtp)
            print("fault: kill -9 ×5 during 10,000 sends: \(Set(received).count) distinct delivered, \(received.count - Set(received).count) repeats (bound \(5 * Self.inFlightBound))")
            #expect(Set(received).count == 10_000, "every lead got its welcome: nothing lost")
            #expect(received.count - 10_000 <= 5 * Self.inFlightBound, "\(received.count - 10_000) repeats for 5 kills")
        }

        @Test("the issue's scenario: 300 leads at 100/s, kill -9 after 60 emails, restart: all within 60 s, repeats ≤ in flight")
        func killNineWithRateLimit() throws {
            let smtp = try LoopbackServer.smtp()
            defer { smtp.stop() }
            let folder = try prepare(leads: 300, relayPort: smtp.port, relay: ", rate_limit: 100")
            let first = try serve.start(folder)
            #expect(serve.eventually(30) { ids(smtp).count >= 60 })
            kill(first.processIdentifier, SIGKILL)
            waitForExit(first)
            let restarted = Date()
            let second = try serve.start(folder)
            defer { second.terminate(); waitForExit(second) }
            #expect(serve.eventually(60) { Set(ids(smtp)).count >= 300 }, "\(Set(ids(smtp)).count) distinct received")
            print("fault: 300 leads at 100/s, kill -9 after 60: all delivered \(String(format: "%.1f", Date().timeIntervalSince(restarted))) s after the restart, \(ids(smtp).count - 300) repeats")
            #expect(Date().timeIntervalSince(restarted) < 60)
            #expect(ids(smtp).count - 300 <= Self.inFlightBound)
        }

        @Test("SIGTERM under a 10,000-email backlog: exit 0 within 15 s; the next start sends the rest at once, nothing twice")
        func sigtermUnderBacklog() throws {
            let smtp = try LoopbackServer.smtp()
            defer { smtp.stop() }
            let folder = try prepare(leads: 10_000, relayPort: smtp.port, relay: ", rate_limit: 200")
            let first = try serve.start(folder)
            #expect(serve.eventually(30) { ids(smtp).count >= 200 })
            let asked = Date()
            first.terminate() // SIGTERM
            #expect(waitForExit(first, seconds: 15), "stopped within 15 s")
            print("fault: SIGTERM under a 10,000 backlog: exited \(first.terminationStatus) after \(String(format: "%.2f", Date().timeIntervalSince(asked))) s with \(ids(smtp).count) sent")
            #expect(first.terminationStatus == 0)
            #expect(Date().timeIntervalSince(asked) < 15)
            let before = ids(smtp).count
            #expect(before < 10_000, "a backlog was left: \(before) sent")

            let config = folder.appendingPathComponent("nurture.yaml")
            try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: ", rate_limit: 200", with: "").write(to: config, atomically: true, encoding: .utf8)
            let second = try serve.start(folder)
            defer { second.terminate(); waitForExit(second) }
            #expect(serve.eventually(90) { ids(smtp).count >= 10_000 })
            let received = ids(smtp)
            #expect(Set(received).count == 10_000)
            #expect(received.count == 10_000, "a graceful stop repeats nothing")
        }

        @Test("the relay down (connections refused) for 60 s: nothing fails for good, everything goes out when it is back")
        func relayDown() throws {
            let port = deadLoopbackPort()
            let folder = try prepare(leads: 300, relayPort: port, relay: ", max_attempts: 2, retry_after: 1s, retry_max: 3s")
            let process = try serve.start(folder)
            defer { process.terminate(); waitForExit(process) }
            #expect(serve.eventually { serve.http("http://127.0.0.1:\(try! portOf(folder))/healthz") == "ok\n" })
            // Far more than max_attempts × retry_max: a relay that cannot be reached is not the message's fault.
            Thread.sleep(forTimeInterval: 60)
            let smtp = try LoopbackServer.smtp(arguments: ["--port", "\(port)"])
            defer { smtp.stop() }
            #expect(serve.eventually(30) { Set(ids(smtp)).count >= 300 }, "\(Set(ids(smtp)).count) received")
            #expect(ids(smtp).count == 300)
        }

        func portOf(_ folder: URL) throws -> Int {
            let text = try String(contentsOf: folder.appendingPathComponent("nurture.yaml"), encoding: .utf8)
            let listen = try #require(text.components(separatedBy: "listen: \"127.0.0.1:").dropFirst().first)
            return try #require(Int(listen.prefix(while: \.isNumber)))
        }
    }
}

@Suite("A corrupted lead row, as an operator meets it")
struct ParkedLeadCommandTests {
    @Test("nurture run sends to everyone else; leads show names the parked lead's error")
    func corruptedRow() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let (folder, _) = try ServeCommandTests().setUp(smtp: smtp)
        let database = folder.appendingPathComponent("nurture.sqlite").path
        let imported = try runNurture(["leads", "import", "leads.csv", "--config", "nurture.yaml"], directory: folder)
        try #require(imported.status == 0, "\(imported.stderr)")
        // Damage one lead's stored state, as a disk or a bad manual edit would.
        let python = ChildProcess()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE leads SET state = x'00' WHERE email = 'lead3@example.com'\"); c.commit()", database]
        try python.run()
        waitForExit(python)
        let run = try runNurture(["run", "--config", "nurture.yaml"], directory: folder)
        #expect(run.status == 0, "\(run.stderr)")
        let recipients = try smtp.records("messages.jsonl").compactMap { ($0["rcpt_tos"] as? [String])?.first }
        #expect(recipients.count == 11)
        #expect(!recipients.contains("lead3@example.com"))
        let show = try runNurture(["leads", "show", "lead3@example.com", "--config", "nurture.yaml"], directory: folder)
        #expect(show.status == 1)
        #expect(show.stderr.contains("lead lead3@example.com (id 3) is parked: its stored state cannot be read"), "\(show.stderr)")
    }
}
