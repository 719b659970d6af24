import Foundation
import NurtureCore
import PostgresNIO

/// The outbox: sends claimed with `FOR UPDATE SKIP LOCKED` under fenced leases measured on
/// the database's clock; outcomes recorded by later, fenced transactions.
extension PostgresStore {
    public func claimSends(now: Date, limit: Int, worker: WorkerIdentity, duration: TimeSpan) async throws -> [OutboxSend] {
        let clock = clock(now)
        return try await transaction { connection in
            // Sends whose lease ran out (a worker that vanished without a trace) go back to
            // the queue; they keep their key, so a repeat carries the same Message-ID.
            // Rows another transaction holds are skipped, never waited for: a process frozen in
            // the middle of its own claim must not stall everyone else's.
            try await connection.query("""
                UPDATE sends SET status = 'queued', next_attempt_at = \(now), lease_until = NULL, lease_owner = NULL
                WHERE id IN (SELECT id FROM sends WHERE status = 'sending' AND lease_until < coalesce(\(clock)::timestamptz, now())
                             FOR UPDATE SKIP LOCKED)
                """, logger: self.logger)
            // The claimer is recorded alive in the same transaction: no other process can take
            // it for dead between its claim and its first heartbeat.
            try await self.recordAlive(worker, clock: clock, connection: connection)
            // The CTE is materialized: otherwise the planner may run the LIMIT subquery more
            // than once and lease more rows than asked (Oban's lesson).
            let claimed = try await connection.rows("""
                WITH due AS MATERIALIZED (
                  SELECT id FROM sends WHERE status = 'queued' AND next_attempt_at <= \(now)
                  ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                )
                UPDATE sends s SET status = 'sending', lease_owner = \(worker.id), lease_epoch = s.lease_epoch + 1,
                  lease_until = coalesce(\(clock)::timestamptz, now()) + make_interval(secs => \(Double(duration.seconds)))
                FROM due WHERE s.id = due.id
                RETURNING s.id, s.lead_id, s.sequence, s.step, s.enrollment, s.occurrence, s.template, s.subject, s.tracking,
                  s.planned_at, s.attempts, s.lease_epoch, s.lease_until
                """, logger: self.logger)
            guard !claimed.isEmpty else { return [] }
            // The leads and their suppressions, read in the same transaction as the claim.
            let leadIDs = try Array(Set(claimed.map { try $0.value("lead_id", as: Int64.self) }))
            var leads: [Int64: (row: LeadRow, suppression: String?)] = [:]
            for row in try await connection.rows("""
                SELECT l.id, l.email, l.state, l.state_version, l.next_wake_at, l.parked_error, s.reason
                FROM leads l LEFT JOIN suppressions s ON s.email = l.email WHERE l.id = ANY(\(leadIDs))
                """, logger: self.logger) {
                let lead = try LeadRow(row)
                leads[lead.id] = (lead, try row.value("reason"))
            }
            var parked: [ParkedLead] = []
            var parkedSends: [Int64] = []
            var sends: [OutboxSend] = []
            for row in claimed {
                let id: Int64 = try row.value("id")
                let leadID: Int64 = try row.value("lead_id")
                let lead = leads[leadID]
                var recipient: OutboxSend.Recipient?
                if let lead {
                    recipient = try await self.decodeOrPark(lead.row, as: OutboxSend.Recipient.self, now: now, connection: connection, parked: &parked)
                    if recipient == nil {
                        parkedSends.append(id)
                        continue
                    }
                }
                sends.append(OutboxSend(
                    id: id,
                    request: SendRequest(
                        key: SendKey(leadID: String(leadID), sequence: try row.value("sequence"), step: try row.value("step"),
                                     enrollment: try row.value("enrollment"), occurrence: try row.value("occurrence")),
                        template: try row.value("template"), subject: try row.value("subject"), tracking: try row.value("tracking")),
                    plannedAt: try row.value("planned_at"), attempts: try row.value("attempts"),
                    lease: Lease(owner: worker.id, epoch: try row.value("lease_epoch"), until: try row.value("lease_until")),
                    recipient: recipient,
                    addressSuppression: lead?.suppression.flatMap(Suppression.init(rawValue:))))
            }
            if !parkedSends.isEmpty {
                // A parked lead gets nothing until it is mended; the others go on.
                try await connection.query("""
                    UPDATE sends SET status = 'skipped', reply = 'lead parked: its state cannot be read', lease_until = NULL, lease_owner = NULL
                    WHERE id = ANY(\(parkedSends))
                    """, logger: self.logger)
            }
            return sends.sorted { $0.id < $1.id }
        }
    }

