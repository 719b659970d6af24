import NurtureCore
import Yams

/// Reads one `sequences/*.yaml` file.
extension YAMLDocument {
    /// Most steps in one sequence (the engine and the validator walk them).
    package static let maxSteps = 1_000

    static let stepKinds = ["send", "wait", "branch", "if", "set", "score", "stage", "goal", "goto", "exit"]

    func sequenceFile(_ root: Node, defaultID: String) -> Sequence? {
        guard let map = mapping(root, "sequence") else { return nil }
        map.rejectUnknownKeys(["id", "stage", "trigger", "description", "when", "priority", "tracking", "open_tracking", "send_window", "headers", "re_entry", "goals", "steps"])
        let id = map.string("id") ?? defaultID
        // `trigger: {event: webinar_attended, where: {…}, mode: pause|replace}`: an
        // event-triggered sequence, for leads in `stage` if given, else in any stage.
        var trigger: Trigger?
        if let node = map.value("trigger") {
            guard let t = mapping(node, "sequence 'trigger'") else { return nil }
            t.rejectUnknownKeys(["event", "where", "mode"])
            guard let filter = eventFilter(t, what: "sequence 'trigger'") else { return nil }
            var mode = Trigger.Mode.pause
            if let text = t.string("mode") {
                // A bad mode is reported, and the rest of the file still read for its problems.
                if let parsed = Trigger.Mode(rawValue: text) { mode = parsed } else {
                    error(t.value("mode")!, "sequence 'trigger' 'mode': expected pause (the lead's sequence waits for this one) or replace (it ends), found '\(text)'")
                }
            }
            trigger = Trigger(filter: filter, mode: mode, location: location(node))
        }
        guard let stage = trigger == nil ? map.string("stage", required: true) : (map.string("stage") ?? "") else { return nil }
        var sequence = Sequence(id: id, stage: stage, description: map.string("description"), steps: [], location: location(root))
        sequence.trigger = trigger
        if let when = map.value("when") { sequence.audience = condition(when, what: "sequence 'when'") }
        if let priority = map.int("priority") { sequence.priority = priority }
        if let tracking = map.bool("tracking") { sequence.tracking = tracking }
        if let open = map.bool("open_tracking") { sequence.openTracking = open }
        if let window = map.value("send_window") { sequence.sendWindow = sendWindow(window, what: "sequence 'send_window'") }
        if let headers = map.mapping("headers") { sequence.headers = customHeaders(headers, what: "sequence 'headers'") }
        if let node = map.value("re_entry") {
            switch node.scalar?.string {
            case "never": sequence.reEntry = .never
            case "always": sequence.reEntry = .always
            default:
                if let text = node.scalar?.string, let span = TimeSpan(parsing: text.replacingOccurrences(of: "after ", with: "")) {
                    sequence.reEntry = .after(span)
                } else {
                    error(node, "sequence 're_entry': expected never, always or a duration such as 90d, found \(Self.kind(node))")
                }
            }
        }
        for item in map.list("goals") ?? [] {
            guard let g = mapping(item, "goal") else { continue }
            g.rejectUnknownKeys(["event", "where", "then"])
            guard let filter = eventFilter(g, what: "goal") else { continue }
            sequence.goals.append(Goal(filter: filter, then: g.value("then").flatMap { target($0, what: "goal 'then'") } ?? .exit, location: location(item)))
        }
        guard let steps = map.list("steps", required: true) else { return nil }
        guard steps.count <= Self.maxSteps else {
            error(map.value("steps")!, "sequence '\(id)' has \(steps.count) steps, more than the limit of \(Self.maxSteps): refused")
            return nil
        }
        for (index, item) in steps.enumerated() {
            if let step = step(item, number: index + 1) { sequence.steps.append(step) }
        }
        return sequence
    }

