import Foundation
import Testing
import TestSupport

@Suite("custom header fields in nurture.yaml and in sequences")
struct CustomHeaderTests {
    @Test("nurture run sends the deployment's and the sequence's fields; bad ones are refused with file and line")
    func headers() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let (folder, _) = try ServeCommandTests().setUp(smtp: smtp)
        let config = folder.appendingPathComponent("nurture.yaml")
        let original = try String(contentsOf: config, encoding: .utf8)
        try (original + "\nheaders:\n  Feedback-ID: \"{{sequence}}:{{step}}:nurture:acme\"\n  List-Id: \"Acme News <news.acme.example>\"\n")
            .write(to: config, atomically: true, encoding: .utf8)
        let welcome = folder.appendingPathComponent("Workflows/sequences/lead-welcome.yaml")
        let sequence = try String(contentsOf: welcome, encoding: .utf8)
        try sequence.replacingOccurrences(of: "stage: lead\n", with: "stage: lead\nheaders:\n  List-Id: \"Welcome series <welcome.acme.example>\"\n")
            .write(to: welcome, atomically: true, encoding: .utf8)
        #expect(try runNurture(["leads", "import", "leads.csv", "--config", "nurture.yaml"], directory: folder).status == 0)
        let run = try runNurture(["run", "--config", "nurture.yaml"], directory: folder)
        try #require(run.status == 0, "\(run.stderr)")
        let record = try #require(try smtp.records("messages.jsonl").first)
        let text = String(decoding: Data(base64Encoded: record["data"] as? String ?? "") ?? Data(), as: UTF8.self)
        #expect(text.contains("\r\nFeedback-ID: lead-welcome:welcome:nurture:acme\r\n") && text.contains("\r\nList-Id: Welcome series <welcome.acme.example>\r\n"), "\(text.prefix(1200))")

        // In a sequence: validate names the file, the line and what is wrong.
        for (headers, expected) in [
            ("  From: \"evil@example.com\"\n", "sequence 'headers': 'From' is written by Nurture"),
            ("  X-Campaign: \"{{lead_email}}\"\n", "unknown placeholder {{lead_email}}"),
            ("  X-Campaign: \"a\\r\\nBcc: x@example.com\"\n", "has a line break"),
        ] {
            try sequence.replacingOccurrences(of: "stage: lead\n", with: "stage: lead\nheaders:\n" + headers).write(to: welcome, atomically: true, encoding: .utf8)
            let validate = try runNurture(["validate", "--workflows", "Workflows", "--templates", ServeCommandTests.repository.appendingPathComponent("Templates").path], directory: folder)
            #expect(validate.status == 1 && validate.stdout.contains("Workflows/sequences/lead-welcome.yaml:4:") && validate.stdout.contains(expected), "\(headers): \(validate.stdout)")
        }
        // In nurture.yaml: serve and run stop before starting.
        try (original + "\nheaders:\n  Message-ID: \"<x@y>\"\n").write(to: config, atomically: true, encoding: .utf8)
        let refused = try runNurture(["run", "--config", "nurture.yaml"], directory: folder)
        let line = original.split(separator: "\n", omittingEmptySubsequences: false).count + 2
        #expect(refused.status == 78 && refused.stderr.contains("nurture.yaml:\(line):") && refused.stderr.contains("'Message-ID' is written by Nurture"), "\(refused.stderr)")
    }
}
