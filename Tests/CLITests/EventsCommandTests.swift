import Foundation
import Testing
import TestSupport

@Suite("nurture events: a lead whose opens cannot be decided, as an operator meets it")
struct EventsCommandTests {
    @Test("the open is answered and kept; after three failed tries alone it is set aside and the gauge says so; fixed, retried, nurture run decides it")
    func setAsideAndRetry() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let serve = ServeCommandTests()
        let (folder, port) = try serve.setUp(smtp: smtp)
        let database = folder.appendingPathComponent("nurture.sqlite").path
        let process = try serve.start(folder)
        defer { if process.isRunning { process.terminate(); waitForExit(process) } }
        let base = "http://127.0.0.1:\(port)"
        let auth = ["-H", "Authorization: Bearer serve-test-api-key", "-H", "Content-Type: application/json"]
        #expect(serve.eventually { serve.http("\(base)/healthz") == "ok\n" })
        #expect(serve.http("\(base)/v1/leads", ["-X", "POST"] + auth + ["-d", #"{"email": "ada@example.com", "first_name": "Ada"}"#]) != nil)
        #expect(try serve.eventually(5) { try smtp.records("messages.jsonl").count == 1 })
        let data = String(decoding: Data(base64Encoded: try smtp.records("messages.jsonl")[0]["data"] as! String)!, as: UTF8.self)
        let html = try #require(try ParsedMessage.parse(Array(data.utf8)).parts.last).content
        let pixel = try #require(html.components(separatedBy: "\(base)/o/").dropFirst().first.map { String($0.prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })) })
        func score() -> Int? {
            let json = (try? JSONSerialization.jsonObject(with: Data((serve.http("\(base)/v1/leads/ada@example.com", auth) ?? "").utf8))) as? [String: Any]
            return json?["score"] as? Int
        }
        let before = try #require(score())

        // Every write of ada's row fails, as a row no write can take would.
        try sqlite(database, "CREATE TRIGGER poison BEFORE UPDATE ON leads WHEN OLD.email = 'ada@example.com' BEGIN SELECT RAISE(ABORT, 'poisoned lead'); END")
        #expect(serve.http("\(base)/o/\(pixel)") != nil, "answered: stored")
        #expect(serve.eventually(20) { (serve.http("\(base)/metrics", auth) ?? "").contains("nurture_events_set_aside 1") })
        let listed = try runNurture(["events", "set-aside", "--config", "nurture.yaml"], directory: folder)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("opened  ada@example.com") && listed.stdout.contains("poisoned lead"), "\(listed.stdout)")
        #expect(score() == before, "not decided")
        let shownAside = try runNurture(["leads", "show", "ada@example.com", "--config", "nurture.yaml"], directory: folder)
        #expect(shownAside.stdout.contains("opened (SET ASIDE, not decided: "), "\(shownAside.stdout)")
        process.terminate()
        waitForExit(process)

        // Fixed, queued again, decided.
        try sqlite(database, "DROP TRIGGER poison")
        let retried = try runNurture(["events", "retry", "--all", "--config", "nurture.yaml"], directory: folder)
        #expect(retried.status == 0 && retried.stdout == "1 event queued again\n", "\(retried.stdout)\(retried.stderr)")
        let run = try runNurture(["run", "--config", "nurture.yaml"], directory: folder)
        #expect(run.status == 0, "\(run.stderr)")
        let shown = try runNurture(["leads", "show", "ada@example.com", "--config", "nurture.yaml"], directory: folder)
        let line = shown.stdout.split(separator: "\n").first { $0.hasPrefix("score: ") }
        let after = try #require(line.flatMap { Int($0.dropFirst(7).prefix(while: \.isNumber)) }, "\(shown.stdout)\(shown.stderr)")
        #expect(after > before, "\(shown.stdout)")
        let empty = try runNurture(["events", "set-aside", "--config", "nurture.yaml"], directory: folder)
        #expect(empty.stdout == "no events set aside\n")
        let bad = try runNurture(["events", "retry", "--config", "nurture.yaml"], directory: folder)
        #expect(bad.status != 0 && bad.stderr.contains("give the events' numbers, or --all"), "\(bad.stderr)")
    }

    /// Runs SQL on the database file with Python's sqlite3 (another program, as an operator's tool would).
    func sqlite(_ path: String, _ sql: String) throws {
        let result = try runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", path, sql])
        try #require(result.status == 0, "\(result.stderr)")
    }
}
