import Foundation
import GRDB
import NurtureCore

/// The outbox: claiming due sends with a lease, recording their outcomes.
extension SQLiteStore {
    public func claimSends(now: Date, limit: Int, leaseUntil: Date) async throws -> [OutboxSend] {
        try await pool.write { db in
            let t = now.timeIntervalSince1970
            // Sends whose worker vanished (crash, kill -9) go back to the queue; they keep
            // their key, so a repeat carries the same Message-ID.
            try db.execute(sql: "UPDATE sends SET status = 'queued', next_attempt_at = ?, lease_until = NULL WHERE status = 'sending' AND lease_until < ?", arguments: [t, t])
            let rows = try Row.fetchAll(db, sql: """
                UPDATE sends SET status = 'sending', lease_until = ?
                WHERE id IN (SELECT id FROM sends WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?)
                RETURNING id, lead_id, sequence, step, enrollment, occurrence, template, subject, tracking, planned_at, attempts
                """, arguments: [leaseUntil.timeIntervalSince1970, t, limit])
            // The leads and their suppressions, read in the same transaction as the claim.
            let leadStatement = try db.cachedStatement(sql: "SELECT l.state, s.reason FROM leads l LEFT JOIN suppressions s ON s.email = l.email WHERE l.id = ?")
            return try rows.map { row in
                let leadID: Int64 = row["lead_id"]
                let lead = try Row.fetchOne(leadStatement, arguments: [leadID])
                return OutboxSend(
                    id: row["id"],
                    request: SendRequest(
                        key: SendKey(leadID: String(leadID), sequence: row["sequence"], step: row["step"], enrollment: row["enrollment"], occurrence: row["occurrence"]),
                        template: row["template"], subject: row["subject"], tracking: row["tracking"]),
                    plannedAt: Date(timeIntervalSince1970: row["planned_at"]), attempts: row["attempts"],
                    lead: try lead.map { try self.decode($0["state"]) },
                    addressSuppression: (lead?["reason"] as String?).flatMap(Suppression.init(rawValue:)))
            }.sorted { $0.id < $1.id }
        }
    }

    public func completeSends(_ results: [(id: Int64, result: SendResult)], now: Date) async throws {
        guard !results.isEmpty else { return }
        try await pool.write { db in
            let t = now.timeIntervalSince1970
            for (id, result) in results {
                switch result {
                case .sent(let messageID, let reply, let tokenID, let links):
                    try db.cachedStatement(sql: "UPDATE sends SET status = 'sent', attempts = attempts + 1, sent_at = ?, message_id = ?, reply = ?, token_id = ?, links = ?, lease_until = NULL WHERE id = ?")
                        .execute(arguments: [t, messageID, reply, tokenID, links, id])
                case .retry(let at, let reply):
                    try db.cachedStatement(sql: "UPDATE sends SET status = 'queued', attempts = attempts + 1, next_attempt_at = ?, reply = ?, lease_until = NULL WHERE id = ?")
                        .execute(arguments: [at.timeIntervalSince1970, reply, id])
                case .failed(let reply):
                    try db.cachedStatement(sql: "UPDATE sends SET status = 'failed', attempts = attempts + 1, reply = ?, lease_until = NULL WHERE id = ?")
                        .execute(arguments: [reply, id])
                case .skipped(let reason):
                    try db.cachedStatement(sql: "UPDATE sends SET status = 'skipped', reply = ?, lease_until = NULL WHERE id = ?")
                        .execute(arguments: [reason, id])
                case .deferred(let until, let reason):
                    try db.cachedStatement(sql: "UPDATE sends SET status = 'queued', next_attempt_at = ?, reply = ?, lease_until = NULL WHERE id = ?")
                        .execute(arguments: [until.timeIntervalSince1970, reason, id])
                }
            }
        }
    }

    public func nextSendDue() async throws -> Date? {
        try await pool.read { db in
            let queued = try Double.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM sends WHERE status = 'queued'")
            let leases = try Double.fetchOne(db, sql: "SELECT MIN(lease_until) FROM sends WHERE status = 'sending'")
            return [queued, leases].compactMap { $0 }.min().map(Date.init(timeIntervalSince1970:))
        }
    }
}
