import Foundation
import GRDB
import NurtureCore

/// The SQLite store (GRDB): one file, WAL mode, zero setup. Safe for several processes on one
/// machine sharing the file: every decision runs in a write transaction, and SQLite
/// serialises writers.
public final class SQLiteStore: NurtureStore {
    let pool: DatabasePool
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30) // other processes on the same file wait, not fail
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL") // durable in WAL mode across crashes of the process
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try SQLiteSchema.migrator.migrate(pool)
        encoder = Self.stateEncoder()
        decoder = Self.stateDecoder()
    }

    /// How lead states are written in the `state` column.
    static func stateEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static func stateDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }

    // MARK: Leads

    public func upsertLeads(_ emails: [String], now: Date, _ body: @Sendable (String, String, Suppression?, inout LeadState?) -> LeadChange) async throws -> UpsertResult {
        try await pool.write { db in
            var result = UpsertResult()
            let suppressions = try db.cachedStatement(sql: "SELECT reason FROM suppressions WHERE email = ?")
            for email in emails.map(EmailAddress.canonicalIfValid) {
                var state: LeadState?
                let id: Int64
                if let row = try Row.fetchOne(db, sql: "SELECT id, state FROM leads WHERE email = ?", arguments: [email]) {
                    id = row["id"]
                    state = try self.decode(row["state"])
                    result.updated += 1
                } else {
                    try db.execute(
                        sql: "INSERT INTO leads (email, stage, score, fit_score, engagement_score, status, fields, state, created_at, updated_at) VALUES (?, '', 0, 0, 0, 'active', '{}', x'', ?, ?)",
                        arguments: [email, now.timeIntervalSince1970, now.timeIntervalSince1970])
                    id = db.lastInsertedRowID
                    result.created += 1
                }
                let suppression = try String.fetchOne(suppressions, arguments: [email]).flatMap(Suppression.init(rawValue:))
                let change = body(String(id), email, suppression, &state)
                guard let state else { continue }
                result.sendsQueued += try self.save(state, id: id, change: change, now: now, db: db)
            }
            return result
        }
    }

    public func updateLead(_ reference: LeadReference, now: Date, recording: RecordedEvent?, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> LeadChange? {
        try await pool.write { db in
            guard let row = try self.leadRow(reference, db: db) else { return nil }
            if let recording { _ = try self.insert(recording, leadID: row["id"], db: db) }
            var state = try self.decode(row["state"])
            let change = body(&state)
            _ = try self.save(state, id: row["id"], change: change, now: now, db: db)
            return change
        }
    }

    public func applyEvents(_ batch: [(lead: LeadReference, recording: RecordedEvent)], now: Date,
                            decide: @Sendable (inout LeadState, Event) -> [Effect],
                            nextWake: @Sendable (LeadState) -> Date?) async throws -> [LeadChange?] {
        try await pool.write { db in
            var results = [LeadChange?](repeating: nil, count: batch.count)
            // Group by lead, keeping each lead's events in arrival order.
            var order: [LeadReference] = []
            var groups: [LeadReference: [Int]] = [:]
            for (index, item) in batch.enumerated() {
                if groups[item.lead] == nil { order.append(item.lead) }
                groups[item.lead, default: []].append(index)
            }
            for reference in order {
                guard let row = try self.leadRow(reference, db: db) else { continue }
                let id: Int64 = row["id"]
                var state = try self.decode(row["state"])
                var all: [Effect] = []
                for index in groups[reference] ?? [] {
                    _ = try self.insert(batch[index].recording, leadID: id, db: db)
                    let effects = decide(&state, batch[index].recording.event)
                    all += effects
                    results[index] = LeadChange(effects: effects, nextWake: nil)
                }
                let wake = nextWake(state)
                _ = try self.save(state, id: id, change: LeadChange(effects: all, nextWake: wake), now: now, db: db)
                for index in groups[reference] ?? [] { results[index]?.nextWake = wake }
            }
            return results
        }
    }

    public func processDueLeads(now: Date, limit: Int, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> Int {
        try await pool.write { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, state FROM leads WHERE next_wake_at <= ? ORDER BY next_wake_at LIMIT ?"),
                arguments: [now.timeIntervalSince1970, limit])
            for row in rows {
                var state = try self.decode(row["state"])
                let change = body(&state)
                _ = try self.save(state, id: row["id"], change: change, now: now, db: db)
            }
            return rows.count
        }
    }

    public func nextWake() async throws -> Date? {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(next_wake_at) FROM leads WHERE next_wake_at IS NOT NULL").map(Date.init(timeIntervalSince1970:))
        }
    }

    public func lead(_ reference: LeadReference) async throws -> LeadState? {
        try await pool.read { db in
            try self.leadRow(reference, db: db).map { try self.decode($0["state"]) }
        }
    }

    private func leadRow(_ reference: LeadReference, db: Database) throws -> Row? {
        switch reference {
        case .id(let id): try Row.fetchOne(db, sql: "SELECT id, state, next_wake_at FROM leads WHERE id = ?", arguments: [Int64(id) ?? -1])
        case .email(let email): try Row.fetchOne(db, sql: "SELECT id, state, next_wake_at FROM leads WHERE email = ?", arguments: [EmailAddress.canonicalIfValid(email)])
        }
    }

    /// Writes the lead's new state and what its effects leave in the database.
    /// - Returns: how many sends were queued.
    private func save(_ state: LeadState, id: Int64, change: LeadChange, now: Date, db: Database) throws -> Int {
        let lead = state.lead
        try db.cachedStatement(sql: """
            UPDATE leads SET stage = ?, score = ?, fit_score = ?, engagement_score = ?, status = ?, time_zone = ?,
              fields = ?, state = ?, next_wake_at = ?, updated_at = ? WHERE id = ?
            """).execute(arguments: [
                lead.stage, lead.score, lead.fitScore, lead.engagementScore, state.suppression?.rawValue ?? "active",
                lead.timeZone, String(decoding: try encoder.encode(lead.fields), as: UTF8.self), try encoder.encode(state),
                change.nextWake?.timeIntervalSince1970, now.timeIntervalSince1970, id,
            ])
        var queued = 0
        for effect in change.effects {
            switch effect {
            case .send(let request):
                try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO sends (lead_id, sequence, step, enrollment, occurrence, template, subject, tracking, status, attempts, planned_at, next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)
                    """).execute(arguments: [
                        id, request.key.sequence, request.key.step, request.key.enrollment, request.key.occurrence, request.template, request.subject,
                        request.tracking, now.timeIntervalSince1970, now.timeIntervalSince1970,
                    ])
                queued += db.changesCount
            case .stageChanged(let change):
                try db.cachedStatement(sql: "INSERT INTO stage_changes (lead_id, from_stage, to_stage, at, reason) VALUES (?, ?, ?, ?, ?)")
                    .execute(arguments: [id, change.from, change.to, change.at.timeIntervalSince1970, change.reason])
            case .enrolled(let sequence, let number):
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO enrollments (lead_id, sequence, number, started_at) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [id, sequence, number, now.timeIntervalSince1970])
            case .enrollmentEnded(let sequence, let reason):
                try db.cachedStatement(sql: "UPDATE enrollments SET ended_at = ?, end_reason = ? WHERE lead_id = ? AND sequence = ? AND ended_at IS NULL")
                    .execute(arguments: [now.timeIntervalSince1970, reason, id, sequence])
            case .suppressed(let reason):
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO suppressions (email, reason, at) VALUES (?, ?, ?)")
                    .execute(arguments: [EmailAddress.canonicalIfValid(lead.email), reason.rawValue, now.timeIntervalSince1970])
            default:
                break
            }
        }
        return queued
    }

    private func decode(_ data: Data) throws -> LeadState {
        try decoder.decode(LeadState.self, from: data)
    }

    // MARK: Outbox

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

    // MARK: Events and suppressions

    public func recordEvent(_ event: Event, leadID: String, clientID: String?, sendID: Int64?) async throws -> Bool {
        try await pool.write { db in
            try self.insert(RecordedEvent(event, clientID: clientID, sendID: sendID), leadID: Int64(leadID) ?? -1, db: db)
        }
    }

    private func insert(_ recording: RecordedEvent, leadID: Int64, db: Database) throws -> Bool {
        let event = recording.event
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO events (lead_id, type, at, properties, machine, client_id, recorded_at, send_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [leadID, event.type, event.at.timeIntervalSince1970,
                             String(decoding: try encoder.encode(event.properties), as: UTF8.self), event.isMachine, recording.clientID,
                             Date().timeIntervalSince1970, recording.sendID])
        return db.changesCount > 0
    }

    public func sentEmail(tokenID: String) async throws -> SentEmail? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM sends WHERE token_id = ?"), arguments: [tokenID]).map(Self.sentEmail)
        }
    }

    public func sentEmail(messageID: String) async throws -> SentEmail? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM sends WHERE message_id = ?"), arguments: [messageID]).map(Self.sentEmail)
        }
    }

    private static func sentEmail(_ row: Row) -> SentEmail {
        let lead: Int64 = row["lead_id"]
        return SentEmail(
            id: row["id"], leadID: String(lead),
            key: SendKey(leadID: String(lead), sequence: row["sequence"], step: row["step"], enrollment: row["enrollment"], occurrence: row["occurrence"]),
            sentAt: (row["sent_at"] as Double?).map(Date.init(timeIntervalSince1970:)), links: row["links"], messageID: row["message_id"],
            template: row["template"], subject: row["subject"], tracking: row["tracking"])
    }

    public func suppress(email: String, reason: Suppression, now: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO suppressions (email, reason, at) VALUES (?, ?, ?)", arguments: [EmailAddress.canonicalIfValid(email), reason.rawValue, now.timeIntervalSince1970])
        }
    }

    public func suppression(email: String) async throws -> Suppression? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT reason FROM suppressions WHERE email = ?", arguments: [EmailAddress.canonicalIfValid(email)]).flatMap(Suppression.init(rawValue:))
        }
    }

    /// Runs raw SQL in a write transaction. For benchmarks and maintenance tools inside this
    /// package; the service never needs it.
    package func execute(sql: String) async throws {
        try await pool.write { db in try db.execute(sql: sql) }
    }

    // MARK: Reading

    public func details(_ reference: LeadReference, recent: Int) async throws -> LeadDetails? {
        try await pool.read { db in
            guard let row = try self.leadRow(reference, db: db) else { return nil }
            let id: Int64 = row["id"]
            let sends = try Row.fetchAll(db, sql: "SELECT * FROM sends WHERE lead_id = ? ORDER BY planned_at DESC, id DESC LIMIT ?", arguments: [id, recent]).map { s in
                SendRecord(
                    key: SendKey(leadID: String(id), sequence: s["sequence"], step: s["step"], enrollment: s["enrollment"], occurrence: s["occurrence"]),
                    template: s["template"], status: s["status"], attempts: s["attempts"],
                    plannedAt: Date(timeIntervalSince1970: s["planned_at"]), sentAt: (s["sent_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    messageID: s["message_id"], reply: s["reply"])
            }
            let events = try Row.fetchAll(db, sql: "SELECT * FROM events WHERE lead_id = ? ORDER BY at DESC, id DESC LIMIT ?", arguments: [id, recent]).map { e in
                let properties = (try? self.decoder.decode([String: String].self, from: Data((e["properties"] as String).utf8))) ?? [:]
                return StoredEvent(
                    event: Event(e["type"], at: Date(timeIntervalSince1970: e["at"]), properties: properties, isMachine: e["machine"]),
                    recordedAt: Date(timeIntervalSince1970: e["recorded_at"]))
            }
            return LeadDetails(
                state: try self.decode(row["state"]), nextWake: (row["next_wake_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                sends: sends, events: events)
        }
    }

    public func counts() async throws -> StoreCounts {
        try await pool.read { db in
            let now = Date().timeIntervalSince1970
            return StoreCounts(
                leads: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM leads") ?? 0,
                dueLeads: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM leads WHERE next_wake_at <= ?", arguments: [now]) ?? 0,
                queuedSends: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sends WHERE status IN ('queued', 'sending')") ?? 0,
                sentSends: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sends WHERE status = 'sent'") ?? 0,
                failedSends: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sends WHERE status = 'failed'") ?? 0)
        }
    }
}
