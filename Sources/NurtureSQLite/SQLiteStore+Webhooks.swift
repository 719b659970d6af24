import Foundation
import GRDB
import NurtureCore

/// The webhook outbox: claimed under fenced leases, completed, listed, requeued.
extension SQLiteStore {
    public func claimWebhooks(now: Date, limit: Int, worker: WorkerIdentity, duration: TimeSpan) async throws -> [QueuedWebhook] {
        try await pool.write { db in
            let t = now.timeIntervalSince1970
            let until = now + duration
            try db.execute(sql: "UPDATE webhooks SET status = 'queued', next_attempt_at = ?, lease_until = NULL, lease_owner = NULL WHERE status = 'sending' AND lease_until < ?", arguments: [t, t])
            try Self.recordAlive(worker, at: t, db: db)
            let rows = try Row.fetchAll(db, sql: """
                UPDATE webhooks SET status = 'sending', lease_until = ?, lease_owner = ?, lease_epoch = lease_epoch + 1
                WHERE id IN (SELECT id FROM webhooks WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?)
                RETURNING id, message_id, endpoint, type, lead_id, body, attempts, created_at, lease_epoch
                """, arguments: [until.timeIntervalSince1970, worker.id, t, limit])
            return rows.compactMap { row -> QueuedWebhook? in
                guard let type = WebhookEventType(rawValue: row["type"]) else { return nil }
                let message = WebhookMessage(
                    id: row["message_id"], endpoint: row["endpoint"], type: type, leadID: String(row["lead_id"] as Int64),
                    body: row["body"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
                return QueuedWebhook(rowID: row["id"], message: message, attempts: row["attempts"], lease: Lease(owner: worker.id, epoch: row["lease_epoch"], until: until))
            }.sorted { $0.rowID < $1.rowID }
        }
    }

    @discardableResult
    public func completeWebhooks(_ results: [(webhook: QueuedWebhook, result: WebhookResult)], now: Date) async throws -> Int {
        guard !results.isEmpty else { return 0 }
        return try await pool.write { db in
            let fence = "AND status = 'sending' AND lease_owner = ? AND lease_epoch = ?"
            var stale = 0
            for (webhook, result) in results {
                let id = webhook.rowID, owner = webhook.lease.owner, epoch = webhook.lease.epoch
                switch result {
                case .delivered:
                    try db.cachedStatement(sql: "UPDATE webhooks SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL, next_attempt_at = NULL, lease_until = NULL, lease_owner = NULL WHERE id = ? \(fence)")
                        .execute(arguments: [now.timeIntervalSince1970, id, owner, epoch])
                case .retry(let at, let error):
                    try db.cachedStatement(sql: "UPDATE webhooks SET status = 'queued', attempts = attempts + 1, next_attempt_at = ?, last_error = ?, lease_until = NULL, lease_owner = NULL WHERE id = ? \(fence)")
                        .execute(arguments: [at.timeIntervalSince1970, error, id, owner, epoch])
                case .dead(let error):
                    try db.cachedStatement(sql: "UPDATE webhooks SET status = 'dead', attempts = attempts + 1, next_attempt_at = NULL, last_error = ?, lease_until = NULL, lease_owner = NULL WHERE id = ? \(fence)")
                        .execute(arguments: [error, id, owner, epoch])
                }
                if db.changesCount == 0 { stale += 1 }
            }
            return stale
        }
    }

    public func nextWebhookDue() async throws -> Date? {
        try await pool.read { db in
            let queued = try Double.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM webhooks WHERE status = 'queued'")
            let leases = try Double.fetchOne(db, sql: "SELECT MIN(lease_until) FROM webhooks WHERE status = 'sending'")
            return [queued, leases].compactMap { $0 }.min().map(Date.init(timeIntervalSince1970:))
        }
    }

    public func webhooks(leadID: String, limit: Int) async throws -> [WebhookRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.webhookColumns) FROM webhooks WHERE lead_id = ? ORDER BY id DESC LIMIT ?",
                             arguments: [Int64(leadID) ?? -1, limit]).compactMap(Self.webhookRecord)
        }
    }

    public func webhooks(status: WebhookStatus?, limit: Int) async throws -> [WebhookRecord] {
        try await pool.read { db in
            if let status {
                return try Row.fetchAll(db, sql: "SELECT \(Self.webhookColumns) FROM webhooks WHERE status = ? ORDER BY id DESC LIMIT ?",
                                        arguments: [status.rawValue, limit]).compactMap(Self.webhookRecord)
            }
            return try Row.fetchAll(db, sql: "SELECT \(Self.webhookColumns) FROM webhooks ORDER BY id DESC LIMIT ?", arguments: [limit]).compactMap(Self.webhookRecord)
        }
    }

    @discardableResult
    public func requeueDeadWebhooks(ids: [Int64], now: Date) async throws -> Int {
        try await pool.write { db in
            let t = now.timeIntervalSince1970
            if ids.isEmpty {
                try db.execute(sql: "UPDATE webhooks SET status = 'queued', attempts = 0, last_error = NULL, next_attempt_at = ? WHERE status = 'dead'", arguments: [t])
                return db.changesCount
            }
            var count = 0
            for id in ids {
                try db.cachedStatement(sql: "UPDATE webhooks SET status = 'queued', attempts = 0, last_error = NULL, next_attempt_at = ? WHERE status = 'dead' AND id = ?").execute(arguments: [t, id])
                count += db.changesCount
            }
            return count
        }
    }

    public func webhookCounts() async throws -> [WebhookStatus: Int] {
        try await pool.read { db in
            var counts: [WebhookStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM webhooks GROUP BY status") {
                if let status = WebhookStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    static let webhookColumns = "id, message_id, endpoint, type, lead_id, status, attempts, created_at, next_attempt_at, delivered_at, last_error"

    static func webhookRecord(_ row: Row) -> WebhookRecord? {
        guard let type = WebhookEventType(rawValue: row["type"]), let status = WebhookStatus(rawValue: row["status"]) else { return nil }
        return WebhookRecord(
            rowID: row["id"], id: row["message_id"], endpoint: row["endpoint"], type: type, leadID: String(row["lead_id"] as Int64),
            status: status, attempts: row["attempts"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            nextAttemptAt: (row["next_attempt_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            deliveredAt: (row["delivered_at"] as Double?).map(Date.init(timeIntervalSince1970:)), lastError: row["last_error"])
    }
}
