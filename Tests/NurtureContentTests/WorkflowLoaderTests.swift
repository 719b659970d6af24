import Foundation
import NurtureContent
import NurtureCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

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

    @Test("business-day waits: {business_days: N}, optionally with days; a count out of range is an error at its line")
    func businessDayWaits() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-bd-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sequences"), withIntermediateDirectories: true)
        try "stages:\n  - name: lead\n".write(to: root.appendingPathComponent("funnel.yaml"), atomically: true, encoding: .utf8)
        let file = root.appendingPathComponent("sequences/s.yaml")
        try "stage: lead\nsteps:\n  - send: welcome\n  - wait: { business_days: 3 }\n  - wait: { business_days: 2, days: [mon, wed] }\n  - send: reminder\n".write(to: file, atomically: true, encoding: .utf8)
        let result = WorkflowLoader.load(directory: root.path)
        #expect(result.errors.isEmpty, "\(result.issues)")
        let steps = try #require(result.workflow?.sequences.first).steps
        guard case .wait(.businessDays(3, nil)) = steps[1].kind, case .wait(.businessDays(2, let days)) = steps[2].kind else {
            Issue.record("business_days not read")
            return
        }
        #expect(days == [.mon, .wed])
        try "stage: lead\nsteps:\n  - send: welcome\n  - wait: { business_days: 0 }\n".write(to: file, atomically: true, encoding: .utf8)
        let bad = WorkflowLoader.load(directory: root.path)
        #expect(bad.errors.map(\.description) == ["\(file.path):4:28: error: step 2 'wait' 'business_days': expected a number of days from 1 to 365, found 0"])
    }

    @Test("event-triggered sequences and event conditions are read; their mistakes are errors at their lines")
    func triggersAndEventConditions() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-trigger-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sequences"), withIntermediateDirectories: true)
        try "stages:\n  - name: lead\n  - name: mql\n    entry: { score_at_least: 40 }\n".write(to: root.appendingPathComponent("funnel.yaml"), atomically: true, encoding: .utf8)
        try "events: [webinar_attended]\nengagement:\n  - { id: w, event: webinar_attended, points: 5 }\n".write(to: root.appendingPathComponent("scoring.yaml"), atomically: true, encoding: .utf8)
        try "stage: lead\nsteps:\n  - send: welcome\n".write(to: root.appendingPathComponent("sequences/a.yaml"), atomically: true, encoding: .utf8)
        let file = root.appendingPathComponent("sequences/follow.yaml")
        try """
        trigger: { event: webinar_attended, where: { topic: pricing }, mode: replace }
        when: { event: email_clicked, within: 30d, times: 2 }
        steps:
          - send: recording
          - if: { event: webinar_attended, where: { topic: pricing } }
            then: exit
            else: next
        """.write(to: file, atomically: true, encoding: .utf8)
        let result = WorkflowLoader.load(directory: root.path)
        #expect(result.errors.isEmpty, "\(result.issues)")
        let sequence = try #require(result.workflow?.sequence("follow"))
        #expect(sequence.stage == "")
        #expect(sequence.trigger?.mode == .replace)
        #expect(sequence.trigger?.filter.description == "webinar_attended where topic is 'pricing'")
        #expect(sequence.audience?.description == "email_clicked at least 2 times within 30d")

        try """
        trigger: { event: webinar_atended, mode: later }
        steps:
          - send: recording
          - if: { event: webinar_attended, times: 0 }
            then: exit
          - if: { within: 3d }
            then: exit
        """.write(to: file, atomically: true, encoding: .utf8)
        let bad = WorkflowLoader.load(directory: root.path).errors.map(\.description)
        #expect(bad.contains("\(file.path):1:42: error: sequence 'trigger' 'mode': expected pause (the lead's sequence waits for this one) or replace (it ends), found 'later'"), "\(bad)")
        #expect(bad.contains { $0.hasPrefix("\(file.path):4:") && $0.hasSuffix("'times': expected a count from 1 to 1000, found 0") }, "\(bad)")
        #expect(bad.contains { $0.hasPrefix("\(file.path):6:") && $0.contains("'within' goes with 'event'") }, "\(bad)")

        try """
        trigger: { event: webinar_attended }
        steps:
          - send: recording
          - branch: { on: clicked, step: recording, within: 2d, link: "https://acme.example/recording", then: exit }
          - branch: { on: clicked, step: recording, within: 2d, link: { matches: "/webinars/.*/slides" }, then: exit }
          - send: slides
        """.write(to: file, atomically: true, encoding: .utf8)
        let links = try #require(WorkflowLoader.load(directory: root.path).workflow?.sequence("follow")).steps
        guard case .branch(let first) = links[1].kind, case .branch(let second) = links[2].kind else { Issue.record("branches"); return }
        #expect(first.link == .prefix("https://acme.example/recording"))
        #expect(second.link?.description.contains("/webinars/.*/slides") == true)
        try "trigger: { event: webinar_attended }\nsteps:\n  - send: recording\n  - branch: { on: opened, step: recording, within: 2d, link: x }\n  - send: slides\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(WorkflowLoader.load(directory: root.path).errors.map(\.description).contains { $0.hasPrefix("\(file.path):4:") && $0.hasSuffix("'link': only a branch on clicked looks at links") })

        try "trigger: { event: webinar_atended }\nsteps:\n  - send: recording\n".write(to: file, atomically: true, encoding: .utf8)
        let unknown = WorkflowLoader.load(directory: root.path).errors.map(\.description)
        #expect(unknown.contains { $0.hasPrefix("\(file.path):1:") && $0.contains("sequence 'follow' trigger: unknown event 'webinar_atended'; did you mean 'webinar_attended'?") }, "\(unknown)")
    }

    @Test("YAML indentation mistakes: the line out of step is named, with a plain hint", arguments: [
        // A key dedented inside a branch: the parser notices a line later; the dedented line is named.
        ("stage: lead\nsteps:\n  - send: welcome\n  - branch:\n      on: opened\n      step: welcome\n    within: 3d\n      then: next\n",
         "7:5: error: YAML syntax: this line starts at column 5, left of the lines around it (column 7): indent it like them (the parser noticed a line later: mapping values are not allowed in this context)"),
        // A key indented under one whose value is not a mapping.
        ("stage: lead\nsteps:\n  - send: welcome\n  - branch:\n      on: opened\n        step: welcome\n",
         "6:9: error: YAML syntax: this line starts at column 9, right of line 5 (column 7), whose value is not a mapping: indent it like line 5, or end line 5's key with ':' (mapping values are not allowed in this context)"),
        // A colon inside a plain value: a quoting problem, said so, at the parser's column.
        ("stage: lead\nsteps:\n  - send: welcome\n    subject: Webinar: your recording\n",
         "4:21: error: YAML syntax: mapping values are not allowed in this context (a ': ' inside a value: put the value in quotes, e.g. subject: \"Webinar: your recording\")"),
        // CRLF line ends: the same hint.
        ("stage: lead\r\nsteps:\r\n  - send: welcome\r\n  - branch:\r\n      on: opened\r\n        step: welcome\r\n",
         "6:9: error: YAML syntax: this line starts at column 9, right of line 5 (column 7), whose value is not a mapping: indent it like line 5, or end line 5's key with ':' (mapping values are not allowed in this context)"),
        // A list item out of step.
        ("stage: lead\nsteps:\n  - send: welcome\n  - wait: 2d\n - send: reminder\n",
         "5:2: error: YAML syntax: did not find expected key (check the indentation: the keys of one mapping start in the same column, and only a key ending in ':' has lines indented under it)"),
    ])
    func indentation(text: String, expected: String) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-indent-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sequences"), withIntermediateDirectories: true)
        try "stages:\n  - name: lead\n".write(to: root.appendingPathComponent("funnel.yaml"), atomically: true, encoding: .utf8)
        let file = root.appendingPathComponent("sequences/a.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        #expect(WorkflowLoader.load(directory: root.path).errors.map(\.description) == ["\(file.path):\(expected)"])
    }
}

