import Foundation
import GRDB
import NurtureCore

/// Leads: upserts, decisions inside write transactions, due leads by index.
extension SQLiteStore {
    public func upsertLeads(_ emails: [String], now: Date, _ body: @Sendable (String, String, Suppression?, inout LeadState?) -> LeadChange) async throws -> UpsertResult {
        try await pool.write { db in
            var result = UpsertResult()
            var parked: [ParkedLead] = []
            var rollups = SQLiteRollups()
            let suppressions = try db.cachedStatement(sql: "SELECT reason FROM suppressions WHERE email = ?")
            for email in emails.map(EmailAddress.canonicalIfValid) {
                var state: LeadState?
                let id: Int64
                if let row = try Row.fetchOne(db, sql: "SELECT \(Self.leadColumns) FROM leads WHERE email = ?", arguments: [email]) {
                    id = row["id"]
                    guard let decoded = try self.decodeOrPark(row, now: now, db: db, parked: &parked) else {
                        result.parked += 1
                        continue
                    }
                    state = decoded
                    result.updated += 1
                } else {
                    try db.execute(
                        sql: "INSERT INTO leads (email, stage, score, fit_score, engagement_score, status, fields, state, created_at, updated_at) VALUES (?, '', 0, 0, 0, 'active', '{}', x'', ?, ?)",
                        arguments: [email, now.timeIntervalSince1970, now.timeIntervalSince1970])
                    id = db.lastInsertedRowID
                    result.created += 1
                }
                let created = state == nil
                let scoreBefore = state?.lead.score ?? 0
                let suppression = try String.fetchOne(suppressions, arguments: [email]).flatMap(Suppression.init(rawValue:))
                let change = body(String(id), email, suppression, &state)
                guard let state else { continue }
                if created {
                    // The lead enters the funnel now, in the stage it starts in.
                    try db.cachedStatement(sql: "INSERT INTO stage_entries (lead_id, stage, entered_at) VALUES (?, ?, ?)")
                        .execute(arguments: [id, change.stageBefore(state.lead.stage), now.timeIntervalSince1970])
                }
                result.sendsQueued += try self.save(state, id: id, change: change, scoreBefore: scoreBefore, now: now, db: db, rollups: &rollups)
            }
            try rollups.flush(db)
            return result
        }
    }