    private func step(_ node: Node, number: Int) -> Step? {
        let what = "step \(number)"
        if case .scalar(let scalar) = node, scalar.string == "exit" {
            return Step(id: "exit-\(number)", .exit, location: location(node))
        }
        guard let map = mapping(node, what) else { return nil }
        let kinds = Self.stepKinds.filter(map.has)
        guard kinds.count == 1, let kind = kinds.first, let value = map.value(kind) else {
            error(node, "\(what): expected exactly one of \(Self.stepKinds.joined(separator: ", ")), found \(kinds.isEmpty ? "none" : kinds.joined(separator: " and "))")
            map.rejectUnknownKeys(Self.stepKinds + ["id", "subject", "variants", "then", "else"])
            return nil
        }
        var allowed = ["id", kind]
        let given = map.string("id")
        let loc = location(node)
        func make(_ defaultID: String, _ kind: Step.Kind) -> Step { Step(id: given ?? defaultID, kind, location: loc) }
        defer { map.rejectUnknownKeys(allowed) }

        switch kind {
        case "send":
            allowed += ["subject", "variants"]
            guard let template = string(value, "\(what) 'send'") else { return nil }
            let subject = map.string("subject")
            // Rendered by swift-mustache at send time: checked now, as template files are.
            if let subject, let problem = TemplateLibrary.check(source: subject) {
                error(map.value("subject")!, "\(what) 'subject': \(problem)")
                return nil
            }
            var step = make(template, .send(template: template, subject: subject))
            if let node = map.value("variants") {
                guard let variants = variants(node, what: "\(what) 'variants'") else { return nil }
                step.variants = variants
            }
            return step
        case "wait":
            guard let wait = wait(value, what: "\(what) 'wait'") else { return nil }
            return make("wait-\(number)", .wait(wait))
        case "branch":
            guard let b = mapping(value, "\(what) 'branch'") else { return nil }
            b.rejectUnknownKeys(["on", "step", "within", "then", "else", "link"])
            guard let on = b.string("on", required: true), let sent = b.string("step", required: true),
                  let within = b.span("within", required: true) else { return nil }
            guard let engagement = Branch.Engagement(rawValue: on) else {
                error(b.value("on")!, "\(what) 'branch' 'on': expected opened, clicked or replied, found '\(on)'")
                return nil
            }
            let then = b.value("then").flatMap { target($0, what: "\(what) 'then'") } ?? .next
            let otherwise = b.value("else").flatMap { target($0, what: "\(what) 'else'") } ?? .next
            if then == otherwise { warning(node, "\(what): 'then' and 'else' go to the same place") }
            // `link: https://…/recording` (the URL starts with it), or a value test such as
            // `link: { matches: "/webinars/.*/recording" }`: a click on that link only.
            var link: FieldTest?
            if let node = b.value("link") {
                guard engagement == .clicked else {
                    error(node, "\(what) 'branch' 'link': only a branch on clicked looks at links")
                    return nil
                }
                if case .scalar(let scalar) = node {
                    link = .prefix(scalar.string)
                } else if let l = mapping(node, "\(what) 'branch' 'link'") {
                    l.rejectUnknownKeys(Self.testKeys)
                    guard let test = fieldTest(in: l, what: "\(what) 'branch' 'link'") else { return nil }
                    link = test
                } else {
                    return nil
                }
            }
            return make("branch-\(number)", .branch(Branch(on: engagement, step: sent, within: within, then: then, else: otherwise, link: link)))
        case "if":
            allowed += ["then", "else"]
            guard let condition = condition(value, what: "\(what) 'if'") else { return nil }
            let then = map.value("then").flatMap { target($0, what: "\(what) 'then'") } ?? .next
            let otherwise = map.value("else").flatMap { target($0, what: "\(what) 'else'") } ?? .next
            if !map.has("then") && !map.has("else") { error(node, "\(what) 'if': give 'then', 'else' or both (step ids, next or exit)") }
            return make("if-\(number)", .if(condition, then: then, else: otherwise))
        case "set":
            guard let s = mapping(value, "\(what) 'set'") else { return nil }
            s.rejectUnknownKeys(["field", "value", "tag", "remove_tag"])
            if let field = s.string("field") {
                guard let v = s.string("value", required: true) else { return nil }
                return make("set-\(number)", .set(.field(field, v)))
            }
            if let tag = s.string("tag") { return make("set-\(number)", .set(.addTag(tag))) }
            if let tag = s.string("remove_tag") { return make("set-\(number)", .set(.removeTag(tag))) }
            error(value, "\(what) 'set': expected {field: NAME, value: TEXT}, {tag: NAME} or {remove_tag: NAME}")
            return nil
        case "score":
            guard let points = int(value, "\(what) 'score'") else { return nil }
            return make("score-\(number)", .score(points))
        case "stage":
            guard let stage = string(value, "\(what) 'stage'") else { return nil }
            return make("stage-\(number)", .stage(stage))
        case "goal":
            guard let g = mapping(value, "\(what) 'goal'") else { return nil }
            g.rejectUnknownKeys(["event", "where", "then"])
            guard let filter = eventFilter(g, what: "\(what) 'goal'") else { return nil }
            let then = g.value("then").flatMap { target($0, what: "\(what) 'goal' 'then'") } ?? .exit
            return make("goal-\(number)", .goal(Goal(filter: filter, then: then, location: loc)))
        case "goto":
            guard let t = target(value, what: "\(what) 'goto'") else { return nil }
            return make("goto-\(number)", .goto(t))
        case "exit":
            return make("exit-\(number)", .exit)
        default:
            return nil
        }
    }

