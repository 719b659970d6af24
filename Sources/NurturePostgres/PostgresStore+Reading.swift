import Foundation
import NurtureCore
import PostgresNIO

/// Read-only views: a lead with its history, counts for metrics.
extension PostgresStore {
    public func details(_ reference: LeadReference, recent: Int) async throws -> LeadDetails? {
        try await withConnection { connection in
            guard let row = try await self.leadRow(reference, connection: connection, lock: false) else { return nil }
            let id = row.id
            let sends = try await connection.rows("""
                SELECT sequence, step, enrollment, occurrence, template, status, attempts, planned_at, sent_at, message_id, reply
                FROM sends WHERE lead_id = \(id) ORDER BY planned_at DESC, id DESC LIMIT \(recent)
                """, logger: self.logger).map { s in
                SendRecord(
                    key: SendKey(leadID: String(id), sequence: try s.value("sequence"), step: try s.value("step"),
                                 enrollment: try s.value("enrollment"), occurrence: try s.value("occurrence")),
                    template: try s.value("template"), status: try s.value("status"), attempts: try s.value("attempts"),
                    plannedAt: try s.value("planned_at"), sentAt: try s.value("sent_at"),
                    messageID: try s.value("message_id"), reply: try s.value("reply"))
            }
            let events = try await connection.rows("""
                SELECT type, at, properties::text AS properties, machine, recorded_at, pending, apply_error
                FROM events WHERE lead_id = \(id) ORDER BY at DESC, id DESC LIMIT \(recent)
                """, logger: self.logger).map { e in
                let properties = (try? self.decoder.decode([String: String].self, from: Data(try e.value("properties", as: String.self).utf8))) ?? [:]
                return StoredEvent(
                    event: Event(try e.value("type"), at: try e.value("at"), properties: properties, isMachine: try e.value("machine")),
                    recordedAt: try e.value("recorded_at"),
                    pending: try e.value("pending", as: Bool?.self) ?? false, setAside: try e.value("apply_error", as: String?.self))
            }
            return LeadDetails(state: try self.decodeOrThrow(row), nextWake: row.nextWake, sends: sends, events: events)
        }
    }

    public func counts(now: Date) async throws -> StoreCounts {
        let rows = try await fetch("""
            SELECT (SELECT count(*) FROM leads) AS leads,
                   (SELECT count(*) FROM leads WHERE next_wake_at <= \(now)) AS due,
                   (SELECT count(*) FROM sends WHERE status IN ('queued', 'sending')) AS queued,
                   (SELECT count(*) FROM sends WHERE status = 'sent') AS sent,
                   (SELECT count(*) FROM sends WHERE status = 'failed') AS failed,
                   (SELECT count(*) FROM leads WHERE parked_error IS NOT NULL) AS parked
            """)
        guard let row = rows.first?.makeRandomAccess() else { return StoreCounts(leads: 0, dueLeads: 0, queuedSends: 0, sentSends: 0, failedSends: 0) }
        var byStage: [String: Int] = [:]
        for stage in try await fetch("SELECT stage, count(*) AS n FROM leads GROUP BY stage") {
            let (name, count) = try stage.decode((String, Int).self)
            byStage[name] = count
        }
        return StoreCounts(
            leads: try row.value("leads"), dueLeads: try row.value("due"), queuedSends: try row.value("queued"),
            sentSends: try row.value("sent"), failedSends: try row.value("failed"), parkedLeads: try row.value("parked"),
            leadsByStage: byStage)
    }

    public func leads(_ filter: LeadFilter) async throws -> [LeadSummary] {
        let after = filter.after.flatMap { Int64($0) } ?? 0
        return try await fetch("""
            SELECT l.id, l.email, l.stage, l.score, l.sequence, l.tags, l.status, l.created_at, l.updated_at, s.reason
            FROM leads l LEFT JOIN suppressions s ON s.email = l.email
            WHERE l.id > \(after)
              AND (\(filter.stage)::text IS NULL OR l.stage = \(filter.stage))
              AND (\(filter.sequence)::text IS NULL OR l.sequence = \(filter.sequence))
              AND (\(filter.minScore)::integer IS NULL OR l.score >= \(filter.minScore))
              AND (\(filter.maxScore)::integer IS NULL OR l.score <= \(filter.maxScore))
              AND (\(filter.tag)::text IS NULL OR l.tags @> ARRAY[\(filter.tag)::text])
              AND (\(filter.suppressed)::boolean IS NULL OR (l.status <> 'active' OR s.reason IS NOT NULL) = \(filter.suppressed))
            ORDER BY l.id LIMIT \(filter.limit)
            """).map { row in
            let row = row.makeRandomAccess()
            let status: String = try row.value("status")
            return LeadSummary(
                id: String(try row.value("id", as: Int64.self)), email: try row.value("email"), stage: try row.value("stage"),
                score: try row.value("score"), sequence: try row.value("sequence"), tags: try row.value("tags"),
                status: status == "active" ? try row.value("reason", as: String?.self) ?? status : status,
                createdAt: try row.value("created_at"), updatedAt: try row.value("updated_at"))
        }
    }
}
