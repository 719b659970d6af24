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
}
