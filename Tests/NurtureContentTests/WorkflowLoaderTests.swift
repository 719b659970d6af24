import Foundation
import NurtureContent
import NurtureCore
import Testing

@Suite("Workflow files: reading and validation")
struct WorkflowLoaderTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let corpus = here.appendingPathComponent("WorkflowCorpus")
    static let repository = here.appendingPathComponent("../..").standardizedFileURL

    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).filter { $0 != "_base" }.sorted()
    }

    /// A folder with `Workflows/` (the corpus base overlaid with `name`'s files) and two templates.
    static func materialize(_ name: String) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-corpus-\(UUID())")
        let workflows = root.appendingPathComponent("Workflows")
        try FileManager.default.createDirectory(at: workflows.appendingPathComponent("sequences"), withIntermediateDirectories: true)
        for source in [corpus.appendingPathComponent("_base"), corpus.appendingPathComponent(name)] {
            let files = FileManager.default.enumerator(at: source, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? []
            for file in files where file.pathExtension == "yaml" {
                let relative = String(file.standardizedFileURL.path.dropFirst(source.standardizedFileURL.path.count + 1))
                let target = workflows.appendingPathComponent(relative)
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: file, to: target)
            }
        }
        for template in ["welcome", "guide"] {
            let folder = root.appendingPathComponent("Templates/\(template)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try "Hi".write(to: folder.appendingPathComponent("subject.mustache"), atomically: true, encoding: .utf8)
            try "<p>Hi</p>".write(to: folder.appendingPathComponent("html.mustache"), atomically: true, encoding: .utf8)
        }
        return root
    }

    @Test("every bad file of the corpus is reported exactly, with file:line:column", arguments: cases)
    func corpusCase(name: String) throws {
        let root = try Self.materialize(name)
        defer { try? FileManager.default.removeItem(at: root) }
        let expected = try String(contentsOf: Self.corpus.appendingPathComponent("\(name)/expected.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let library = try TemplateLibrary(directory: root.appendingPathComponent("Templates"))
        let result = WorkflowLoader.load(directory: root.appendingPathComponent("Workflows").path, templates: library, displayPath: "Workflows")
        #expect(result.issues.map(\.description) == expected)
        #expect(!expected.isEmpty)
        #expect((result.workflow == nil) == expected.contains { $0.contains(": error: ") })
    }

    @Test("the base of the corpus is valid")
    func base() throws {
        let root = try Self.materialize("_base")
        defer { try? FileManager.default.removeItem(at: root) }
        let result = WorkflowLoader.load(directory: root.appendingPathComponent("Workflows").path, templates: try TemplateLibrary(directory: root.appendingPathComponent("Templates")))
        #expect(result.issues.isEmpty)
        #expect(result.workflow?.sequences.count == 3)
    }

    @Test("the shipped Workflows/ are valid against the shipped Templates/, without warnings")
    func shipped() throws {
        let library = try TemplateLibrary(directory: Self.repository.appendingPathComponent("Templates"))
        let result = WorkflowLoader.load(directory: Self.repository.appendingPathComponent("Workflows").path, templates: library)
        #expect(result.issues.map(\.description) == [])
        let workflow = try #require(result.workflow)
        #expect(workflow.funnel.stages.map(\.name) == ["lead", "mql", "sql", "opportunity", "customer"])
        for stage in workflow.funnel.stages {
            #expect(!workflow.sequences(for: stage.name).isEmpty, "stage \(stage.name) has a sequence")
        }
        #expect(workflow.funnel.recycleRules.contains { $0.from == "sql" && $0.to == "mql" })
        #expect(workflow.settings.frequencyCap == FrequencyCap(max: 3, per: .days(7)))
    }

    @Test("every step type reads into the model")
    func stepTypes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-steps-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sequences"), withIntermediateDirectories: true)
        try "stages:\n  - name: lead\n  - name: mql\n    entry: { score_at_least: 40 }\n".write(to: root.appendingPathComponent("funnel.yaml"), atomically: true, encoding: .utf8)
        try """
        stage: lead
        when: { any: [ { field: country, in: [FR, DE] }, { not: { tag: student } } ] }
        send_window: { days: weekdays, hours: "08:30-18:00" }
        re_entry: 30d
        goals:
          - { event: form_submitted, where: { form: demo } }
        steps:
          - send: welcome
            subject: "Hi {{first_name}}"
          - wait: 36h
          - wait: { until: "2026-12-01 09:00", time_zone: Europe/Paris }
          - wait: { until_next: [tue, thu], at: "10:30" }
          - branch: { on: replied, step: welcome, within: 2d3h, then: tagged, else: next }
          - if: { field: employees, between: [10, 500] }
            then: next
            else: exit
          - id: tagged
            set: { tag: engaged }
          - set: { field: persona, value: builder }
          - score: -5
          - goal: { event: page_visited, where: { path: { prefix: /pricing } }, then: promote }
          - goto: next
          - id: promote
            stage: mql
        """.write(to: root.appendingPathComponent("sequences/s.yaml"), atomically: true, encoding: .utf8)
        let result = WorkflowLoader.load(directory: root.path)
        #expect(result.errors.isEmpty, "\(result.issues)")
        let sequence = try #require(result.workflow?.sequences.first)
        #expect(sequence.id == "s")
        #expect(sequence.reEntry == .after(.days(30)))
        #expect(sequence.sendWindow == SendWindow(days: [.mon, .tue, .wed, .thu, .fri], start: 510, end: 1080))
        #expect(sequence.goals.first?.filter.description == "form_submitted where form is 'demo'")
        #expect(sequence.steps.map(\.id) == ["welcome", "wait-2", "wait-3", "wait-4", "branch-5", "if-6", "tagged", "set-8", "score-9", "goal-10", "goto-11", "promote"])
        guard case .wait(.untilNext(let days, 10, 30)) = sequence.steps[3].kind else { Issue.record("until_next"); return }
        #expect(days == [.tue, .thu])
        guard case .branch(let branch) = sequence.steps[4].kind else { Issue.record("branch"); return }
        #expect(branch == Branch(on: .replied, step: "welcome", within: TimeSpan(seconds: 2 * 86400 + 3 * 3600), then: .step("tagged"), else: .next))
        #expect(sequence.audience?.evaluate(Lead(id: "1", email: "a@b.fr", fields: ["country": "fr"])) == true)
        #expect(sequence.audience?.evaluate(Lead(id: "1", email: "a@b.us", fields: ["country": "US"], tags: ["student"])) == false)
    }
}
