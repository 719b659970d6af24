import Foundation
import Testing
import TestSupport

@Suite("open_tracking: false in a sequence")
struct OpenTrackingTests {
    @Test("the email and its web view carry no open pixel; its links are still tracked")
    func noPixel() throws {
        let smtp = try LoopbackServer.smtp()
        defer { smtp.stop() }
        let serve = ServeCommandTests()
        let (folder, port) = try serve.setUp(smtp: smtp)
        let welcome = folder.appendingPathComponent("Workflows/sequences/lead-welcome.yaml")
        try (try String(contentsOf: welcome, encoding: .utf8)).replacingOccurrences(of: "stage: lead\n", with: "stage: lead\nopen_tracking: false\n")
            .write(to: welcome, atomically: true, encoding: .utf8)
        let process = try serve.start(folder)
        defer { process.terminate(); waitForExit(process) }
        let base = "http://127.0.0.1:\(port)"
        #expect(serve.eventually { serve.http("\(base)/healthz") == "ok\n" })
        let auth = ["-H", "Authorization: Bearer serve-test-api-key", "-H", "Content-Type: application/json"]
        #expect(serve.http("\(base)/v1/leads", ["-X", "POST"] + auth + ["-d", #"{"email": "ada@example.com", "first_name": "Ada"}"#]) != nil)
        #expect(try serve.eventually(5) { try smtp.records("messages.jsonl").count == 1 })
        let record = try #require(try smtp.records("messages.jsonl").first)
        let html = try #require(try ParsedMessage.parse(Array(Data(base64Encoded: record["data"] as? String ?? "") ?? Data())).parts.first { $0.content_type == "text/html" }).content
        #expect(!html.contains("\(base)/o/") && html.contains("\(base)/c/"), "\(html.suffix(600))")
        // The web view, rendered again for the same send, has no pixel either.
        let view = try #require(html.components(separatedBy: "\(base)/v/").dropFirst().first.map { String($0.prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })) })
        let page = try #require(serve.http("\(base)/v/\(view)"))
        #expect(page.contains("Hi Ada") && !page.contains("/o/") && page.contains("\(base)/c/"), "\(page.suffix(600))")
    }
}
