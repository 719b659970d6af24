import Foundation
import Testing
import TestSupport

@Suite("nurture dry-run, run as a marketer would")
struct DryRunCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL
    var base: [String] {
        ["--workflows", Self.repository.appendingPathComponent("Workflows").path, "--templates", Self.repository.appendingPathComponent("Templates").path]
    }

    func temp(_ name: String, _ content: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID())-\(name)")
        try content.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    var ada: String { get throws { try temp("ada.json", #"{"email": "ada@example.com", "first_name": "Ada", "job_title": "CTO", "employees": 300, "timezone": "America/New_York"}"#) } }

    @Test("a 30-day plan as text: rendered subjects, waits, branch reasons, score and stage changes")
    func text() throws {
        let result = try runNurture(["dry-run", "--lead", try ada, "--start", "2026-11-23 10:00", "--days", "30",
                                     "--what-if", "clicked welcome +3h", "--what-if", "page_visited /pricing +4d"] + base)
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains(#"Mon 23 Nov 10:00  +0d00h00   SEND lead-welcome/welcome (welcome): "Welcome to Acme Analytics, Ada""#))
        #expect(out.contains("wait-2: wait 2d — until Wed 25 Nov 10:00"))
        #expect(out.contains("score +10 clicked an email ← email_clicked"))
        #expect(out.contains("STAGE lead → mql: qualified: score ≥ 40 and fit ≥ 10 (score 40, fit 25)")) // the click decayed a little in 4 days (30-day half-life)
        #expect(out.contains("branch-4: until 'getting-started' is opened"))
        #expect(out.contains("nothing is sent, nothing is written"))
    }

    @Test("the webinar scenario: an MQL who attends gets the follow-up at once and never the invitation; one who does not is invited")
    func webinar() throws {
        let attended = try runNurture(["dry-run", "--lead", try ada, "--stage", "mql", "--start", "2026-11-23 10:00", "--days", "20",
                                       "--what-if", "webinar_attended +1d"] + base)
        #expect(attended.status == 0, "\(attended.stderr)")
        let out = attended.stdout
        #expect(out.contains("Tue 24 Nov 10:00  +1d00h00   mql-nurture paused while webinar-follow-up runs"), "\(out)")
        #expect(out.contains(#"Tue 24 Nov 10:00  +1d00h00   SEND webinar-follow-up/webinar-follow-up (webinar-follow-up): "Your recording and the dashboards from the session""#))
        #expect(out.contains("mql-nurture resumed where it was"))
        #expect(out.contains("attended-webinar: webinar_attended within 90d: yes → pricing"))
        #expect(!out.contains("webinar-invite"))
        let invited = try runNurture(["dry-run", "--lead", try ada, "--stage", "mql", "--start", "2026-11-23 10:00", "--days", "20"] + base)
        #expect(invited.stdout.contains("SEND mql-nurture/webinar-invite (webinar-invite)"))
        #expect(invited.stdout.contains("attended-webinar: webinar_attended within 90d: no → next"))
    }

    @Test("a stage move as a what-if: the lead moves, the new stage's sequence starts; an unknown stage is refused with a did-you-mean")
    func stageWhatIf() throws {
        let moved = try runNurture(["dry-run", "--lead", try ada, "--start", "2026-11-23 10:00", "--days", "5", "--what-if", "stage sql +1d"] + base)
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(moved.stdout.contains("Tue 24 Nov 10:00  +1d00h00   STAGE lead → sql: what-if: moved to sql"), "\(moved.stdout)")
        #expect(moved.stdout.contains("Tue 24 Nov 10:00  +1d00h00   enrolled in sql-demo"))
        let typo = try runNurture(["dry-run", "--lead", try ada, "--what-if", "stage sqll +1d"] + base)
        #expect(typo.status != 0)
        #expect(typo.stderr.contains("what-if 'stage sqll +1d': unknown stage 'sqll'; did you mean 'sql'? (stages: lead, mql, sql, opportunity, customer)"), "\(typo.stderr)")
    }

    @Test("an A/B send step: a 10,000-lead dry-run splits within 2% of its weights, each timeline names its variant")
    func abSplit() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-ab-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Workflows"), to: folder)
        let file = folder.appendingPathComponent("sequences/lead-welcome.yaml")
        try (try String(contentsOf: file, encoding: .utf8)).replacingOccurrences(of: "  - send: welcome\n", with: """
              - send: welcome
                variants:
                  - { id: plain, weight: 70 }
                  - { id: named, subject: "{{first_name}}, welcome to Acme Analytics", weight: 30 }

            """).write(to: file, atomically: true, encoding: .utf8)
        let base = ["--workflows", folder.path, "--templates", Self.repository.appendingPathComponent("Templates").path]
        let csv = "email,first_name,timezone\n" + (1...10_000).map { "lead\($0)@example.com,Lead\($0),America/New_York" }.joined(separator: "\n") + "\n"
        let result = try runNurture(["dry-run", "--leads", try temp("leads.csv", csv), "--start", "2026-11-23 10:00", "--days", "1", "--format", "json"] + base)
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let split = try #require((json["variants"] as? [String: [String: Int]])?["lead-welcome/welcome"])
        #expect((split["plain"] ?? 0) + (split["named"] ?? 0) == 10_000)
        #expect(abs(Double(split["plain"] ?? 0) / 10_000 - 0.7) < 0.02, "\(split)")
        #expect(abs(Double(split["named"] ?? 0) / 10_000 - 0.3) < 0.02, "\(split)")
        let one = try runNurture(["dry-run", "--lead", try ada, "--start", "2026-11-23 10:00", "--days", "1"] + base)
        #expect(one.stdout.contains("SEND lead-welcome/welcome [variant "), "\(one.stdout)")
        // A broken variant list is refused at its line.
        try (try String(contentsOf: file, encoding: .utf8)).replacingOccurrences(of: "{ id: named, subject", with: "{ id: plain, subject").write(to: file, atomically: true, encoding: .utf8)
        let bad = try runNurture(["validate", "--workflows", folder.path, "--templates", Self.repository.appendingPathComponent("Templates").path])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("\(file.path):11:"), "\(bad.stdout)")
        #expect(bad.stdout.contains("variant id 'plain' is used twice"), "\(bad.stdout)")
    }

    @Test("JSON output, and a scenario file")
    func json() throws {
        let scenario = try temp("scenario.yaml", "what_if:\n  - opened getting-started +2d1h\n  - replied +3d\n")
        let result = try runNurture(["dry-run", "--lead", try ada, "--start", "2026-11-23 10:00", "--days", "10", "--scenario", scenario, "--format", "json"] + base)
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let timeline = document["timeline"] as! [[String: Any]]
        let sends = timeline.filter { $0["kind"] as? String == "send" }
        #expect(sends.map { $0["step"] as? String } == ["welcome", "getting-started", "data-guide", "case-study", "webinar-invite"])
        #expect(sends.first?["subject"] as? String == "Welcome to Acme Analytics, Ada")
        #expect((document["what_if"] as? [String])?.count == 2)
        #expect(timeline.contains { ($0["text"] as? String)?.contains("opened 'getting-started' within 3d: yes → data-guide") == true })
    }

    @Test("--out writes every email and a review page linking them")
    func reviewPage() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("review-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try runNurture(["dry-run", "--lead", try ada, "--start", "2026-11-23 10:00", "--days", "14", "--out", folder.path] + base)
        #expect(result.status == 0, "\(result.stderr)")
        let emails = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("emails").path).sorted()
        #expect(emails.contains("01-welcome.eml") && emails.contains("01-welcome.html") && emails.contains("01-welcome.txt"))
        let index = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(index.contains(#"<a href="emails/01-welcome.html" target="preview">view</a>"#))
        #expect(index.contains("Welcome to Acme Analytics, Ada"))
        let parsed = try ParsedMessage.parse(Array(try Data(contentsOf: folder.appendingPathComponent("emails/01-welcome.eml"))))
        #expect(parsed.subject == "Welcome to Acme Analytics, Ada")
    }

    @Test("a file of leads gives a summary")
    func leadsFile() throws {
        let csv = "email,first_name,job_title,employees,timezone\n" + (0..<50).map { "l\($0)@example.com,L\($0),\($0 % 2 == 0 ? "CTO" : "Intern"),300,America/New_York" }.joined(separator: "\n") + "\n"
        let result = try runNurture(["dry-run", "--leads", try temp("leads.csv", csv), "--start", "2026-11-23 10:00", "--days", "30",
                                     "--what-if", "clicked welcome +1h", "--what-if", "page_visited /pricing +1d"] + base)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("dry run of 50 leads"))
        #expect(result.stdout.contains("lead-welcome/welcome"))
        #expect(result.stdout.range(of: #"mql\s+25\s+50\.0%"#, options: .regularExpression) != nil)
    }

    @Test("bad what-ifs and invalid workflows are refused, as validate would")
    func errors() throws {
        let unknown = try runNurture(["dry-run", "--lead", try ada, "--what-if", "opened welcom +2d"] + base)
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("what-if 'opened welcom +2d': unknown email 'welcom'"))
        // An event the workflow does not know is refused (it would change nothing), with a
        // suggestion; a declared custom event is taken.
        let event = try runNurture(["dry-run", "--lead", try ada, "--what-if", "webinar_atended +2d"] + base)
        #expect(event.status == 64 && event.stderr.contains("unknown event 'webinar_atended'; did you mean 'webinar_attended'?"), "\(event.stderr)")
        let stage = try runNurture(["dry-run", "--lead", try ada, "--what-if", "became_sql +1d"] + base)
        #expect(stage.status == 64 && stage.stderr.contains("unknown event 'became_sql'"), "\(stage.stderr)")
        let declared = try runNurture(["dry-run", "--lead", try ada, "--what-if", "webinar_attended topic=roi +4d"] + base)
        #expect(declared.status == 0 && declared.stdout.contains("attended a webinar"), "\(declared.stdout)\(declared.stderr)")

        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID())")
        try FileManager.default.createDirectory(at: broken.appendingPathComponent("sequences"), withIntermediateDirectories: true)
        try "stages: [ { name: lead } ]\n".write(to: broken.appendingPathComponent("funnel.yaml"), atomically: true, encoding: .utf8)
        try "stage: lead\nsteps:\n  - send: nope\n".write(to: broken.appendingPathComponent("sequences/s.yaml"), atomically: true, encoding: .utf8)
        let invalid = try runNurture(["dry-run", "--lead", try ada, "--workflows", broken.path, "--templates", Self.repository.appendingPathComponent("Templates").path])
        #expect(invalid.status == 65)
        #expect(invalid.stderr.contains("\(broken.path)/sequences/s.yaml:3:5: error: unknown template 'nope'"))
    }

    @Test("links in the rendered emails use the given or configured tracking URL; a what-if at +0d happens at the start; --sequence says it ignores when")
    func trackingURLZeroOffsetAndSequence() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dryrun-\(UUID())")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runNurture(["dry-run", "--lead", try ada, "--days", "3", "--what-if", "clicked welcome +0d", "--tracking-url", "https://t.acme.example", "--out", out.path] + base)
        try #require(result.status == 0, "\(result.stderr)")
        let emails = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("emails").path).filter { $0.hasSuffix(".html") }
        let html = try String(contentsOf: out.appendingPathComponent("emails/\(try #require(emails.sorted().first))"), encoding: .utf8)
        #expect(html.contains("https://t.acme.example/c/") && !html.contains("localhost:8080"), "\(html.prefix(400))")
        #expect(result.stdout.contains("clicked an email"), "the click at the start is scored: \(result.stdout)")
        // With --config, the configuration's tracking URL.
        let config = try temp("nurture.yaml", "tracking: { base_url: \"https://track.acme.example\", secret: dry-run-secret-0123456789 }\n")
        let configured = try runNurture(["dry-run", "--lead", try ada, "--days", "1", "--config", config, "--out", out.path] + base)
        try #require(configured.status == 0, "\(configured.stderr)")
        let again = try String(contentsOf: out.appendingPathComponent("emails/\(try #require(emails.sorted().first))"), encoding: .utf8)
        #expect(again.contains("https://track.acme.example/c/"), "\(again.prefix(400))")
        // A sequence with an audience: simulated anyway, and said so.
        let forced = try runNurture(["dry-run", "--lead", try ada, "--days", "1", "--sequence", "mql-recycled"] + base)
        #expect(forced.status == 0 && forced.stderr.contains("note: --sequence mql-recycled is simulated whether or not the lead passes its when: has tag recycled"), "\(forced.stderr)")
    }
}
