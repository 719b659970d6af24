import Foundation

/// A span of time a report covers: from `since` (included) to `until` (excluded).
public struct ReportPeriod: Sendable, Equatable {
    public var since: Date
    public var until: Date

    public init(since: Date, until: Date) {
        self.since = since
        self.until = until
    }

    /// The period the `since` and `until` options name (`YYYY-MM-DD`, midnight UTC, or an ISO
    /// 8601 time): `until` defaults to `now`, `since` to 30 days before `until`.
    /// - Throws: ``ReportPeriodError`` naming the option and what was expected.
    public init(since: String?, until: String?, now: Date) throws(ReportPeriodError) {
        let end = try until.map { text throws(ReportPeriodError) in try Self.parse(text, option: "until") } ?? now
        let start = try since.map { text throws(ReportPeriodError) in try Self.parse(text, option: "since") } ?? end.addingTimeInterval(-30 * 86_400)
        guard start < end else { throw .emptyPeriod }
        self.init(since: start, until: end)
    }

    static func parse(_ text: String, option: String) throws(ReportPeriodError) -> Date {
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = TimeZone(identifier: "UTC")
        day.dateFormat = "yyyy-MM-dd"
        if text.count == 10, let date = day.date(from: text) { return date }
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        throw .badDate(option: option, text: String(text.prefix(40)))
    }
}

/// Why a report's period cannot be read.
public enum ReportPeriodError: Error, Equatable, CustomStringConvertible {
    case badDate(option: String, text: String)
    case emptyPeriod

    public var description: String {
        switch self {
        case .badDate(let option, let text): "\(option) '\(text)': expected YYYY-MM-DD or an ISO 8601 time like 2026-11-26T10:00:00Z"
        case .emptyPeriod: "since must be before until"
        }
    }
}

/// What a store reads for the funnel report (see ``ReportReading``).
public struct FunnelFacts: Sendable, Equatable {
    /// Leads in each stage now.
    public var leadsByStage: [String: Int]
    /// Stage changes in the period, by from and to.
    public var changes: [Transition: Int]
    /// For each stage but the last, in funnel order: its entries in the period (a lead created
    /// then entered its first stage; one that came back entered again), and for those that
    /// left it for a later stage, the seconds they stayed.
    public var cohorts: [Cohort]

    public struct Transition: Sendable, Hashable {
        public var from: String
        public var to: String
        public init(from: String, to: String) {
            self.from = from
            self.to = to
        }
    }

    public struct Cohort: Sendable, Equatable {
        public var stage: String
        public var entered: Int
        /// Seconds from entering `stage` to reaching a later stage, one per lead that did.
        public var secondsToNext: [Double]
        public init(stage: String, entered: Int, secondsToNext: [Double]) {
            self.stage = stage
            self.entered = entered
            self.secondsToNext = secondsToNext
        }
    }

    /// Stage changes in the period by UTC day (midnight) and the stage entered.
    public var daily: [DailyEntries]

    public init(leadsByStage: [String: Int], changes: [Transition: Int], cohorts: [Cohort], daily: [DailyEntries] = []) {
        self.leadsByStage = leadsByStage
        self.changes = changes
        self.cohorts = cohorts
        self.daily = daily
    }
}

/// Leads that entered a stage on one day (UTC).
public struct DailyEntries: Sendable, Equatable, Codable {
    /// Midnight UTC of the day.
    public var day: Date
    public var stage: String
    public var leads: Int

    public init(day: Date, stage: String, leads: Int) {
        self.day = day
        self.stage = stage
        self.leads = leads
    }
}

/// The funnel report: how many leads are in each stage, how they moved in a period, and how
/// many of those that entered a stage reached the next one, how fast.
public struct FunnelReport: Sendable, Equatable, Codable {
    public struct StageCount: Sendable, Equatable, Codable {
        public var stage: String
        public var leads: Int
    }

    public struct Change: Sendable, Equatable, Codable {
        public var from: String
        public var to: String
        public var leads: Int
        /// A move back to an earlier stage (recycling, or by hand).
        public var backwards: Bool
    }

    public struct Conversion: Sendable, Equatable, Codable {
        public var from: String
        public var to: String
        /// Entries into `from` in the period (a lead that came back counts again).
        public var entered: Int
        /// Those that left `from` for `to` or a later stage (so far).
        public var converted: Int
        /// converted / entered, or nil when none entered.
        public var rate: Double?
        /// The median time to get there, in seconds (nil when none did).
        public var medianSeconds: Double?
    }

    public var since: Date
    public var until: Date
    public var stages: [StageCount]
    public var changes: [Change]
    public var conversions: [Conversion]
    /// Moves back to an earlier stage in the period.
    public var recycled: Int
    /// Stage changes by day and the stage entered, oldest first.
    public var daily: [DailyEntries]

    /// The report, with the stages in the funnel's order (stages the funnel no longer has,
    /// but leads still carry, come after, by name).
    public init(facts: FunnelFacts, stages order: [String], period: ReportPeriod) {
        since = period.since
        until = period.until
        let known = Set(order)
        let others = facts.leadsByStage.keys.filter { !known.contains($0) }.sorted()
        stages = (order + others).map { StageCount(stage: $0, leads: facts.leadsByStage[$0] ?? 0) }
        let rank = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        func backwards(_ t: FunnelFacts.Transition) -> Bool {
            guard let from = rank[t.from], let to = rank[t.to] else { return false }
            return to < from
        }
        changes = facts.changes
            .map { Change(from: $0.key.from, to: $0.key.to, leads: $0.value, backwards: backwards($0.key)) }
            .sorted { (rank[$0.from] ?? .max, rank[$0.to] ?? .max, $0.from, $0.to) < (rank[$1.from] ?? .max, rank[$1.to] ?? .max, $1.from, $1.to) }
        recycled = changes.filter(\.backwards).reduce(0) { $0 + $1.leads }
        daily = facts.daily.sorted { ($0.day, rank[$0.stage] ?? .max, $0.stage) < ($1.day, rank[$1.stage] ?? .max, $1.stage) }
        conversions = zip(order, order.dropFirst()).map { from, to in
            let cohort = facts.cohorts.first { $0.stage == from } ?? FunnelFacts.Cohort(stage: from, entered: 0, secondsToNext: [])
            let converted = cohort.secondsToNext.count
            return Conversion(
                from: from, to: to, entered: cohort.entered, converted: converted,
                rate: cohort.entered > 0 ? Double(converted) / Double(cohort.entered) : nil,
                medianSeconds: Self.median(cohort.secondsToNext))
        }
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
