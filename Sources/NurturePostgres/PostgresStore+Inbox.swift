import Foundation
import NurtureCore
import PostgresNIO

/// The tracking server's events: stored pending in one group commit, decided a moment later
/// in batches (``EventInbox``), by one process at a time (an advisory lock), oldest id first.
/// Ids follow insertion, not commit: an event whose batch commits after a pass read the
/// pending ones is decided in the next pass, after a later one of the same lead that was
/// already committed (hits on two processes within milliseconds).
extension PostgresStore {
    /// Stores a batch of hits in one statement, then counts them: the statement finds the
    /// leads (held FOR KEY SHARE, so none is deleted before its events are in), credits an
    /// event without an email to the lead's latest one within its window, inserts the events
    /// pending (a client id stored before, or twice in the batch, once), and reads and locks
    /// the emails they count for. One round trip where a lookup, an insert and a read of the
    /// emails took three, plus one per credited event.
    public func appendEvents(_ batch: [(lead: LeadReference, recording: RecordedEvent)], now: Date) async throws -> [Bool] {
        guard !batch.isEmpty else { return [] }
        var ids: [Int64] = []
        var emails: [String] = []
        var rows: [EventRow] = []
        rows.reserveCapacity(batch.count)
        for (index, item) in batch.enumerated() {
            let recording = item.recording
            var row = EventRow(lead: nil, type: recording.event.type, at: recording.event.at.timeIntervalSince1970, properties: recording.event.properties,
                               machine: recording.event.isMachine, client: recording.clientID, send: recording.sendID,
                               within: recording.sendID == nil ? recording.attributeWithin.map { Double($0.seconds) } : nil, i: index)
            switch item.lead {
            case .id(let id):
                let value = Int64(id) ?? -1
                row.lead = value
                ids.append(value)
            case .email(let email):
                let address = EmailAddress.canonicalIfValid(email)
                row.email = address
                emails.append(address)
            }
            rows.append(row)
        }
        let json = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        return try await transaction { connection in
            let result = try await connection.rows("""
                WITH u AS (
                  SELECT * FROM jsonb_to_recordset(\(json)::jsonb) AS u(i integer, lead bigint, email text, type text, at double precision,
                    properties jsonb, machine boolean, client text, send bigint, within double precision)
                ), l AS (
                  SELECT id, lower(email) AS email FROM leads WHERE id = ANY(\(ids)) OR lower(email) = ANY(\(emails)) ORDER BY id FOR KEY SHARE
                ), k AS (
                  -- Two joins on one key each (hashed), not one on "id or email" (a nested loop over the batch twice).
                  SELECT u.*, COALESCE(by_id.id, by_email.id) AS lead_id
                  FROM u LEFT JOIN l AS by_id ON by_id.id = u.lead LEFT JOIN l AS by_email ON by_email.email = u.email
                ), a AS (
                  SELECT k.i, k.type, k.at, k.properties, k.machine, k.client, k.lead_id,
                    COALESCE(k.send, (SELECT s.id FROM sends s WHERE k.within IS NOT NULL AND s.lead_id = k.lead_id AND s.sent_at IS NOT NULL
                      AND s.sent_at <= to_timestamp(k.at) AND s.sent_at > to_timestamp(k.at - k.within) ORDER BY s.sent_at DESC LIMIT 1)) AS send_id
                  FROM k WHERE k.lead_id IS NOT NULL
                ), ins AS (
                  INSERT INTO events (lead_id, type, at, properties, machine, client_id, recorded_at, send_id, pending)
                  SELECT a.lead_id, a.type, to_timestamp(a.at), a.properties, a.machine, a.client, \(now), a.send_id, true FROM a ORDER BY a.i
                  ON CONFLICT (client_id) DO NOTHING
                  RETURNING client_id
                ), s AS (
                  SELECT id, sequence, step, sent_at, engagement FROM sends WHERE id IN (SELECT send_id FROM a) ORDER BY id FOR UPDATE
                )
                SELECT a.i, a.send_id, s.sequence, s.step, s.sent_at, s.engagement,
                  a.client IS NULL OR (row_number() OVER (PARTITION BY a.client ORDER BY a.i) = 1
                    AND a.client IN (SELECT client_id FROM ins WHERE client_id IS NOT NULL)) AS stored
                FROM a LEFT JOIN s ON s.id = a.send_id
                ORDER BY a.i
                """, logger: self.logger)
            var stored = [Bool](repeating: false, count: batch.count)
            var sends: [Int64: PostgresRollups.Send] = [:]
            var credited: [(sendID: Int64, event: Event)] = []
            for row in result {
                let index: Int = try row.value("i")
                guard try row.value("stored", as: Bool.self) else { continue }
                stored[index] = true
                guard let send = try row.value("send_id", as: Int64?.self) else { continue }
                credited.append((send, batch[index].recording.event))
                if sends[send] == nil, let sequence = try row.value("sequence", as: String?.self) {
                    sends[send] = PostgresRollups.Send(id: send, sequence: sequence, step: try row.value("step"), sentAt: try row.value("sent_at"),
                                                       engagement: SendEngagement(rawValue: try row.value("engagement")))
                }
            }
            try await PostgresRollups.tally(credited, sends: sends, connection: connection, logger: self.logger)
            return stored
        }
    }

