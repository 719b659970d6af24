import Foundation
import NurtureCore

/// A scripted event for the dry-run: `opened welcome +2d`, `clicked welcome +2d3h`,
/// `page_visited /pricing +5d`, `form_submitted quote +6d`, `replied +9d`,
/// `unsubscribed +12d`, or any event with `key=value` properties: `webinar_attended topic=roi +4d`.
public struct WhatIf: Sendable, Equatable, CustomStringConvertible {
    public var type: String
    /// `stage sql +1d`: a stage move instead of an event (`type` is then `stage`).
    public var stage: String?
    public var properties: [String: String]
    /// After the start of the dry-run.
    public var offset: TimeSpan
    public var text: String

    public var description: String { text }

    public func event(from start: Date) -> Event {
        Event(type, at: start + offset, properties: properties)
    }

    /// The what-ifs that are events, and those that are stage moves, from `start`.
    public static func split(_ whatIfs: [WhatIf], from start: Date) -> (events: [Event], moves: [Simulation.StageMove]) {
        (whatIfs.filter { $0.stage == nil }.map { $0.event(from: start) },
         whatIfs.compactMap { whatIf in whatIf.stage.map { Simulation.StageMove(at: start + whatIf.offset, stage: $0) } })
    }

    static let aliases = [
        "opened": Event.Kind.opened, "opens": Event.Kind.opened, "open": Event.Kind.opened, "email_opened": Event.Kind.opened,
        "clicked": Event.Kind.clicked, "clicks": Event.Kind.clicked, "click": Event.Kind.clicked, "email_clicked": Event.Kind.clicked,
        "replied": Event.Kind.replied, "replies": Event.Kind.replied, "reply": Event.Kind.replied,
        "visited": Event.Kind.pageVisited, "visits": Event.Kind.pageVisited, "page_visited": Event.Kind.pageVisited,
        "submitted": Event.Kind.formSubmitted, "form_submitted": Event.Kind.formSubmitted,
        "unsubscribed": Event.Kind.unsubscribed, "unsubscribes": Event.Kind.unsubscribed,
        "bounced": Event.Kind.bounced, "complained": Event.Kind.complained,
    ]

    /// Parses one what-if, checking email steps against the workflow's send steps.
    public static func parse(_ text: String, workflow: Workflow) throws(WhatIfError) -> WhatIf {
        var tokens = text.split(separator: " ").map(String.init)
        // "+0", "+0d", "+0h"…: at the start itself (a TimeSpan is never zero long).
        let isZero = ["+0", "+0s", "+0m", "+0h", "+0d", "+0w"].contains(tokens.last?.lowercased() ?? "")
        guard let last = tokens.last, last.hasPrefix("+"), let offset = isZero ? TimeSpan(seconds: 0) : TimeSpan(parsing: String(last.dropFirst())) else {
            throw WhatIfError(text, "expected a time after the start at the end, like +2d or +2d3h")
        }
        tokens.removeLast()
        guard let first = tokens.first else { throw WhatIfError(text, "expected an event, like 'opened welcome +2d'") }
        tokens.removeFirst()
        // `stage sql +1d`: the lead is moved to a stage (by an operator, the CRM, the API).
        if first.lowercased() == "stage" {
            let names = workflow.funnel.stages.map(\.name)
            guard tokens.count == 1, let name = tokens.first else { throw WhatIfError(text, "expected a stage, like 'stage sql +1d' (stages: \(names.joined(separator: ", ")))") }
            guard names.contains(name) else { throw WhatIfError(text, "unknown stage '\(name)'\(Spelling.hint(for: name, among: names)) (stages: \(names.joined(separator: ", ")))") }
            return WhatIf(type: "stage", stage: name, properties: [:], offset: offset, text: text)
        }
        let type = aliases[first.lowercased()] ?? first
        if let problem = workflow.unknownEvent(type) { throw WhatIfError(text, problem) }
        var properties: [String: String] = [:]
        var positional: [String] = []
        for token in tokens {
            if !token.hasPrefix("/"), !token.lowercased().hasPrefix("http"), let eq = token.firstIndex(of: "="), eq != token.startIndex {
                properties[String(token[..<eq])] = String(token[token.index(after: eq)...])
            } else {
                positional.append(token)
            }
        }
        let steps = sendSteps(workflow)
        switch type {
        case Event.Kind.opened, Event.Kind.clicked, Event.Kind.replied:
            if let name = positional.first ?? properties["step"] {
                guard let step = steps[name] else {
                    throw WhatIfError(text, "unknown email '\(name)' (steps that send: \(steps.keys.sorted().joined(separator: ", ")))")
                }
                properties["step"] = step
                positional.removeFirst(positional.isEmpty ? 0 : 1)
            } else if type != Event.Kind.replied {
                throw WhatIfError(text, "which email? e.g. '\(first) \(steps.keys.sorted().first ?? "welcome") +2d'")
            }
        case Event.Kind.pageVisited:
            if let page = positional.first {
                properties[page.hasPrefix("http") ? "url" : "path"] = page
                if page.hasPrefix("http"), let path = URLComponents(string: page)?.path { properties["path"] = path }
                positional.removeFirst()
            }
        case Event.Kind.formSubmitted:
            if let form = positional.first {
                properties["form"] = form
                positional.removeFirst()
            }
        default:
            break
        }
        guard positional.isEmpty else {
            throw WhatIfError(text, "did not understand '\(positional.joined(separator: " "))' (use key=value for event properties)")
        }
        return WhatIf(type: type, stage: nil, properties: properties, offset: offset, text: text)
    }

    /// Send step ids, and template names sent by exactly one step, → step id.
    static func sendSteps(_ workflow: Workflow) -> [String: String] {
        var steps: [String: String] = [:]
        var templates: [String: Set<String>] = [:]
        for sequence in workflow.sequences {
            for step in sequence.steps {
                if case .send(let template, _) = step.kind {
                    steps[step.id] = step.id
                    templates[template, default: []].insert(step.id)
                }
            }
        }
        for (template, ids) in templates where ids.count == 1 && steps[template] == nil { steps[template] = ids.first }
        return steps
    }
}

public struct WhatIfError: Error, CustomStringConvertible {
    public var text: String
    public var reason: String
    init(_ text: String, _ reason: String) {
        self.text = text
        self.reason = reason
    }
    public var description: String { "what-if '\(text)': \(reason)" }
}
