import Foundation
import NurtureCore
import PostgresNIO

/// The webhook outbox: claimed with `FOR UPDATE SKIP LOCKED` under fenced leases on the
/// database's clock, like sends; outcomes recorded by later, fenced transactions.
extension PostgresStore {
    public func claimWebhooks(now: Date, limit: Int, worker: WorkerIdentity, duration: TimeSpan) async throws -> [QueuedWebhook] {
        let clock = clock(now)
        return try await transaction { connection in
            try await connection.query("""
                UPDATE webhooks SET status = 'queued', next_attempt_at = \(now), lease_until = NULL, lease_owner = NULL
                WHERE id IN (SELECT id FROM webhooks WHERE status = 'sending' AND lease_until < coalesce(\(clock)::timestamptz, now())
                             FOR UPDATE SKIP LOCKED)
                """, logger: self.logger)
            try await self.recordAlive(worker, clock: clock, connection: connection)
            let rows = try await connection.rows("""
                WITH due AS MATERIALIZED (
                  SELECT id FROM webhooks WHERE status = 'queued' AND next_attempt_at <= \(now)
                  ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                )
                UPDATE webhooks w SET status = 'sending', lease_owner = \(worker.id), lease_epoch = w.lease_epoch + 1,
                  lease_until = coalesce(\(clock)::timestamptz, now()) + make_interval(secs => \(Double(duration.seconds)))
                FROM due WHERE w.id = due.id
                RETURNING w.id, w.message_id, w.endpoint, w.type, w.lead_id, w.body, w.attempts, w.created_at, w.lease_epoch, w.lease_until
                """, logger: self.logger)
            return try rows.compactMap { row -> QueuedWebhook? in
                guard let type = WebhookEventType(rawValue: try row.value("type")) else { return nil }
                let message = WebhookMessage(
                    id: try row.value("message_id"), endpoint: try row.value("endpoint"), type: type,
                    leadID: String(try row.value("lead_id", as: Int64.self)), body: try row.value("body"), createdAt: try row.value("created_at"))
                return QueuedWebhook(rowID: try row.value("id"), message: message, attempts: try row.value("attempts"),
                                     lease: Lease(owner: worker.id, epoch: try row.value("lease_epoch"), until: try row.value("lease_until")))
            }.sorted { $0.rowID < $1.rowID }
        }
    }

    struct WebhookOutcome: Encodable {
        var id: Int64
        var owner: String
        var epoch: Int64
        var status: String
        var next: Double?
        var error: String?
        var delivered: Bool
    }

    @discardableResult
    public func completeWebhooks(_ results: [(webhook: QueuedWebhook, result: WebhookResult)], now: Date) async throws -> Int {
        guard !results.isEmpty else { return 0 }
        let outcomes = results.map { webhook, result -> WebhookOutcome in
            var outcome = WebhookOutcome(id: webhook.rowID, owner: webhook.lease.owner, epoch: webhook.lease.epoch, status: "", delivered: false)
            switch result {
            case .delivered:
                outcome.status = "delivered"; outcome.delivered = true
            case .retry(let at, let error):
                outcome.status = "queued"; outcome.next = at.timeIntervalSince1970; outcome.error = error
            case .dead(let error):
                outcome.status = "dead"; outcome.error = error
            }
            return outcome
        }
        let json = String(decoding: try JSONEncoder().encode(outcomes), as: UTF8.self)
        let applied = try await transaction { connection in
            try await connection.query("""
                UPDATE webhooks w SET status = u.status, attempts = w.attempts + 1, next_attempt_at = to_timestamp(u.next),
                  last_error = u.error, delivered_at = CASE WHEN u.delivered THEN \(now) ELSE w.delivered_at END,
                  lease_until = NULL, lease_owner = NULL
                FROM jsonb_to_recordset(\(json)::jsonb) AS u(id bigint, owner text, epoch bigint, status text, next double precision, error text, delivered boolean)
                WHERE w.id = u.id AND w.status = 'sending' AND w.lease_owner = u.owner AND w.lease_epoch = u.epoch
                RETURNING w.id
                """, logger: self.logger).collect().count
        }
        return results.count - applied
    }

    public func nextWebhookDue() async throws -> Date? {
        let rows = try await fetch("""
            SELECT least((SELECT min(next_attempt_at) FROM webhooks WHERE status = 'queued'),
                         (SELECT min(lease_until) FROM webhooks WHERE status = 'sending'))
            """)
        return try rows.first?.decode(Date?.self) ?? nil
    }

    static let webhookColumns = "id, message_id, endpoint, type, lead_id, status, attempts, created_at, next_attempt_at, delivered_at, last_error"

    public func webhooks(leadID: String, limit: Int) async throws -> [WebhookRecord] {
        try await withConnection { connection in
            try await connection.rows("""
                SELECT \(unescaped: Self.webhookColumns) FROM webhooks WHERE lead_id = \(Int64(leadID) ?? -1) ORDER BY id DESC LIMIT \(limit)
                """, logger: self.logger).compactMap(Self.webhookRecord)
        }
    }

    public func webhooks(status: WebhookStatus?, limit: Int) async throws -> [WebhookRecord] {
        try await withConnection { connection in
            try await connection.rows("""
                SELECT \(unescaped: Self.webhookColumns) FROM webhooks WHERE \(status?.rawValue)::text IS NULL OR status = \(status?.rawValue)
                ORDER BY id DESC LIMIT \(limit)
                """, logger: self.logger).compactMap(Self.webhookRecord)
        }
    }

    @discardableResult
    public func requeueDeadWebhooks(ids: [Int64], now: Date) async throws -> Int {
        try await transaction { connection in
            let count = try await connection.query("""
                UPDATE webhooks SET status = 'queued', attempts = 0, last_error = NULL, next_attempt_at = \(now)
                WHERE status = 'dead' AND (cardinality(\(ids)::bigint[]) = 0 OR id = ANY(\(ids)))
                RETURNING id
                """, logger: self.logger).collect().count
            if count > 0 { try await connection.query("SELECT pg_notify(\(Self.channel), '')", logger: self.logger) }
            return count
        }
    }

    public func webhookCounts() async throws -> [WebhookStatus: Int] {
        var counts: [WebhookStatus: Int] = [:]
        for row in try await fetch("SELECT status, count(*)::bigint FROM webhooks GROUP BY status") {
            let (status, n) = try row.decode((String, Int64).self)
            if let status = WebhookStatus(rawValue: status) { counts[status] = Int(n) }
        }
        return counts
    }

    static func webhookRecord(_ row: PostgresRandomAccessRow) throws -> WebhookRecord? {
        guard let type = WebhookEventType(rawValue: try row.value("type")), let status = WebhookStatus(rawValue: try row.value("status")) else { return nil }
        return WebhookRecord(
            rowID: try row.value("id"), id: try row.value("message_id"), endpoint: try row.value("endpoint"), type: type,
            leadID: String(try row.value("lead_id", as: Int64.self)), status: status, attempts: try row.value("attempts"),
            createdAt: try row.value("created_at"), nextAttemptAt: try row.value("next_attempt_at"),
            deliveredAt: try row.value("delivered_at"), lastError: try row.value("last_error"))
    }
}
