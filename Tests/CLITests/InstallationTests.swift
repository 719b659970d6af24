import Foundation
import Testing
import TestSupport

@Suite("two installations that share a signing secret never make the same Message-ID")
struct InstallationTests {
    @Test("the same leads and secret in two databases: every Message-ID differs")
    func distinctMessageIDs() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let serve = ServeCommandTests()
        // Two copies of one configuration (the same secret), each with its own database.
        let first = try serve.setUp(smtp: smtp).0, second = try serve.setUp(smtp: smtp).0
        for folder in [first, second] {
            #expect(try runNurture(["leads", "import", "leads.csv", "--config", "nurture.yaml"], directory: folder).status == 0)
            let run = try runNurture(["run", "--config", "nurture.yaml"], directory: folder)
            #expect(run.status == 0, "\(run.stderr)")
        }
        let records = try smtp.records("messages.jsonl")
        try #require(records.count == 24)
        func messageID(_ record: [String: Any]) -> String? {
            let text = String(decoding: Data(base64Encoded: record["data"] as? String ?? "") ?? Data(), as: UTF8.self)
            return text.components(separatedBy: "\r\n").first { $0.hasPrefix("Message-ID: ") }
        }
        let ids = records.compactMap(messageID)
        #expect(ids.count == 24 && Set(ids).count == 24, "\(ids)")
        // Lead #1 of each installation got the same welcome, under different Message-IDs.
        let lead1 = records.filter { ($0["rcpt_tos"] as? [String]) == ["lead1@example.com"] }.compactMap(messageID)
        #expect(lead1.count == 2 && lead1[0] != lead1[1], "\(lead1)")
    }
}
