import Foundation
import Testing
import TestSupport

@Suite("nurture preview, run as a user would")
struct PreviewCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL
    var templates: String { Self.repository.appendingPathComponent("Templates").path }

    func leadFile(_ json: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lead-\(UUID()).json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test("eml is the exact message, which an independent parser reads back")
    func eml() throws {
        let lead = try leadFile(#"{"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "employees": 120, "trial": true}"#)
        let result = try runNurture(["preview", "welcome", "--lead", lead, "--templates", templates, "--tracking-url", "https://t.acme.example"])
        #expect(result.status == 0, "\(result.stderr)")
        let parsed = try ParsedMessage.parse(Array(result.stdout.utf8))
        #expect(parsed.defects.isEmpty)
        #expect(parsed.subject == "Welcome to Acme Analytics, Ada")
        #expect(parsed.to == [["Ada Lovelace", "ada@example.com"]])
        #expect(parsed.header("List-Unsubscribe").first?.hasPrefix("<https://t.acme.example/u/") == true)
        #expect(parsed.header("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"])
        #expect(!result.stdout.contains("ada@example.com/"))
    }

    @Test("html and text print the bodies; the same send key gives the same tokens")
    func bodies() throws {
        let lead = try leadFile(#"{"email": "bo@example.com"}"#)
        let html = try runNurture(["preview", "welcome", "--lead", lead, "--templates", templates, "--format", "html"])
        let again = try runNurture(["preview", "welcome", "--lead", lead, "--templates", templates, "--format", "html"])
        #expect(html.status == 0)
        #expect(html.stdout.hasPrefix("<!DOCTYPE html>"))
        #expect(html.stdout.contains("<p>Hi there,</p>"))
        #expect(html.stdout == again.stdout)
        let text = try runNurture(["preview", "getting-started", "--lead", lead, "--templates", templates, "--format", "text", "--no-tracking"])
        #expect(text.stdout.contains("read the guide\n(https://acme-analytics.example/guides/three-metrics)") || text.stdout.contains("read the guide (https://acme-analytics.example/guides/three-metrics)"))
    }

    @Test("errors name the problem", arguments: [
        (#"{"first_name": "Ada"}"#, "welcome", "the lead has no \"email\""),
        (#"{"email": "ada@example.com", "address": {"city": "London"}}"#, "welcome", "\"address\" must be text, a number or a boolean"),
        (#"["ada@example.com"]"#, "welcome", "expected a JSON object of lead fields"),
        (#"{"email": "ada@example.com""#, "welcome", "not valid JSON"),
        (#"{"email": "ada@example.com"}"#, "nope", "unknown template 'nope' (templates: case-study, connect-your-data,"),
    ])
    func errors(json: String, template: String, expected: String) throws {
        let result = try runNurture(["preview", template, "--lead", try leadFile(json), "--templates", templates])
        #expect(result.status != 0)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
    }

    @Test("a broken templates folder is reported with file:line:column and exit 65")
    func brokenTemplates() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("t"), withIntermediateDirectories: true)
        try "Hi".write(to: folder.appendingPathComponent("t/subject.mustache"), atomically: true, encoding: .utf8)
        try "<p>\n{{#x}}</p>".write(to: folder.appendingPathComponent("t/html.mustache"), atomically: true, encoding: .utf8)
        let result = try runNurture(["preview", "t", "--lead", try leadFile(#"{"email": "a@b.example"}"#), "--templates", folder.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(folder.path)/t/html.mustache:2:"))
    }

    @Test("--send-to sends the lead's message to a tester through the configured relay; its links work against nurture serve and record nothing")
    func sendTo() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let serve = ServeCommandTests()
        let (folder, port) = try serve.setUp(smtp: smtp)
        let base = "http://127.0.0.1:\(port)"
        // Ada is a real lead too: the test send must not count as her email or her click.
        let process = try serve.start(folder)
        defer { process.terminate(); waitForExit(process) }
        #expect(serve.eventually { serve.http("\(base)/healthz") == "ok\n" })
        let auth = ["-H", "Authorization: Bearer serve-test-api-key", "-H", "Content-Type: application/json"]
        #expect(serve.http("\(base)/v1/leads", ["-X", "POST"] + auth + ["-d", #"{"email": "ada@example.com", "first_name": "Ada"}"#]) != nil)
        #expect(try serve.eventually(5) { try smtp.records("messages.jsonl").count == 1 })

        let lead = try leadFile(#"{"email": "ada@example.com", "first_name": "Ada", "company": "Analytical Engines"}"#)
        let result = try runNurture(["preview", "welcome", "--lead", lead, "--send-to", "Tess Ter <tess@acme.example>", "--send-to", "qa@acme.example", "--config", "nurture.yaml"], directory: folder)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("sent 'welcome' as ada@example.com would get it to tess@acme.example: accepted by SMTP smtp://127.0.0.1:\(smtp.port)"), "\(result.stdout)")
        let records = try smtp.records("messages.jsonl")
        try #require(records.count == 3)
        #expect(records[1]["rcpt_tos"] as? [String] == ["tess@acme.example"] && records[2]["rcpt_tos"] as? [String] == ["qa@acme.example"])
        let messages = try records.map { try ParsedMessage.parse(Array(Data(base64Encoded: $0["data"] as? String ?? "") ?? Data())) }
        #expect(messages[1].subject == "[Test] Welcome to Acme Analytics, Ada" && messages[1].to == [["Tess Ter", "tess@acme.example"]])
        // The configured sender, a Message-ID of each test's own (never the lead's).
        #expect(messages[1].header("From") == ["Acme <hello@acme.example>"])
        let ids = Set(messages.compactMap { $0.header("Message-ID").first })
        #expect(ids.count == 3 && messages[1].header("Message-ID").first?.hasPrefix("<test-") == true, "\(ids)")
        // Rendered for the lead in the JSON file: her company, the configured tracking URL.
        let html = try #require(messages[1].parts.first { $0.content_type == "text/html" }).content
        #expect(html.contains("Analytical Engines"))
        let click = try #require(html.components(separatedBy: "\(base)/c/").dropFirst().first.map { String($0.prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })) })
        let open = try #require(html.components(separatedBy: "\(base)/o/").dropFirst().first.map { String($0.prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })) })
        let browser = ["-A", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"]
        #expect(serve.http("\(base)/c/\(click)", browser + ["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"]) == "302 https://acme-analytics.example/start?utm_source=nurture&utm_campaign=welcome")
        #expect(serve.status("\(base)/o/\(open)", browser) == 200)
        let shown = try runNurture(["leads", "show", "ada@example.com", "--config", "nurture.yaml"], directory: folder)
        #expect(shown.status == 0 && !shown.stdout.contains("recent events:") && shown.stdout.contains("score: 0"), "\(shown.stdout)")

        // A refused tester is reported with the relay's answer, and the exit status says so.
        let refused = try runNurture(["preview", "welcome", "--lead", lead, "--send-to", "a@b.c", "--config", "nurture.yaml"], directory: folder,
                                     environment: ["NURTURE_RELAY_URL": "smtp://127.0.0.1:\(deadLoopbackPort())"])
        #expect(refused.status == 75 && refused.stderr.contains("not sent to a@b.c, temporary failure"), "\(refused.stderr)")
        // An address that is not one is refused before anything is sent.
        let bad = try runNurture(["preview", "welcome", "--lead", lead, "--send-to", "tess@", "--config", "nurture.yaml"], directory: folder)
        #expect(bad.status == 64 && bad.stderr.contains("--send-to: 'tess@' is not an email address"), "\(bad.stderr)")
        #expect(try smtp.records("messages.jsonl").count == 3)
    }
}
