import Foundation

/// The reporting port: read-only facts for reports, answered from indexes (never by reading
/// every event). The pure report types (``FunnelReport``) turn them into what people read.
public protocol ReportReading: Sendable {
    /// The funnel's facts for `period`: leads in each stage now, stage changes in the period,
    /// and for each stage of `stages` but the last, the cohort that entered it in the period
    /// with how long each took to reach any later stage (a lead that was created in the period
    /// entered the first stage then).
    func funnelFacts(stages: [String], period: ReportPeriod) async throws -> FunnelFacts
}
