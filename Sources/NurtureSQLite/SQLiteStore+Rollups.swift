import Foundation
import GRDB
import NurtureCore

/// The step rollups: each event credited to its email is added to the send's
/// ``SendEngagement`` and, when it is new for that email, to its step's hourly counts, in the
/// transaction that records the event. The steps report reads only these rows.
extension SQLiteStore {
    /// The email an event without one is credited to: the lead's latest sent within `window`
    /// before the event.
    func attributedSend(leadID: Int64, event: Event, window: TimeSpan, db: Database) throws -> Int64? {
        let at = event.at.timeIntervalSince1970
        return try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT id FROM sends WHERE lead_id = ? AND sent_at IS NOT NULL AND sent_at <= ? AND sent_at > ? ORDER BY sent_at DESC LIMIT 1
            """), arguments: [leadID, at, at - Double(window.seconds)])
    }

    /// Credits a stored event to its email.
    func tally(_ event: Event, sendID: Int64, db: Database) throws {
        guard let send = try sendTally(sendID, db: db) else { return }
        let drawn = send.engagement.adding(event)
        let hour = RollupHour.of(send.sentAt ?? event.at)
        try credit(drawn, send: send, hour: hour, db: db)
        if event.type == Event.Kind.clicked, !event.isMachine, let clicked = event.properties["url"] {
            let url = ReportedLink.of(clicked)
            // The first human click of this link in this email is the one that adds the pair.
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO send_links (send_id, url) VALUES (?, ?)").execute(arguments: [sendID, url])
            let first = db.changesCount > 0
            try db.cachedStatement(sql: """
                INSERT INTO link_stats (hour, sequence, step, url, clicks, unique_clicks) VALUES (?, ?, ?, ?, 1, ?)
                ON CONFLICT (hour, sequence, step, url) DO UPDATE SET clicks = clicks + 1, unique_clicks = unique_clicks + excluded.unique_clicks
                """).execute(arguments: [hour, send.sequence, send.step, url, first ? 1 : 0])
        }
    }

    /// Credits a goal met to the lead's latest email of the sequence.
    func tallyGoal(leadID: Int64, sequence: String, at: Date, db: Database) throws {
        guard let id = try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT id FROM sends WHERE lead_id = ? AND sequence = ? AND sent_at IS NOT NULL ORDER BY sent_at DESC LIMIT 1
            """), arguments: [leadID, sequence]), let send = try sendTally(id, db: db) else { return }
        try credit(SendEngagement.goalReached.subtracting(send.engagement), send: send, hour: RollupHour.of(send.sentAt ?? at), db: db)
    }

    /// Credits an email the relay accepted.
    func tallySent(_ sendID: Int64, at: Date, db: Database) throws {
        guard let send = try sendTally(sendID, db: db) else { return }
        try credit(SendEngagement.sent.subtracting(send.engagement), send: send, hour: RollupHour.of(at), db: db)
    }

    struct SendTally {
        var id: Int64
        var sequence: String
        var step: String
        var sentAt: Date?
        var engagement: SendEngagement
    }

    private func sendTally(_ id: Int64, db: Database) throws -> SendTally? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT sequence, step, sent_at, engagement FROM sends WHERE id = ?"), arguments: [id]).map {
            SendTally(id: id, sequence: $0["sequence"], step: $0["step"], sentAt: ($0["sent_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                      engagement: SendEngagement(rawValue: $0["engagement"]))
        }
    }

    private func credit(_ drawn: SendEngagement, send: SendTally, hour: Int64, db: Database) throws {
        guard !drawn.isEmpty else { return }
        try db.cachedStatement(sql: "UPDATE sends SET engagement = engagement | ? WHERE id = ?").execute(arguments: [drawn.rawValue, send.id])
        let bump = try db.cachedStatement(sql: """
            INSERT INTO step_stats (hour, sequence, step, metric, n) VALUES (?, ?, ?, ?, 1)
            ON CONFLICT (hour, sequence, step, metric) DO UPDATE SET n = n + 1
            """)
        for metric in drawn.metricNames { try bump.execute(arguments: [hour, send.sequence, send.step, metric]) }
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
            return StepFacts(counts: counts, links: links)
        }
    }
}
