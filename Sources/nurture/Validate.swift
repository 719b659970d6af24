import ArgumentParser
import Foundation
import NurtureApp
import NurtureContent
import NurtureCore

/// `nurture validate`: check the workflow and template files, as CI should on every change.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the workflow and template files and print every problem.",
        discussion: """
        Prints each problem as FILE:LINE:COLUMN: error|warning: MESSAGE and exits 1 when there is \
        any error (warnings alone exit 0). When everything is valid, prints a short summary.

        Examples:
          nurture validate
          nurture validate --workflows campaign/Workflows --templates campaign/Templates
        """
    )

    @Option(help: "The workflows folder.")
    var workflows = "Workflows"

    @Option(help: "The templates folder.")
    var templates = "Templates"

    func run() throws {
        var problems: [String] = []
        var library: TemplateLibrary?
        do {
            library = try TemplateLibrary(directory: URL(fileURLWithPath: templates))
        } catch {
            problems += error.errors.map { "\($0.location(inFolder: templates)): error: \($0.message)" }
        }
        let templateErrors = problems.count
        let templateWarnings = library?.warnings.map { "\($0.location(inFolder: templates)): warning: \($0.message)" } ?? []
        let result = WorkflowLoader.load(directory: workflows, templates: library)
        problems += result.issues.map(\.description) + templateWarnings
        for line in problems { print(line) }

        let errorCount = result.errors.count + templateErrors
        let warningCount = result.warnings.count + templateWarnings.count
        guard errorCount == 0, let workflow = result.workflow, let library else {
            print("\(errorCount) error\(errorCount == 1 ? "" : "s"), \(warningCount) warning\(warningCount == 1 ? "" : "s")")
            throw ExitCode(1)
        }
        let steps = workflow.sequences.reduce(0) { $0 + $1.steps.count }
        print("""
        valid: \(workflow.funnel.stages.count) stages (\(workflow.funnel.stages.map(\.name).joined(separator: " → "))), \
        \(workflow.scoring.engagement.count) engagement and \(workflow.scoring.fit.count) fit rules, \
        \(workflow.sequences.count) sequences with \(steps) steps, \(library.names.count) templates; \
        \(warningCount) warning\(warningCount == 1 ? "" : "s")
        """)
    }
}
