import Foundation

/// What one sent email has drawn so far. Each counts once per send however often it
/// happens (an email opened five times is one unique open), which is what a step report's
/// "unique" numbers and rates rest on. Stores keep it with the send and update it in the
/// transaction that records the event, together with the step's rollup.
public struct SendEngagement: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Handed to the relay: accepted, or refused at once as a hard bounce.
    public static let sent = SendEngagement(rawValue: 1 << 0)
    /// Opened by a person (or clicked by one: a click implies the open its images missed).
    public static let opened = SendEngagement(rawValue: 1 << 1)
    /// Clicked by a person.
    public static let clicked = SendEngagement(rawValue: 1 << 2)
    /// Opened by a machine (an image proxy, a prefetch): never in the rates.
    public static let machineOpened = SendEngagement(rawValue: 1 << 3)
    /// Clicked by a machine (a link scanner): never in the rates.
    public static let machineClicked = SendEngagement(rawValue: 1 << 4)
    /// Bounced, hard or soft.
    public static let bounced = SendEngagement(rawValue: 1 << 5)
    public static let bouncedHard = SendEngagement(rawValue: 1 << 6)
    public static let bouncedSoft = SendEngagement(rawValue: 1 << 7)
    public static let unsubscribed = SendEngagement(rawValue: 1 << 8)
    public static let complained = SendEngagement(rawValue: 1 << 9)
    /// Replied to (by mail, or through the API and attributed to this email).
    public static let replied = SendEngagement(rawValue: 1 << 10)
    /// A form posted after this email (attributed to it).
    public static let formSubmitted = SendEngagement(rawValue: 1 << 11)
    /// The lead met a goal of the sequence while this was its latest email.
    public static let goalReached = SendEngagement(rawValue: 1 << 12)

    /// Every flag with the name its count has in reports and rollups, in report order.
    public static let metrics: [(flag: SendEngagement, name: String)] = [
        (.sent, "sent"), (.bounced, "bounced"), (.bouncedHard, "bounced_hard"), (.bouncedSoft, "bounced_soft"),
        (.opened, "opened"), (.clicked, "clicked"), (.machineOpened, "machine_opened"), (.machineClicked, "machine_clicked"),
        (.unsubscribed, "unsubscribed"), (.complained, "complained"), (.replied, "replied"),
        (.formSubmitted, "form_submitted"), (.goalReached, "goal_exits"),
    ]

    /// The names of the flags in `self`, in report order.
    public var metricNames: [String] {
        Self.metrics.filter { contains($0.flag) }.map(\.name)
    }

    /// What `event` adds to a send that has drawn `self` so far: only what is new.
    public func adding(_ event: Event) -> SendEngagement {
        var drawn: SendEngagement = []
        switch event.type {
        case Event.Kind.opened:
            drawn = event.isMachine ? .machineOpened : .opened
        case Event.Kind.clicked:
            drawn = event.isMachine ? .machineClicked : [.clicked, .opened]
        case Event.Kind.bounced:
            drawn = [.bounced, event.properties["type"] == "soft" ? .bouncedSoft : .bouncedHard]
            // Refused by the relay at once: it was handed over (and never accepted).
            if !contains(.sent) { drawn.insert(.sent) }
        case Event.Kind.unsubscribed:
            drawn = .unsubscribed
        case Event.Kind.complained:
            drawn = .complained
        case Event.Kind.replied:
            drawn = .replied
        case Event.Kind.formSubmitted:
            drawn = .formSubmitted
        default:
            break
        }
        return drawn.subtracting(self)
    }
}

/// The hour a rollup row counts in: hours since 1970 (UTC). Step rollups count by the hour
/// the email was sent, so a step's opens and clicks stay with its sends whenever they happen
/// and no rate can pass 100 %.
public enum RollupHour {
    public static func of(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / 3600).rounded(.down)) }

    /// The hours a period covers, rounded out to whole hours: `lower..<upper`.
    public static func range(_ period: ReportPeriod) -> Range<Int64> {
        of(period.since)..<Int64((period.until.timeIntervalSince1970 / 3600).rounded(.up))
    }
}