/// Hardening: every file is read in bounded work and stack, whatever it holds.
@Suite("Workflow files: adversarial input is refused in bounded work")
struct WorkflowLoaderAdversarialTests {
    /// A workflows folder with the corpus funnel and `files` (relative path → content).
    static func folder(_ files: [String: String]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-adversarial-\(UUID())")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sequences"), withIntermediateDirectories: true)
        try "stages:\n  - name: lead\n  - name: mql\n    entry: { score_at_least: 40 }\n"
            .write(to: root.appendingPathComponent("funnel.yaml"), atomically: true, encoding: .utf8)
        for (path, content) in files {
            try content.write(to: root.appendingPathComponent(path), atomically: true, encoding: .utf8)
        }
        return root
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Loads `root` and checks it took well under the time an attack would take.
    static func load(_ root: URL, within seconds: Double = 10) -> WorkflowLoader.Result {
        let clock = ContinuousClock()
        var result: WorkflowLoader.Result?
        let elapsed = clock.measure { result = WorkflowLoader.load(directory: root.path, displayPath: "W") }
        #expect(elapsed < .seconds(seconds), "took \(elapsed)")
        return result!
    }

    /// 9 levels of 9 aliases each: 9^9 (387 million) values once expanded, in 1.6 KB.
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
        when: {any: *i}
        steps:
          - send: welcome

        """

    @Test("billion laughs: aliases nested in any: are refused at once, at the alias that goes over")
    func billionLaughs() throws {
        let root = try Self.folder(["sequences/s.yaml": Self.billionLaughs])
        defer { try? FileManager.default.removeItem(at: root) }
        let result = Self.load(root)
        #expect(result.workflow == nil)
        #expect(result.errors.map(\.description) == [
            "W/sequences/s.yaml:7:14: error: YAML anchors and aliases expand to more than 100000 values here: refused (aliases inside anchors multiply)",
        ])
    }

    @Test("an alias used as a mapping key (which Yams would hash in full) is refused before Yams composes")
    func aliasKeys() throws {
        let keys = Self.billionLaughs.replacingOccurrences(of: "when: {any: *i}\n", with: "x: { ? *f : 1, ? *e : 2 }\n")
        let root = try Self.folder(["sequences/s.yaml": keys])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(Self.load(root).errors.first?.message.contains("expand to more than 100000 values") == true)
    }

    @Test("a few aliases within the limits read as before")
    func smallAliases() throws {
        let root = try Self.folder(["sequences/s.yaml": """
            stage: lead
            goals:
              - &demo { event: form_submitted, where: { form: demo } }
            when: { any: [ { field: country, in: &eu [FR, DE] }, { field: billing_country, in: *eu } ] }
            steps:
              - send: welcome
              - goal: *demo
            """])
        defer { try? FileManager.default.removeItem(at: root) }
        let result = Self.load(root)
        #expect(result.errors.isEmpty, "\(result.issues)")
        #expect(result.workflow?.sequences.first?.audience?.evaluate(Lead(id: "1", email: "a@b.de", fields: ["billing_country": "DE"])) == true)
    }

    @Test("10,000 nested [ are refused by the byte scan, before libyaml and Yams")
    func deepFlow() throws {
        let root = try Self.folder(["sequences/s.yaml": "stage: lead\nsteps: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "\n"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(Self.load(root).errors.map(\.description) == ["W/sequences/s.yaml:2:72: error: YAML nests more than 64 levels of [ ] and { } here: refused"])
    }

    @Test("brackets in quotes and comments do not count")
    func bracketsInQuotes() throws {
        let brackets = String(repeating: "[", count: 100)
        let root = try Self.folder(["sequences/s.yaml": "# \(brackets)\nstage: lead\ndescription: '\(brackets) it''s'\nsteps:\n  - send: welcome # \(brackets)\n    subject: \"\(brackets) \\\" \(brackets)\"\n"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(Self.load(root).errors.isEmpty)
    }

    @Test("deep block nesting (- - - …, which libyaml stops at 1000) is refused past 64 levels, without recursion trouble even on a small stack")
    func deepBlocks() throws {
        let text = "stage: lead\nsteps:\n" + String(repeating: "- ", count: 990) + "x\n"
        let problem = Mutex<YAMLLimits.Problem?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            if case .failure(let p) = YAMLLimits.compose(text) { problem.withLock { $0 = p } }
            done.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(problem.withLock { $0 } == YAMLLimits.Problem(line: 3, column: 127, message: "YAML nests more than 64 levels deep here: refused"))
    }

    @Test("conditions nested beyond the depth limit (not: not: … ) are refused, never read recursively")
    func deepConditions() throws {
        var when = "when:\n"
        for level in 0..<100 { when += String(repeating: " ", count: 2 * level + 2) + "not:\n" }
        when += String(repeating: " ", count: 202) + "tag: x\n"
        let root = try Self.folder(["sequences/s.yaml": "stage: lead\n" + when + "steps:\n  - send: welcome\n"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(Self.load(root).errors.map(\.description) == ["W/sequences/s.yaml:65:127: error: YAML nests more than 64 levels deep here: refused"])
    }

    @Test("a sequence of 30,000 steps is refused at its steps, with the count")
    func tooManySteps() throws {
        let steps = String(repeating: "  - wait: 1d\n", count: 30_000)
        let root = try Self.folder(["sequences/s.yaml": "stage: lead\nsteps:\n" + steps])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(Self.load(root).errors.map(\.description) == ["W/sequences/s.yaml:3:3: error: sequence 's' has 30000 steps, more than the limit of 1000: refused"])
    }

    @Test("1,000 steps that jump around are read and validated quickly")
    func thousandSteps() throws {
        var steps = ""
        for i in 0..<1000 { steps += "  - id: s\(i)\n    if: { tag: t\(i % 7) }\n    then: s\((i * 7919 + 1) % 1000)\n    else: next\n" }
        let root = try Self.folder(["sequences/s.yaml": "stage: lead\nsteps:\n" + steps])
        defer { try? FileManager.default.removeItem(at: root) }
        let result = Self.load(root)
        #expect(result.errors.contains { $0.message.hasPrefix("loop without a wait: ") })
    }

    @Test("a mapping with 40,000 keys is read in linear time; 50,000 are over the value limit")
    func manyKeys() throws {
        var text = "stage: lead\nsteps:\n  - send: welcome\n"
        for i in 0..<40_000 { text += "k\(i): v\n" }
        let root = try Self.folder(["sequences/s.yaml": text])
        defer { try? FileManager.default.removeItem(at: root) }
        let result = Self.load(root)
        #expect(result.errors.count == 40_000)
        #expect(result.errors.first?.message.hasPrefix("unknown key 'k0' in sequence") == true)
        for i in 40_000..<50_000 { text += "k\(i): v\n" }
        try text.write(to: root.appendingPathComponent("sequences/s.yaml"), atomically: true, encoding: .utf8)
        #expect(Self.load(root).errors.map(\.description) == [
            "W/sequences/s.yaml:50000:1: error: the file holds more than 100000 values here: refused",
        ])
    }

    @Test("a file over 1 MiB is refused without being parsed")
    func tooBig() throws {
        let root = try Self.folder(["sequences/s.yaml": "stage: lead\nsteps:\n  - send: welcome\n" + String(repeating: "#", count: 1 << 20) + "\n"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(Self.load(root).errors.map(\.description) == ["W/sequences/s.yaml:1:1: error: the file is 1048614 bytes, over the limit of 1 MiB (1048576 bytes): refused"])
    }

    @Test("files and folders that are symbolic links out of the folder are refused; links inside it are fine")
    func symbolicLinks() throws {
        let root = try Self.folder(["sequences/s.yaml": "stage: lead\nsteps:\n  - send: welcome\n"])
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-outside-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try "stage: lead\nsteps:\n  - send: welcome\n".write(to: outside.appendingPathComponent("o.yaml"), atomically: true, encoding: .utf8)
        // Inside: fine.
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("sequences/t.yaml").path, withDestinationPath: "s.yaml")
        #expect(Self.load(root).errors.isEmpty)
        // Outside: refused, by name.
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("scoring.yaml").path, withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("sequences/u.yaml").path, withDestinationPath: outside.appendingPathComponent("o.yaml").path)
        let resolved = try #require(Self.realPath(outside.path))
        #expect(Self.load(root).errors.map(\.description) == [
            "W/scoring.yaml:1:1: error: is a symbolic link to /etc/passwd, outside the workflows folder: refused",
            "W/sequences/u.yaml:1:1: error: is a symbolic link to \(resolved)/o.yaml, outside the workflows folder: refused",
        ])
        // A sequences folder elsewhere is refused as a whole.
        try FileManager.default.removeItem(at: root.appendingPathComponent("sequences"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("sequences").path, withDestinationPath: outside.path)
        #expect(Self.load(root).errors.map(\.description).contains("W/sequences:0:0: error: is a symbolic link to \(resolved), outside the workflows folder: refused"))
    }

    @Test("a subject nesting 10,000 sections is refused when read, not when sent")
    func deepSubject() throws {
        let subject = String(repeating: "{{#a}}", count: 10_000) + String(repeating: "{{/a}}", count: 10_000)
        let root = try Self.folder(["sequences/s.yaml": "stage: lead\nsteps:\n  - send: welcome\n    subject: \"\(subject)\"\n"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(Self.load(root).errors.map(\.description) == [
            "W/sequences/s.yaml:4:14: error: step 1 'subject': 1:601: sections, blocks and layouts nest more than 100 levels deep here: refused",
        ])
    }

    // MARK: Duplicate keys, messages from the YAML library, file sizes

    @Test("every duplicate key is reported at its own line:column, with the first's line, and nothing else of the file")
    func duplicateKeys() throws {
        let text = """
            stage: lead
            steps:
              - send: welcome
                send: guide
            description: a
            steps:
              - send: welcome
            goals: [{event: replied, event: opened}]
            description: b

            """
        let root = try Self.folder(["sequences/s.yaml": text])
        defer { try? FileManager.default.removeItem(at: root) }
        let result = Self.load(root)
        #expect(result.workflow == nil)
        #expect(result.errors.map(\.description) == [
            "W/sequences/s.yaml:4:5: error: duplicate key 'send' (first at line 3)",
            "W/sequences/s.yaml:6:1: error: duplicate key 'steps' (first at line 2)",
            "W/sequences/s.yaml:8:26: error: duplicate key 'event' (first at line 8)",
            "W/sequences/s.yaml:9:1: error: duplicate key 'description' (first at line 5)",
        ])
    }

    @Test("keys compare as Yams compares them: 1 and \"1\" differ, a and \"a\" do not")
    func duplicateKeyKinds() {
        guard case .failure(let problems) = YAMLLimits.composeReportingAll("a: 1\n\"a\": 2\n1: x\n\"1\": y\n") else {
            Issue.record("duplicate accepted")
            return
        }
        #expect(problems.all == [YAMLLimits.Problem(line: 2, column: 1, message: "duplicate key 'a' (first at line 1)")])
        guard case .success = YAMLLimits.compose("1: x\n\"1\": y\n") else {
            Issue.record("1 and \"1\" are different keys")
            return
        }
    }

    @Test("a 900 KB file with a duplicate key: one short line, never the file's contents (it echoed the whole file)")
    func duplicateKeyInBigFile() throws {
        var text = "stage: lead\nsteps:\n  - send: welcome\n"
        for i in 0..<30_000 { text += "# \(i) padding padding padding\n" }
        text += "stage: mql\n"
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        let root = try Self.folder(["sequences/s.yaml": text])
        defer { try? FileManager.default.removeItem(at: root) }
        let messages = Self.load(root).errors.map(\.description)
        #expect(messages == ["W/sequences/s.yaml:\(lines):1: error: duplicate key 'stage' (first at line 1)"])
    }

    @Test("duplicate keys are listed up to 100, then counted")
    func manyDuplicateKeys() {
        let text = "a: 0\n" + (1...150).map { "a: \($0)\n" }.joined()
        guard case .failure(let problems) = YAMLLimits.composeReportingAll(text) else {
            Issue.record("duplicates accepted")
            return
        }
        #expect(problems.all.count == 101)
        #expect(problems.all[99] == YAMLLimits.Problem(line: 101, column: 1, message: "duplicate key 'a' (first at line 1)"))
        #expect(problems.all[100].message == "… and 50 more duplicate keys after this one")
    }

    @Test("defaults.yaml: a duplicate key at its own position")
    func duplicateDefaults() throws {
        let root = try WorkflowLoaderTests.materialize("_base")
        defer { try? FileManager.default.removeItem(at: root) }
        try "first_name: there\ncompany: x\nfirst_name: you\n".write(to: root.appendingPathComponent("Templates/defaults.yaml"), atomically: true, encoding: .utf8)
        let error = #expect(throws: TemplateErrors.self) { try TemplateLibrary(directory: root.appendingPathComponent("Templates")) }
        #expect(error?.errors.map(\.description) == ["defaults.yaml:3:1: duplicate key 'first_name' (first at line 1)"])
    }

    @Test("a character libyaml's reader refuses is reported where it is, on one line")
    func readerError() {
        guard case .failure(let problem) = YAMLLimits.compose("a: 1\nb: \"x\u{1}y\"\n" + String(repeating: "c: 2\n", count: 1000)) else {
            Issue.record("accepted")
            return
        }
        #expect(problem == YAMLLimits.Problem(line: 2, column: 6, message: "YAML: control characters are not allowed"))
    }

    @Test("messages from the YAML library: one line, at most 200 characters")
    func oneLine() {
        #expect(YAMLLimits.oneLine("a\n  b\r\n\tc ") == "a b c")
        let long = YAMLLimits.oneLine(String(repeating: "line\n", count: 200_000))
        #expect(long.count == 200)
        #expect(!long.contains("\n"))
        #expect(long.hasSuffix("…"))
    }

    @Test("a file's size is checked before it is read: a 5 GB sparse file is refused at once")
    func limitedFiles() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-sparse-\(UUID()).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(FileManager.default.createFile(atPath: file.path, contents: nil))
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: 5 << 30)
        try handle.close()
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(LimitedFile.read(file.path, limit: YAMLLimits.maxFileBytes) == .failure(.tooBig(bytes: 5 << 30, limit: 1 << 20)))
            #expect(LimitedFile.check(file.path, limit: 256 << 20) == .failure(.tooBig(bytes: 5 << 30, limit: 256 << 20)))
        }
        #expect(elapsed < .seconds(1))
        #expect(LimitedFile.Failure.tooBig(bytes: 5 << 30, limit: 1 << 20).description == "the file is 5368709120 bytes, over the limit of 1 MiB (1048576 bytes): refused")
        #expect(LimitedFile.Failure.tooBig(bytes: 300 << 20, limit: 256 << 20).description == "the file is 314572800 bytes, over the limit of 256 MiB (268435456 bytes): refused")
        try "a: 1\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(LimitedFile.readText(file.path, limit: 1 << 20) == .success("a: 1\n"))
        #expect(LimitedFile.read(FileManager.default.temporaryDirectory.path, limit: 1 << 20) == .failure(.cannotRead("it is a folder")))
        // A stream is read to the limit and no further.
        let zero = LimitedFile.read("/dev/zero", limit: 1 << 20)
        #expect(zero == .failure(.tooLong(limit: 1 << 20)))
    }
}

/// A value shared with a thread in a test.
final class Mutex<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&value) } }
}
