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
            var daily: [DailyEntries] = []
            for row in try await connection.rows("""
                SELECT floor(extract(epoch FROM at) / 86400)::bigint AS day, to_stage, count(*) AS n FROM stage_changes
                WHERE at >= \(period.since) AND at < \(period.until) GROUP BY 1, 2
                """, logger: self.logger) {
                daily.append(DailyEntries(day: Date(timeIntervalSince1970: Double(try row.value("day", as: Int64.self)) * 86_400),
                                          stage: try row.value("to_stage"), leads: try row.value("n")))
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
            return FunnelFacts(leadsByStage: leadsByStage, changes: changes, cohorts: cohorts, daily: daily)
        }
    }

    public func stepFacts(period: ReportPeriod, sequence: String?) async throws -> StepFacts {
        let hours = RollupHour.range(period)
        return try await transaction { connection in
            try await connection.query("SET TRANSACTION READ ONLY", logger: self.logger)
            var counts: [StepFacts.Key: [String: Int]] = [:]
            for row in try await connection.rows("""
                SELECT sequence, step, metric, sum(n)::bigint AS n FROM step_stats
                WHERE hour >= \(hours.lowerBound) AND hour < \(hours.upperBound) AND (\(sequence)::text IS NULL OR sequence = \(sequence))
                GROUP BY 1, 2, 3
                """, logger: self.logger) {
                counts[StepFacts.Key(sequence: try row.value("sequence"), step: try row.value("step")), default: [:]][try row.value("metric")] = try row.value("n", as: Int.self)
            }
            var links: [StepFacts.Key: [StepFacts.Link]] = [:]
            for row in try await connection.rows("""
                SELECT sequence, step, url, sum(clicks)::bigint AS clicks, sum(unique_clicks)::bigint AS unique_clicks FROM link_stats
                WHERE hour >= \(hours.lowerBound) AND hour < \(hours.upperBound) AND (\(sequence)::text IS NULL OR sequence = \(sequence))
                GROUP BY 1, 2, 3
                """, logger: self.logger) {
                links[StepFacts.Key(sequence: try row.value("sequence"), step: try row.value("step")), default: []].append(
                    StepFacts.Link(url: try row.value("url"), clicks: try row.value("clicks", as: Int.self), uniqueClicks: try row.value("unique_clicks", as: Int.self)))
            }
            return StepFacts(counts: counts, links: links)
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
