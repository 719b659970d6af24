import Foundation
import Testing
import TestSupport

@Suite("nurture validate, run as a user would")
struct ValidateCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL

    @Test("the shipped Workflows/ and Templates/ are valid")
    func shipped() throws {
        let result = try runNurture(["validate", "--workflows", Self.repository.appendingPathComponent("Workflows").path,
                                     "--templates", Self.repository.appendingPathComponent("Templates").path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.hasPrefix("valid: 5 stages (lead → mql → sql → opportunity → customer)"))
        #expect(result.stdout.contains("0 warnings"))
    }

    @Test("every error is printed with file:line:column, and the exit status is 1")
    func errors() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-validate-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let workflows = root.appendingPathComponent("Workflows")
        try FileManager.default.createDirectory(at: workflows.appendingPathComponent("sequences"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Templates"), to: root.appendingPathComponent("Templates"))
        try "stages:\n  - name: lead\n  - name: mql\n    entry: { score_at_least: 400 }\n".write(to: workflows.appendingPathComponent("funnel.yaml"), atomically: true, encoding: .utf8)
        try "stage: lead\nsteps:\n  - send: welcom\n  - wait: 2 days\n".write(to: workflows.appendingPathComponent("sequences/a.yaml"), atomically: true, encoding: .utf8)
        try "stage: lead\nsteps:\n  - send: welcom\n".write(to: workflows.appendingPathComponent("sequences/b.yaml"), atomically: true, encoding: .utf8)
        let result = try runNurture(["validate", "--workflows", workflows.path, "--templates", root.appendingPathComponent("Templates").path])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(workflows.path)/sequences/a.yaml:4:11: error: step 2 'wait': expected a duration like 30m, 36h, 2d, 1w or 2d3h, found '2 days'"))
        #expect(lines.contains { $0.hasPrefix("\(workflows.path)/sequences/b.yaml:3:5: error: unknown template 'welcom'") })
        #expect(lines.contains("\(workflows.path)/funnel.yaml:4:12: error: stage 'mql': score_at_least 400 is outside 0…100"))
        #expect(lines.last == "3 errors, 1 warning")
    }

    @Test("templates without an unsubscribe link or the postal address, and images without alt, are warnings with their file and line")
    func templateWarnings() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-validate-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let templates = root.appendingPathComponent("Templates")
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Templates"), to: templates)
        // A template of its own, outside the layout: no footer, and a logo without alt.
        try "<p>Hi {{first_name}}</p>\n<p><IMG src=\"https://acme.example/logo.png\" width=\"120\"> <img alt=\"\" src=\"x.png\"></p>\n".write(
            to: templates.appendingPathComponent("pricing/html.mustache"), atomically: true, encoding: .utf8)
        let repository = Self.repository.appendingPathComponent("Workflows").path
        let result = try runNurture(["validate", "--workflows", repository, "--templates", templates.path])
        #expect(result.status == 0, "warnings alone: \(result.stdout)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(templates.path)/pricing/html.mustache:2:4: warning: an image without alt text: image-blocking mail clients and screen readers show nothing in its place (alt=\"\" marks a decorative one)"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("\(templates.path)/pricing/html.mustache: warning: no unsubscribe link: show {{unsubscribe_url}}") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("\(templates.path)/pricing/html.mustache: warning: the postal address is not shown") }, "\(lines)")
        #expect(lines.last?.hasSuffix("; 3 warnings") == true, "\(lines)")
        // Without a postal address at all, one warning says where to set it.
        let defaults = templates.appendingPathComponent("defaults.yaml")
        try (try String(contentsOf: defaults, encoding: .utf8)).replacingOccurrences(of: "postal_address:", with: "# postal_address:").write(to: defaults, atomically: true, encoding: .utf8)
        let without = try runNurture(["validate", "--workflows", repository, "--templates", templates.path])
        #expect(without.stdout.contains("\(templates.path)/defaults.yaml: warning: no postal_address: marketing email must show the sender's postal address (CAN-SPAM)"), "\(without.stdout)")
    }

    @Test("a section on a field that has a default is a warning at the tag: it is always true (or, inverted, never)")
    func sectionOnDefault() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-validate-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let templates = root.appendingPathComponent("Templates")
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Templates"), to: templates)
        let welcome = templates.appendingPathComponent("welcome/html.mustache")
        let text = try String(contentsOf: welcome, encoding: .utf8)
            .replacingOccurrences(of: "<p>Hi {{first_name}},</p>", with: "<p>Hi {{first_name}},</p>\n<p>{{#company}}with the rest of the {{company}} crowd{{/company}}{{^company}}alone{{/company}}</p>")
        try text.write(to: welcome, atomically: true, encoding: .utf8)
        let result = try runNurture(["validate", "--workflows", Self.repository.appendingPathComponent("Workflows").path, "--templates", templates.path])
        #expect(result.status == 0, "warnings alone: \(result.stdout)")
        let line = try #require(text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("{{#company}}") }) + 1
        #expect(result.stdout.contains("\(welcome.path):\(line):4: warning: {{#company}} is always true: defaults.yaml gives company a default ('your team'), so leads without one get it too; remove that default, or write the text so it reads well with it"), "\(result.stdout)")
        #expect(result.stdout.contains("\(welcome.path):\(line):66: warning: {{^company}} is always false"), "\(result.stdout)")
    }

    @Test("a branch on opened in a sequence without open tracking is a warning")
    func branchWithoutOpenTracking() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-validate-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Workflows"), to: root)
        let welcome = root.appendingPathComponent("sequences/lead-welcome.yaml")
        try (try String(contentsOf: welcome, encoding: .utf8)).replacingOccurrences(of: "stage: lead\n", with: "stage: lead\nopen_tracking: false\n")
            .write(to: welcome, atomically: true, encoding: .utf8)
        let result = try runNurture(["validate", "--workflows", root.path, "--templates", Self.repository.appendingPathComponent("Templates").path])
        #expect(result.status == 0 && result.stdout.contains("sequences/lead-welcome.yaml:") && result.stdout.contains("warning: branch on opened in a sequence with open_tracking: false: only clicks count as opens"), "\(result.stdout)")
    }

    @Test("a condition on a stage that does not exist is an error (it would be false, silently), with a suggestion")
    func conditionsOnUnknownStages() throws {
        let root = try Self.copyOfShippedWorkflows()
        defer { try? FileManager.default.removeItem(at: root) }
        func edit(_ file: String, _ from: String, _ to: String) throws { try Self.edit(root, file, from, to) }
        try edit("sequences/mql-nurture.yaml", "if: { score_at_least: 60 }", "if: { stage: sqll }")
        try edit("sequences/mql-recycled.yaml", "when: { tag: recycled }", "when: { not: { stage: sqll } }")
        let result = try runNurture(["validate", "--workflows", root.path, "--templates", Self.repository.appendingPathComponent("Templates").path])
        #expect(result.status == 1, "\(result.stdout)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(root.path)/sequences/mql-nurture.yaml:") && $0.hasSuffix("error: if: unknown stage 'sqll'; did you mean 'sql'? (stages: lead, mql, sql, opportunity, customer)") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("\(root.path)/sequences/mql-recycled.yaml:") && $0.hasSuffix("error: sequence 'mql-recycled' 'when': unknown stage 'sqll'; did you mean 'sql'? (stages: lead, mql, sql, opportunity, customer)") }, "\(lines)")
        #expect(lines.last == "2 errors, 0 warnings", "\(lines)")
    }

    @Test("an event no rule can see (a typo, or an undeclared custom event) is an error, with a suggestion")
    func unknownEvents() throws {
        let root = try Self.copyOfShippedWorkflows()
        defer { try? FileManager.default.removeItem(at: root) }
        func edit(_ file: String, _ from: String, _ to: String) throws { try Self.edit(root, file, from, to) }
        try edit("scoring.yaml", "    event: email_clicked\n", "    event: email_click\n")
        try edit("sequences/sql-demo.yaml", "  - event: form_submitted\n", "  - event: demo_booked\n")
        let result = try runNurture(["validate", "--workflows", root.path, "--templates", Self.repository.appendingPathComponent("Templates").path])
        #expect(result.status == 1, "\(result.stdout)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(root.path)/scoring.yaml:") && $0.contains("error: engagement rule: unknown event 'email_click'; did you mean 'email_clicked'?") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("\(root.path)/sequences/sql-demo.yaml:") && $0.contains("error: goal: unknown event 'demo_booked'") && $0.contains("declare a custom event in scoring.yaml's events: list") }, "\(lines)")
        // Declared, it is fine.
        try edit("scoring.yaml", "events: [webinar_attended]", "events: [webinar_attended, demo_booked]")
        try edit("scoring.yaml", "    event: email_click\n", "    event: email_clicked\n")
        let fixed = try runNurture(["validate", "--workflows", root.path, "--templates", Self.repository.appendingPathComponent("Templates").path])
        #expect(fixed.status == 0, "\(fixed.stdout)")
    }

    /// A copy of the shipped Workflows/ to change.
    static func copyOfShippedWorkflows() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-validate-\(UUID())")
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Workflows"), to: root)
        return root
    }

    /// Replaces `from` (which must be there) with `to` in `file` under `root`.
    static func edit(_ root: URL, _ file: String, _ from: String, _ to: String) throws {
        let url = root.appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains(from), "\(file)")
        try text.replacingOccurrences(of: from, with: to).write(to: url, atomically: true, encoding: .utf8)
    }
}
