import Foundation

/// What one store transaction adds to the step rollups, gathered before it is written: the
/// flags each email gains, the hourly counts per step and metric, the clicks per link. A
/// batch of 500 hits on one email's link is one count update, not 500. Stores write it at the
/// end of the transaction that recorded the events, in key order.
public struct RollupBatch: Sendable {
    /// An email as the rollups see it.
    public struct Send: Sendable, Equatable {
        public var id: Int64
        public var sequence: String
        public var step: String
        public var sentAt: Date?
        public var engagement: SendEngagement

        public init(id: Int64, sequence: String, step: String, sentAt: Date?, engagement: SendEngagement) {
            self.id = id
            self.sequence = sequence
            self.step = step
            self.sentAt = sentAt
            self.engagement = engagement
        }
    }

    public struct Count: Sendable, Hashable, Comparable {
        public var hour: Int64
        public var sequence: String
        public var step: String
        public var metric: String
        public static func < (a: Self, b: Self) -> Bool { (a.hour, a.sequence, a.step, a.metric) < (b.hour, b.sequence, b.step, b.metric) }
    }

    public struct Link: Sendable, Hashable, Comparable {
        public var hour: Int64
        public var sequence: String
        public var step: String
        public var url: String
        public static func < (a: Self, b: Self) -> Bool { (a.hour, a.sequence, a.step, a.url) < (b.hour, b.sequence, b.step, b.url) }
    }

    /// The flags each email gained, by send id.
    public private(set) var drawn: [Int64: SendEngagement] = [:]
    private var counts: [Count: Int] = [:]
    private var links: [Link: (clicks: Int, unique: Int)] = [:]

    public init() {}

    public var isEmpty: Bool { drawn.isEmpty && links.isEmpty }

    /// Adds `new` (less what the email had) to the email and to its step's count for `hour`.
    public mutating func credit(_ new: SendEngagement, send: inout Send, hour: Int64) {
        let new = new.subtracting(send.engagement)
        guard !new.isEmpty else { return }
        send.engagement.formUnion(new)
        drawn[send.id, default: []].formUnion(new)
        for metric in new.metricNames { counts[Count(hour: hour, sequence: send.sequence, step: send.step, metric: metric), default: 0] += 1 }
    }

    /// Credits `event` to its email: what it adds, in the hour the email counts in (when it
    /// was sent, or when the event came for one refused at once).
    public mutating func credit(_ event: Event, send: inout Send) {
        credit(send.engagement.adding(event), send: &send, hour: RollupHour.of(send.sentAt ?? event.at))
    }

    /// A person's click on `url` (already ``ReportedLink/of(_:)``); `first` when it is the
    /// first of that link in that email.
    public mutating func click(_ url: String, send: Send, at: Date, first: Bool) {
        let key = Link(hour: RollupHour.of(send.sentAt ?? at), sequence: send.sequence, step: send.step, url: url)
        links[key, default: (0, 0)].clicks += 1
        if first { links[key, default: (0, 0)].unique += 1 }
    }

    /// The counts to add, in key order.
    public var sortedCounts: [(key: Count, n: Int)] {
        counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The clicks to add per link, in key order.
    public var sortedLinks: [(key: Link, clicks: Int, unique: Int)] {
        links.sorted { $0.key < $1.key }.map { ($0.key, $0.value.clicks, $0.value.unique) }
    }
}
