import NurtureCore
import Yams

/// Reads the pieces shared by every workflow file: value tests, event filters, conditions,
/// send windows and step targets.
extension YAMLDocument {
    static let testKeys = ["equals", "in", "matches", "prefix", "between", "at_least", "at_most", "exists"]

    /// One value test from a mapping that holds exactly one of ``testKeys``.
    func fieldTest(in map: MappingReader, what: String) -> FieldTest? {
        let present = Self.testKeys.filter(map.has)
        guard present.count == 1, let key = present.first, let node = map.value(key) else {
            error(map.node, "\(what): expected exactly one test of \(Self.testKeys.joined(separator: ", ")), found \(present.isEmpty ? "none" : present.joined(separator: " and "))")
            return nil
        }
        return fieldTest(key: key, node, what: what)
    }

    func fieldTest(key: String, _ node: Node, what: String) -> FieldTest? {
        switch key {
        case "equals":
            return string(node, "\(what) 'equals'").map(FieldTest.equals)
        case "in":
            guard let items = list(node, "\(what) 'in'") else { return nil }
            let values = items.compactMap { string($0, "\(what) 'in'") }
            return values.count == items.count ? .oneOf(values) : nil
        case "matches":
            guard let source = string(node, "\(what) 'matches'") else { return nil }
            do {
                return .matches(try Pattern(source))
            } catch {
                self.error(node, "\(what) 'matches': '\(Self.excerpt(source))' is not a valid regular expression: \(error)")
                return nil
            }
        case "prefix":
            return string(node, "\(what) 'prefix'").map(FieldTest.prefix)
        case "between":
            guard let items = list(node, "\(what) 'between'") else { return nil }
            let numbers = items.compactMap { number($0, "\(what) 'between'") }
            guard numbers.count == 2, items.count == 2 else {
                self.error(node, "\(what) 'between': expected two numbers [low, high]")
                return nil
            }
            guard numbers[0] <= numbers[1] else {
                self.error(node, "\(what) 'between': the low bound \(FieldTest.atLeast(numbers[0]).description.dropFirst(9)) is above the high bound \(FieldTest.atLeast(numbers[1]).description.dropFirst(9))")
                return nil
            }
            return .between(numbers[0], numbers[1])
        case "at_least":
            return number(node, "\(what) 'at_least'").map(FieldTest.atLeast)
        case "at_most":
            return number(node, "\(what) 'at_most'").map(FieldTest.atMost)
        case "exists":
            return bool(node, "\(what) 'exists'").map(FieldTest.exists)
        default:
            return nil
        }
    }

    /// `where: {path: /pricing, form: [quote, demo], url: {prefix: https://}}`.
    func propertyTests(_ node: Node, what: String) -> [String: FieldTest]? {
        guard case .mapping(let entries) = node else {
            error(node, "\(what): expected a mapping of property tests, found \(Self.kind(node))")
            return nil
        }
        var tests: [String: FieldTest] = [:]
        var ok = true
        for (key, value) in entries {
            let name = key.scalar?.string ?? ""
            switch value {
            case .scalar(let scalar):
                tests[name] = .equals(scalar.string)
            case .sequence:
                if let test = fieldTest(key: "in", value, what: "\(what) '\(name)'") { tests[name] = test } else { ok = false }
            case .mapping:
                guard let map = mapping(value, "\(what) '\(name)'") else { ok = false; continue }
                if let test = fieldTest(in: map, what: "\(what) '\(name)'") { tests[name] = test } else { ok = false }
                map.rejectUnknownKeys(Self.testKeys)
            case .alias:
                error(value, "\(what) '\(name)': aliases are not supported")
                ok = false
            }
        }
        return ok ? tests : nil
    }

    /// `{event: form_submitted, where: {form: quote}}` (extra keys allowed by the caller).
    func eventFilter(_ map: MappingReader, what: String) -> EventFilter? {
        guard let type = map.string("event", required: true) else { return nil }
        var properties: [String: FieldTest] = [:]
        if let node = map.value("where") {
            guard let tests = propertyTests(node, what: "\(what) 'where'") else { return nil }
            properties = tests
        }
        return EventFilter(type: type, properties: properties, location: location(map.node))
    }

    static let conditionKeys = ["field", "score_at_least", "score_below", "fit_at_least", "engagement_at_least", "stage", "tag", "all", "any", "not", "event", "where", "within", "times"] + testKeys

