import Foundation
import Testing
import TestSupport

/// The attacks of the "Hardening" issue (bounded work on any input; files outside their
/// folder refused), each against the built `nurture`: no crash, the invalid-set exit status
/// of `nurture validate` (1; `preview` and `dry-run` use 65), the error with its file and
/// line, and well under 10 seconds. The big inputs are generated here.
@Suite("nurture validate on adversarial campaign files")
struct AdversarialValidateTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL

    /// A copy of the shipped Workflows/ and Templates/ in a new temporary folder.
    static func campaign() throws -> (root: URL, workflows: URL, templates: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-adversarial-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let workflows = root.appendingPathComponent("Workflows"), templates = root.appendingPathComponent("Templates")
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Workflows"), to: workflows)
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Templates"), to: templates)
        return (root, workflows, templates)
    }

    /// Runs `nurture` with `arguments` and checks it ended on its own, quickly.
    static func run(_ arguments: [String]) throws -> CommandResult {
        let clock = ContinuousClock()
        var result: CommandResult?
        let elapsed = try clock.measure { result = try runNurture(arguments) }
        #expect(elapsed < .seconds(10), "took \(elapsed)")
        // A crash shows here as the signal's number (SIGSEGV: 11; a shell says 139), never
        // as the exit status each test expects.
        return try #require(result)
    }

    /// `nurture validate` on the campaign after `change`: exit status 1 and `expected` among its lines.
    func validate(_ change: (URL, URL) throws -> Void, expected: (URL, URL) -> String) throws {
        let campaign = try Self.campaign()
        defer { try? FileManager.default.removeItem(at: campaign.root) }
        try change(campaign.workflows, campaign.templates)
        let result = try Self.run(["validate", "--workflows", campaign.workflows.path, "--templates", campaign.templates.path])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let line = expected(campaign.workflows, campaign.templates)
        #expect(lines.contains(line), "expected \(line) in:\n\(result.stdout)\(result.stderr)")
    }

    static func write(_ text: String, _ url: URL) throws {
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test("a partial that includes itself is refused by validate (it crashed serve and preview when rendered)")
    func selfIncludingPartial() throws {
        try validate({ _, templates in
            let footer = templates.appendingPathComponent("partials/footer.html.mustache")
            let text = try String(contentsOf: footer, encoding: .utf8)
            try Self.write(text + "{{> footer.html}}\n", footer)
        }, expected: { _, templates in
            let lines = (try? String(contentsOf: Self.repository.appendingPathComponent("Templates/partials/footer.html.mustache"), encoding: .utf8))?
                .split(separator: "\n", omittingEmptySubsequences: false).count ?? 0
            return "\(templates.path)/partials/footer.html.mustache:\(lines):1: error: partial cycle: footer.html → footer.html (it would never finish rendering)"
        })
    }

    @Test("a layout that inherits from itself is refused")
    func selfInheritingLayout() throws {
        try validate({ _, templates in
            try Self.write("{{<default.html}}\n{{$body}}x{{/body}}\n{{/default.html}}\n", templates.appendingPathComponent("layouts/default.html.mustache"))
        }, expected: { _, templates in
            "\(templates.path)/layouts/default.html.mustache:1:1: error: layout cycle: default.html → default.html (it would never finish rendering)"
        })
    }

    @Test("preview refuses the self-including partial with exit 65 instead of crashing")
    func previewSelfIncludingPartial() throws {
        let campaign = try Self.campaign()
        defer { try? FileManager.default.removeItem(at: campaign.root) }
        try Self.write("<p>{{> footer.html}}</p>\n", campaign.templates.appendingPathComponent("partials/footer.html.mustache"))
        let lead = campaign.root.appendingPathComponent("lead.json")
        try Self.write(#"{"email": "ada@example.com"}"#, lead)
        let result = try Self.run(["preview", "welcome", "--lead", lead.path, "--templates", campaign.templates.path])
        #expect(result.status == 65)
        #expect((result.stdout + result.stderr).contains("partials/footer.html.mustache:1:4: partial cycle: footer.html → footer.html"), "\(result.stderr)")
    }

    @Test("a sequence of 30,000 steps is refused with its count")
    func thirtyThousandSteps() throws {
        try validate({ workflows, _ in
            try Self.write("stage: lead\nsteps:\n" + String(repeating: "  - send: welcome\n", count: 30_000), workflows.appendingPathComponent("sequences/long.yaml"))
        }, expected: { workflows, _ in
            "\(workflows.path)/sequences/long.yaml:3:3: error: sequence 'long' has 30000 steps, more than the limit of 1000: refused"
        })
    }

    @Test("10,000 nested Mustache sections are refused at the tag that goes too deep")
    func deepSections() throws {
        try validate({ _, templates in
            try Self.write(String(repeating: "{{#a}}", count: 10_000) + String(repeating: "{{/a}}", count: 10_000), templates.appendingPathComponent("welcome/text.mustache"))
        }, expected: { _, templates in
            "\(templates.path)/welcome/text.mustache:1:601: error: sections, blocks and layouts nest more than 100 levels deep here: refused"
        })
    }

    /// 1.6 KB: `any:` over 9 levels of 9 aliases, 387 million conditions once expanded.
    static let billionLaughs = """
        stage: lead
        a: &a [{field: x, equals: y}]
        b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
        c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
        d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
        e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
        f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
        g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
        h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
        i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
        steps:
          - if: {any: *i}
            then: next
          - send: welcome

        """

    @Test("billion laughs (aliases nested in any:) is refused at once, by validate and by dry-run")
    func billionLaughs() throws {
        let expected = { (workflows: URL) in
            "\(workflows.path)/sequences/laughs.yaml:7:14: error: YAML anchors and aliases expand to more than 100000 values here: refused (aliases inside anchors multiply)"
        }
        try validate({ workflows, _ in
            try Self.write(Self.billionLaughs, workflows.appendingPathComponent("sequences/laughs.yaml"))
        }, expected: { workflows, _ in expected(workflows) })

        let campaign = try Self.campaign()
        defer { try? FileManager.default.removeItem(at: campaign.root) }
        try Self.write(Self.billionLaughs, campaign.workflows.appendingPathComponent("sequences/laughs.yaml"))
        let lead = campaign.root.appendingPathComponent("lead.json")
        try Self.write(#"{"email": "ada@example.com"}"#, lead)
        let result = try Self.run(["dry-run", "--lead", lead.path, "--workflows", campaign.workflows.path, "--templates", campaign.templates.path])
        #expect(result.status == 65, "\(result.stdout)\(result.stderr)")
        #expect((result.stdout + result.stderr).contains(expected(campaign.workflows)), "\(result.stdout)\(result.stderr)")

        // A what-if scenario file goes through the same bounded reader.
        try FileManager.default.removeItem(at: campaign.workflows.appendingPathComponent("sequences/laughs.yaml"))
        let scenario = campaign.root.appendingPathComponent("scenario.yaml")
        try Self.write(Self.billionLaughs.replacingOccurrences(of: "steps:", with: "what_if:"), scenario)
        let started = Date()
        let what = try Self.run(["dry-run", "--lead", lead.path, "--workflows", campaign.workflows.path, "--templates", campaign.templates.path, "--scenario", scenario.path])
        #expect(what.status == 64, "\(what.stdout)\(what.stderr)")
        #expect(what.stderr.contains("expand to more than 100000 values"), "\(what.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("a template that is a symbolic link to /etc/passwd is refused, by name")
    func linkToPasswd() throws {
        try validate({ _, templates in
            let text = templates.appendingPathComponent("welcome/text.mustache")
            try FileManager.default.removeItem(at: text)
            try FileManager.default.createSymbolicLink(atPath: text.path, withDestinationPath: "/etc/passwd")
        }, expected: { _, templates in
            "\(templates.path)/welcome/text.mustache: error: is a symbolic link to /etc/passwd, outside the templates folder: refused"
        })
    }

    @Test("a workflow file that is a symbolic link out of the folder is refused, by name")
    func workflowLink() throws {
        try validate({ workflows, _ in
            try FileManager.default.createSymbolicLink(atPath: workflows.appendingPathComponent("sequences/passwd.yaml").path, withDestinationPath: "/etc/passwd")
        }, expected: { workflows, _ in
            "\(workflows.path)/sequences/passwd.yaml:1:1: error: is a symbolic link to /etc/passwd, outside the workflows folder: refused"
        })
    }

    @Test("the shipped files still validate, with links inside the folders")
    func linksInside() throws {
        let campaign = try Self.campaign()
        defer { try? FileManager.default.removeItem(at: campaign.root) }
        try FileManager.default.createSymbolicLink(atPath: campaign.templates.appendingPathComponent("hello").path, withDestinationPath: "welcome")
        let result = try Self.run(["validate", "--workflows", campaign.workflows.path, "--templates", campaign.templates.path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    // MARK: Fixed-date loops, duplicate keys, file sizes, the templates folder named once

    /// A file of `bytes` bytes that takes no room (a sparse file).
    static func sparse(_ url: URL, bytes: UInt64) throws {
        #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: bytes)
        try handle.close()
    }

    static let fixedDateLoop = """
        stage: customer
        steps:
          - id: top
            send: onboarding-day-1
          - id: w
            wait: { until: "2026-01-01 00:00" }
          - id: again
            goto: top

        """

    @Test("a loop whose only wait is until a fixed date is refused by validate and dry-run (it sent 250 emails to one lead at once)")
    func fixedDateLoop() throws {
        let expected = { (workflows: URL) in
            "\(workflows.path)/sequences/customer-onboarding.yaml:3:5: error: loop without a wait: top → w → again → top; a wait until a fixed date holds only the first time round: add a duration or until_next wait"
        }
        try validate({ workflows, _ in
            try Self.write(Self.fixedDateLoop, workflows.appendingPathComponent("sequences/customer-onboarding.yaml"))
        }, expected: { workflows, _ in expected(workflows) })

        let campaign = try Self.campaign()
        defer { try? FileManager.default.removeItem(at: campaign.root) }
        let lead = campaign.root.appendingPathComponent("lead.json")
        try Self.write(#"{"email": "ada@example.com"}"#, lead)
        // With a wait that holds every time (until_next), the same loop is fine.
        try Self.write(Self.fixedDateLoop.replacingOccurrences(of: #"{ until: "2026-01-01 00:00" }"#, with: "{ until_next: tue 10:00 }"), campaign.workflows.appendingPathComponent("sequences/customer-onboarding.yaml"))
        let fine = try Self.run(["validate", "--workflows", campaign.workflows.path, "--templates", campaign.templates.path])
        #expect(fine.status == 0, "\(fine.stdout)\(fine.stderr)")
        try Self.write(Self.fixedDateLoop, campaign.workflows.appendingPathComponent("sequences/customer-onboarding.yaml"))
        let dry = try Self.run(["dry-run", "--lead", lead.path, "--stage", "customer", "--workflows", campaign.workflows.path, "--templates", campaign.templates.path])
        #expect(dry.status == 65, "\(dry.stdout)\(dry.stderr)")
        #expect(dry.stderr.contains(expected(campaign.workflows)), "\(dry.stderr)")
    }

    @Test("duplicate keys: one line each at the duplicate's line:column, never the file's contents, however big")
    func duplicateKeys() throws {
        try validate({ workflows, _ in
            try Self.write("stage: lead\nsteps:\n  - send: welcome\n    send: welcome\nsteps:\n  - send: welcome\n", workflows.appendingPathComponent("sequences/dup.yaml"))
        }, expected: { workflows, _ in "\(workflows.path)/sequences/dup.yaml:4:5: error: duplicate key 'send' (first at line 3)" })

        let campaign = try Self.campaign()
        defer { try? FileManager.default.removeItem(at: campaign.root) }
        let file = campaign.workflows.appendingPathComponent("sequences/dup.yaml")
        let padding = (0..<30_000).map { "# \($0) padding, 900 KB in all\n" }.joined()
        try Self.write("stage: lead\nsteps:\n  - send: welcome\n" + padding + "steps:\n  - send: welcome\nstage: mql\n", file)
        let result = try Self.run(["validate", "--workflows", campaign.workflows.path, "--templates", campaign.templates.path])
        #expect(result.status == 1)
        #expect(result.stdout.split(separator: "\n") == [
            "\(file.path):30004:1: error: duplicate key 'steps' (first at line 2)",
            "\(file.path):30006:1: error: duplicate key 'stage' (first at line 1)",
            "2 errors, 0 warnings",
        ], "\(result.stdout.prefix(2000))")
        #expect(result.stdout.utf8.count + result.stderr.utf8.count < 2000)
    }

    /// A folder with `nurture.yaml` holding `text`.
    static func configFolder(_ text: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-adversarial-config-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Self.write(text, folder.appendingPathComponent("nurture.yaml"))
        return folder
    }

    @Test("nurture.yaml: duplicate keys each named at their place, exit 78, and nothing said about settings it may hold")
    func configurationDuplicateKeys() throws {
        let folder = try Self.configFolder("tracking:\n  secret: a-secret-long-enough-for-this\nrelay:\n  url: file://outbox\n  url: file://elsewhere\ntracking:\n  base_url: http://localhost:8080\n")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("nurture.yaml").path
        let result = try Self.run(["run", "--config", config])
        #expect(result.status == 78)
        #expect(result.stderr.split(separator: "\n") == [
            "\(config):5:3: error: duplicate key 'url' (first at line 4)",
            "\(config):6:1: error: duplicate key 'tracking' (first at line 1)",
        ], "\(result.stderr)")
    }

    @Test("a 5 GB (sparse) nurture.yaml is refused at once, by its size, exit 78 (it took 54 s and 10 GB)")
    func hugeConfiguration() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-adversarial-config-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("nurture.yaml")
        try Self.sparse(config, bytes: 5 << 30)
        let clock = ContinuousClock()
        var result: CommandResult?
        let elapsed = try clock.measure { result = try Self.run(["run", "--config", config.path]) }
        #expect(elapsed < .seconds(3), "took \(elapsed)")
        #expect(result?.status == 78)
        #expect(result?.stderr == "\(config.path): the file is 5368709120 bytes, over the limit of 1 MiB (1048576 bytes): refused\n")
    }

    @Test("dry-run and preview check the size of their input files before reading them; --scenario reports duplicate keys in one line each")
    func inputFileSizes() throws {
        let campaign = try Self.campaign()
        defer { try? FileManager.default.removeItem(at: campaign.root) }
        let files = ["--workflows", campaign.workflows.path, "--templates", campaign.templates.path]
        let lead = campaign.root.appendingPathComponent("lead.json")
        try Self.write(#"{"email": "ada@example.com"}"#, lead)
        let bigLead = campaign.root.appendingPathComponent("big.json")
        try Self.sparse(bigLead, bytes: 2 << 20)
        let bigLeads = campaign.root.appendingPathComponent("big.csv")
        try Self.sparse(bigLeads, bytes: 300 << 20)
        let bigScenario = campaign.root.appendingPathComponent("big.yaml")
        try Self.sparse(bigScenario, bytes: 5 << 30)
        let scenario = campaign.root.appendingPathComponent("scenario.yaml")
        try Self.write("what_if:\n  - opened welcome +2d\nwhat_if:\n  - clicked welcome +3d\n", scenario)

        let cases: [(arguments: [String], message: String)] = [
            (["dry-run", "--lead", bigLead.path] + files, "Error: --lead: '\(bigLead.path)': the file is 2097152 bytes, over the limit of 1 MiB (1048576 bytes): refused"),
            (["dry-run", "--leads", bigLeads.path] + files, "Error: --leads: '\(bigLeads.path)': the file is 314572800 bytes, over the limit of 256 MiB (268435456 bytes): refused"),
            (["dry-run", "--lead", lead.path, "--scenario", bigScenario.path] + files, "Error: --scenario: '\(bigScenario.path)': the file is 5368709120 bytes, over the limit of 1 MiB (1048576 bytes): refused"),
            (["dry-run", "--lead", lead.path, "--scenario", scenario.path] + files, "Error: --scenario \(scenario.path):3:1: error: duplicate key 'what_if' (first at line 1)"),
            (["preview", "welcome", "--lead", bigLead.path, "--templates", campaign.templates.path], "Error: --lead: '\(bigLead.path)': the file is 2097152 bytes, over the limit of 1 MiB (1048576 bytes): refused"),
        ]
        for (arguments, message) in cases {
            let result = try Self.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").first.map(String.init) == message, "\(arguments)")
        }
    }

    @Test("a missing templates folder is named once (it was /tmp/x//tmp/x), by dry-run, preview and the service")
    func missingTemplatesFolder() throws {
        let campaign = try Self.campaign()
        defer { try? FileManager.default.removeItem(at: campaign.root) }
        let missing = campaign.root.appendingPathComponent("no-templates").path
        let lead = campaign.root.appendingPathComponent("lead.json")
        try Self.write(#"{"email": "ada@example.com"}"#, lead)
        for templates in [missing, missing + "/"] {
            let dry = try Self.run(["dry-run", "--lead", lead.path, "--workflows", campaign.workflows.path, "--templates", templates])
            #expect(dry.status == 65)
            #expect(dry.stderr == "\(templates): templates folder not found\n")
            let preview = try Self.run(["preview", "welcome", "--lead", lead.path, "--templates", templates])
            #expect(preview.status == 65)
            #expect(preview.stderr == "\(templates): templates folder not found\n")
        }
        // The service loads the files through WorkflowSet.
        try Self.write("workflows: \(campaign.workflows.path)\ntemplates: \(missing)\ndatabase: \(campaign.root.path)/n.sqlite\n", campaign.root.appendingPathComponent("nurture.yaml"))
        let run = try runNurture(["run", "--config", campaign.root.appendingPathComponent("nurture.yaml").path], directory: campaign.root, environment: ["NURTURE_SECRET": "a-secret-long-enough-for-this", "NURTURE_FROM": "Acme <hello@acme.example>"])
        #expect(run.status == 78)
        #expect(run.stderr.contains("\(missing): templates folder not found"), "\(run.stderr)")
        #expect(!run.stderr.contains("\(missing)/\(missing)"), "\(run.stderr)")
    }
}