    struct Outcome: Encodable {
        var id: Int64
        var owner: String
        var epoch: Int64
        var status: String
        var attempt: Int
        var reply: String
        var next: Double?
        var message: String?
        var token: String?
        var links: Int?
        var sent: Bool
    }

    @discardableResult
    public func completeSends(_ results: [(send: OutboxSend, result: SendResult)], now: Date) async throws -> Int {
        guard !results.isEmpty else { return 0 }
        let outcomes = results.map { send, result -> Outcome in
            let base = Outcome(id: send.id, owner: send.lease.owner, epoch: send.lease.epoch, status: "", attempt: 0, reply: "", sent: false)
            var outcome = base
            switch result {
            case .sent(let messageID, let reply, let tokenID, let links):
                outcome.status = "sent"; outcome.attempt = 1; outcome.reply = reply
                outcome.message = messageID; outcome.token = tokenID; outcome.links = links; outcome.sent = true
            case .retry(let at, let reply):
                outcome.status = "queued"; outcome.attempt = 1; outcome.reply = reply; outcome.next = at.timeIntervalSince1970
            case .failed(let reply):
                outcome.status = "failed"; outcome.attempt = 1; outcome.reply = reply
            case .skipped(let reason):
                outcome.status = "skipped"; outcome.reply = reason
            case .deferred(let until, let reason):
                outcome.status = "queued"; outcome.reply = reason; outcome.next = until.timeIntervalSince1970
            }
            return outcome
        }
        let json = String(decoding: try JSONEncoder().encode(outcomes), as: UTF8.self)
        // Every update is fenced: it applies only while this claim is the send's current one.
        let applied = try await transaction { connection in
            let applied = try await connection.query("""
                UPDATE sends s SET status = u.status, attempts = s.attempts + u.attempt, reply = u.reply,
                  next_attempt_at = coalesce(to_timestamp(u.next), s.next_attempt_at),
                  sent_at = CASE WHEN u.sent THEN \(now) ELSE s.sent_at END,
                  message_id = coalesce(u.message, s.message_id), token_id = coalesce(u.token, s.token_id), links = coalesce(u.links, s.links),
                  lease_until = NULL, lease_owner = NULL
                FROM jsonb_to_recordset(\(json)::jsonb) AS u(id bigint, owner text, epoch bigint, status text, attempt integer, reply text,
                  next double precision, message text, token text, links integer, sent boolean)
                WHERE s.id = u.id AND s.status = 'sending' AND s.lease_owner = u.owner AND s.lease_epoch = u.epoch
                RETURNING s.id, s.sequence, s.step, s.engagement, u.sent
                """, logger: self.logger).collect().map { $0.makeRandomAccess() }
            // The emails the relay accepted count as sent for their step.
            var batch = RollupBatch()
            for row in applied {
                guard try row.value("sent", as: Bool.self) else { continue }
                var send = RollupBatch.Send(id: try row.value("id"), sequence: try row.value("sequence"), step: try row.value("step"),
                                            sentAt: now, engagement: SendEngagement(rawValue: try row.value("engagement")))
                batch.credit(.sent, send: &send, hour: RollupHour.of(now))
            }
            try await PostgresRollups.write(batch, connection: connection, logger: self.logger)
            return applied.count
        }
        return results.count - applied
    }

    struct Held: Encodable {
        var id: Int64
        var owner: String
        var epoch: Int64
    }

    public func releaseSends(_ sends: [OutboxSend], now: Date) async throws {
        guard !sends.isEmpty else { return }
        let json = String(decoding: try JSONEncoder().encode(sends.map { Held(id: $0.id, owner: $0.lease.owner, epoch: $0.lease.epoch) }), as: UTF8.self)
        try await transaction { connection in
            let returned = try await connection.query("""
                UPDATE sends s SET status = 'queued', next_attempt_at = least(s.next_attempt_at, \(now)), lease_until = NULL, lease_owner = NULL
                FROM jsonb_to_recordset(\(json)::jsonb) AS u(id bigint, owner text, epoch bigint)
                WHERE s.id = u.id AND s.status = 'sending' AND s.lease_owner = u.owner AND s.lease_epoch = u.epoch
                RETURNING s.id
                """, logger: self.logger).collect().count
            // What was given back (a process stopping) is for the others to send at once.
            if returned > 0 { try await connection.query("SELECT pg_notify(\(Self.channel), '')", logger: self.logger) }
        }
    }

