import Foundation
import GRDB
import NurtureCore

/// Read-only views: a lead with its history, counts for metrics.
extension SQLiteStore {
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
                    recordedAt: Date(timeIntervalSince1970: e["recorded_at"]),
                    pending: (e["pending"] as Int64?) != nil, setAside: e["apply_error"])
            }
            return LeadDetails(
                state: try self.decodeOrThrow(row), nextWake: (row["next_wake_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                sends: sends, events: events)
        }
    }

    public func counts(now date: Date) async throws -> StoreCounts {
        try await pool.read { db in
            let now = date.timeIntervalSince1970
            var byStage: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT stage, COUNT(*) AS n FROM leads GROUP BY stage") { byStage[row["stage"]] = row["n"] }
            return StoreCounts(
                leads: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM leads") ?? 0,
                dueLeads: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM leads WHERE next_wake_at <= ?", arguments: [now]) ?? 0,
                queuedSends: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sends WHERE status IN ('queued', 'sending')") ?? 0,
                sentSends: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sends WHERE status = 'sent'") ?? 0,
                failedSends: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sends WHERE status = 'failed'") ?? 0,
                parkedLeads: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM leads WHERE parked_error IS NOT NULL") ?? 0,
                leadsByStage: byStage)
        }
    }

    public func leads(_ filter: LeadFilter) async throws -> [LeadSummary] {
        try await pool.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let after = filter.after { conditions.append("l.id > ?"); arguments += [Int64(after) ?? 0] }
            if let stage = filter.stage { conditions.append("l.stage = ?"); arguments += [stage] }
            if let sequence = filter.sequence { conditions.append("l.sequence = ?"); arguments += [sequence] }
            if let low = filter.minScore { conditions.append("l.score >= ?"); arguments += [low] }
            if let high = filter.maxScore { conditions.append("l.score <= ?"); arguments += [high] }
            if let tag = filter.tag { conditions.append("EXISTS (SELECT 1 FROM json_each(l.tags) WHERE value = ?)"); arguments += [tag] }
            switch filter.suppressed {
            case true?: conditions.append("(l.status <> 'active' OR s.reason IS NOT NULL)")
            case false?: conditions.append("l.status = 'active' AND s.reason IS NULL")
            case nil: break
            }
            arguments += [filter.limit]
            let rows = try Row.fetchAll(db, sql: """
                SELECT l.id, l.email, l.stage, l.score, l.sequence, l.tags, l.status, l.created_at, l.updated_at, s.reason
                FROM leads l LEFT JOIN suppressions s ON s.email = l.email
                \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY l.id LIMIT ?
                """, arguments: arguments)
            return rows.map { row in
                let status: String = row["status"]
                return LeadSummary(
                    id: String(row["id"] as Int64), email: row["email"], stage: row["stage"], score: row["score"], sequence: row["sequence"],
                    tags: (try? self.decoder.decode([String].self, from: Data((row["tags"] as String).utf8))) ?? [],
                    status: status == "active" ? (row["reason"] as String?) ?? status : status,
                    createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
            }
        }
    }
}
