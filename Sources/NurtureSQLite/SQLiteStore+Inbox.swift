import Foundation
import GRDB
import NurtureCore

/// The tracking server's events: stored pending in one group commit, decided a moment later
/// in batches (``EventInbox``). SQLite has one writer, so one pass applies at a time.
extension SQLiteStore {
    public func appendEvents(_ batch: [(lead: LeadReference, recording: RecordedEvent)], now: Date) async throws -> [Bool] {
        guard !batch.isEmpty else { return [] }
        return try await pool.write { db in
            var rollups = SQLiteRollups()
            var stored: [Bool] = []
            stored.reserveCapacity(batch.count)
            for item in batch {
                guard let id = try self.leadID(item.lead, db: db) else {
                    stored.append(false)
                    continue
                }
                stored.append(try self.insert(item.recording, leadID: id, now: now, db: db, rollups: &rollups, pending: true))
            }
            try rollups.flush(db)
            return stored
        }
    }

    public func applyPendingEvents(limit: Int, now: Date,
                                   decide: @Sendable (inout LeadState, Event) -> [Effect],
                                   settle: @Sendable (inout LeadState) -> LeadChange) async throws -> PendingEventsPass {
        try await pool.write { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, lead_id, type, at, properties, machine FROM events WHERE pending IS NOT NULL ORDER BY id LIMIT ?"),
                arguments: [limit])
            guard let last = rows.last else { return PendingEventsPass() }
            // Each lead's events, in the order they were stored.
            var order: [Int64] = []
            var groups: [Int64: [Event]] = [:]
            for row in rows {
                let lead: Int64 = row["lead_id"]
                if groups[lead] == nil { order.append(lead) }
                groups[lead, default: []].append(self.pendingEvent(row))
            }
            var pass = PendingEventsPass()
            var rollups = SQLiteRollups()
            for id in order {
                let events = groups[id] ?? []
                guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.leadColumns) FROM leads WHERE id = ?"), arguments: [id]),
                      var state = try self.decodeOrPark(row, now: now, db: db, parked: &pass.parked) else {
                    pass.skipped += events.count
                    continue
                }
                let scoreBefore = state.lead.score
                let change = pass.decide(events, state: &state, decide: decide, settle: settle)
                _ = try self.save(state, id: id, change: change, scoreBefore: scoreBefore, now: now, db: db, rollups: &rollups)
            }
            // One writer: every pending event up to the last one read was read.
            try db.cachedStatement(sql: "UPDATE events SET pending = NULL WHERE pending IS NOT NULL AND id <= ?").execute(arguments: [last["id"] as Int64])
            try rollups.flush(db)
            return pass
        }
    }

    public func pendingEventCount() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE pending IS NOT NULL") ?? 0
        }
    }

    public func setAsideOldestPending(reason: String) async throws -> SetAsideEvents? {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, lead_id FROM events WHERE pending IS NOT NULL ORDER BY id LIMIT 1") else { return nil }
            let lead: Int64 = row["lead_id"]
            try db.execute(sql: "UPDATE events SET pending = NULL, apply_error = ? WHERE pending IS NOT NULL AND lead_id = ?", arguments: [reason, lead])
            return SetAsideEvents(lead: lead, oldest: row["id"], count: db.changesCount)
        }
    }

    public func setAsideEventCount() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE apply_error IS NOT NULL") ?? 0
        }
    }

    public func setAsideEvents(limit: Int) async throws -> [SetAsideRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.id, e.lead_id, l.email, e.type, e.at, e.apply_error FROM events e JOIN leads l ON l.id = e.lead_id
                WHERE e.apply_error IS NOT NULL ORDER BY e.id DESC LIMIT ?
                """, arguments: [limit]).map { row in
                SetAsideRecord(id: row["id"], leadID: row["lead_id"], email: row["email"], type: row["type"],
                               at: Date(timeIntervalSince1970: row["at"]), reason: row["apply_error"])
            }
        }
    }

    public func requeueSetAsideEvents(ids: [Int64]) async throws -> Int {
        try await pool.write { db in
            if ids.isEmpty {
                try db.execute(sql: "UPDATE events SET pending = 1, apply_error = NULL WHERE apply_error IS NOT NULL")
            } else {
                let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
                try db.execute(sql: "UPDATE events SET pending = 1, apply_error = NULL WHERE apply_error IS NOT NULL AND id IN (\(marks))",
                               arguments: StatementArguments(ids))
            }
            return db.changesCount
        }
    }

    /// A stored event as the engine sees it.
    private func pendingEvent(_ row: Row) -> Event {
        // Written by ``JSONText/object(_:)`` from a `[String: String]`: it reads back.
        let text: String = row["properties"]
        let properties = JSONText.readObject(text) ?? (try? decoder.decode([String: String].self, from: Data(text.utf8))) ?? [:]
        return Event(row["type"], at: Date(timeIntervalSince1970: row["at"]), properties: properties, isMachine: row["machine"])
    }

    /// The id of the lead a reference names, if there is one.
    func leadID(_ reference: LeadReference, db: Database) throws -> Int64? {
        switch reference {
        case .id(let id): try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM leads WHERE id = ?"), arguments: [Int64(id) ?? -1])
        case .email(let email): try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM leads WHERE email = ?"), arguments: [EmailAddress.canonicalIfValid(email)])
        }
    }
}
