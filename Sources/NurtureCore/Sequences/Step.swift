import Foundation
/// One step of a sequence.
public struct Step: Sendable {
    /// Unique within the sequence; other steps refer to it (`then: case-study`).
    public var id: String
    public var kind: Kind
    public var location: SourceLocation
    /// A send step's A/B variants (none: every lead gets the step's template and subject).
    public var variants: [Variant]

    public init(id: String, _ kind: Kind, location: SourceLocation = .none, variants: [Variant] = []) {
        self.id = id
        self.kind = kind
        self.location = location
        self.variants = variants
    }

    public enum Kind: Sendable {
        /// Send a template; `subject` overrides the template's subject (Mustache).
        case send(template: String, subject: String?)
        case wait(Wait)
        /// Continue at `then` if the lead engaged with an earlier send within the window, else at `else`.
        case branch(Branch)
        /// Continue at `then` if the condition holds, else at `else`.
        case `if`(Condition, then: StepTarget, else: StepTarget)
        case set(Assignment)
        /// Adjust the engagement score (does not decay).
        case score(Int)
        /// Move the lead to a stage: this enrollment ends and that stage's sequence starts.
        case stage(String)
        /// From here on, this event ends the enrollment (or jumps to a step).
        case goal(Goal)
        case goto(StepTarget)
        case exit
    }

    /// Whether the step makes time pass every time it is reached (breaks a loop). A wait
    /// until a fixed date does not: once the date has passed it lets the lead straight through,
    /// so a loop around it would run again at once.
    var waits: Bool {
        guard case .wait(let wait) = kind else { return false }
        if case .until = wait { return false }
        return true
    }

    /// Whether the step is a wait until a fixed date (`wait: {until: …}`).
    var waitsUntilFixedDate: Bool {
        if case .wait(.until) = kind { return true }
        return false
    }
}

/// Where to go after a decision.
public enum StepTarget: Hashable, Sendable, CustomStringConvertible {
    /// The following step (the end of the sequence after the last one).
    case next
    case step(String)
    /// Leave the sequence.
    case exit

    public var description: String {
        switch self {
        case .next: "next"
        case .step(let id): id
        case .exit: "exit"
        }
    }
}

/// How long a `wait` step waits.
public enum Wait: Sendable, Equatable, CustomStringConvertible {
    /// A fixed time after the step is reached.
    case duration(TimeSpan)
    /// Until a date and time, in the lead's time zone unless `timeZone` is given.
    case until(LocalDateTime, timeZone: String?)
    /// Until the next of these weekdays at this local time (e.g. next Tuesday 10:00).
    case untilNext(days: Set<Weekday>, hour: Int, minute: Int)
    /// This many business days, at the same local time: days counted only when they are
    /// business days — `days`, or else the days of the sequence's send window (Friday 10:00 +
    /// 1 business day is Monday 10:00 with a Monday-to-Friday window).
    case businessDays(Int, days: Set<Weekday>?)

    public var description: String {
        switch self {
        case .duration(let span): "wait \(span)"
        case .until(let local, let zone): "wait until \(local)" + (zone.map { " \($0)" } ?? "")
        case .untilNext(let days, let hour, let minute):
            "wait until next \(Weekday.allCases.filter(days.contains).map(\.rawValue).joined(separator: "/")) \(String(format: "%02d:%02d", hour, minute))"
        case .businessDays(let n, let days):
            "wait \(n) business day\(n == 1 ? "" : "s")" + (days.map { " (\(Weekday.allCases.filter($0.contains).map(\.rawValue).joined(separator: "/")))" } ?? "")
        }
    }
}

/// A branch on engagement with an earlier email.
public struct Branch: Sendable, Equatable {
    public enum Engagement: String, Sendable, CaseIterable {
        case opened, clicked, replied
    }
    public var on: Engagement
    /// The `send` step whose email is looked at.
    public var step: String
    /// Counted from that email's send time.
    public var within: TimeSpan
    public var then: StepTarget
    public var `else`: StepTarget
    /// For `clicked`: only clicks on links whose URL passes this test (the recording, not
    /// any link of the email).
    public var link: FieldTest?

    public init(on: Engagement, step: String, within: TimeSpan, then: StepTarget, else: StepTarget, link: FieldTest? = nil) {
        self.on = on
        self.step = step
        self.within = within
        self.then = then
        self.else = `else`
        self.link = link
    }

    /// What the branch waits for, as the timeline says it: `clicked 'invite'` or
    /// `clicked 'invite' (link starts with 'https://…')`.
    public var what: String {
        "\(on.rawValue) '\(step)'" + (link.map { " (link \($0))" } ?? "")
    }
}

/// What a `set` step changes.
public enum Assignment: Sendable, Equatable {
    case field(String, String)
    case addTag(String)
    case removeTag(String)
}
