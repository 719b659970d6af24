import Foundation

/// The checks that need the whole picture: references between files, the shape of each
/// sequence's step graph, the order of thresholds. (The file reader reports syntax, unknown
/// keys and bad values; this reports everything else.)
///
/// Every check is linear (or n log n) in the size of the workflow and nothing recurses, so
/// a workflow of any size, built by the reader or in code, is validated in bounded time and
/// stack. (The reader bounds sizes further: see `WorkflowLimits`.)
public struct WorkflowValidator: Sendable {
    /// Template names that exist; `nil` skips the template check.
    public var knownTemplates: Set<String>?

    public init(knownTemplates: Set<String>? = nil) {
        self.knownTemplates = knownTemplates
    }

    /// Every problem found, errors and warnings, in file order.
    public func validate(_ workflow: Workflow) -> [WorkflowIssue] {
        var issues: [WorkflowIssue] = []
        let stages = StageIndex(workflow.funnel)
        issues += checkSettings(workflow.settings)
        issues += checkEvents(workflow)
        issues += checkFunnel(workflow.funnel, stages)
        for sequence in workflow.sequences { issues += checkSequence(sequence, stages) }

        var seen: [String: SourceLocation] = [:]
        for sequence in workflow.sequences {
            if let first = seen[sequence.id] {
                issues.append(.error(sequence.location, "sequence '\(sequence.id)' is already defined at \(first)"))
            } else {
                seen[sequence.id] = sequence.location
            }
        }
        let stagesWithSequences = Set(workflow.sequences.map(\.stage))
        for stage in workflow.funnel.stages where !stagesWithSequences.contains(stage.name) {
            issues.append(.warning(stage.location, "stage '\(stage.name)' has no sequence: its leads get no email"))
        }
        return issues.sorted { ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column) }
    }

    private func checkSettings(_ settings: Workflow.Settings) -> [WorkflowIssue] {
        TimeZone(identifier: settings.defaultTimeZone) == nil
            ? [.error(.none, "default time zone '\(settings.defaultTimeZone)' is not an IANA time zone (e.g. Europe/Paris)")]
            : []
    }

    private func checkFunnel(_ funnel: Funnel, _ stages: StageIndex) -> [WorkflowIssue] {
        var issues: [WorkflowIssue] = []
        if funnel.stages.isEmpty { issues.append(.error(.none, "the funnel has no stages")) }
        var names: [String: SourceLocation] = [:]
        for stage in funnel.stages {
            if let first = names[stage.name] {
                issues.append(.error(stage.location, "stage '\(stage.name)' is already defined at \(first)"))
            }
            names[stage.name] = names[stage.name] ?? stage.location
        }
        for stage in funnel.stages {
            for problem in stages.check(stage.entry?.condition, where: "stage '\(stage.name)' entry") {
                issues.append(.error(stage.entry?.location ?? stage.location, problem))
            }
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
            let from = stages.index(of: rule.from)
            let to = stages.index(of: rule.to)
            if from == nil { issues.append(.error(rule.location, "recycle rule: \(stages.unknown(rule.from))")) }
            if to == nil { issues.append(.error(rule.location, "recycle rule: \(stages.unknown(rule.to))")) }
            if let from, let to, to >= from {
                issues.append(.error(rule.location, "recycle rule: '\(rule.to)' is not earlier in the funnel than '\(rule.from)'"))
            }
        }
        return issues
    }

    /// Every event a rule, a stage's entry or a goal names is built in or declared: a typo
    /// (`email_click`) would otherwise never match, silently.
    private func checkEvents(_ workflow: Workflow) -> [WorkflowIssue] {
        var issues: [WorkflowIssue] = []
        func check(_ filter: EventFilter, _ fallback: SourceLocation, _ role: String) {
            if let problem = workflow.unknownEvent(filter.type) {
                issues.append(.error(filter.location == .none ? fallback : filter.location, "\(role): \(problem)"))
            }
        }
        for rule in workflow.scoring.engagement { check(rule.filter, rule.location, "engagement rule") }
        for stage in workflow.funnel.stages {
            for filter in stage.entry?.requiresAny ?? [] { check(filter, stage.entry?.location ?? stage.location, "stage '\(stage.name)' requires_any") }
        }
        for sequence in workflow.sequences {
            for goal in sequence.goals { check(goal.filter, goal.location, "goal") }
            for step in sequence.steps { if case .goal(let goal) = step.kind { check(goal.filter, step.location, "goal") } }
            if let trigger = sequence.trigger { check(trigger.filter, trigger.location, "sequence '\(sequence.id)' trigger") }
            for (filter, _) in sequence.audience?.eventTests ?? [] { check(filter, sequence.location, "sequence '\(sequence.id)' 'when'") }
            for step in sequence.steps {
                guard case .if(let condition, _, _) = step.kind else { continue }
                for (filter, _) in condition.eventTests { check(filter, step.location, "'if'") }
            }
        }
        // A stage's entry is checked on the profile alone: events go in its requires_any.
        for stage in workflow.funnel.stages where !(stage.entry?.condition?.eventTests.isEmpty ?? true) {
            issues.append(.error(stage.entry?.location ?? stage.location, "stage '\(stage.name)' entry: an event condition is not read here; list the events in requires_any"))
        }
        return issues
    }

    private func checkSequence(_ sequence: Sequence, _ stages: StageIndex) -> [WorkflowIssue] {
        var issues: [WorkflowIssue] = []
        if !(sequence.trigger != nil && sequence.stage.isEmpty), stages.index(of: sequence.stage) == nil {
            issues.append(.error(sequence.location, "sequence '\(sequence.id)': \(stages.unknown(sequence.stage))"))
        }
        for problem in stages.check(sequence.audience, where: "sequence '\(sequence.id)' 'when'") {
            issues.append(.error(sequence.location, problem))
        }
        if sequence.steps.isEmpty {
            issues.append(.error(sequence.location, "sequence '\(sequence.id)' has no steps"))
            return issues
        }
        var ids: [String: SourceLocation] = [:]
        var positions: [String: Int] = [:] // the first step with each id, as `Sequence.index(of:)`
        for (index, step) in sequence.steps.enumerated() {
            if let first = ids[step.id] {
                issues.append(.error(step.location, "step id '\(step.id)' is already used at \(first)"))
            } else {
                ids[step.id] = step.location
                positions[step.id] = index
            }
        }
        let known = Self.abbreviatedList(sequence.steps.map(\.id))
        func checkTarget(_ target: StepTarget, _ step: Step, _ role: String) {
            if case .step(let id) = target, ids[id] == nil {
                issues.append(.error(step.location, "\(role) refers to step '\(id)', which does not exist\(Spelling.hint(for: id, among: sequence.steps.map(\.id))) (steps: \(known))"))
            }
        }
        for goal in sequence.goals { checkTarget(goal.then, Step(id: "goal", .goal(goal), location: goal.location), "goal 'then'") }
        for (index, step) in sequence.steps.enumerated() {
            switch step.kind {
            case .send(let template, _):
                if let knownTemplates, !knownTemplates.contains(template) {
                    issues.append(.error(step.location, "unknown template '\(template)'\(Spelling.hint(for: template, among: knownTemplates.sorted())) (templates: \(Self.abbreviatedList(knownTemplates.sorted())))"))
                }
                for variant in step.variants {
                    if let knownTemplates, let template = variant.template, !knownTemplates.contains(template) {
                        issues.append(.error(step.location, "variant '\(variant.id)': unknown template '\(template)'\(Spelling.hint(for: template, among: knownTemplates.sorted())) (templates: \(Self.abbreviatedList(knownTemplates.sorted())))"))
                    }
                }
            case .branch(let branch):
                checkTarget(branch.then, step, "branch 'then'")
                checkTarget(branch.else, step, "branch 'else'")
                if branch.on == .opened, !sequence.tracking || !sequence.openTracking {
                    issues.append(.warning(step.location, sequence.tracking
                        ? "branch on opened in a sequence with open_tracking: false: only clicks count as opens"
                        : "branch on opened in a sequence with tracking: false: no open or click is seen, so it always takes 'else'"))
                }
                if let target = positions[branch.step] {
                    guard case .send = sequence.steps[target].kind else {
                        issues.append(.error(step.location, "branch on '\(branch.step)': that step sends no email"))
                        break
                    }
                    if target >= index {
                        issues.append(.error(step.location, "branch on '\(branch.step)': the email must be sent by an earlier step"))
                    }
                } else {
                    issues.append(.error(step.location, "branch refers to step '\(branch.step)', which does not exist\(Spelling.hint(for: branch.step, among: sequence.steps.map(\.id))) (steps: \(known))"))
                }
            case .if(let condition, let then, let otherwise):
                checkTarget(then, step, "if 'then'")
                checkTarget(otherwise, step, "if 'else'")
                for problem in stages.check(condition, where: "if") { issues.append(.error(step.location, problem)) }
            case .goto(let target):
                checkTarget(target, step, "goto")
            case .goal(let goal):
                checkTarget(goal.then, step, "goal 'then'")
            case .stage(let name):
                if stages.index(of: name) == nil {
                    issues.append(.error(step.location, stages.unknown(name)))
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

    /// Unreachable steps, and loops that never wait (they would spin forever). A wait until a
    /// fixed date does not count: it holds the first time round only (see `Step.waits`).
    /// Both walks are iterative, with explicit stacks: no recursion a file can drive.
    private func checkGraph(_ sequence: Sequence) -> [WorkflowIssue] {
        let graph = StepGraph(sequence)
        let steps = sequence.steps
        var issues: [WorkflowIssue] = []
        var reachable = [Bool](repeating: false, count: steps.count)
        var stack = [0]
        for goal in sequence.goals { if let i = graph.index(goal.then, after: -1) { stack.append(i) } }
        for step in steps { if case .goal(let goal) = step.kind, let i = graph.index(goal.then, after: -1) { stack.append(i) } }
        while let node = stack.popLast() {
            guard !reachable[node] else { continue }
            reachable[node] = true
            stack += graph.successors[node]
        }
        for (index, step) in steps.enumerated() where !reachable[index] {
            issues.append(.error(step.location, "step '\(step.id)' can never be reached"))
        }
        // Cycles among steps that do not wait (waits until a fixed date included): a
        // depth-first search over the steps that do not wait, visiting successors in order,
        // as a recursive one would.
        var state = [UInt8](repeating: 0, count: steps.count) // 0 new, 1 on the path, 2 done
        var pathPosition = [Int](repeating: -1, count: steps.count)
        var path: [(node: Int, next: Int)] = [] // a node on the path, and its next successor to try
        var reported = [Bool](repeating: false, count: steps.count)
        for root in steps.indices where state[root] == 0 && !steps[root].waits {
            state[root] = 1
            pathPosition[root] = 0
            path.append((root, 0))
            while let top = path.last {
                let successors = graph.successors[top.node]
                guard top.next < successors.count else {
                    path.removeLast()
                    state[top.node] = 2
                    pathPosition[top.node] = -1
                    continue
                }
                path[path.count - 1].next += 1
                let next = successors[top.next]
                guard !steps[next].waits else { continue }
                if state[next] == 1, !reported[next] {
                    reported[next] = true
                    let nodes = path[pathPosition[next]...].map(\.node)
                    let cycle = Self.abbreviatedCycle(nodes.map { steps[$0].id } + [steps[next].id])
                    let advice = nodes.contains { steps[$0].waitsUntilFixedDate }
                        ? "a wait until a fixed date holds only the first time round: add a duration or until_next wait"
                        : "add a wait step to it"
                    issues.append(.error(steps[next].location, "loop without a wait: \(cycle); \(advice)"))
                } else if state[next] == 0 {
                    state[next] = 1
                    pathPosition[next] = path.count
                    path.append((next, 0))
                }
            }
        }
        return issues
    }

    /// Long lists in messages are cut: a few names are enough to recognise the set.
    static let listedNames = 20

    /// `a, b, c`, or the first ``listedNames`` names and how many there are in all.
    static func abbreviatedList(_ names: [String]) -> String {
        guard names.count > listedNames else { return names.joined(separator: ", ") }
        return names.prefix(listedNames).joined(separator: ", ") + ", … (\(names.count) in all)"
    }

    /// `a → b → a`, or its first and last steps around "…" when the loop is long.
    static func abbreviatedCycle(_ ids: [String]) -> String {
        guard ids.count > listedNames else { return ids.joined(separator: " → ") }
        let half = listedNames / 2
        return (ids.prefix(half) + ["… (\(ids.count - 1) steps) …"] + ids.suffix(half)).joined(separator: " → ")
    }
}

/// Stage names to funnel positions (the first stage of each name, as `Funnel.index(of:)`).
struct StageIndex {
    private var positions: [String: Int] = [:]
    let names: [String]
    /// The stage names for messages.
    let list: String

    init(_ funnel: Funnel) {
        for (index, stage) in funnel.stages.enumerated() where positions[stage.name] == nil {
            positions[stage.name] = index
        }
        names = funnel.stages.map(\.name)
        list = WorkflowValidator.abbreviatedList(names)
    }

    func index(of name: String) -> Int? { positions[name] }

    /// "unknown stage 'sqll'; did you mean 'sql'? (stages: …)"
    func unknown(_ name: String) -> String {
        "unknown stage '\(name)'\(Spelling.hint(for: name, among: names)) (stages: \(list))"
    }

    /// The problems with the stages a condition names: one for each unknown one. (A condition
    /// on a stage that does not exist is always false, silently.)
    func check(_ condition: Condition?, where place: String) -> [String] {
        guard let condition else { return [] }
        var problems: [String] = []
        var stack = [condition]
        while let next = stack.popLast() {
            switch next {
            case .stage(let name) where index(of: name) == nil: problems.append("\(place): \(unknown(name))")
            case .all(let list), .any(let list): stack += list.reversed()
            case .not(let inner): stack.append(inner)
            default: break
            }
        }
        return problems
    }
}

/// The control flow between a sequence's steps.
struct StepGraph {
    let sequence: Sequence
    /// Step ids to positions (the first step with each id, as `Sequence.index(of:)`).
    private let positions: [String: Int]
    /// The steps each step can lead to, in order (`then` before `else`).
    private(set) var successors: [[Int]] = []

    init(_ sequence: Sequence) {
        self.sequence = sequence
        var positions: [String: Int] = [:]
        for (index, step) in sequence.steps.enumerated() where positions[step.id] == nil {
            positions[step.id] = index
        }
        self.positions = positions
        successors = sequence.steps.indices.map(computeSuccessors)
    }

    /// The step a target leads to from step `index`, `nil` when it leaves the sequence.
    func index(_ target: StepTarget, after index: Int) -> Int? {
        switch target {
        case .next: index + 1 < sequence.steps.count ? index + 1 : nil
        case .step(let id): positions[id]
        case .exit: nil
        }
    }

    private func computeSuccessors(_ index: Int) -> [Int] {
        switch sequence.steps[index].kind {
        case .send, .wait, .set, .score, .goal: [self.index(.next, after: index)].compactMap { $0 }
        case .branch(let b): [self.index(b.then, after: index), self.index(b.else, after: index)].compactMap { $0 }
        case .if(_, let then, let otherwise): [self.index(then, after: index), self.index(otherwise, after: index)].compactMap { $0 }
        case .goto(let target): [self.index(target, after: index)].compactMap { $0 }
        case .stage, .exit: []
        }
    }
}
