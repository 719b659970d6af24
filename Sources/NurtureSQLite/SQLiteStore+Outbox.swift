import Foundation
import GRDB
import NurtureCore

/// The outbox: claiming due sends with a lease, recording their outcomes.
extension SQLiteStore {
    public func claimSends(now: Date, limit: Int, worker: WorkerIdentity, duration: TimeSpan) async throws -> [OutboxSend] {
        try await pool.write { db in
            let t = now.timeIntervalSince1970
            let until = now + duration
            // Sends whose lease ran out (a worker that vanished without a trace) go back to
            // the queue; they keep their key, so a repeat carries the same Message-ID.
            try db.execute(sql: "UPDATE sends SET status = 'queued', next_attempt_at = ?, lease_until = NULL, lease_owner = NULL WHERE status = 'sending' AND lease_until < ?", arguments: [t, t])
            // The claimer is recorded alive in the same transaction: no other process can take
            // it for dead between its claim and its first heartbeat.
            try Self.recordAlive(worker, at: t, db: db)
            let rows = try Row.fetchAll(db, sql: """
                UPDATE sends SET status = 'sending', lease_until = ?, lease_owner = ?, lease_epoch = lease_epoch + 1
                WHERE id IN (SELECT id FROM sends WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?)
                RETURNING id, lead_id, sequence, step, enrollment, occurrence, template, subject, tracking, planned_at, attempts, lease_epoch
                """, arguments: [until.timeIntervalSince1970, worker.id, t, limit])
            // The leads and their suppressions, read in the same transaction as the claim.
            let leadStatement = try db.cachedStatement(sql: """
                SELECT l.id, l.email, l.state, l.state_version, l.next_wake_at, l.parked_error, s.reason
                FROM leads l LEFT JOIN suppressions s ON s.email = l.email WHERE l.id = ?
                """)
            var parked: [ParkedLead] = []
            return try rows.compactMap { row -> OutboxSend? in
                let leadID: Int64 = row["lead_id"]
                let lead = try Row.fetchOne(leadStatement, arguments: [leadID])
                var recipient: OutboxSend.Recipient?
                if let lead {
                    recipient = try self.decodeOrPark(lead, as: OutboxSend.Recipient.self, now: now, db: db, parked: &parked)
                    if recipient == nil {
                        // A parked lead gets nothing until it is mended; the others go on.
                        try db.execute(sql: "UPDATE sends SET status = 'skipped', reply = 'lead parked: its state cannot be read', lease_until = NULL, lease_owner = NULL WHERE id = ?", arguments: [row["id"]])
                        return nil
                    }
                }
                return OutboxSend(
                    id: row["id"],
                    request: SendRequest(
                        key: SendKey(leadID: String(leadID), sequence: row["sequence"], step: row["step"], enrollment: row["enrollment"], occurrence: row["occurrence"]),
                        template: row["template"], subject: row["subject"], tracking: row["tracking"]),
                    plannedAt: Date(timeIntervalSince1970: row["planned_at"]), attempts: row["attempts"],
                    lease: Lease(owner: worker.id, epoch: row["lease_epoch"], until: until),
                    recipient: recipient,
                    addressSuppression: (lead?["reason"] as String?).flatMap(Suppression.init(rawValue:)))
            }.sorted { $0.id < $1.id }
        }
    }

    @discardableResult
    public func completeSends(_ results: [(send: OutboxSend, result: SendResult)], now: Date) async throws -> Int {
        guard !results.isEmpty else { return 0 }
        return try await pool.write { db in
            let t = now.timeIntervalSince1970
            var stale = 0
            var rollups = SQLiteRollups()
            // Every update is fenced: it applies only while this claim is the send's current one.
            let fence = "AND status = 'sending' AND lease_owner = ? AND lease_epoch = ?"
            for (send, result) in results {
                let id = send.id, owner = send.lease.owner, epoch = send.lease.epoch
                switch result {
                case .sent(let messageID, let reply, let tokenID, let links):
                    try db.cachedStatement(sql: "UPDATE sends SET status = 'sent', attempts = attempts + 1, sent_at = ?, message_id = ?, reply = ?, token_id = ?, links = ?, lease_until = NULL, lease_owner = NULL WHERE id = ? \(fence)")
                        .execute(arguments: [t, messageID, reply, tokenID, links, id, owner, epoch])
                case .retry(let at, let reply):
                    try db.cachedStatement(sql: "UPDATE sends SET status = 'queued', attempts = attempts + 1, next_attempt_at = ?, reply = ?, lease_until = NULL, lease_owner = NULL WHERE id = ? \(fence)")
                        .execute(arguments: [at.timeIntervalSince1970, reply, id, owner, epoch])
                case .failed(let reply):
                    try db.cachedStatement(sql: "UPDATE sends SET status = 'failed', attempts = attempts + 1, reply = ?, lease_until = NULL, lease_owner = NULL WHERE id = ? \(fence)")
                        .execute(arguments: [reply, id, owner, epoch])
                case .skipped(let reason):
                    try db.cachedStatement(sql: "UPDATE sends SET status = 'skipped', reply = ?, lease_until = NULL, lease_owner = NULL WHERE id = ? \(fence)")
                        .execute(arguments: [reason, id, owner, epoch])
                case .deferred(let until, let reason):
                    try db.cachedStatement(sql: "UPDATE sends SET status = 'queued', next_attempt_at = ?, reply = ?, lease_until = NULL, lease_owner = NULL WHERE id = ? \(fence)")
                        .execute(arguments: [until.timeIntervalSince1970, reason, id, owner, epoch])
                }
                if db.changesCount == 0 {
                    stale += 1
                } else if case .sent = result {
                    try rollups.tallySent(id, at: now, db: db)
                }
            }
            try rollups.flush(db)
            return stale
        }
    }

