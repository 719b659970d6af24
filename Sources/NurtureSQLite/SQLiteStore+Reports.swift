import Foundation
import GRDB
import NurtureCore

/// Report facts, read by index in one read transaction.
extension SQLiteStore {
    public func funnelFacts(stages: [String], period: ReportPeriod) async throws -> FunnelFacts {
        try await pool.read { db in
            let since = period.since.timeIntervalSince1970, until = period.until.timeIntervalSince1970
            var leadsByStage: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT stage, COUNT(*) AS n FROM leads GROUP BY stage") {
                leadsByStage[row["stage"]] = row["n"]
            }
            var changes: [FunnelFacts.Transition: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT from_stage, to_stage, COUNT(*) AS n FROM stage_changes WHERE at >= ? AND at < ? GROUP BY from_stage, to_stage
                """, arguments: [since, until]) {
                changes[FunnelFacts.Transition(from: row["from_stage"], to: row["to_stage"])] = row["n"]
            }
            var daily: [DailyEntries] = []
            for row in try Row.fetchAll(db, sql: """
                SELECT CAST(at / 86400 AS INTEGER) AS day, to_stage, COUNT(*) AS n FROM stage_changes WHERE at >= ? AND at < ? GROUP BY day, to_stage
                """, arguments: [since, until]) {
                daily.append(DailyEntries(day: Date(timeIntervalSince1970: Double(row["day"] as Int64) * 86_400), stage: row["to_stage"], leads: row["n"]))
            }
            var cohorts: [FunnelFacts.Cohort] = []
            for (index, stage) in stages.enumerated().dropLast() {
                let later = Array(stages[(index + 1)...])
                let marks = later.map { _ in "?" }.joined(separator: ", ")
                // Who entered the stage in the period (the first stage: who was created then),
                // and when each first reached a later stage after that.
                let changed = "SELECT lead_id, at AS entered FROM stage_changes WHERE to_stage = ? AND at >= ? AND at < ?"
                let cohort = index == 0
                    ? "SELECT lead_id, MIN(entered) AS entered FROM (SELECT id AS lead_id, created_at AS entered FROM leads WHERE created_at >= ? AND created_at < ? UNION ALL \(changed)) GROUP BY lead_id"
                    : "SELECT lead_id, MIN(entered) AS entered FROM (\(changed)) GROUP BY lead_id"
                var arguments: [any DatabaseValueConvertible] = index == 0 ? [since, until, stage, since, until] : [stage, since, until]
                arguments += later
                let rows = try Row.fetchAll(db, sql: """
                    WITH cohort AS (\(cohort))
                    SELECT c.entered AS entered,
                      (SELECT MIN(n.at) FROM stage_changes n WHERE n.lead_id = c.lead_id AND n.to_stage IN (\(marks)) AND n.at >= c.entered) AS reached
                    FROM cohort c
                    """, arguments: StatementArguments(arguments))
                let seconds = rows.compactMap { row -> Double? in
                    guard let reached = row["reached"] as Double? else { return nil }
                    return reached - (row["entered"] as Double)
                }
                cohorts.append(FunnelFacts.Cohort(stage: stage, entered: rows.count, secondsToNext: seconds))
            }
            return FunnelFacts(leadsByStage: leadsByStage, changes: changes, cohorts: cohorts, daily: daily)
        }
    }

    public func suppressionCounts(period: ReportPeriod) async throws -> SuppressionCounts {
        try await pool.read { db in
            var total: [String: Int] = [:], inPeriod: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT reason, COUNT(*) AS n, SUM(at >= ? AND at < ?) AS recent FROM suppressions GROUP BY reason
                """, arguments: [period.since.timeIntervalSince1970, period.until.timeIntervalSince1970]) {
                total[row["reason"]] = row["n"]
                let recent: Int = row["recent"] ?? 0
                if recent > 0 { inPeriod[row["reason"]] = recent }
            }
            return SuppressionCounts(total: total, inPeriod: inPeriod)
        }
    }
}