    /// A condition: one or more tests in a mapping (all must hold), or `all`/`any`/`not`.
    func condition(_ node: Node, what: String) -> Condition? {
        guard let map = mapping(node, what) else { return nil }
        defer { map.rejectUnknownKeys(Self.conditionKeys) }
        var parts: [Condition] = []
        var ok = true
        if let field = map.string("field") {
            if let test = fieldTest(in: map, what: "\(what) on field '\(field)'") { parts.append(.field(field, test)) } else { ok = false }
        } else if Self.testKeys.contains(where: map.has) {
            error(node, "\(what): a test (\(Self.testKeys.filter(map.has).joined(separator: ", "))) needs a 'field'")
            ok = false
        }
        // `{event: webinar_attended, where: {…}, within: 30d, times: 2}`: the lead did it.
        if map.has("event") {
            if let filter = eventFilter(map, what: "\(what) 'event'") {
                let times = map.int("times") ?? 1
                if !(1...1000).contains(times) {
                    error(map.value("times") ?? node, "\(what) 'times': expected a count from 1 to 1000, found \(times)")
                    ok = false
                } else {
                    parts.append(.event(filter, within: map.span("within"), atLeast: times))
                }
            } else {
                ok = false
            }
        } else if let key = ["where", "within", "times"].first(where: map.has) {
            error(map.value(key) ?? node, "\(what): '\(key)' goes with 'event' (e.g. {event: webinar_attended, within: 30d})")
            ok = false
        }
        if let n = map.int("score_at_least") { parts.append(.scoreAtLeast(n)) }
        if let n = map.int("score_below") { parts.append(.scoreBelow(n)) }
        if let n = map.int("fit_at_least") { parts.append(.fitAtLeast(n)) }
        if let n = map.int("engagement_at_least") { parts.append(.engagementAtLeast(n)) }
        if let stage = map.string("stage") { parts.append(.stage(stage)) }
        if let tag = map.string("tag") { parts.append(.tag(tag)) }
        for key in ["all", "any"] {
            guard let items = map.list(key) else { continue }
            let conditions = items.compactMap { condition($0, what: "\(what) '\(key)'") }
            if conditions.count == items.count, !items.isEmpty {
                parts.append(key == "all" ? .all(conditions) : .any(conditions))
            } else {
                if items.isEmpty { error(node, "\(what) '\(key)': the list is empty") }
                ok = false
            }
        }
        if let inner = map.value("not") {
            if let c = condition(inner, what: "\(what) 'not'") { parts.append(.not(c)) } else { ok = false }
        }
        guard ok else { return nil }
        guard !parts.isEmpty else {
            error(node, "\(what): expected a condition (field + test, score_at_least, score_below, fit_at_least, engagement_at_least, stage, tag, event, all, any or not)")
            return nil
        }
        return parts.count == 1 ? parts[0] : .all(parts)
    }

    /// `{days: [mon, tue] | mon-fri | weekdays | every day, hours: "09:00-17:00"}`.
    func sendWindow(_ node: Node, what: String) -> SendWindow? {
        guard let map = mapping(node, what) else { return nil }
        defer { map.rejectUnknownKeys(["days", "hours"]) }
        var days = Set(Weekday.allCases)
        if let daysNode = map.value("days") {
            guard let parsed = weekdays(daysNode, what: "\(what) 'days'") else { return nil }
            days = parsed
        }
        var start = 0, end = 24 * 60
        if let hoursNode = map.value("hours") {
            guard let text = string(hoursNode, "\(what) 'hours'") else { return nil }
            let bounds = text.split(separator: "-").map { clock(String($0)) }
            guard bounds.count == 2, let from = bounds[0], let to = bounds[1] else {
                error(hoursNode, "\(what) 'hours': expected HH:MM-HH:MM, e.g. 09:00-17:30, found '\(text)'")
                return nil
            }
            guard from < to else {
                error(hoursNode, "\(what) 'hours': the window must start before it ends (windows across midnight are not supported)")
                return nil
            }
            (start, end) = (from, to)
        }
        return SendWindow(days: days, start: start, end: end)
    }

    /// Minutes after midnight for `HH:MM` (24:00 allowed as the end of the day).
    func clock(_ text: String) -> Int? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":").map { Int($0) }
        guard parts.count == 2, let h = parts[0], let m = parts[1], (0...24).contains(h), (0...59).contains(m), h * 60 + m <= 1440 else { return nil }
        return h * 60 + m
    }

    /// `[mon, wed]`, `mon-fri`, `weekdays`, `weekends`, `every day`, or one day.
    func weekdays(_ node: Node, what: String) -> Set<Weekday>? {
        let names: [String]
        switch node {
        case .sequence(let items): names = items.compactMap { $0.scalar?.string.lowercased() }
        case .scalar(let scalar): names = [scalar.string.lowercased()]
        default:
            error(node, "\(what): expected days like [mon, tue] or mon-fri, found \(Self.kind(node))")
            return nil
        }
        var days = Set<Weekday>()
        for name in names {
            switch name {
            case "weekdays": days.formUnion([.mon, .tue, .wed, .thu, .fri])
            case "weekends": days.formUnion([.sat, .sun])
            case "every day", "daily", "all": days.formUnion(Weekday.allCases)
            default:
                let range = name.split(separator: "-").map { Weekday(rawValue: String($0.prefix(3))) }
                if range.count == 2, let a = range[0], let b = range[1] {
                    let all = Weekday.allCases
                    var i = all.firstIndex(of: a)!
                    while true {
                        days.insert(all[i])
                        if all[i] == b { break }
                        i = (i + 1) % all.count
                    }
                } else if range.count == 1, let day = range[0] {
                    days.insert(day)
                } else {
                    error(node, "\(what): '\(name)' is not a day (mon, tue, wed, thu, fri, sat, sun, mon-fri, weekdays, weekends)")
                    return nil
                }
            }
        }
        guard !days.isEmpty else {
            error(node, "\(what): no days given")
            return nil
        }
        return days
    }

    /// `next`, `exit`, or a step id.
    func target(_ node: Node, what: String) -> StepTarget? {
        guard let text = string(node, what) else { return nil }
        switch text {
        case "next": return .next
        case "exit": return .exit
        default: return .step(text)
        }
    }
}
