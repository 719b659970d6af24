import Foundation
import GRDB
import NurtureCore

/// The step rollups: each event credited to its email is added to the send's
/// ``SendEngagement`` and, when it is new for that email, to its step's hourly counts, in the
/// transaction that records the event (``SQLiteRollups``). The steps report reads only these
/// rows.
extension SQLiteStore {
    /// The email an event without one is credited to: the lead's latest sent within `window`
    /// before the event.
    func attributedSend(leadID: Int64, event: Event, window: TimeSpan, db: Database) throws -> Int64? {
        let at = event.at.timeIntervalSince1970
        return try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT id FROM sends WHERE lead_id = ? AND sent_at IS NOT NULL AND sent_at <= ? AND sent_at > ? ORDER BY sent_at DESC LIMIT 1
            """), arguments: [leadID, at, at - Double(window.seconds)])
    }

    /// Rebuilds the rollups from the stored sends and events, as the migration that brought
    /// them did (goal exits, which no event records, are kept). For benchmarks and checks.
    package func rebuildRollups() async throws {
        try await pool.write { db in
            try db.execute(sql: """
                DELETE FROM step_stats WHERE metric <> 'goal_exits';
                DELETE FROM link_stats;
                DELETE FROM send_links;
                UPDATE sends SET engagement = engagement & \(RollupBackfill.kept) WHERE engagement <> 0;
                """)
            try db.execute(sql: SQLiteSchema.rebuildRollups)
            try db.execute(sql: SQLiteSchema.rebuildClickedLinks)
        }
    }

    /// Rebuilds the stage entries from the leads' creation and their stage changes, as the
    /// migration that brought them did. For checks.
    package func rebuildStageEntries() async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM stage_entries")
            try db.execute(sql: SQLiteSchema.rebuildStageEntries)
        }
    }

    public func stepFacts(period: ReportPeriod, sequence: String?) async throws -> StepFacts {
        try await pool.read { db in
            let hours = RollupHour.range(period)
            let filter = sequence == nil ? "" : " AND sequence = ?"
            var arguments: StatementArguments = [hours.lowerBound, hours.upperBound]
            if let sequence { arguments += [sequence] }
            var counts: [StepFacts.Key: [String: Int]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT sequence, step, metric, SUM(n) AS n FROM step_stats WHERE hour >= ? AND hour < ?\(filter) GROUP BY sequence, step, metric
                """, arguments: arguments) {
                counts[StepFacts.Key(sequence: row["sequence"], step: row["step"]), default: [:]][row["metric"]] = row["n"]
            }
            var links: [StepFacts.Key: [StepFacts.Link]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT sequence, step, url, SUM(clicks) AS clicks, SUM(unique_clicks) AS unique_clicks FROM link_stats
                WHERE hour >= ? AND hour < ?\(filter) GROUP BY sequence, step, url
                """, arguments: arguments) {
                links[StepFacts.Key(sequence: row["sequence"], step: row["step"]), default: []]
                    .append(StepFacts.Link(url: row["url"], clicks: row["clicks"], uniqueClicks: row["unique_clicks"]))
            }
            // A/B steps: counted from the sends' engagement, by the hour each was sent.
            var variants: [StepFacts.Key: [String: [String: Int]]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT sequence, step, variant, \(StepFacts.variantColumns) FROM sends
                WHERE variant IS NOT NULL AND (engagement & 1) != 0
                  AND COALESCE(sent_at, planned_at) >= ? AND COALESCE(sent_at, planned_at) < ?\(filter)
                GROUP BY sequence, step, variant
                """, arguments: [Double(hours.lowerBound) * 3600, Double(hours.upperBound) * 3600] + (sequence.map { [$0] } ?? [])) {
                var metrics: [String: Int] = [:]
                for (_, name) in StepFacts.variantMetrics { metrics[name] = row[name] }
                variants[StepFacts.Key(sequence: row["sequence"], step: row["step"]), default: [:]][row["variant"]] = metrics
            }
            return StepFacts(counts: counts, links: links, variants: variants)
        }
    }
}
