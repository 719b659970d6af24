import Foundation

/// The reporting port: read-only facts for reports, answered from indexes (never by reading
/// every event). The pure report types (``FunnelReport``) turn them into what people read.
public protocol ReportReading: Sendable {
    /// The funnel's facts for `period`: leads in each stage now, stage changes in the period,
    /// and for each stage of `stages` but the last, its entries in the period (a lead created
    /// then entered the stage it started in) with how long those that left it for any later
    /// stage stayed. Stores keep each entry with when it was left and for which stage.
    func funnelFacts(stages: [String], period: ReportPeriod) async throws -> FunnelFacts

    /// Suppressed addresses by reason (`unsubscribed`, `bounced`, `complained`, `manual`):
    /// all of them, and those suppressed in `period`.
    func suppressionCounts(period: ReportPeriod) async throws -> SuppressionCounts

    /// Each send step's counts for the emails sent in `period` (rounded out to whole hours),
    /// of every sequence or of one: read from the rollups the event transactions keep
    /// (``SendEngagement``), never from the events.
    func stepFacts(period: ReportPeriod, sequence: String?) async throws -> StepFacts
}

/// Suppressed addresses by reason, for the suppressions report.
public struct SuppressionCounts: Sendable, Equatable, Codable {
    /// Every address on the list, by reason.
    public var total: [String: Int]
    /// Those put on the list in the period, by reason.
    public var inPeriod: [String: Int]

    public init(total: [String: Int], inPeriod: [String: Int]) {
        self.total = total
        self.inPeriod = inPeriod
    }
}
