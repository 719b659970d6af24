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
        // Twelve created, and lead 2 back from MQL: 13 entries; two left for a later stage.
        #expect(first["from"] as? String == "lead" && first["entered"] as? Int == 13 && first["converted"] as? Int == 2, "\(first)")
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
        // The lead list, filtered as a marketer would.
        let sql = try runNurture(["leads", "list", "--stage", "sql", "--format", "json", "--config", "nurture.yaml"], directory: folder)
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(sql.stdout.utf8)) as? [String: Any])["leads"] as? [[String: Any]]
        #expect(listed?.compactMap { $0["email"] as? String } == ["lead1@example.com"], "\(sql.stdout) \(sql.stderr)")
        let suppressed = try runNurture(["leads", "list", "--suppressed", "--format", "csv", "--config", "nurture.yaml"], directory: folder)
        #expect(suppressed.stdout.hasPrefix("id,email,stage,score,sequence,tags,status,created_at,updated_at\n"), "\(suppressed.stdout)")
        #expect(suppressed.stdout.split(separator: "\n").count == 2 && suppressed.stdout.contains(",lead5@example.com,lead,0,"), "\(suppressed.stdout)")
        let page = try runNurture(["leads", "list", "--sequence", "lead-welcome", "--no-suppressed", "--limit", "3", "--config", "nurture.yaml"], directory: folder)
        #expect(page.status == 0 && page.stdout.contains("lead3@example.com") && !page.stdout.contains("lead1@example.com") && page.stdout.contains("3 shown; the next ones: --after "), "\(page.stdout)")
        let wrong = try runNurture(["leads", "list", "--min-score", "50", "--max-score", "10", "--config", "nurture.yaml"], directory: folder)
        #expect(wrong.status == 64 && wrong.stderr.contains("--min-score 50 is above --max-score 10"), "\(wrong.stderr)")
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

    @Test("after a real run through nurture serve: stage counts and per-step numbers, a machine click excluded, the API's reply and quote credited")
    func stepsAfterARealRun() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let serve = ServeCommandTests()
        let (folder, port) = try serve.setUp(smtp: smtp)
        // Lead 1 fits (a CTO): its engagement makes it an MQL.
        let csv = "email,first_name,job_title,timezone\n" + (1...12).map { "lead\($0)@example.com,Lead\($0),\($0 == 1 ? "CTO" : "Analyst"),America/New_York" }.joined(separator: "\n") + "\n"
        try csv.write(to: folder.appendingPathComponent("leads.csv"), atomically: true, encoding: .utf8)
        let imported = try runNurture(["leads", "import", "leads.csv", "--config", "nurture.yaml"], directory: folder)
        try #require(imported.status == 0, "\(imported.stderr)")
        let process = try serve.start(folder)
        defer { process.terminate(); waitForExit(process) }
        let base = "http://127.0.0.1:\(port)"
        let auth = ["-H", "Authorization: Bearer serve-test-api-key", "-H", "Content-Type: application/json"]
        #expect(try serve.eventually { try smtp.records("messages.jsonl").count == 12 })
        func html(to address: String) throws -> String {
            let record = try #require(try smtp.records("messages.jsonl").first { ($0["rcpt_tos"] as? [String])?.contains(address) == true })
            let data = String(decoding: try #require(Data(base64Encoded: record["data"] as? String ?? "")), as: UTF8.self)
            return try #require(try ParsedMessage.parse(Array(data.utf8)).parts.last).content
        }
        func token(_ kind: String, in html: String) throws -> String {
            try #require(html.components(separatedBy: "\(base)/\(kind)/").dropFirst().first.map { String($0.prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })) })
        }
        let first = try html(to: "lead1@example.com"), second = try html(to: "lead2@example.com")
        let browser = ["-A", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"]
        // Lead 1 opens (twice) and clicks; lead 2's link is followed by a link scanner.
        #expect(serve.http("\(base)/o/\(try token("o", in: first))", browser) != nil)
        #expect(serve.http("\(base)/o/\(try token("o", in: first))", browser) != nil)
        #expect(serve.status("\(base)/c/\(try token("c", in: first))", browser) == 302)
        #expect(serve.status("\(base)/c/\(try token("c", in: second))", ["-A", "Mozilla/5.0 (compatible; Proofpoint URL Defense scanner)"]) == 302)
        // Lead 1 replies through the API (credited to its welcome, its latest email): MQL, and
        // its first MQL email goes out.
        #expect(serve.http("\(base)/v1/events", ["-X", "POST"] + auth + ["-d", #"{"type": "replied", "email": "lead1@example.com", "id": "reply-1"}"#]) != nil)
        #expect(try serve.eventually { try smtp.records("messages.jsonl").count == 13 })
        // Then a quote request: credited to the case study, and the MQL sequence's goal.
        #expect(serve.http("\(base)/v1/events", ["-X", "POST"] + auth + ["-d", #"{"type": "form_submitted", "email": "lead1@example.com", "properties": {"form": "quote"}}"#]) != nil)

        let result = try runNurture(["report", "--format", "json", "--config", "nurture.yaml"], directory: folder)
        try #require(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let stages = try #require(object["stages"] as? [[String: Any]])
        let counts = Dictionary(uniqueKeysWithValues: stages.compactMap { s in (s["stage"] as? String).map { ($0, s["leads"] as? Int ?? -1) } })
        #expect(counts == ["lead": 11, "mql": 1, "sql": 0, "opportunity": 0, "customer": 0], "\(result.stdout)")
        let steps = try #require(object["steps"] as? [[String: Any]])
        func step(_ sequence: String, _ name: String) throws -> [String: Any] {
            try #require(steps.first { $0["sequence"] as? String == sequence && $0["step"] as? String == name }, "\(steps)")
        }
        let welcome = try step("lead-welcome", "welcome")
        #expect(welcome["sent"] as? Int == 12 && welcome["delivered"] as? Int == 12, "\(welcome)")
        #expect(welcome["opened"] as? Int == 1 && welcome["clicked"] as? Int == 1, "machine clicks are not clicks: \(welcome)")
        #expect((welcome["machine"] as? [String: Any])?["clicked"] as? Int == 1)
        #expect(welcome["replied"] as? Int == 1 && welcome["form_submitted"] as? Int == 0)
        #expect(welcome["open_rate"] as? Double == 1.0 / 12 && welcome["click_to_open"] as? Double == 1)
        let links = try #require(welcome["links"] as? [[String: Any]])
        #expect(links.count == 1 && links[0]["clicks"] as? Int == 1 && links[0]["unique_clicks"] as? Int == 1, "\(links)")
        let caseStudy = try #require(steps.first { $0["sequence"] as? String == "mql-nurture" && $0["sent"] as? Int == 1 }, "\(steps)")
        #expect(caseStudy["form_submitted"] as? Int == 1 && caseStudy["goal_exits"] as? Int == 1, "\(caseStudy)")
        #expect(try step("mql-nurture", "pricing")["sent"] as? Int == 0)

        // The same numbers over HTTP, and per sequence; text and CSV for people and sheets.
        let http = try #require(serve.http("\(base)/v1/reports/steps?sequence=lead-welcome", auth))
        let over = try #require(try JSONSerialization.jsonObject(with: Data(http.utf8)) as? [String: Any])
        let rows = try #require(over["steps"] as? [[String: Any]])
        #expect(rows.allSatisfy { $0["sequence"] as? String == "lead-welcome" } && rows.first?["clicked"] as? Int == 1, "\(http)")
        #expect(serve.status("\(base)/v1/reports/steps") == 401)
        let text = try runNurture(["report", "steps", "--config", "nurture.yaml"], directory: folder)
        #expect(text.status == 0 && text.stdout.contains("machines (not in the rates): 0 opens, 1 clicks"), "\(text.stdout)")
        // Every row of the table lines up with its header, whatever the length of the names
        // (the shipped 'opportunity-proof/security-overview' is longer than most).
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.first { $0.hasPrefix("sequence ") })
        let rowsOfTable = lines.drop { !$0.hasPrefix("sequence ") }.dropFirst().prefix { !$0.isEmpty }.filter { !$0.hasPrefix(" ") }
        #expect(rowsOfTable.count > 10 && rowsOfTable.contains { $0.hasPrefix("opportunity-proof ") }, "\(text.stdout)")
        for row in rowsOfTable {
            #expect(Self.columnStarts(row).prefix(3) == Self.columnStarts(header).prefix(3), "\(header)\n\(row)")
        }
        let sheet = try runNurture(["report", "steps", "--format", "csv", "--sequence", "lead-welcome", "--config", "nurture.yaml"], directory: folder)
        #expect(sheet.stdout.contains("\nlead-welcome,welcome,12,12,0,0,0,1,1,0.0833,0.0833,1.0000,"), "\(sheet.stdout)")
    }

    /// Where each space-separated cell of a line starts (in characters).
    static func columnStarts(_ line: String) -> [Int] {
        var starts: [Int] = []
        var previous: Character = " "
        for (offset, character) in line.enumerated() {
            if character != " " && previous == " " { starts.append(offset) }
            previous = character
        }
        return starts
    }
}
