import Foundation

/// The checks that need the whole picture: references between files, the shape of each
/// sequence's step graph, the order of thresholds. (The file reader reports syntax, unknown
/// keys and bad values; this reports everything else.)
public struct WorkflowValidator: Sendable {
    /// Template names that exist; `nil` skips the template check.
    public var knownTemplates: Set<String>?

    public init(knownTemplates: Set<String>? = nil) {
        self.knownTemplates = knownTemplates
    }

    /// Every problem found, errors and warnings, in file order.
    public func validate(_ workflow: Workflow) -> [WorkflowIssue] {
        var issues: [WorkflowIssue] = []
        issues += checkSettings(workflow.settings)
        issues += checkFunnel(workflow.funnel)
        for sequence in workflow.sequences { issues += checkSequence(sequence, funnel: workflow.funnel) }

        var seen: [String: SourceLocation] = [:]
        for sequence in workflow.sequences {
            if let first = seen[sequence.id] {
                issues.append(.error(sequence.location, "sequence '\(sequence.id)' is already defined at \(first)"))
            } else {
                seen[sequence.id] = sequence.location
            }
        }
        for stage in workflow.funnel.stages where !workflow.sequences.contains(where: { $0.stage == stage.name }) {
            issues.append(.warning(stage.location, "stage '\(stage.name)' has no sequence: its leads get no email"))
        }
        return issues.sorted { ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column) }
    }

    private func checkSettings(_ settings: Workflow.Settings) -> [WorkflowIssue] {
        TimeZone(identifier: settings.defaultTimeZone) == nil
            ? [.error(.none, "default time zone '\(settings.defaultTimeZone)' is not an IANA time zone (e.g. Europe/Paris)")]
            : []
    }

    private func checkFunnel(_ funnel: Funnel) -> [WorkflowIssue] {
        var issues: [WorkflowIssue] = []
        if funnel.stages.isEmpty { issues.append(.error(.none, "the funnel has no stages")) }
        var names: [String: SourceLocation] = [:]
        for stage in funnel.stages {
            if let first = names[stage.name] {
                issues.append(.error(stage.location, "stage '\(stage.name)' is already defined at \(first)"))
            }
            names[stage.name] = names[stage.name] ?? stage.location
        }
        // Automatic thresholds must not decrease along the funnel.
        var previous: (stage: Stage, score: Int)?
        for stage in funnel.stages where !stage.manual {
            guard let score = stage.entry?.scoreAtLeast else { continue }
            if !(0...100).contains(score) {
                issues.append(.error(stage.entry?.location ?? stage.location, "stage '\(stage.name)': score_at_least \(score) is outside 0…100"))
            }
            if let previous, score < previous.score {
                issues.append(.error(
                    stage.entry?.location ?? stage.location,
                    "thresholds out of order: stage '\(stage.name)' needs score ≥ \(score), less than the earlier stage '\(previous.stage.name)' (≥ \(previous.score))"))
            }
            previous = (stage, score)
        }
        if let first = funnel.stages.first, first.entry != nil {
            issues.append(.warning(first.location, "the first stage '\(first.name)' has entry criteria: every new lead starts there anyway"))
        }
        for rule in funnel.recycleRules {
            let from = funnel.index(of: rule.from)
            let to = funnel.index(of: rule.to)
            if from == nil { issues.append(.error(rule.location, "recycle rule: unknown stage '\(rule.from)' (stages: \(stageList(funnel)))")) }
            if to == nil { issues.append(.error(rule.location, "recycle rule: unknown stage '\(rule.to)' (stages: \(stageList(funnel)))")) }
            if let from, let to, to >= from {
                issues.append(.error(rule.location, "recycle rule: '\(rule.to)' is not earlier in the funnel than '\(rule.from)'"))
            }
        }
        return issues
    }

    private func stageList(_ funnel: Funnel) -> String { funnel.stages.map(\.name).joined(separator: ", ") }

    private func checkSequence(_ sequence: Sequence, funnel: Funnel) -> [WorkflowIssue] {
        var issues: [WorkflowIssue] = []
        if funnel.index(of: sequence.stage) == nil {
            issues.append(.error(sequence.location, "sequence '\(sequence.id)': unknown stage '\(sequence.stage)' (stages: \(stageList(funnel)))"))
        }
        if sequence.steps.isEmpty {
            issues.append(.error(sequence.location, "sequence '\(sequence.id)' has no steps"))
            return issues
        }
        var ids: [String: SourceLocation] = [:]
        for step in sequence.steps {
            if let first = ids[step.id] {
                issues.append(.error(step.location, "step id '\(step.id)' is already used at \(first)"))
            }
            ids[step.id] = ids[step.id] ?? step.location
        }
        let known = sequence.steps.map(\.id)
        func checkTarget(_ target: StepTarget, _ step: Step, _ role: String) {
            if case .step(let id) = target, ids[id] == nil {
                issues.append(.error(step.location, "\(role) refers to step '\(id)', which does not exist (steps: \(known.joined(separator: ", ")))"))
            }
        }
        for goal in sequence.goals { checkTarget(goal.then, Step(id: "goal", .goal(goal), location: goal.location), "goal 'then'") }
        for (index, step) in sequence.steps.enumerated() {
            switch step.kind {
            case .send(let template, _):
                if let knownTemplates, !knownTemplates.contains(template) {
                    issues.append(.error(step.location, "unknown template '\(template)' (templates: \(knownTemplates.sorted().joined(separator: ", ")))"))
                }
            case .branch(let branch):
                checkTarget(branch.then, step, "branch 'then'")
                checkTarget(branch.else, step, "branch 'else'")
                if let target = sequence.index(of: branch.step) {
                    guard case .send = sequence.steps[target].kind else {
                        issues.append(.error(step.location, "branch on '\(branch.step)': that step sends no email"))
                        break
                    }
                    if target >= index {
                        issues.append(.error(step.location, "branch on '\(branch.step)': the email must be sent by an earlier step"))
                    }
                } else {
                    issues.append(.error(step.location, "branch refers to step '\(branch.step)', which does not exist (steps: \(known.joined(separator: ", ")))"))
                }
            case .if(_, let then, let otherwise):
                checkTarget(then, step, "if 'then'")
                checkTarget(otherwise, step, "if 'else'")
            case .goto(let target):
                checkTarget(target, step, "goto")
            case .goal(let goal):
                checkTarget(goal.then, step, "goal 'then'")
            case .stage(let name):
                if funnel.index(of: name) == nil {
                    issues.append(.error(step.location, "unknown stage '\(name)' (stages: \(stageList(funnel)))"))
                } else if name == sequence.stage {
                    issues.append(.error(step.location, "stage step moves the lead to '\(name)', the stage it is already in"))
                }
            case .wait(let wait):
                if case .until(_, let zone?) = wait, TimeZone(identifier: zone) == nil {
                    issues.append(.error(step.location, "'\(zone)' is not an IANA time zone (e.g. Europe/Paris)"))
                }
            case .set, .score, .exit:
                break
            }
        }
        if let window = sequence.sendWindow, window.start >= window.end || window.days.isEmpty {
            issues.append(.error(sequence.location, "sequence '\(sequence.id)': the send window is empty"))
        }
        guard issues.isEmpty else { return issues } // the graph checks need valid references
        issues += checkGraph(sequence)
        return issues
    }

    /// Unreachable steps, and loops that never wait (they would spin forever).
    private func checkGraph(_ sequence: Sequence) -> [WorkflowIssue] {
        let graph = StepGraph(sequence)
        var issues: [WorkflowIssue] = []
        var reachable = Set<Int>()
        var stack = [0]
        for goal in sequence.goals { if let i = graph.index(goal.then, after: -1) { stack.append(i) } }
        for step in sequence.steps { if case .goal(let goal) = step.kind, let i = graph.index(goal.then, after: -1) { stack.append(i) } }
        while let node = stack.popLast() {
            guard reachable.insert(node).inserted else { continue }
            stack += graph.successors(node)
        }
        for (index, step) in sequence.steps.enumerated() where !reachable.contains(index) {
            issues.append(.error(step.location, "step '\(step.id)' can never be reached"))
        }
        // Cycles among steps that do not wait.
        var state = [Int](repeating: 0, count: sequence.steps.count) // 0 new, 1 on stack, 2 done
        var path: [Int] = []
        var reported = Set<Int>()
        func visit(_ node: Int) {
            state[node] = 1
            path.append(node)
            for next in graph.successors(node) where !sequence.steps[next].waits {
                if state[next] == 1, let start = path.firstIndex(of: next), reported.insert(next).inserted {
                    let cycle = path[start...].map { sequence.steps[$0].id } + [sequence.steps[next].id]
                    issues.append(.error(sequence.steps[next].location, "loop without a wait: \(cycle.joined(separator: " → ")); add a wait step to it"))
                } else if state[next] == 0 {
                    visit(next)
                }
            }
            path.removeLast()
            state[node] = 2
        }
        for node in sequence.steps.indices where state[node] == 0 && !sequence.steps[node].waits { visit(node) }
        return issues
    }
}

/// The control flow between a sequence's steps.
struct StepGraph {
    let sequence: Sequence

    init(_ sequence: Sequence) { self.sequence = sequence }

    /// The step a target leads to from step `index`, `nil` when it leaves the sequence.
    func index(_ target: StepTarget, after index: Int) -> Int? {
        switch target {
        case .next: index + 1 < sequence.steps.count ? index + 1 : nil
        case .step(let id): sequence.index(of: id)
        case .exit: nil
        }
    }

    func successors(_ index: Int) -> [Int] {
        switch sequence.steps[index].kind {
        case .send, .wait, .set, .score, .goal: [self.index(.next, after: index)].compactMap { $0 }
        case .branch(let b): [self.index(b.then, after: index), self.index(b.else, after: index)].compactMap { $0 }
        case .if(_, let then, let otherwise): [self.index(then, after: index), self.index(otherwise, after: index)].compactMap { $0 }
        case .goto(let target): [self.index(target, after: index)].compactMap { $0 }
        case .stage, .exit: []
        }
    }
}
