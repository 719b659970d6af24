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
            // Stage changes in the period, by day: the changes and the daily entries from one scan.
            var changes: [FunnelFacts.Transition: Int] = [:]
            var byDay: [Int64: [String: Int]] = [:]
            for row in try await connection.rows("""
                SELECT floor(extract(epoch FROM at) / 86400)::bigint AS day, from_stage, to_stage, count(*) AS n FROM stage_changes
                WHERE at >= \(period.since) AND at < \(period.until) GROUP BY 1, 2, 3
                """, logger: self.logger) {
                let n: Int = try row.value("n")
                changes[FunnelFacts.Transition(from: try row.value("from_stage"), to: try row.value("to_stage")), default: 0] += n
                byDay[try row.value("day"), default: [:]][try row.value("to_stage"), default: 0] += n
            }
            var daily: [DailyEntries] = []
            for (day, stages) in byDay {
                for (stage, n) in stages { daily.append(DailyEntries(day: Date(timeIntervalSince1970: Double(day) * 86_400), stage: stage, leads: n)) }
            }
            // Each stage's entries in the period, and how long those that left for a later stage
            // stayed: an index range each (stage, entered_at; left_to, left_at included).
            var cohorts: [FunnelFacts.Cohort] = []
            for (index, stage) in stages.enumerated().dropLast() {
                let later = Array(stages[(index + 1)...])
                let rows = try await connection.rows("""
                    SELECT count(*) AS entered,
                      coalesce(array_agg(extract(epoch FROM left_at - entered_at)::float8) FILTER (WHERE left_to = ANY(\(later))), '{}') AS seconds
                    FROM stage_entries WHERE stage = \(stage) AND entered_at >= \(period.since) AND entered_at < \(period.until)
                    """, logger: self.logger)
                let entered: Int = try rows.first?.value("entered") ?? 0
                let seconds: [Double] = try rows.first?.value("seconds") ?? []
                cohorts.append(FunnelFacts.Cohort(stage: stage, entered: entered, secondsToNext: seconds))
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
            // A/B steps: counted from the sends' engagement, by the hour each was sent.
            var variants: [StepFacts.Key: [String: [String: Int]]] = [:]
            let since = Date(timeIntervalSince1970: Double(hours.lowerBound) * 3600), until = Date(timeIntervalSince1970: Double(hours.upperBound) * 3600)
            for row in try await connection.rows("""
                SELECT sequence, step, variant, \(unescaped: StepFacts.variantColumns)
                FROM sends WHERE variant IS NOT NULL AND (engagement & 1) != 0
                  AND coalesce(sent_at, planned_at) >= \(since) AND coalesce(sent_at, planned_at) < \(until)
                  AND (\(sequence)::text IS NULL OR sequence = \(sequence))
                GROUP BY 1, 2, 3
                """, logger: self.logger) {
                var metrics: [String: Int] = [:]
                for (_, name) in StepFacts.variantMetrics { metrics[name] = try row.value(name, as: Int.self) }
                variants[StepFacts.Key(sequence: try row.value("sequence"), step: try row.value("step")), default: [:]][try row.value("variant")] = metrics
            }
            return StepFacts(counts: counts, links: links, variants: variants)
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
