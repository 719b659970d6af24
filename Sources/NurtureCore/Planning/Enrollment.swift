import Foundation

/// A lead's progress through one sequence.
public struct Enrollment: Sendable, Codable, Equatable {
    public var sequence: String
    /// 1 for the first time the lead goes through this sequence, 2 after a re-entry, …
    public var number: Int
    public var startedAt: Date
    /// Index of the current step.
    public var position: Int
    /// When the current step was reached: waits count from here.
    public var stepEnteredAt: Date
    /// When the current step should be looked at again (end of a wait, a branch window,
    /// a send window or a frequency cap); `nil` when it is not waiting.
    public var resumeAt: Date?
    /// Send steps done, and when (the latest time, for a step a loop came back to).
    public var sent: [String: Date]
    /// How many times each send step has sent, when a loop sent one more than once
    /// (absent: once). Stored states from before loops decode without it.
    public var occurrences: [String: Int]?
    /// The occurrence of a send step the next send would be.
    public func nextOccurrence(of step: String) -> Int {
        sent[step] == nil ? 1 : (occurrences?[step] ?? 1) + 1
    }

    /// The occurrence of a send step last sent (1 when it sent once or not at all).
    public func occurrence(of step: String) -> Int {
        occurrences?[step] ?? 1
    }

    /// First opens, clicks and replies per send step (people only, never machines).
    public var engagement: [String: EngagementRecord]
    /// Goal steps passed: from then on their event ends the enrollment.
    public var activeGoals: [Int]

    public init(sequence: String, number: Int, startedAt: Date) {
        self.sequence = sequence
        self.number = number
        self.startedAt = startedAt
        self.position = 0
        self.stepEnteredAt = startedAt
        self.resumeAt = nil
        self.sent = [:]
        self.engagement = [:]
        self.activeGoals = []
    }
}

/// When a lead first opened, clicked or replied to one email.
public struct EngagementRecord: Sendable, Codable, Equatable {
    public var opened: Date?
    public var clicked: Date?
    public var replied: Date?
    /// The first click on each link (by URL), for branches on one link; at most
    /// ``maxLinks`` links are kept.
    public var links: [String: Date]?

    public static let maxLinks = 50

    public init() {}

    /// The first click on a link whose URL passes `test`.
    public func clicked(link test: FieldTest) -> Date? {
        links?.filter { test.test($0.key) }.values.min()
    }

    mutating func recordClick(url: String, at: Date) {
        if let first = links?[url], first <= at { return }
        if links == nil { links = [:] }
        guard links!.count < Self.maxLinks || links![url] != nil else { return }
        links![url] = at
    }

    public func time(of kind: Branch.Engagement) -> Date? {
        switch kind {
        case .opened: opened
        case .clicked: clicked
        case .replied: replied
        }
    }
}

/// A finished enrollment, for re-entry rules.
public struct PastEnrollments: Sendable, Codable, Equatable {
    public var count: Int
    public var lastEndedAt: Date

    public init(count: Int, lastEndedAt: Date) {
        self.count = count
        self.lastEndedAt = lastEndedAt
    }
}