    public func updateLead(_ reference: LeadReference, now: Date, recording: RecordedEvent?, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> LeadUpdate {
        try await pool.write { db in
            guard let row = try self.leadRow(reference, db: db) else { return .unknownLead }
            var parked: [ParkedLead] = []
            var rollups = SQLiteRollups()
            // The event is kept even when the lead is parked: nothing that arrived is lost.
            if let recording, try !self.insert(recording, leadID: row["id"], now: now, db: db, rollups: &rollups) { return .duplicate }
            guard var state = try self.decodeOrPark(row, now: now, db: db, parked: &parked) else {
                try rollups.flush(db)
                return .parked
            }
            let scoreBefore = state.lead.score
            let change = body(&state)
            _ = try self.save(state, id: row["id"], change: change, scoreBefore: scoreBefore, now: now, db: db, rollups: &rollups)
            try rollups.flush(db)
            return .changed(change)
        }
    }

    public func processDueLeads(now: Date, limit: Int, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> DuePass {
        try await pool.write { db in
            let rows = try Row.fetchAll(
                // A lead with stored events not decided yet is the applier's (EventInbox): it
                // decides them first, then what came due.
                db.cachedStatement(sql: """
                    SELECT \(Self.leadColumns) FROM leads WHERE next_wake_at <= ?
                      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.lead_id = leads.id AND e.pending IS NOT NULL)
                    ORDER BY next_wake_at LIMIT ?
                    """),
                arguments: [now.timeIntervalSince1970, limit])
            var pass = DuePass(processed: rows.count)
            var rollups = SQLiteRollups()
            for row in rows {
                guard var state = try self.decodeOrPark(row, now: now, db: db, parked: &pass.parked) else { continue }
                let scoreBefore = state.lead.score
                let change = body(&state)
                _ = try self.save(state, id: row["id"], change: change, scoreBefore: scoreBefore, now: now, db: db, rollups: &rollups)
            }
            try rollups.flush(db)
            return pass
        }
    }

    public func nextWake() async throws -> Date? {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(next_wake_at) FROM leads WHERE next_wake_at IS NOT NULL").map(Date.init(timeIntervalSince1970:))
        }
    }

    /// - Throws: ``StoreError/parked(_:)`` for a parked lead.
    public func lead(_ reference: LeadReference) async throws -> LeadState? {
        try await pool.read { db in
            try self.leadRow(reference, db: db).map { try self.decodeOrThrow($0) }
        }
    }

    /// The columns every lead read takes: enough to decode its state or park it.
    static let leadColumns = "id, email, state, state_version, next_wake_at, parked_error"

    func leadRow(_ reference: LeadReference, db: Database) throws -> Row? {
        switch reference {
        case .id(let id): try Row.fetchOne(db, sql: "SELECT \(Self.leadColumns) FROM leads WHERE id = ?", arguments: [Int64(id) ?? -1])
        case .email(let email): try Row.fetchOne(db, sql: "SELECT \(Self.leadColumns) FROM leads WHERE email = ?", arguments: [EmailAddress.canonicalIfValid(email)])
        }
    }

    /// The lead's state, or `nil` after parking the lead when it cannot be read: its error is
    /// stored with it, its wake-up cleared, so it is reported once and the others go on.
    /// - Parameter parked: where a lead parked by this call is added.
    func decodeOrPark(_ row: Row, now: Date, db: Database, parked: inout [ParkedLead]) throws -> LeadState? {
        try decodeOrPark(row, as: LeadState.self, now: now, db: db, parked: &parked)
    }

    /// ``decodeOrPark(_:now:db:parked:)`` for a part of the state (`type` decodes some of its keys).
    func decodeOrPark<Part: StoredLeadStatePart>(_ row: Row, as type: Part.Type, now: Date, db: Database, parked: inout [ParkedLead]) throws -> Part? {
        if row["parked_error"] as String? != nil { return nil }
        do {
            return try decodeChecked(row, as: type)
        } catch {
            try db.execute(sql: "UPDATE leads SET parked_error = ?, parked_at = ?, next_wake_at = NULL WHERE id = ?",
                           arguments: ["\(error)", now.timeIntervalSince1970, row["id"]])
            parked.append(ParkedLead(id: String(row["id"] as Int64), email: row["email"], error: "\(error)"))
            return nil
        }
    }

    /// The lead's state; ``StoreError/parked(_:)`` when it is parked or cannot be read.
    func decodeOrThrow(_ row: Row) throws -> LeadState {
        let parked = { (error: String) in StoreError.parked(ParkedLead(id: String(row["id"] as Int64), email: row["email"], error: error)) }
        if let error = row["parked_error"] as String? { throw parked(error) }
        do {
            return try decodeChecked(row, as: LeadState.self)
        } catch {
            throw parked("\(error)")
        }
    }

    private func decodeChecked<Part: StoredLeadStatePart>(_ row: Row, as type: Part.Type) throws -> Part {
        try stateCoder.decode(type, from: row["state"], version: row["state_version"] ?? 1)
    }

    /// Writes the lead's new state and what its effects leave in the database.
    /// The webhooks the change calls for are queued here too (`scoreBefore`: the lead's score
    /// before it, for `score_crossed`).
    /// - Returns: how many sends were queued.
    func save(_ state: LeadState, id: Int64, change: LeadChange, scoreBefore: Int, now: Date, db: Database, rollups: inout SQLiteRollups) throws -> Int {
        let lead = state.lead
        let format = try writeFormat(db: db)
        try db.cachedStatement(sql: """
            UPDATE leads SET stage = ?, score = ?, fit_score = ?, engagement_score = ?, status = ?, time_zone = ?,
              fields = ?, state = ?, state_version = ?, next_wake_at = ?, updated_at = ?, sequence = ?, tags = ? WHERE id = ?
            """).execute(arguments: [
                lead.stage, lead.score, lead.fitScore, lead.engagementScore, state.suppression?.rawValue ?? "active",
                lead.timeZone, JSONText.object(lead.fields), try stateCoder.encode(state, as: format), format.version,
                change.nextWake?.timeIntervalSince1970, now.timeIntervalSince1970, state.enrollment?.sequence,
                JSONText.array(lead.tags.sorted()), id,
            ])
        var queued = 0
        for effect in change.effects {
            switch effect {
            case .send(let request):
                try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO sends (lead_id, sequence, step, enrollment, occurrence, template, subject, tracking, status, attempts, planned_at, next_attempt_at, variant)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?)
                    """).execute(arguments: [
                        id, request.key.sequence, request.key.step, request.key.enrollment, request.key.occurrence, request.template, request.subject,
                        request.tracking, now.timeIntervalSince1970, now.timeIntervalSince1970, request.variant,
                    ])
                queued += db.changesCount
            case .stageChanged(let change):
                let at = change.at.timeIntervalSince1970
                try db.cachedStatement(sql: "INSERT INTO stage_changes (lead_id, from_stage, to_stage, at, reason) VALUES (?, ?, ?, ?, ?)")
                    .execute(arguments: [id, change.from, change.to, at, change.reason])
                // The stage it leaves: left now, for this one; the stage it enters: entered now.
                try db.cachedStatement(sql: "UPDATE stage_entries SET left_at = ?, left_to = ? WHERE lead_id = ? AND left_at IS NULL")
                    .execute(arguments: [at, change.to, id])
                try db.cachedStatement(sql: "INSERT INTO stage_entries (lead_id, stage, entered_at) VALUES (?, ?, ?)")
                    .execute(arguments: [id, change.to, at])
            case .enrolled(let sequence, let number):
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO enrollments (lead_id, sequence, number, started_at) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [id, sequence, number, now.timeIntervalSince1970])
            case .enrollmentEnded(let sequence, let reason):
                try db.cachedStatement(sql: "UPDATE enrollments SET ended_at = ?, end_reason = ? WHERE lead_id = ? AND sequence = ? AND ended_at IS NULL")
                    .execute(arguments: [now.timeIntervalSince1970, reason, id, sequence])
            case .suppressed(let reason):
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO suppressions (email, reason, at) VALUES (?, ?, ?)")
                    .execute(arguments: [EmailAddress.canonicalIfValid(lead.email), reason.rawValue, now.timeIntervalSince1970])
            case .goalReached(let sequence, _):
                try rollups.tallyGoal(leadID: id, sequence: sequence, at: now, db: db)
            default:
                break
            }
        }
        for message in webhookRoutes.messages(for: change.effects, lead: lead, scoreBefore: scoreBefore, now: now) {
            try db.cachedStatement(sql: """
                INSERT INTO webhooks (message_id, endpoint, type, lead_id, body, status, attempts, created_at, next_attempt_at)
                VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?)
                """).execute(arguments: [message.id, message.endpoint, message.type.rawValue, id, message.body, now.timeIntervalSince1970, now.timeIntervalSince1970])
        }
        return queued
    }
}
