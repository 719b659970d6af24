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
}
