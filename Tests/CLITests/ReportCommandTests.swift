import Foundation
import Testing
import TestSupport

@Suite("nurture report funnel, as a marketer reads it")
struct ReportCommandTests {
    /// Leads imported and sent their welcome, two moved on by hand, one moved back.
    static func prepare(_ folder: URL) throws {
        func nurture(_ arguments: [String]) throws {
            let result = try runNurture(arguments + ["--config", "nurture.yaml"], directory: folder)
            try #require(result.status == 0, "\(arguments): \(result.stderr)")
        }
        try nurture(["leads", "import", "leads.csv"])
        try nurture(["run"])
        try nurture(["leads", "stage", "lead1@example.com", "sql"])
        try nurture(["leads", "stage", "lead2@example.com", "mql"])
        try nurture(["leads", "stage", "lead2@example.com", "lead", "--reason", "recycled by hand"])
        try nurture(["leads", "suppress", "lead5@example.com"])
    }

    static func check(_ folder: URL) throws {
        let json = try runNurture(["report", "funnel", "--format", "json", "--config", "nurture.yaml"], directory: folder)
        try #require(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let stages = try #require(object["stages"] as? [[String: Any]])
        let counts = Dictionary(uniqueKeysWithValues: stages.compactMap { s in (s["stage"] as? String).map { ($0, s["leads"] as? Int ?? -1) } })
        #expect(counts == ["lead": 11, "mql": 0, "sql": 1, "opportunity": 0, "customer": 0], "\(json.stdout)")
        let conversions = try #require(object["conversions"] as? [[String: Any]])
        let first = try #require(conversions.first)
        #expect(first["from"] as? String == "lead" && first["entered"] as? Int == 12 && first["converted"] as? Int == 2, "\(first)")
        #expect(object["recycled"] as? Int == 1)
        let text = try runNurture(["report", "funnel", "--config", "nurture.yaml"], directory: folder)
        #expect(text.status == 0 && text.stdout.contains("leads now") && text.stdout.contains("mql → lead: 1 (back)"), "\(text.stdout)")
        let csv = try runNurture(["report", "funnel", "--format", "csv", "--config", "nurture.yaml"], directory: folder)
        #expect(csv.stdout.hasPrefix("kind,stage,to,leads,entered,converted,rate,median_seconds\nstage,lead,,11,"), "\(csv.stdout)")
        let empty = try runNurture(["report", "funnel", "--since", "2020-01-01", "--until", "2020-02-01", "--format", "json", "--config", "nurture.yaml"], directory: folder)
        #expect(empty.status == 0 && empty.stdout.contains("\"entered\" : 0"), "\(empty.stdout)")
        let suppressions = try runNurture(["report", "suppressions", "--format", "json", "--config", "nurture.yaml"], directory: folder)
        #expect(suppressions.status == 0, "\(suppressions.stderr)")
        #expect(suppressions.stdout.contains(#""reason" : "manual""#) && suppressions.stdout.contains(#""in_period" : 1"#), "\(suppressions.stdout)")
        let bad = try runNurture(["report", "funnel", "--since", "yesterday", "--config", "nurture.yaml"], directory: folder)
        #expect(bad.status == 64 && bad.stderr.contains("--since 'yesterday': expected YYYY-MM-DD"), "\(bad.stderr)")
    }

    @Test("after a real run on SQLite: stage counts, the cohort's conversion, a move back counted as recycled")
    func sqlite() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let serve = ServeCommandTests()
        let (folder, port) = try serve.setUp(smtp: smtp)
        try Self.prepare(folder)
        try Self.check(folder)
        // A service started after all this reports the stages from the database, not from
        // counters it kept itself.
        let process = try serve.start(folder)
        defer { process.terminate(); waitForExit(process) }
        #expect(serve.eventually { serve.http("http://127.0.0.1:\(port)/healthz") == "ok\n" })
        let metrics = serve.http("http://127.0.0.1:\(port)/metrics", ["-H", "Authorization: Bearer serve-test-api-key"]) ?? ""
        #expect(metrics.contains(#"nurture_leads_in_stage{stage="lead"} 11"#), "\(metrics)")
        #expect(metrics.contains(#"nurture_leads_in_stage{stage="sql"} 1"#))
        // The same report over HTTP: behind the key, the same numbers as the CLI's.
        let url = "http://127.0.0.1:\(port)/v1/reports/funnel"
        #expect(serve.status(url) == 401)
        let body = try #require(serve.http(url, ["-H", "Authorization: Bearer serve-test-api-key"]))
        let http = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let cli = try runNurture(["report", "funnel", "--format", "json", "--config", "nurture.yaml"], directory: folder)
        let local = try #require(try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any])
        func pairs(_ object: [String: Any]) -> [String] {
            (object["stages"] as? [[String: Any]] ?? []).map { "\($0["stage"] ?? "?")=\($0["leads"] ?? "?")" }
        }
        #expect(pairs(http) == pairs(local) && pairs(http).count == 5, "\(body)")
        #expect(http["recycled"] as? Int == 1)
        #expect(serve.status(url + "?since=last-week", ["-H", "Authorization: Bearer serve-test-api-key"]) == 400)
        #expect(serve.status(url + "?since=2026-01-02&until=2026-01-01", ["-H", "Authorization: Bearer serve-test-api-key"]) == 400)
    }

    @Test("the same on PostgreSQL")
    func postgres() throws {
        let cluster = try LongRunningProcessTests.ScaleOutTests().prepare(processes: 1, leads: 0)
        defer { cluster.stop() }
        let folder = cluster.folders[0]
        try Self.prepare(folder)
        try Self.check(folder)
    }
}
