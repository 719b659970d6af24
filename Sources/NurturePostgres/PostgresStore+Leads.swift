import Foundation
import NurtureCore
import PostgresNIO

/// Leads: upserts, decisions on locked rows, due leads claimed with `SKIP LOCKED`.
extension PostgresStore {
    /// The columns every lead read takes: enough to decode its state or park it.
    static let leadColumns = "id, email, state, state_version, next_wake_at, parked_error"

    /// A lead row as read for a decision.
    struct LeadRow {
        var id: Int64
        var email: String
        var state: Data
        var stateVersion: Int
        var nextWake: Date?
        var parkedError: String?

        init(_ row: PostgresRandomAccessRow) throws {
            id = try row.value("id")
            email = try row.value("email")
            state = try row.value("state")
            stateVersion = try row.value("state_version")
            nextWake = try row.value("next_wake_at")
            parkedError = try row.value("parked_error")
        }
    }

    public func upsertLeads(_ emails: [String], now: Date, _ body: @Sendable (String, String, Suppression?, inout LeadState?) -> LeadChange) async throws -> UpsertResult {
        let canonical = emails.map(EmailAddress.canonicalIfValid)
        guard !canonical.isEmpty else { return UpsertResult() }
        var unique: [String] = []
        var seen: Set<String> = []
        for email in canonical where seen.insert(email).inserted { unique.append(email) }
        return try await transaction { connection in
            // Existing leads, locked in id order (two importers of overlapping files never
            // deadlock); then the new ones, inserted; then any a concurrent importer inserted
            // meanwhile, locked once its transaction is done.
            var rows: [String: LeadRow] = [:]
            for row in try await connection.rows("SELECT \(unescaped: Self.leadColumns) FROM leads WHERE lower(email) = ANY(\(unique)) ORDER BY id FOR NO KEY UPDATE", logger: self.logger) {
                let lead = try LeadRow(row)
                rows[lead.email.lowercased()] = lead
            }
            var created: Set<Int64> = []
            let missing = unique.filter { rows[$0] == nil }
            if !missing.isEmpty {
                for row in try await connection.rows("""
                    INSERT INTO leads (email, stage, score, fit_score, engagement_score, status, fields, state, created_at, updated_at)
                    SELECT e, '', 0, 0, 0, 'active', '{}', '\\x', \(now), \(now) FROM unnest(\(missing)::text[]) WITH ORDINALITY AS n(e, i) ORDER BY i
                    ON CONFLICT ((lower(email))) DO NOTHING
                    RETURNING \(unescaped: Self.leadColumns)
                    """, logger: self.logger) {
                    let lead = try LeadRow(row)
                    rows[lead.email.lowercased()] = lead
                    created.insert(lead.id)
                }
                let raced = missing.filter { rows[$0] == nil }
                if !raced.isEmpty {
                    for row in try await connection.rows("SELECT \(unescaped: Self.leadColumns) FROM leads WHERE lower(email) = ANY(\(raced)) ORDER BY id FOR NO KEY UPDATE", logger: self.logger) {
                        let lead = try LeadRow(row)
                        rows[lead.email.lowercased()] = lead
                    }
                }
            }
            var suppressions: [String: Suppression] = [:]
            for row in try await connection.rows("SELECT email, reason FROM suppressions WHERE email = ANY(\(unique))", logger: self.logger) {
                suppressions[try row.value("email")] = Suppression(rawValue: try row.value("reason"))
            }
            var result = UpsertResult()
            var writes = PostgresLeadWrites(webhooks: self.webhookRoutes, stateCoder: self.stateCoder, format: try await self.writeFormat(connection))
            var states: [Int64: LeadState] = [:]
            var parkedIDs: Set<Int64> = []
            var parked: [ParkedLead] = []
            for email in canonical {
                guard let row = rows[email] else { continue }
                var state: LeadState?
                let isNew = states[row.id] == nil && created.contains(row.id)
                if let known = states[row.id] {
                    state = known
                    result.updated += 1
                } else if created.contains(row.id) {
                    result.created += 1
                    created.remove(row.id) // a second spelling in the same batch updates it
                } else {
                    if parkedIDs.contains(row.id) {
                        result.parked += 1
                        continue
                    }
                    guard let decoded = try await self.decodeOrPark(row, now: now, connection: connection, parked: &parked) else {
                        parkedIDs.insert(row.id)
                        result.parked += 1
                        continue
                    }
                    state = decoded
                    result.updated += 1
                }
                let scoreBefore = state?.lead.score ?? 0
                let change = body(String(row.id), row.email, suppressions[email], &state)
                guard let state else { continue }
                states[row.id] = state
                try writes.save(state, id: row.id, change: change, previousWake: row.nextWake, scoreBefore: scoreBefore, now: now, created: isNew)
            }
            result.sendsQueued = try await writes.flush(connection, now: now, logger: self.logger)
            return result
        }
    }

