import Foundation
@testable import NurtureCore
import Testing

@Suite("Workflow validation in the core")
struct ValidatorTests {
    func issues(_ sequences: [Sequence], templates: Set<String>? = nil) -> [String] {
        WorkflowValidator(knownTemplates: templates).validate(seedWorkflow(sequences: sequences)).map(\.message)
    }

    let send = { (id: String) in step(id, .send(template: id, subject: nil)) }

    @Test("a stage without a sequence is a warning, not an error")
    func stageWithoutSequence() {
        let found = WorkflowValidator().validate(seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", steps: [step("a", .send(template: "a", subject: nil))])]))
        #expect(found.allSatisfy { $0.severity == .warning })
        #expect(found.map(\.message).contains("stage 'mql' has no sequence: its leads get no email"))
    }

    @Test("loops through a wait are fine; loops without one are not")
    func loops() {
        let withWait = [send("a"), step("w", .wait(.duration(.days(7)))), step("again", .goto(.step("a")))]
        #expect(!issues([Sequence(id: "s", stage: "lead", steps: withWait)]).contains { $0.contains("loop") })
        let without = [send("a"), step("i", .if(.tag("x"), then: .step("a"), else: .exit))]
        #expect(issues([Sequence(id: "s", stage: "lead", steps: without)]).contains("loop without a wait: a → i → a; add a wait step to it"))
    }

    @Test("goal targets count as reachable")
    func goalReachability() {
        let steps = [send("a"), step("w", .wait(.duration(.days(3)))), step("x", .exit), send("thanks")]
        let goal = Goal(filter: EventFilter(type: "replied"), then: .step("thanks"))
        #expect(!issues([Sequence(id: "s", stage: "lead", goals: [goal], steps: steps)]).contains { $0.contains("never be reached") })
        #expect(issues([Sequence(id: "s", stage: "lead", steps: steps)]).contains("step 'thanks' can never be reached"))
    }

    @Test("duplicate sequences, moves to the current stage, empty sequences")
    func misc() {
        let found = issues([
            Sequence(id: "s", stage: "lead", steps: [send("a"), step("up", .stage("lead"))]),
            Sequence(id: "s", stage: "mql", steps: []),
        ])
        #expect(found.contains("stage step moves the lead to 'lead', the stage it is already in"))
        #expect(found.contains { $0.hasPrefix("sequence 's' is already defined at") })
        #expect(found.contains("sequence 's' has no steps"))
    }

    @Test("the default time zone must exist")
    func timeZone() {
        var workflow = seedWorkflow(sequences: [])
        workflow.settings.defaultTimeZone = "Europe/Atlantis"
        #expect(WorkflowValidator().validate(workflow).contains { $0.message.contains("'Europe/Atlantis' is not an IANA time zone") })
    }

    @Test("durations parse and print the way marketers write them", arguments: [
        ("2d", 172_800, "2d"), ("36h", 129_600, "1d12h"), ("90m", 5400, "1h30m"), ("1w", 604_800, "1w"), ("2d3h", 183_600, "2d3h"), ("45s", 45, "45s"),
    ])
    func durations(text: String, seconds: Int, printed: String) {
        #expect(TimeSpan(parsing: text)?.seconds == seconds)
        #expect(TimeSpan(seconds: seconds).description == printed)
    }

    @Test("bad durations are refused", arguments: ["", "2", "2 days", "d", "-1d", "1y", "0d"])
    func badDurations(text: String) {
        #expect(TimeSpan(parsing: text) == nil)
    }
}
