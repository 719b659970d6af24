import Foundation
import Testing
import TestSupport

@Suite("nurture leads import, run as a marketer would")
struct LeadImportCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL

    /// A folder with a configuration (its own database, the shipped workflows and templates,
    /// a file relay: nothing is sent anywhere).
    func setUp() throws -> (folder: URL, config: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-import-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try """
        database: \(folder.path)/nurture.sqlite
        workflows: \(Self.repository.path)/Workflows
        templates: \(Self.repository.path)/Templates
        sender: { from: "Acme <hello@acme.example>" }
        tracking: { base_url: "http://127.0.0.1:9", secret: import-test-secret-0123456789 }
        relay: { url: "file://\(folder.path)/outbox" }
        """.write(to: folder.appendingPathComponent("nurture.yaml"), atomically: true, encoding: .utf8)
        return (folder, folder.appendingPathComponent("nurture.yaml").path)
    }

    func nurture(_ arguments: [String], _ config: String, in folder: URL) throws -> CommandResult {
        try runNurture(arguments + ["--config", config], directory: folder)
    }

    @Test("a file with a quote never closed on line 12 of 1,000 rows: exit 65, line 12 named, nothing imported")
    func brokenQuote() throws {
        let (folder, config) = try setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let rows = (1...1000).map { n in n + 1 == 12 ? "lead\(n)@example.com,\"Lead\(n),UTC" : "lead\(n)@example.com,Lead\(n),UTC" }
        let csv = folder.appendingPathComponent("broken.csv")
        try (["email,first_name,timezone"] + rows).joined(separator: "\n").appending("\n").write(to: csv, atomically: true, encoding: .utf8)

        let result = try nurture(["leads", "import", csv.path], config, in: folder)
        #expect(result.status == 65, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("\(csv.path):line 12: a quoted field opened here is never closed\n"))
        #expect(result.stderr.contains("\(csv.path): nothing imported"))
        #expect(!result.stdout.contains("imported"))
        // Nothing reached the database, not even the rows before line 12.
        let show = try nurture(["leads", "show", "lead1@example.com"], config, in: folder)
        #expect(show.status == 1)
        #expect(show.stderr.contains("no lead lead1@example.com"))
    }

    @Test("the summary accounts for every row; bad rows are named by line; addresses are canonical everywhere")
    func summaryAndCanonicalAddresses() throws {
        let (folder, config) = try setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let csv = folder.appendingPathComponent("leads.csv")
        try "email,first_name,notes\n\" Victim@Example.com\t\",V,\"two\nlines\"\nvictim@example.com,V2,x\na@b@example.com,Bad,y\nada@example.com,Ada,z\n"
            .write(to: csv, atomically: true, encoding: .utf8)

        let result = try nurture(["leads", "import", csv.path], config, in: folder)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("read 4 rows: imported 2 leads (2 new, 0 updated), 1 bad row skipped, 1 repeated address (last row kept);"))
        #expect(result.stderr.contains("\(csv.path):line 5: 'a@b@example.com' is not an email address: it has more than one '@'"))

        let suppress = try nurture(["leads", "suppress", " Victim@Example.com"], config, in: folder)
        #expect(suppress.status == 0, "\(suppress.stderr)")
        #expect(suppress.stdout == "suppressed victim@example.com\n")
        let show = try nurture(["leads", "show", "VICTIM@example.com "], config, in: folder)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("victim@example.com"))

        let bad = try nurture(["leads", "add", "--email", "a@b@example.com"], config, in: folder)
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--email: 'a@b@example.com' is not an email address: it has more than one '@'"))
        let zone = try nurture(["leads", "add", "--email", "z@example.com", "--field", "timezone=../../etc/passwd"], config, in: folder)
        #expect(zone.status == 64)
        #expect(zone.stderr.contains("not a time zone"))
    }

    @Test("nurture leads tag: adds and removes tags, shown by leads show and found by leads list --tag; an unknown lead is an error")
    func tagCommand() throws {
        let (folder, config) = try setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try nurture(["leads", "add", "--email", "ada@example.com"], config, in: folder).status == 0)
        let tagged = try nurture(["leads", "tag", "ada@example.com", "webinar-2026", "vip"], config, in: folder)
        #expect(tagged.status == 0, "\(tagged.stderr)")
        #expect(tagged.stdout.contains("ada@example.com: +vip, +webinar-2026"), "\(tagged.stdout)")
        let removed = try nurture(["leads", "tag", "ada@example.com", "--remove", "vip"], config, in: folder)
        #expect(removed.stdout.contains("ada@example.com: -vip"))
        #expect(try nurture(["leads", "show", "ada@example.com"], config, in: folder).stdout.contains("tags: webinar-2026\n"))
        #expect(try nurture(["leads", "list", "--tag", "webinar-2026"], config, in: folder).stdout.contains("ada@example.com"))
        let unknown = try nurture(["leads", "tag", "nobody@example.com", "x"], config, in: folder)
        #expect(unknown.status == 1 && unknown.stderr.contains("no lead nobody@example.com"))
        #expect(try nurture(["leads", "tag", "ada@example.com"], config, in: folder).status == 64)
    }
}