    /// `[{id: a, weight: 50}, {id: b, subject: "…", template: other, weight: 50}]`: ids unique,
    /// weights from 0 to 1000 with at least one above 0, subjects valid Mustache.
    private func variants(_ node: Node, what: String) -> [Variant]? {
        guard let items = list(node, what) else { return nil }
        guard items.count >= 2, items.count <= 26 else {
            error(node, "\(what): an A/B test needs 2 to 26 variants, found \(items.count)")
            return nil
        }
        var variants: [Variant] = []
        var ok = true
        for item in items {
            guard let v = mapping(item, "\(what) item") else { ok = false; continue }
            v.rejectUnknownKeys(["id", "template", "subject", "weight"])
            guard let id = v.string("id", required: true), let weight = v.int("weight", required: true) else { ok = false; continue }
            guard (0...1000).contains(weight) else {
                error(v.value("weight")!, "\(what) '\(id)' 'weight': expected a number from 0 (off) to 1000, found \(weight)")
                ok = false
                continue
            }
            if variants.contains(where: { $0.id == id }) {
                error(v.value("id")!, "\(what): variant id '\(id)' is used twice")
                ok = false
                continue
            }
            let subject = v.string("subject")
            if let subject, let problem = TemplateLibrary.check(source: subject) {
                error(v.value("subject")!, "\(what) '\(id)' 'subject': \(problem)")
                ok = false
                continue
            }
            variants.append(Variant(id: id, template: v.string("template"), subject: subject, weight: weight))
        }
        guard ok else { return nil }
        guard variants.contains(where: { $0.weight > 0 }) else {
            error(node, "\(what): every variant has weight 0: give at least one a weight")
            return nil
        }
        return variants
    }

    /// `2d`, `{until: "2026-12-01 09:00", time_zone: Europe/Paris}`, `{until_next: tue, at: "10:00"}`,
    /// `{business_days: 3}` (optionally `days: mon-fri`; else the send window's days).
    private func wait(_ node: Node, what: String) -> Wait? {
        if case .scalar = node {
            return span(node, what).map(Wait.duration)
        }
        guard let w = mapping(node, what) else { return nil }
        w.rejectUnknownKeys(["until", "time_zone", "until_next", "at", "business_days", "days"])
        if let countNode = w.value("business_days") {
            guard let n = int(countNode, "\(what) 'business_days'") else { return nil }
            guard (1...365).contains(n) else {
                error(countNode, "\(what) 'business_days': expected a number of days from 1 to 365, found \(n)")
                return nil
            }
            var days: Set<Weekday>?
            if let daysNode = w.value("days") {
                guard let parsed = weekdays(daysNode, what: "\(what) 'days'") else { return nil }
                days = parsed
            }
            return .businessDays(n, days: days)
        }
        if let text = w.string("until") {
            guard let local = LocalDateTime(parsing: text) else {
                error(w.value("until")!, "\(what) 'until': expected a date like 2026-12-01 or 2026-12-01 09:00, found '\(text)'")
                return nil
            }
            return .until(local, timeZone: w.string("time_zone"))
        }
        if let daysNode = w.value("until_next") {
            guard let days = weekdays(daysNode, what: "\(what) 'until_next'") else { return nil }
            var minutes = 9 * 60
            if let at = w.string("at") {
                guard let m = clock(at), m < 1440 else {
                    error(w.value("at")!, "\(what) 'at': expected HH:MM, found '\(at)'")
                    return nil
                }
                minutes = m
            }
            return .untilNext(days: days, hour: minutes / 60, minute: minutes % 60)
        }
        error(node, "\(what): expected a duration (2d), {until: DATE}, {until_next: DAY, at: HH:MM} or {business_days: N}")
        return nil
    }

    /// `headers:` name → value, each checked (``CustomHeaderRules``, ``HeaderTemplate``).
    package func customHeaders(_ map: MappingReader, what: String) -> [MessageHeader] {
        var headers: [MessageHeader] = []
        for name in map.keys {
            guard let node = map.value(name), let value = string(node, "\(what) '\(name)'") else { continue }
            if let problem = CustomHeaderRules.problem(name: name, value: value) ?? HeaderTemplate.problem(value).map({ "'\(name)': \($0)" }) {
                error(node, "\(what): \(problem)")
                continue
            }
            headers.append(MessageHeader(name, value))
        }
        return headers
    }
}
