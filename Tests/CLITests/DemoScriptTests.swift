import Foundation
import Testing
import TestSupport

/// `scripts/run`, the demo a newcomer runs first, run as they would (with the nurture this
/// build made, in a folder and on a port of its own) at whatever hour the tests run.
@Suite("scripts/run: the whole loop at any hour")
struct DemoScriptTests {
    @Test("a lead becomes MQL then SQL through real tracking hits and API events, and each next sequence's email is delivered")
    func wholeLoop() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-demo-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = ServeCommandTests.repository.appendingPathComponent("scripts/run")
        let result = try runProgram(URL(fileURLWithPath: "/bin/bash"), [script.path], environment: [
            "NURTURE_BIN": builtProduct("nurture").path,
            "NURTURE_DEMO_DIR": folder.path,
            "NURTURE_DEMO_PORT": "\(deadLoopbackPort())",
            // The demo ignores the caller's settings: it runs on its own files.
            "NURTURE_DATABASE": "/nonexistent/elsewhere.sqlite",
        ])
        try #require(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let out = result.stdout
        // Three emails to Ada: the welcome, then the first of the MQL and the SQL sequences.
        #expect(out.contains("lead → mql: qualified: score ≥ 40 and fit ≥ 10 (score 42, fit 30)"), "\(out)")
        #expect(out.contains("mql → sql: qualified: score ≥ 70"), "\(out)")
        #expect(out.contains("subject: What teams like Analytical Engines measure first"), "\(out)")
        #expect(out.contains("subject: Your personal demo of Acme Analytics"), "\(out)")
        // The scanner's click did not count; the person's did.
        #expect(out.contains("email_clicked (machine, not scored)") && out.contains("user_agent=Mimecast scanner"), "\(out)")
        // The tracking server answered each hit as a mail client expects.
        #expect(out.contains("click       → 302 https://acme-analytics.example/start?utm_source=nurture&utm_campaign=welcome"), "\(out)")
        #expect(out.contains("Alan's /u link → 200") && out.contains("unsubscribed: no marketing email"), "\(out)")
        // The funnel report at the end counts what happened.
        #expect(out.contains("Suppressed addresses: unsubscribed 1"), "\(out)")
        #expect(out.contains("  mql → sql: 1"), "\(out)")
        let outbox = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("outbox").path)
        #expect(outbox.filter { $0.hasSuffix(".eml") }.count == 11, "9 welcomes, the case study and the demo offer: \(outbox)")
        // The service it started was stopped gracefully.
        let log = try String(contentsOf: folder.appendingPathComponent("serve.log"), encoding: .utf8)
        #expect(!log.contains("error"), "\(log)")
    }
}
