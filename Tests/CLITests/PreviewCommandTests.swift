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
}
