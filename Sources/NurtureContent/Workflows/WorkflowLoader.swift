import Foundation
import NurtureCore
import Yams

/// Reads a `Workflows/` folder into a validated ``Workflow``.
///
/// ```
/// Workflows/
///   funnel.yaml        settings, stages and their entry criteria, recycle rules
///   scoring.yaml       engagement rules, fit rules, decay
///   sequences/*.yaml   one sequence per file
/// ```
/// Every problem is reported, not only the first, each with file, line and column.
public enum WorkflowLoader {
    /// The outcome of loading: the workflow when there are no errors, and every issue.
    public struct Result: Sendable {
        public var workflow: Workflow?
        public var issues: [WorkflowIssue]

        public var errors: [WorkflowIssue] { issues.filter { $0.severity == .error } }
        public var warnings: [WorkflowIssue] { issues.filter { $0.severity == .warning } }
    }

    /// - Parameters:
    ///   - directory: the workflows folder; messages name files as `<directory>/<file>`.
    ///   - templates: when given, every `send` step's template must exist in it.
    ///   - displayPath: how messages name the folder, when not as `directory` is written.
    public static func load(directory: String, templates: TemplateLibrary? = nil, displayPath: String? = nil) -> Result {
        let root = URL(fileURLWithPath: directory)
        let shown = displayPath ?? directory
        let display = shown.hasSuffix("/") ? String(shown.dropLast()) : shown
        var issues: [WorkflowIssue] = []
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return Result(workflow: nil, issues: [.error(SourceLocation(file: display, line: 0, column: 0), "workflows folder not found")])
        }

        func read(_ relative: String) -> (YAMLDocument, Node?)? {
            let document = YAMLDocument(path: "\(display)/\(relative)")
            let url = root.appendingPathComponent(relative)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
            return (document, document.compose(text))
        }

        var funnel = Funnel(stages: [])
        var settings = Workflow.Settings()
        let funnelPath = "\(display)/funnel.yaml"
        if let (document, node) = read("funnel.yaml") {
            if let node, let (f, s) = document.funnelFile(node) { (funnel, settings) = (f, s) }
            else if node == nil, document.issues.isEmpty { document.error(.scalar(.init("")), "funnel.yaml is empty") }
            issues += document.issues
        } else {
            issues.append(.error(SourceLocation(file: funnelPath, line: 0, column: 0), "missing: the funnel (stages and thresholds) lives in funnel.yaml"))
        }

        var scoring = ScoringModel()
        if let (document, node) = read("scoring.yaml") {
            if let node, let model = document.scoringFile(node) { scoring = model }
            issues += document.issues
        } else {
            issues.append(.warning(SourceLocation(file: "\(display)/scoring.yaml", line: 0, column: 0), "missing: without a scoring model every lead keeps a score of 0"))
        }

        var sequences: [Sequence] = []
        var brokenSequenceFiles = 0
        let funnelIsClean = !issues.contains { $0.severity == .error && $0.location.file == funnelPath }
        let sequenceFiles = ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("sequences").path)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .sorted()
        for file in sequenceFiles {
            guard let (document, node) = read("sequences/\(file)") else { continue }
            let id = String(file.prefix(while: { $0 != "." }))
            if let node, let sequence = document.sequenceFile(node, defaultID: id), !document.issues.contains(where: { $0.severity == .error }) {
                sequences.append(sequence)
            } else {
                if node == nil, document.issues.isEmpty { document.error(.scalar(.init("")), "the file is empty") }
                brokenSequenceFiles += 1
            }
            issues += document.issues
        }

        let workflow = Workflow(funnel: funnel, scoring: scoring, sequences: sequences, settings: settings)
        // Cross-file checks run on what could be read. Everything refers to the funnel, so
        // they need a clean funnel.yaml; sequences with read errors are left out (their
        // problems are already reported), and so is the "no sequence" warning they would cause.
        if funnelIsClean {
            let validator = WorkflowValidator(knownTemplates: templates.map { Set($0.names) })
            issues += validator.validate(workflow).compactMap { issue in
                var issue = issue
                if issue.location == .none { issue.location = SourceLocation(file: funnelPath, line: 1, column: 1) }
                if brokenSequenceFiles > 0, issue.severity == .warning, issue.message.contains("has no sequence") { return nil }
                return issue
            }
        }
        let sorted = issues.sorted { ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column) }
        return Result(workflow: sorted.contains { $0.severity == .error } ? nil : workflow, issues: sorted)
    }
}
