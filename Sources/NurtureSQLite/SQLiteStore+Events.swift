import Foundation
import GRDB
import NurtureCore

/// Events (idempotent by client id), sent emails by token or Message-ID, suppressions.
extension SQLiteStore {
    /// Stores an event (unless its client id was seen) and credits it to its email's step.
    /// - Parameter pending: stored to be decided later (``EventInbox``), not in this transaction.
    /// - Returns: whether it was stored.
    func insert(_ recording: RecordedEvent, leadID: Int64, now: Date, db: Database, rollups: inout SQLiteRollups, pending: Bool = false) throws -> Bool {
        let event = recording.event
        var sendID = recording.sendID
        if sendID == nil, let window = recording.attributeWithin {
            sendID = try attributedSend(leadID: leadID, event: event, window: window, db: db)
        }
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO events (lead_id, type, at, properties, machine, client_id, recorded_at, send_id, pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [leadID, event.type, event.at.timeIntervalSince1970,
                             JSONText.object(event.properties), event.isMachine, recording.clientID,
                             now.timeIntervalSince1970, sendID, pending ? 1 : nil])
        guard db.changesCount > 0 else { return false }
        if let sendID { try rollups.tally(event, sendID: sendID, db: db) }
        return true
    }

    public func sentEmail(tokenID: String) async throws -> SentEmail? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM sends WHERE token_id = ?"), arguments: [tokenID]).map(Self.sentEmail)
        }
    }

    public func sentEmail(messageID: String) async throws -> SentEmail? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM sends WHERE message_id = ?"), arguments: [messageID]).map(Self.sentEmail)
        }
    }

    static func sentEmail(_ row: Row) -> SentEmail {
        let lead: Int64 = row["lead_id"]
        return SentEmail(
            id: row["id"], leadID: String(lead),
            key: SendKey(leadID: String(lead), sequence: row["sequence"], step: row["step"], enrollment: row["enrollment"], occurrence: row["occurrence"]),
            sentAt: (row["sent_at"] as Double?).map(Date.init(timeIntervalSince1970:)), links: row["links"], messageID: row["message_id"],
            template: row["template"], subject: row["subject"], tracking: row["tracking"])
    }

    public func suppress(email: String, reason: Suppression, now: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO suppressions (email, reason, at) VALUES (?, ?, ?)", arguments: [EmailAddress.canonicalIfValid(email), reason.rawValue, now.timeIntervalSince1970])
        }
    }

    public func suppression(email: String) async throws -> Suppression? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT reason FROM suppressions WHERE email = ?", arguments: [EmailAddress.canonicalIfValid(email)]).flatMap(Suppression.init(rawValue:))
        }
    }

    /// Runs raw SQL in a write transaction. For benchmarks and maintenance tools inside this
    /// package; the service never needs it.
    package func execute(sql: String) async throws {
        try await pool.write { db in try db.execute(sql: sql) }
    }
}
