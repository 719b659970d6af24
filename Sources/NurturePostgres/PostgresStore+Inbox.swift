import Foundation
import NurtureCore
import PostgresNIO

/// The tracking server's events: stored pending in one group commit, decided a moment later
/// in batches (``EventInbox``), by one process at a time (an advisory lock), oldest id first.
/// Ids follow insertion, not commit: an event whose batch commits after a pass read the
/// pending ones is decided in the next pass, after a later one of the same lead that was
/// already committed (hits on two processes within milliseconds).
extension PostgresStore {
    public func appendEvents(_ batch: [(lead: LeadReference, recording: RecordedEvent)], now: Date) async throws -> [Bool] {
        guard !batch.isEmpty else { return [] }
        return try await transaction { connection in
            var ids: [Int64] = []
            var emails: [String] = []
            for item in batch {
                switch item.lead {
                case .id(let id): ids.append(Int64(id) ?? -1)
                case .email(let email): emails.append(EmailAddress.canonicalIfValid(email))
                }
            }
            // The leads, kept from being deleted until the events are in. FOR KEY SHARE, in id
            // order: decisions hold their leads FOR NO KEY UPDATE, which does not conflict.
            var byID: Set<Int64> = []
            var byEmail: [String: Int64] = [:]
            for row in try await connection.rows(
                "SELECT id, lower(email) AS email FROM leads WHERE id = ANY(\(ids)) OR lower(email) = ANY(\(emails)) ORDER BY id FOR KEY SHARE", logger: self.logger) {
                let id: Int64 = try row.value("id")
                byID.insert(id)
                byEmail[try row.value("email", as: String.self)] = id
            }
            var places: [Int] = []
            var recordings: [(RecordedEvent, Int64)] = []
            for (index, item) in batch.enumerated() {
                let id: Int64?
                switch item.lead {
                case .id(let value): id = Int64(value).flatMap { byID.contains($0) ? $0 : nil }
                case .email(let email): id = byEmail[EmailAddress.canonicalIfValid(email)]
                }
                guard let id else { continue }
                places.append(index)
                recordings.append((item.recording, id))
            }
            var stored = [Bool](repeating: false, count: batch.count)
            for (place, kept) in zip(places, try await self.insert(recordings, now: now, connection: connection, pending: true)) {
                stored[place] = kept
            }
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
