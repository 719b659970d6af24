import Foundation
import Testing
import TestSupport

/// The commands that send email refuse a configuration that would send it wrong: no sender
/// (it would come from nurture@localhost), or tracking links over plain http to a real host.
@Suite("safe sender settings: serve, run and test sends refuse what would mail wrongly")
struct SendingSettingsTests {
    /// A folder with the shipped files and `settings` as nurture.yaml.
    func folder(_ settings: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-sending-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let repository = ServeCommandTests.repository.path
        try """
        database: \(folder.path)/nurture.sqlite
        workflows: \(repository)/Workflows
        templates: \(repository)/Templates
        relay: { url: "file://\(folder.path)/outbox" }
        \(settings)
        """.write(to: folder.appendingPathComponent("nurture.yaml"), atomically: true, encoding: .utf8)
        return folder
    }

    @Test("no sender: serve, run and preview --send-to exit 78 naming sender.from; other commands work")
    func noSender() throws {
        let folder = try folder("tracking: { secret: a-secret-long-enough-0123, base_url: \"https://t.acme.example\" }")
        defer { try? FileManager.default.removeItem(at: folder) }
        for command in [["serve"], ["run"]] {
            let result = try runNurture(command + ["--config", "nurture.yaml"], directory: folder)
            #expect(result.status == 78 && result.stderr.contains("nurture.yaml: sender.from is missing: set it (or NURTURE_FROM)"), "\(command): \(result.stderr)")
        }
        try #"{"email": "ada@example.com"}"#.write(to: folder.appendingPathComponent("ada.json"), atomically: true, encoding: .utf8)
        let preview = try runNurture(["preview", "welcome", "--lead", "ada.json", "--send-to", "me@acme.example", "--config", "nurture.yaml"], directory: folder)
        #expect(preview.status == 78 && preview.stderr.contains("sender.from is missing"), "\(preview.stderr)")
        // A test send checks the values it uses: --from stands for the sender, and an http
        // --tracking-url to another host is refused like the configuration's would be.
        let withFrom = try runNurture(["preview", "welcome", "--lead", "ada.json", "--send-to", "me@acme.example", "--from", "Acme <hello@acme.example>", "--config", "nurture.yaml"], directory: folder)
        #expect(withFrom.status == 0, "\(withFrom.stderr)")
        let httpURL = try runNurture(["preview", "welcome", "--lead", "ada.json", "--send-to", "me@acme.example", "--from", "Acme <hello@acme.example>", "--tracking-url", "http://10.0.0.5", "--config", "nurture.yaml"], directory: folder)
        #expect(httpURL.status == 78 && httpURL.stderr.contains("--tracking-url 'http://10.0.0.5' is http"), "\(httpURL.stderr)")
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("outbox"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("outbox").path))
        // Commands that send nothing do not need one.
        try "email\nada@example.com\n".write(to: folder.appendingPathComponent("leads.csv"), atomically: true, encoding: .utf8)
        #expect(try runNurture(["leads", "import", "leads.csv", "--config", "nurture.yaml"], directory: folder).status == 0)
        #expect(try runNurture(["report", "--config", "nurture.yaml"], directory: folder).status == 0)
        // NURTURE_FROM is a sender.
        let run = try runNurture(["run", "--config", "nurture.yaml"], directory: folder, environment: ["NURTURE_FROM": "Acme <hello@acme.example>"])
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test("tracking over http: refused for a real host, allowed with tracking.allow_http, a warning on a loopback host")
    func httpTracking() throws {
        let sender = "sender: { from: \"Acme <hello@acme.example>\" }\n"
        let refused = try folder(sender + "tracking: { secret: a-secret-long-enough-0123, base_url: \"http://t.acme.example\" }")
        defer { try? FileManager.default.removeItem(at: refused) }
        for command in [["serve"], ["run"]] {
            let result = try runNurture(command + ["--config", "nurture.yaml"], directory: refused)
            #expect(result.status == 78 && result.stderr.contains("nurture.yaml:6:") && result.stderr.contains("tracking.base_url 'http://t.acme.example' is http") && result.stderr.contains("use https"), "\(command): \(result.stderr)")
        }
        let allowed = try folder(sender + "tracking: { secret: a-secret-long-enough-0123, base_url: \"http://t.acme.example\", allow_http: true }")
        defer { try? FileManager.default.removeItem(at: allowed) }
        #expect(try runNurture(["run", "--config", "nurture.yaml"], directory: allowed).status == 0)
        for url in ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"] {
            let loopback = try folder(sender + "tracking: { secret: a-secret-long-enough-0123, base_url: \"\(url)\" }")
            defer { try? FileManager.default.removeItem(at: loopback) }
            let run = try runNurture(["run", "--config", "nurture.yaml"], directory: loopback)
            #expect(run.status == 0 && run.stderr.contains("links in emails reach this machine only"), "\(url): \(run.stderr)")
        }
        // A host that only looks like a loopback address is not one.
        let lookalike = try folder(sender + "tracking: { secret: a-secret-long-enough-0123, base_url: \"http://127.example.com\" }")
        defer { try? FileManager.default.removeItem(at: lookalike) }
        #expect(try runNurture(["run", "--config", "nurture.yaml"], directory: lookalike).status == 78)
        // Not set at all: http://localhost:8080, said so.
        let unset = try folder(sender + "tracking: { secret: a-secret-long-enough-0123 }")
        defer { try? FileManager.default.removeItem(at: unset) }
        let run = try runNurture(["run", "--config", "nurture.yaml"], directory: unset)
        #expect(run.status == 0 && run.stderr.contains("tracking.base_url is not set, so it is http://localhost:8080"), "\(run.stderr)")
        let bad = try folder(sender + "tracking: { secret: a-secret-long-enough-0123, allow_http: yes-please }")
        defer { try? FileManager.default.removeItem(at: bad) }
        let badRun = try runNurture(["run", "--config", "nurture.yaml"], directory: bad)
        #expect(badRun.status == 78 && badRun.stderr.contains("tracking.allow_http must be true or false"), "\(badRun.stderr)")
    }
}
