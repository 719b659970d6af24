/// A yes/no question about a lead, for `if` steps, sequence audiences and stage criteria.
public indirect enum Condition: Hashable, Sendable, CustomStringConvertible {
    case field(String, FieldTest)
    /// Total score (fit + engagement, 0…100) at least N.
    case scoreAtLeast(Int)
    case scoreBelow(Int)
    case fitAtLeast(Int)
    case engagementAtLeast(Int)
    case stage(String)
    case tag(String)
    case all([Condition])
    case any([Condition])
    case not(Condition)
    /// The lead did this (people only, never machines) at least `atLeast` times, within the
    /// last `within` if given: "attended a webinar in the last 30 days".
    case event(EventFilter, within: TimeSpan?, atLeast: Int)

    /// Whether the lead passes. Event conditions read `history` (none: they do not hold).
    public func evaluate(_ lead: Lead, history: EventHistory? = nil) -> Bool {
        switch self {
        case .field(let name, let test): test.test(name == "email" ? lead.email : lead.fields[name])
        case .scoreAtLeast(let n): lead.score >= n
        case .scoreBelow(let n): lead.score < n
        case .fitAtLeast(let n): lead.fitScore >= n
        case .engagementAtLeast(let n): lead.engagementScore >= n
        case .stage(let name): lead.stage == name
        case .tag(let tag): lead.tags.contains(tag)
        case .all(let conditions): conditions.allSatisfy { $0.evaluate(lead, history: history) }
        case .any(let conditions): conditions.contains { $0.evaluate(lead, history: history) }
        case .not(let condition): !condition.evaluate(lead, history: history)
        case .event(let filter, let within, let atLeast): (history?.count(filter, within: within) ?? 0) >= atLeast
        }
    }

    /// The event tests in this condition, each with the count it needs.
    public var eventTests: [(filter: EventFilter, atLeast: Int)] {
        var found: [(filter: EventFilter, atLeast: Int)] = []
        var stack = [self]
        while let condition = stack.popLast() {
            switch condition {
            case .event(let filter, _, let atLeast): found.append((filter, atLeast))
            case .all(let inner), .any(let inner): stack += inner
            case .not(let inner): stack.append(inner)
            default: break
            }
        }
        return found
    }

    public var description: String {
        switch self {
        case .field(let name, let test): "\(name) \(test)"
        case .scoreAtLeast(let n): "score ≥ \(n)"
        case .scoreBelow(let n): "score < \(n)"
        case .fitAtLeast(let n): "fit ≥ \(n)"
        case .engagementAtLeast(let n): "engagement ≥ \(n)"
        case .stage(let s): "stage is \(s)"
        case .tag(let t): "has tag \(t)"
        case .all(let c): c.map(\.description).joined(separator: " and ")
        case .any(let c): "(" + c.map(\.description).joined(separator: " or ") + ")"
        case .not(let c): "not (\(c))"
        case .event(let filter, let within, let atLeast):
            "\(filter)" + (atLeast > 1 ? " at least \(atLeast) times" : "") + (within.map { " within \($0)" } ?? " ever")
        }
    }
}