    public func releaseSends(_ sends: [OutboxSend], now: Date) async throws {
        guard !sends.isEmpty else { return }
        try await pool.write { db in
            let statement = try db.cachedStatement(sql: """
                UPDATE sends SET status = 'queued', next_attempt_at = MIN(next_attempt_at, ?), lease_until = NULL, lease_owner = NULL
                WHERE id = ? AND status = 'sending' AND lease_owner = ? AND lease_epoch = ?
                """)
            for send in sends {
                try statement.execute(arguments: [now.timeIntervalSince1970, send.id, send.lease.owner, send.lease.epoch])
            }
        }
    }

    // MARK: Workers

    public func heartbeat(_ worker: WorkerIdentity, now: Date, duration: TimeSpan) async throws {
        try await pool.write { db in
            let t = now.timeIntervalSince1970
            try Self.recordAlive(worker, at: t, db: db)
            try db.execute(sql: "UPDATE sends SET lease_until = ? WHERE lease_owner = ? AND status = 'sending'",
                           arguments: [(now + duration).timeIntervalSince1970, worker.id])
            try db.execute(sql: "UPDATE webhooks SET lease_until = ? WHERE lease_owner = ? AND status = 'sending'",
                           arguments: [(now + duration).timeIntervalSince1970, worker.id])
        }
    }

    @discardableResult
    public func recoverDeadWorkers(now: Date, deadAfter: TimeSpan, host: String, isRunning: @Sendable (Int32) -> Bool) async throws -> Int {
        try await pool.write { db in
            let t = now.timeIntervalSince1970
            var dead: [String] = []
            for row in try Row.fetchAll(db, sql: "SELECT id, host, pid, heartbeat_at FROM workers") {
                let silent = (row["heartbeat_at"] as Double) < t - Double(deadAfter.seconds)
                let gone = (row["host"] as String) == host && !isRunning(row["pid"])
                if silent || gone { dead.append(row["id"]) }
            }
            var returned = 0
            for id in dead {
                try db.execute(sql: "UPDATE sends SET status = 'queued', next_attempt_at = MIN(next_attempt_at, ?), lease_until = NULL, lease_owner = NULL WHERE lease_owner = ? AND status = 'sending'", arguments: [t, id])
                returned += db.changesCount
                try db.execute(sql: "UPDATE webhooks SET status = 'queued', next_attempt_at = MIN(next_attempt_at, ?), lease_until = NULL, lease_owner = NULL WHERE lease_owner = ? AND status = 'sending'", arguments: [t, id])
                try db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [id])
            }
            return returned
        }
    }

    public func retire(_ worker: WorkerIdentity, now: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE sends SET status = 'queued', next_attempt_at = MIN(next_attempt_at, ?), lease_until = NULL, lease_owner = NULL WHERE lease_owner = ? AND status = 'sending'", arguments: [now.timeIntervalSince1970, worker.id])
            try db.execute(sql: "UPDATE webhooks SET status = 'queued', next_attempt_at = MIN(next_attempt_at, ?), lease_until = NULL, lease_owner = NULL WHERE lease_owner = ? AND status = 'sending'", arguments: [now.timeIntervalSince1970, worker.id])
            try db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [worker.id])
        }
    }

    public func nextSendDue() async throws -> Date? {
        try await pool.read { db in
            let queued = try Double.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM sends WHERE status = 'queued'")
            let leases = try Double.fetchOne(db, sql: "SELECT MIN(lease_until) FROM sends WHERE status = 'sending'")
            return [queued, leases].compactMap { $0 }.min().map(Date.init(timeIntervalSince1970:))
        }
    }

    /// Records `worker` alive at `t` (its start, or a heartbeat).
    static func recordAlive(_ worker: WorkerIdentity, at t: Double, db: Database) throws {
        try db.execute(sql: """
            INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
            """, arguments: [worker.id, worker.host, worker.pid, t, t])
    }
}
