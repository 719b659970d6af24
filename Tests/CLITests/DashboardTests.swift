import Foundation
import Testing
import TestSupport

@Suite("the dashboard, in a real headless browser")
struct DashboardTests {
    @Test("closed without the key, nothing about leads shown; with it the funnel and the steps, the same numbers as the JSON, at 390 and 1280 px")
    func dashboard() throws {
        let browser = try HeadlessBrowser.find()
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let serve = ServeCommandTests()
        let (folder, port) = try serve.setUp(smtp: smtp)
        let imported = try runNurture(["leads", "import", "leads.csv", "--config", "nurture.yaml"], directory: folder)
        try #require(imported.status == 0, "\(imported.stderr)")
        let process = try serve.start(folder)
        defer { process.terminate(); waitForExit(process) }
        let base = "http://127.0.0.1:\(port)"
        #expect(try serve.eventually { try smtp.records("messages.jsonl").count == 12 })
        // Some engagement: lead 1 opens and clicks its welcome.
        let record = try #require(try smtp.records("messages.jsonl").first { ($0["rcpt_tos"] as? [String])?.contains("lead1@example.com") == true })
        let data = String(decoding: try #require(Data(base64Encoded: record["data"] as? String ?? "")), as: UTF8.self)
        let html = try #require(try ParsedMessage.parse(Array(data.utf8)).parts.last).content
        for kind in ["o", "c"] {
            let token = try #require(html.components(separatedBy: "\(base)/\(kind)/").dropFirst().first.map { String($0.prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })) })
            _ = serve.status("\(base)/\(kind)/\(token)", ["-A", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"])
        }

        // And a stage change, by hand: the chart of stage changes over time has a column.
        let moved = try runNurture(["leads", "stage", "lead2@example.com", "mql", "--config", "nurture.yaml"], directory: folder)
        #expect(moved.status == 0, "\(moved.stderr)")

        // Without credentials, or with wrong ones: 401, a Basic challenge, and no lead data.
        for extra in [[], ["-u", "marketer:wrong-key"], ["-H", "Authorization: Bearer wrong"]] {
            let closed = try curl(["-i", "\(base)/dashboard"] + extra)
            #expect(closed.hasPrefix("HTTP/1.1 401"), "\(closed)")
            #expect(closed.contains(#"www-authenticate: Basic realm="Nurture dashboard""#) || closed.contains(#"WWW-Authenticate: Basic realm="Nurture dashboard""#), "\(closed)")
            for secret in ["lead1@example.com", "lead-welcome", "data-stage", "<svg"] { #expect(!closed.contains(secret), "\(secret) in \(closed)") }
        }
        let open = try curl(["-i", "-u", "marketer:serve-test-api-key", "\(base)/dashboard"])
        #expect(open.hasPrefix("HTTP/1.1 200") && open.lowercased().contains("content-security-policy: default-src 'none'"), "\(open.prefix(600))")
        #expect(!open.contains("<script") && !open.contains("src=\"http") && !open.contains("href=\"http"), "no script, nothing loaded from elsewhere")
        #expect(!open.contains("lead1@example.com"), "aggregates only: no address on the dashboard")

        // The page as the browser built it, with the numbers of the JSON reports.
        let url = "http://marketer:serve-test-api-key@127.0.0.1:\(port)/dashboard"
        let dom = try browser.dom(url)
        let auth = ["-H", "Authorization: Bearer serve-test-api-key"]
        let funnel = try json(try curl(auth + ["\(base)/v1/reports/funnel"]))
        let stages = try #require(funnel["stages"] as? [[String: Any]])
        #expect(stages.count == 5)
        for stage in stages {
            let name = try #require(stage["stage"] as? String), leads = try #require(stage["leads"] as? Int)
            #expect(dom.contains(#"<tr data-stage="\#(name)"><td>\#(name)</td><td data-leads="\#(leads)">\#(leads)</td></tr>"#), "\(name)=\(leads)")
        }
        #expect(dom.contains(#"<tr data-stage="lead"><td>lead</td><td data-leads="11">11</td></tr>"#))
        let steps = try #require(try json(try curl(auth + ["\(base)/v1/reports/steps"]))["steps"] as? [[String: Any]])
        let welcome = try #require(steps.first { $0["sequence"] as? String == "lead-welcome" && $0["step"] as? String == "welcome" })
        #expect(welcome["sent"] as? Int == 12 && welcome["opened"] as? Int == 1 && welcome["clicked"] as? Int == 1, "\(welcome)")
        let row = try #require(dom.components(separatedBy: #"<tr data-sequence="lead-welcome" data-step="welcome">"#).dropFirst().first?.components(separatedBy: "</tr>").first)
        for metric in ["sent", "delivered", "opened", "clicked", "unsubscribed", "replied"] {
            let value = try #require(welcome[metric] as? Int)
            #expect(row.contains(#"data-metric="\#(metric)">\#(value)<"#), "\(metric)=\(value) in \(row)")
        }
        #expect(dom.components(separatedBy: "<svg").count - 1 >= 3, "the funnel, the stage changes and the steps' rates as charts")

        // Screenshots at a phone's and a desktop's width, kept for people to look at.
        let shots = ServeCommandTests.repository.appendingPathComponent(".build/screenshots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        for width in [390, 1280] {
            let path = shots.appendingPathComponent("dashboard-\(width).png").path
            try? FileManager.default.removeItem(atPath: path)
            try browser.screenshot(url, width: width, height: 2400, to: path)
            let size = try HeadlessBrowser.pngSize(path)
            #expect(size.width == width && size.height == 2400, "\(size)")
        }
    }

    private func curl(_ arguments: [String]) throws -> String {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "--max-time", "5"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        waitForExit(process)
        return String(decoding: data, as: UTF8.self)
    }

    private func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }
}