    public func applyPendingEvents(limit: Int, now: Date,
                                   decide: @Sendable (inout LeadState, Event) -> [Effect],
                                   settle: @Sendable (inout LeadState) -> LeadChange) async throws -> PendingEventsPass {
        try await transaction { connection in
            let locked = try await connection.rows("SELECT pg_try_advisory_xact_lock(\(PostgresSchema.inboxLockKey)) AS locked", logger: self.logger)
                .first?.value("locked", as: Bool.self) ?? false
            guard locked else { return PendingEventsPass(busy: true) }
            let rows = try await connection.rows("""
                SELECT id, lead_id, type, at, properties::text AS properties, machine FROM events WHERE pending ORDER BY id LIMIT \(limit)
                """, logger: self.logger)
            guard !rows.isEmpty else { return PendingEventsPass() }
            // Each lead's events, in the order they were stored.
            var eventIDs: [Int64] = []
            var order: [Int64] = []
            var groups: [Int64: [Event]] = [:]
            for row in rows {
                let lead: Int64 = try row.value("lead_id")
                eventIDs.append(try row.value("id"))
                if groups[lead] == nil { order.append(lead) }
                let properties = (try? self.decoder.decode([String: String].self, from: Data(try row.value("properties", as: String.self).utf8))) ?? [:]
                groups[lead, default: []].append(Event(try row.value("type"), at: try row.value("at"), properties: properties, isMachine: try row.value("machine")))
            }
            // The leads, locked at once in id order. FOR NO KEY UPDATE, as every decision: other
            // decisions wait, the hits storing events of these leads meanwhile do not (their
            // foreign key takes FOR KEY SHARE).
            var leads: [Int64: LeadRow] = [:]
            for row in try await connection.rows(
                "SELECT \(unescaped: Self.leadColumns) FROM leads WHERE id = ANY(\(order)) ORDER BY id FOR NO KEY UPDATE", logger: self.logger) {
                let lead = try LeadRow(row)
                leads[lead.id] = lead
            }
            var pass = PendingEventsPass()
            var writes = PostgresLeadWrites(webhooks: self.webhookRoutes, stateCoder: self.stateCoder, format: try await self.writeFormat(connection))
            for id in order {
                let events = groups[id] ?? []
                guard let row = leads[id], var state = try await self.decodeOrPark(row, now: now, connection: connection, parked: &pass.parked) else {
                    pass.skipped += events.count
                    continue
                }
                let scoreBefore = state.lead.score
                let change = pass.decide(events, state: &state, decide: decide, settle: settle)
                try writes.save(state, id: id, change: change, previousWake: row.nextWake, scoreBefore: scoreBefore, now: now)
            }
            _ = try await writes.flush(connection, now: now, logger: self.logger)
            // By id: an event stored by a transaction that committed after the read above
            // stays pending for the next pass.
            try await connection.query("UPDATE events SET pending = NULL WHERE id = ANY(\(eventIDs))", logger: self.logger)
            return pass
        }
    }

    public func setAsideOldestPending(reason: String) async throws -> SetAsideEvents? {
        try await transaction { connection in
            let locked = try await connection.rows("SELECT pg_try_advisory_xact_lock(\(PostgresSchema.inboxLockKey)) AS locked", logger: self.logger)
                .first?.value("locked", as: Bool.self) ?? false
            guard locked, let head = try await connection.rows("SELECT id, lead_id FROM events WHERE pending ORDER BY id LIMIT 1", logger: self.logger).first else {
                return nil
            }
            let lead: Int64 = try head.value("lead_id")
            let rows = try await connection.rows("""
                UPDATE events SET pending = NULL, apply_error = \(reason) WHERE pending AND lead_id = \(lead) RETURNING id
                """, logger: self.logger)
            return SetAsideEvents(lead: lead, oldest: try head.value("id"), count: rows.count)
        }
    }

    public func setAsideEventCount() async throws -> Int {
        try await fetch("SELECT count(*) FROM events WHERE apply_error IS NOT NULL").first?.decode(Int.self) ?? 0
    }

    public func setAsideEvents(limit: Int) async throws -> [SetAsideRecord] {
        try await fetch("""
            SELECT e.id, e.lead_id, l.email, e.type, e.at, e.apply_error FROM events e JOIN leads l ON l.id = e.lead_id
            WHERE e.apply_error IS NOT NULL ORDER BY e.id DESC LIMIT \(limit)
            """).map { row in
            let row = row.makeRandomAccess()
            return SetAsideRecord(id: try row.value("id"), leadID: try row.value("lead_id"), email: try row.value("email"), type: try row.value("type"),
                           at: try row.value("at"), reason: try row.value("apply_error"))
        }
    }

    public func requeueSetAsideEvents(ids: [Int64]) async throws -> Int {
        try await transaction { connection in
            try await connection.rows("""
                UPDATE events SET pending = true, apply_error = NULL
                WHERE apply_error IS NOT NULL AND (cardinality(\(ids)::bigint[]) = 0 OR id = ANY(\(ids)))
                RETURNING id
                """, logger: self.logger).count
        }
    }

    public func pendingEventCount() async throws -> Int {
        try await fetch("SELECT count(*) FROM events WHERE pending").first?.decode(Int.self) ?? 0
    }
}
