import Foundation
import NurtureCore
import PostgresNIO

/// Report facts, read by index in one read-only transaction (one snapshot).
extension PostgresStore {
    public func funnelFacts(stages: [String], period: ReportPeriod) async throws -> FunnelFacts {
        try await transaction { connection in
            try await connection.query("SET TRANSACTION READ ONLY", logger: self.logger)
            var leadsByStage: [String: Int] = [:]
            for row in try await connection.rows("SELECT stage, count(*) AS n FROM leads GROUP BY stage", logger: self.logger) {
                leadsByStage[try row.value("stage")] = try row.value("n")
            }
            var changes: [FunnelFacts.Transition: Int] = [:]
            for row in try await connection.rows("""
                SELECT from_stage, to_stage, count(*) AS n FROM stage_changes WHERE at >= \(period.since) AND at < \(period.until)
                GROUP BY from_stage, to_stage
                """, logger: self.logger) {
                changes[FunnelFacts.Transition(from: try row.value("from_stage"), to: try row.value("to_stage"))] = try row.value("n")
            }
            var cohorts: [FunnelFacts.Cohort] = []
            for (index, stage) in stages.enumerated().dropLast() {
                let later = Array(stages[(index + 1)...])
                // Who entered the stage in the period (the first stage: also who was created
                // then), and when each first reached a later stage after that.
                let rows = try await connection.rows("""
                    WITH entries AS (
                      SELECT lead_id, at AS entered FROM stage_changes WHERE to_stage = \(stage) AND at >= \(period.since) AND at < \(period.until)
                      UNION ALL
                      SELECT id, created_at FROM leads WHERE \(index == 0) AND created_at >= \(period.since) AND created_at < \(period.until)
                    ), cohort AS (SELECT lead_id, min(entered) AS entered FROM entries GROUP BY lead_id)
                    SELECT extract(epoch FROM (SELECT min(n.at) FROM stage_changes n
                                               WHERE n.lead_id = c.lead_id AND n.to_stage = ANY(\(later)) AND n.at >= c.entered) - c.entered)::float8 AS seconds
                    FROM cohort c
                    """, logger: self.logger)
                let seconds = try rows.compactMap { try $0.value("seconds", as: Double?.self) }
                cohorts.append(FunnelFacts.Cohort(stage: stage, entered: rows.count, secondsToNext: seconds))
            }
            return FunnelFacts(leadsByStage: leadsByStage, changes: changes, cohorts: cohorts)
        }
    }

    public func suppressionCounts(period: ReportPeriod) async throws -> SuppressionCounts {
        var total: [String: Int] = [:], inPeriod: [String: Int] = [:]
        for row in try await fetch("""
            SELECT reason, count(*) AS n, count(*) FILTER (WHERE at >= \(period.since) AND at < \(period.until)) AS recent
            FROM suppressions GROUP BY reason
            """) {
            let (reason, count, recent) = try row.decode((String, Int, Int).self)
            total[reason] = count
            if recent > 0 { inPeriod[reason] = recent }
        }
        return SuppressionCounts(total: total, inPeriod: inPeriod)
    }
}