    public func nextSendDue() async throws -> Date? {
        let rows = try await fetch("""
            SELECT least((SELECT min(next_attempt_at) FROM sends WHERE status = 'queued'),
                         (SELECT min(lease_until) FROM sends WHERE status = 'sending'))
            """)
        return try rows.first?.decode(Date?.self) ?? nil
    }

    // MARK: Workers

    public func heartbeat(_ worker: WorkerIdentity, now: Date, duration: TimeSpan) async throws {
        let clock = clock(now)
        try await transaction { connection in
            try await self.recordAlive(worker, clock: clock, connection: connection)
            try await connection.query("""
                UPDATE sends SET lease_until = coalesce(\(clock)::timestamptz, now()) + make_interval(secs => \(Double(duration.seconds)))
                WHERE lease_owner = \(worker.id) AND status = 'sending'
                """, logger: self.logger)
            try await connection.query("""
                UPDATE webhooks SET lease_until = coalesce(\(clock)::timestamptz, now()) + make_interval(secs => \(Double(duration.seconds)))
                WHERE lease_owner = \(worker.id) AND status = 'sending'
                """, logger: self.logger)
        }
    }

    @discardableResult
    public func recoverDeadWorkers(now: Date, deadAfter: TimeSpan, host: String, isRunning: @Sendable (Int32) -> Bool) async throws -> Int {
        let clock = clock(now)
        return try await transaction { connection in
            var dead: [String] = []
            for row in try await connection.rows("""
                SELECT id, host, pid, heartbeat_at < coalesce(\(clock)::timestamptz, now()) - make_interval(secs => \(Double(deadAfter.seconds))) AS silent
                FROM workers FOR UPDATE SKIP LOCKED
                """, logger: self.logger) {
                let silent: Bool = try row.value("silent")
                let gone = try row.value("host", as: String.self) == host && !isRunning(Int32(try row.value("pid", as: Int.self)))
                if silent || gone { dead.append(try row.value("id")) }
            }
            guard !dead.isEmpty else { return 0 }
            let returned = try await connection.query("""
                UPDATE sends SET status = 'queued', next_attempt_at = least(next_attempt_at, \(now)), lease_until = NULL, lease_owner = NULL
                WHERE lease_owner = ANY(\(dead)) AND status = 'sending'
                RETURNING id
                """, logger: self.logger).collect().count
            try await connection.query("""
                UPDATE webhooks SET status = 'queued', next_attempt_at = least(next_attempt_at, \(now)), lease_until = NULL, lease_owner = NULL
                WHERE lease_owner = ANY(\(dead)) AND status = 'sending'
                """, logger: self.logger)
            try await connection.query("DELETE FROM workers WHERE id = ANY(\(dead))", logger: self.logger)
            if returned > 0 { try await connection.query("SELECT pg_notify(\(Self.channel), '')", logger: self.logger) }
            return returned
        }
    }

    public func retire(_ worker: WorkerIdentity, now: Date) async throws {
        try await transaction { connection in
            let returned = try await connection.query("""
                UPDATE sends SET status = 'queued', next_attempt_at = least(next_attempt_at, \(now)), lease_until = NULL, lease_owner = NULL
                WHERE lease_owner = \(worker.id) AND status = 'sending'
                RETURNING id
                """, logger: self.logger).collect().count
            try await connection.query("""
                UPDATE webhooks SET status = 'queued', next_attempt_at = least(next_attempt_at, \(now)), lease_until = NULL, lease_owner = NULL
                WHERE lease_owner = \(worker.id) AND status = 'sending'
                """, logger: self.logger)
            try await connection.query("DELETE FROM workers WHERE id = \(worker.id)", logger: self.logger)
            // What it gave back is for the others to send at once.
            if returned > 0 { try await connection.query("SELECT pg_notify(\(Self.channel), '')", logger: self.logger) }
        }
    }

    /// Records `worker` alive now on the lease clock (its start, or a heartbeat).
    func recordAlive(_ worker: WorkerIdentity, clock: Date?, connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO workers (id, host, pid, started_at, heartbeat_at)
            VALUES (\(worker.id), \(worker.host), \(Int(worker.pid)), coalesce(\(clock)::timestamptz, now()), coalesce(\(clock)::timestamptz, now()))
            ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
            """, logger: logger)
    }
}
