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

    @Test("a loop whose only wait is until a fixed date is refused: that wait holds the first time round only (it sent 250 emails at once)")
    func fixedDateLoops() {
        let fixed = step("w", .wait(.until(LocalDateTime(year: 2026, month: 1, day: 1), timeZone: nil)))
        let burst = [send("top"), fixed, step("again", .goto(.step("top")))]
        let found = WorkflowValidator().validate(seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", steps: burst)]))
        #expect(found.filter { $0.severity == .error }.map(\.message) == [
            "loop without a wait: top → w → again → top; a wait until a fixed date holds only the first time round: add a duration or until_next wait",
        ])
        // In a time zone of its own, in a loop through an if: the same.
        let zoned = step("w", .wait(.until(LocalDateTime(year: 2026, month: 1, day: 1), timeZone: "Europe/Paris")))
        let viaIf = [send("top"), zoned, step("i", .if(.tag("x"), then: .step("top"), else: .exit))]
        #expect(issues([Sequence(id: "s", stage: "lead", steps: viaIf)]).contains(
            "loop without a wait: top → w → i → top; a wait until a fixed date holds only the first time round: add a duration or until_next wait"))
        // Two fixed dates do not make a wait either.
        let two = [send("top"), fixed, step("w2", .wait(.until(LocalDateTime(year: 2027, month: 1, day: 1), timeZone: nil))), step("again", .goto(.step("top")))]
        #expect(issues([Sequence(id: "s", stage: "lead", steps: two)]).contains { $0.hasPrefix("loop without a wait: top → w → w2 → again → top; a wait until a fixed date") })
        // A loop without any wait keeps its message.
        let plain = [send("top"), step("again", .goto(.step("top")))]
        #expect(issues([Sequence(id: "s", stage: "lead", steps: plain)]).contains("loop without a wait: top → again → top; add a wait step to it"))
    }

    @Test("loops through until_next or a duration are fine, with or without a fixed date too; a fixed date outside any loop is fine")
    func waitsThatHold() {
        let fixed = step("w", .wait(.until(LocalDateTime(year: 2026, month: 1, day: 1), timeZone: nil)))
        let weekly = step("weekly", .wait(.untilNext(days: [.tue], hour: 10, minute: 0)))
        let days = step("days", .wait(.duration(.days(2))))
        for holding in [weekly, days] {
            let loops = [send("top"), fixed, holding, step("again", .goto(.step("top")))]
            #expect(!issues([Sequence(id: "s", stage: "lead", steps: loops)]).contains { $0.contains("loop") }, "\(holding.kind)")
            let only = [send("top"), holding, step("again", .goto(.step("top")))]
            #expect(!issues([Sequence(id: "s", stage: "lead", steps: only)]).contains { $0.contains("loop") }, "\(holding.kind)")
        }
        #expect(!WorkflowValidator().validate(seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", steps: [send("a"), fixed, send("b")])])).contains { $0.severity == .error })
        // A branch is no wait, as before: a loop through one and a fixed date is refused.
        let branch = step("b", .branch(Branch(on: .opened, step: "top", within: .days(3), then: .step("top"), else: .exit)))
        #expect(issues([Sequence(id: "s", stage: "lead", steps: [send("top"), fixed, branch])]).contains(
            "loop without a wait: top → w → b → top; a wait until a fixed date holds only the first time round: add a duration or until_next wait"))
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

/// Hardening: the validator works in linear time and constant stack on any workflow.
@Suite("Workflow validation: any size, bounded work")
struct ValidatorScaleTests {
    func timed<T>(_ body: () -> T) -> T {
        var result: T?
        let elapsed = ContinuousClock().measure { result = body() }
        #expect(elapsed < .seconds(10), "took \(elapsed)")
        return result!
    }

    @Test("a loop of 30,000 steps without a wait is found without recursion (it overflowed the stack), and told briefly")
    func longLoop() {
        var steps = (0..<30_000).map { step("s\($0)", .set(.addTag("t"))) }
        steps.append(step("back", .goto(.step("s0"))))
        let found = timed { WorkflowValidator().validate(seedWorkflow(sequences: [Sequence(id: "long", stage: "lead", steps: steps)])) }
        let loops = found.filter { $0.message.hasPrefix("loop without a wait") }.map(\.message)
        #expect(loops == ["loop without a wait: s0 → s1 → s2 → s3 → s4 → s5 → s6 → s7 → s8 → s9 → … (30001 steps) … → s29992 → s29993 → s29994 → s29995 → s29996 → s29997 → s29998 → s29999 → back → s0; add a wait step to it"])
    }

    @Test("30,000 steps that branch and jump everywhere are validated in linear time")
    func wideGraph() {
        let n = 30_000
        var steps: [Step] = [step("s0", .send(template: "welcome", subject: nil))]
        for i in 1..<n {
            let kind: Step.Kind = i % 3 == 0
                ? .branch(Branch(on: .opened, step: "s0", within: .days(1), then: .step("s\((i * 7919) % n)"), else: .next))
                : i % 3 == 1 ? .wait(.duration(.days(1))) : .if(.tag("x"), then: .step("s\((i * 104_729) % n)"), else: .next)
            steps.append(step("s\(i)", kind))
        }
        let found = timed { WorkflowValidator().validate(seedWorkflow(sequences: [Sequence(id: "wide", stage: "lead", steps: steps)])) }
        #expect(!found.contains { $0.severity == .error && !$0.message.hasPrefix("loop without a wait") && !$0.message.contains("never be reached") }, "\(found.prefix(3))")
    }

    @Test("long lists in messages are cut after 20 names")
    func longLists() {
        var steps = (0..<100).map { step("s\($0)", .wait(.duration(.days(1)))) }
        steps.append(step("bad", .goto(.step("nowhere"))))
        let found = WorkflowValidator().validate(seedWorkflow(sequences: [Sequence(id: "s", stage: "lead", steps: steps)])).map(\.message)
        #expect(found.contains("goto refers to step 'nowhere', which does not exist (steps: s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19, … (101 in all))"))
    }

    @Test("many stages and sequences are checked without quadratic scans")
    func manyStages() {
        let stages = (0..<20_000).map { Stage(name: "st\($0)") }
        let sequences = (0..<20_000).map { Sequence(id: "q\($0)", stage: "st\($0)", steps: [step("a", .stage("st\(($0 + 1) % 20_000)"))]) }
        let workflow = Workflow(funnel: Funnel(stages: stages), scoring: ScoringModel(), sequences: sequences)
        let found = timed { WorkflowValidator().validate(workflow) }
        #expect(found.isEmpty, "\(found.prefix(3))")
    }
}
