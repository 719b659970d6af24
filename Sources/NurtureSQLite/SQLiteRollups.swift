import Foundation
import GRDB
import NurtureCore

/// What one write transaction adds to the step rollups: each email read once, its flags and
/// its step's counts gathered in a ``RollupBatch``, and written once when the transaction's
/// work is done (``flush(_:)``), so a batch of hits on one link is one update.
struct SQLiteRollups {
    private var batch = RollupBatch()
    private var sends: [Int64: RollupBatch.Send] = [:]
    /// Email and link pairs already in `send_links` (found or added by this transaction).
    private var clicked: Set<String> = []

    /// Credits a stored event to its email.
    mutating func tally(_ event: Event, sendID: Int64, db: Database) throws {
        guard var send = try send(sendID, db: db) else { return }
        batch.credit(event, send: &send)
        if event.type == Event.Kind.clicked, !event.isMachine, let raw = event.properties["url"] {
            let url = ReportedLink.of(raw)
            var first = false
            if clicked.insert("\(sendID) \(url)").inserted {
                // The first human click of this link in this email is the one that adds the pair.
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO send_links (send_id, url) VALUES (?, ?)").execute(arguments: [sendID, url])
                first = db.changesCount > 0
            }
            batch.click(url, send: send, at: event.at, first: first)
        }
        sends[sendID] = send
    }

    /// Credits a goal met to the lead's latest email of the sequence.
    mutating func tallyGoal(leadID: Int64, sequence: String, at: Date, db: Database) throws {
        guard let id = try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT id FROM sends WHERE lead_id = ? AND sequence = ? AND sent_at IS NOT NULL ORDER BY sent_at DESC LIMIT 1
            """), arguments: [leadID, sequence]), var send = try send(id, db: db) else { return }
        batch.credit(.goalReached, send: &send, hour: RollupHour.of(send.sentAt ?? at))
        sends[id] = send
    }

    /// Credits an email the relay accepted.
    mutating func tallySent(_ sendID: Int64, at: Date, db: Database) throws {
        guard var send = try send(sendID, db: db) else { return }
        batch.credit(.sent, send: &send, hour: RollupHour.of(at))
        sends[sendID] = send
    }

    /// Writes what was gathered (in the same transaction).
    func flush(_ db: Database) throws {
        guard !batch.isEmpty else { return }
        let flags = try db.cachedStatement(sql: "UPDATE sends SET engagement = engagement | ? WHERE id = ?")
        for (id, drawn) in batch.drawn.sorted(by: { $0.key < $1.key }) { try flags.execute(arguments: [drawn.rawValue, id]) }
        let count = try db.cachedStatement(sql: """
            INSERT INTO step_stats (hour, sequence, step, metric, n) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (hour, sequence, step, metric) DO UPDATE SET n = n + excluded.n
            """)
        for (key, n) in batch.sortedCounts { try count.execute(arguments: [key.hour, key.sequence, key.step, key.metric, n]) }
        let link = try db.cachedStatement(sql: """
            INSERT INTO link_stats (hour, sequence, step, url, clicks, unique_clicks) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (hour, sequence, step, url) DO UPDATE SET clicks = clicks + excluded.clicks, unique_clicks = unique_clicks + excluded.unique_clicks
            """)
        for (key, clicks, unique) in batch.sortedLinks { try link.execute(arguments: [key.hour, key.sequence, key.step, key.url, clicks, unique]) }
    }

    /// The email, read once per transaction (then as this transaction left it).
    private mutating func send(_ id: Int64, db: Database) throws -> RollupBatch.Send? {
        if let known = sends[id] { return known }
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT sequence, step, sent_at, engagement FROM sends WHERE id = ?"), arguments: [id])
        return row.map {
            RollupBatch.Send(id: id, sequence: $0["sequence"], step: $0["step"], sentAt: ($0["sent_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                             engagement: SendEngagement(rawValue: $0["engagement"]))
        }
    }
}
