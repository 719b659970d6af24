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
                    recordedAt: Date(timeIntervalSince1970: e["recorded_at"]))
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
}