    public func updateLead(_ reference: LeadReference, now: Date, recording: RecordedEvent?, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> LeadUpdate {
        try await transaction { connection in
            guard let row = try await self.leadRow(reference, connection: connection, lock: true) else { return .unknownLead }
            // The event is kept even when the lead is parked: nothing that arrived is lost.
            if let recording {
                let inserted = try await self.insert([(recording, row.id)], now: now, connection: connection)
                if inserted != [true] { return .duplicate }
            }
            var parked: [ParkedLead] = []
            guard var state = try await self.decodeOrPark(row, now: now, connection: connection, parked: &parked) else { return .parked }
            let scoreBefore = state.lead.score
            let change = body(&state)
            var writes = PostgresLeadWrites(webhooks: self.webhookRoutes, stateCoder: self.stateCoder, format: try await self.writeFormat(connection))
            try writes.save(state, id: row.id, change: change, previousWake: row.nextWake, scoreBefore: scoreBefore, now: now)
            _ = try await writes.flush(connection, now: now, logger: self.logger)
            return .changed(change)
        }
    }

    public func processDueLeads(now: Date, limit: Int, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> DuePass {
        try await transaction { connection in
            // Due leads another process is deciding right now are skipped, not waited for; a
            // lead with stored events not decided yet is the applier's (EventInbox), which
            // decides them first, then what came due.
            let rows = try await connection.rows("""
                SELECT \(unescaped: Self.leadColumns) FROM leads WHERE next_wake_at <= \(now)
                  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.lead_id = leads.id AND e.pending)
                ORDER BY next_wake_at LIMIT \(limit) FOR NO KEY UPDATE SKIP LOCKED
                """, logger: self.logger).map(LeadRow.init)
            var pass = DuePass(processed: rows.count)
            var writes = PostgresLeadWrites(webhooks: self.webhookRoutes, stateCoder: self.stateCoder, format: try await self.writeFormat(connection))
            for row in rows {
                guard var state = try await self.decodeOrPark(row, now: now, connection: connection, parked: &pass.parked) else { continue }
                let scoreBefore = state.lead.score
                let change = body(&state)
                try writes.save(state, id: row.id, change: change, previousWake: row.nextWake, scoreBefore: scoreBefore, now: now)
            }
            _ = try await writes.flush(connection, now: now, logger: self.logger)
            return pass
        }
    }

    public func nextWake() async throws -> Date? {
        try await fetch("SELECT min(next_wake_at) FROM leads WHERE next_wake_at IS NOT NULL")
            .first?.decode(Date?.self) ?? nil
    }

    /// - Throws: ``StoreError/parked(_:)`` for a parked lead.
    public func lead(_ reference: LeadReference) async throws -> LeadState? {
        try await withConnection { connection in
            try await self.leadRow(reference, connection: connection, lock: false).map { try self.decodeOrThrow($0) }
        }
    }

    func leadRow(_ reference: LeadReference, connection: PostgresConnection, lock: Bool) async throws -> LeadRow? {
        // FOR NO KEY UPDATE: decisions wait for each other; the foreign key checks of events
        // stored meanwhile (FOR KEY SHARE) do not wait for them.
        let suffix = lock ? " FOR NO KEY UPDATE" : ""
        let rows: [PostgresRandomAccessRow]
        switch reference {
        case .id(let id):
            rows = try await connection.rows("SELECT \(unescaped: Self.leadColumns) FROM leads WHERE id = \(Int64(id) ?? -1)\(unescaped: suffix)", logger: logger)
        case .email(let email):
            rows = try await connection.rows("SELECT \(unescaped: Self.leadColumns) FROM leads WHERE lower(email) = \(EmailAddress.canonicalIfValid(email))\(unescaped: suffix)", logger: logger)
        }
        return try rows.first.map(LeadRow.init)
    }

    /// The lead's state, or `nil` after parking the lead when it cannot be read: its error is
    /// stored with it, its wake-up cleared, so it is reported once and the others go on.
    func decodeOrPark(_ row: LeadRow, now: Date, connection: PostgresConnection, parked: inout [ParkedLead]) async throws -> LeadState? {
        try await decodeOrPark(row, as: LeadState.self, now: now, connection: connection, parked: &parked)
    }

    /// ``decodeOrPark(_:now:connection:parked:)`` for a part of the state (`type` decodes some of its keys).
    func decodeOrPark<Part: StoredLeadStatePart>(_ row: LeadRow, as type: Part.Type, now: Date, connection: PostgresConnection, parked: inout [ParkedLead]) async throws -> Part? {
        if row.parkedError != nil { return nil }
        do {
            return try decodeChecked(row, as: type)
        } catch {
            try await connection.query("UPDATE leads SET parked_error = \("\(error)"), parked_at = \(now), next_wake_at = NULL WHERE id = \(row.id)", logger: logger)
            parked.append(ParkedLead(id: String(row.id), email: row.email, error: "\(error)"))
            return nil
        }
    }

    /// The lead's state; ``StoreError/parked(_:)`` when it is parked or cannot be read.
    func decodeOrThrow(_ row: LeadRow) throws -> LeadState {
        let parked = { (error: String) in StoreError.parked(ParkedLead(id: String(row.id), email: row.email, error: error)) }
        if let error = row.parkedError { throw parked(error) }
        do {
            return try decodeChecked(row, as: LeadState.self)
        } catch {
            throw parked("\(error)")
        }
    }

    private func decodeChecked<Part: StoredLeadStatePart>(_ row: LeadRow, as type: Part.Type) throws -> Part {
        try stateCoder.decode(type, from: row.state, version: row.stateVersion)
    }
}
