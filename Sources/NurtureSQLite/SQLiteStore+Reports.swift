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
            // Stage changes in the period, by day: the changes and the daily entries from one scan.
            var changes: [FunnelFacts.Transition: Int] = [:]
            var daily: [DailyEntries] = []
            var byDay: [Int64: [String: Int]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT CAST(at / 86400 AS INTEGER) AS day, from_stage, to_stage, COUNT(*) AS n FROM stage_changes
                WHERE at >= ? AND at < ? GROUP BY day, from_stage, to_stage
                """, arguments: [since, until]) {
                let n: Int = row["n"]
                changes[FunnelFacts.Transition(from: row["from_stage"], to: row["to_stage"]), default: 0] += n
                byDay[row["day"], default: [:]][row["to_stage"], default: 0] += n
            }
            for (day, stages) in byDay {
                for (stage, n) in stages { daily.append(DailyEntries(day: Date(timeIntervalSince1970: Double(day) * 86_400), stage: stage, leads: n)) }
            }
            // Each stage's entries in the period, and how long those that left for a later stage
            // stayed: an index range each (stage, entered_at, left_to, left_at).
            var cohorts: [FunnelFacts.Cohort] = []
            for (index, stage) in stages.enumerated().dropLast() {
                let later = Array(stages[(index + 1)...])
                let entered = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM stage_entries WHERE stage = ? AND entered_at >= ? AND entered_at < ?
                    """, arguments: [stage, since, until]) ?? 0
                let seconds = try Double.fetchAll(db, sql: """
                    SELECT left_at - entered_at FROM stage_entries
                    WHERE stage = ? AND entered_at >= ? AND entered_at < ? AND left_to IN (\(later.map { _ in "?" }.joined(separator: ", ")))
                    """, arguments: StatementArguments([stage, since, until] as [any DatabaseValueConvertible] + later))
                cohorts.append(FunnelFacts.Cohort(stage: stage, entered: entered, secondsToNext: seconds))
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
