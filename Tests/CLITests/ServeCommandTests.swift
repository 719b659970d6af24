import Foundation
import Testing
import TestSupport

@Suite("nurture serve, run as an operator would", .serialized)
struct ServeCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL

    /// A folder with a config pointing at `smtp`, the shipped files, and a free HTTP port.
    func setUp(smtp: LoopbackServer) throws -> (URL, Int) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-serve-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let port = deadLoopbackPort()
        // The shipped workflows, with the send window open all week: the test must not depend
        // on the day and hour it runs at (the window itself is covered by the engine's tests).
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Workflows"), to: folder.appendingPathComponent("Workflows"))
        let funnel = folder.appendingPathComponent("Workflows/funnel.yaml")
        let text = try String(contentsOf: funnel, encoding: .utf8)
            .replacingOccurrences(of: "days: mon-fri", with: "days: every day")
            .replacingOccurrences(of: "hours: \"09:00-17:00\"", with: "hours: \"00:00-24:00\"")
        try text.write(to: funnel, atomically: true, encoding: .utf8)
        try """
        database: \(folder.path)/nurture.sqlite
        workflows: \(folder.path)/Workflows
        templates: \(Self.repository.path)/Templates
        pid_file: \(folder.path)/nurture.pid
        sender: { from: "Acme <hello@acme.example>" }
        tracking: { base_url: "http://127.0.0.1:\(port)", secret: serve-test-secret-0123456789, machine_open_seconds: 0, scanner_click_seconds: 0 }
        http: { listen: "127.0.0.1:\(port)", api_key: serve-test-api-key }
        relay: { url: "smtp://127.0.0.1:\(smtp.port)", starttls: "off", connections: 2 }
        scheduler: { poll_interval: 1s }
        """.write(to: folder.appendingPathComponent("nurture.yaml"), atomically: true, encoding: .utf8)
        let csv = "email,first_name,timezone\n" + (1...12).map { "lead\($0)@example.com,Lead\($0),America/New_York" }.joined(separator: "\n") + "\n"
        try csv.write(to: folder.appendingPathComponent("leads.csv"), atomically: true, encoding: .utf8)
        return (folder, port)
    }

    func start(_ folder: URL) throws -> ChildProcess {
        let process = ChildProcess()
        process.executableURL = builtProduct("nurture")
        process.arguments = ["serve", "--config", folder.appendingPathComponent("nurture.yaml").path, "--log-level", "warning"]
        process.currentDirectoryURL = folder
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls `condition` (a real process doing real work) for up to `seconds`.
    func eventually(_ seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    /// The HTTP status code of a request (no `-f`: an error status is an answer too).
    func status(_ url: String, _ extra: [String] = []) -> Int? {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "--max-time", "2", "-o", "/dev/null", "-w", "%{http_code}"] + extra + [url]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try? process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        waitForExit(process)
        return Int(String(decoding: data, as: UTF8.self))
    }

    func http(_ url: String, _ extra: [String] = []) -> String? {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-sf", "--max-time", "2"] + extra + [url]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try? process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        waitForExit(process)
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }

    @Test("serves, sends, stops gracefully on SIGTERM with exit 0, and a restart repeats nothing")
    func lifecycle() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let (folder, port) = try setUp(smtp: smtp)
        let imported = try runNurture(["leads", "import", "leads.csv", "--config", folder.appendingPathComponent("nurture.yaml").path], directory: folder)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("imported 12 leads (12 new, 0 updated)"))

        let serve = try start(folder)
        #expect(eventually { http("http://127.0.0.1:\(port)/healthz") == "ok\n" })
        #expect(try eventually { try smtp.records("messages.jsonl").count == 12 })
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("nurture.pid").path))

        // SIGHUP with a broken template folder would be refused; with the same files it reloads. Either way it keeps running.
        let reload = try runNurture(["reload", "--config", folder.appendingPathComponent("nurture.yaml").path], directory: folder)
        #expect(reload.status == 0, "\(reload.stderr)")
        usleep(300_000)
        #expect(serve.isRunning)

        serve.terminate() // SIGTERM
        waitForExit(serve)
        #expect(serve.terminationStatus == 0)
        #expect(serve.terminationReason == .exit)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("nurture.pid").path))

        // After kill -9 and a restart, nothing is lost and nothing repeats (nothing was in flight).
        let again = try start(folder)
        #expect(eventually { http("http://127.0.0.1:\(port)/healthz") == "ok\n" })
        kill(again.processIdentifier, SIGKILL)
        waitForExit(again)
        let third = try start(folder)
        #expect(eventually { http("http://127.0.0.1:\(port)/healthz") == "ok\n" })
        usleep(1_500_000) // a poll interval and a half: any due work would have gone out
        third.terminate()
        waitForExit(third)
        let messages = try smtp.records("messages.jsonl")
        #expect(messages.count == 12)

        let show = try runNurture(["leads", "show", "lead1@example.com", "--config", folder.appendingPathComponent("nurture.yaml").path], directory: folder)
        #expect(show.stdout.contains("stage: lead"))
        #expect(show.stdout.contains("sent    lead-welcome/welcome (welcome)"))
        #expect(show.stdout.contains("enrollment: lead-welcome #1, at step 'wait-2'"))
    }

    @Test("the seeds' scenario end to end through nurture serve: real HTTP, real SMTP")
    func seedsScenario() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let (folder, port) = try setUp(smtp: smtp)
        // A poll far longer than the waits below: only the doorbell can send in time.
        let config = folder.appendingPathComponent("nurture.yaml")
        try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "poll_interval: 1s", with: "poll_interval: 10m").write(to: config, atomically: true, encoding: .utf8)
        let serve = try start(folder)
        defer { serve.terminate(); waitForExit(serve) }
        let base = "http://127.0.0.1:\(port)"
        let auth = ["-H", "Authorization: Bearer serve-test-api-key", "-H", "Content-Type: application/json"]
        #expect(eventually { http("\(base)/healthz") == "ok\n" })
        #expect(http("\(base)/v1/leads", ["-X", "POST"] + auth + ["-d", #"{"email": "ada@example.com", "first_name": "Ada", "job_title": "CTO", "employees": 300}"#]) != nil)
        // The doorbell: the welcome goes out at once, not at the next poll.
        #expect(try eventually(5) { try smtp.records("messages.jsonl").count == 1 })
        let data = String(decoding: Data(base64Encoded: try smtp.records("messages.jsonl")[0]["data"] as! String)!, as: UTF8.self)
        let html = try #require(try ParsedMessage.parse(Array(data.utf8)).parts.last).content
        func token(_ kind: String) -> String? {
            html.components(separatedBy: "\(base)/\(kind)/").dropFirst().first.map { String($0.prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })) }
        }
        #expect(http("\(base)/o/\(try #require(token("o")))") != nil)
        #expect(http("\(base)/c/\(try #require(token("c")))", ["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"]) == "302 https://acme-analytics.example/start?utm_source=nurture&utm_campaign=welcome")
        let events = #"[{"type": "page_visited", "email": "ada@example.com", "properties": {"path": "/pricing"}}, {"type": "form_submitted", "email": "ada@example.com", "properties": {"form": "quote"}}]"#
        #expect(http("\(base)/v1/events", ["-X", "POST"] + auth + ["-d", events]) != nil)
        // Score 63 → MQL: the next stage's first email arrives.
        #expect(try eventually(5) { try smtp.records("messages.jsonl").count == 2 })
        // The open and the click were answered once stored, and are decided right after: the
        // score counts them (the stage move alone needs 51 of the 63).
        var json: [String: Any] = [:]
        #expect(eventually(5) {
            json = (try? JSONSerialization.jsonObject(with: Data((http("\(base)/v1/leads/ada@example.com", auth) ?? "").utf8))) as? [String: Any] ?? [:]
            return json["score"] as? Int == 63
        }, "\(json)")
        #expect(json["stage"] as? String == "mql")
        // Without the key, or with a wrong one: 401.
        #expect(status("\(base)/v1/leads/ada@example.com") == 401)
        #expect(status("\(base)/v1/leads/ada@example.com", ["-H", "Authorization: Bearer wrong"]) == 401)
        #expect(status("\(base)/metrics") == 401)
        #expect(status("\(base)/v1/leads/ada@example.com", auth) == 200)
    }

    @Test("a bad configuration is refused at start-up with the reason, exit 78")
    func badConfiguration() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-badconf-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "relay: { url: gopher://x, conections: 4 }\nsender: { from: not-an-address }\n".write(to: folder.appendingPathComponent("nurture.yaml"), atomically: true, encoding: .utf8)
        let result = try runNurture(["serve", "--config", folder.appendingPathComponent("nurture.yaml").path], directory: folder, environment: ["NURTURE_SECRET": "a-secret-long-enough-for-this"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("unknown key 'conections' in relay; did you mean 'connections'?"))
        #expect(result.stderr.contains("sender.from 'not-an-address' is not an email address"))
        #expect(result.stderr.contains("relay scheme 'gopher' is not supported"))
        try "reports: { attribution_window: soon }\n".write(to: folder.appendingPathComponent("nurture.yaml"), atomically: true, encoding: .utf8)
        let window = try runNurture(["report", "--config", folder.appendingPathComponent("nurture.yaml").path], directory: folder, environment: ["NURTURE_SECRET": "a-secret-long-enough-for-this"])
        #expect(window.status == 78 && window.stderr.contains("nurture.yaml:1:") && window.stderr.contains("reports.attribution_window must be a duration like 3d or 12h, or off"), "\(window.stderr)")
        let noSecret = try runNurture(["run"], directory: folder)
        #expect(noSecret.status == 78)
        #expect(noSecret.stderr.contains("tracking.secret is missing"))
    }
}
