import Foundation
import NurtureCore
import PostgresNIO

/// Events (idempotent by client id), sent emails by token or Message-ID, suppressions.
extension PostgresStore {
    /// An event as a statement reads it from `jsonb_to_recordset` (a missing key is NULL).
    struct EventRow: Encodable {
        /// The lead's id; or its address (``appendEvents(_:now:)``), canonical.
        var lead: Int64?
        var email: String? = nil
        var type: String
        var at: Double
        var properties: [String: String]
        var machine: Bool
        var client: String?
        var send: Int64?
        /// Seconds: credited to the lead's latest email sent this long before the event.
        var within: Double? = nil
        /// The event's place in the batch: ids follow arrival order.
        var i: Int
    }

    /// Stores events in one statement (an event whose client id was stored before is left
    /// out) and credits those stored to their emails' steps.
    /// - Returns: whether each was stored, in order.
    func insert(_ recordings: [(RecordedEvent, Int64)], now: Date, connection: PostgresConnection) async throws -> [Bool] {
        guard !recordings.isEmpty else { return [] }
        var rows: [EventRow] = []
        for (index, item) in recordings.enumerated() {
            let (recording, lead) = item
            var send = recording.sendID
            if send == nil, let window = recording.attributeWithin {
                // Credited to the lead's latest email sent within the window before the event.
                let at = recording.event.at
                send = try await connection.rows("""
                    SELECT id FROM sends WHERE lead_id = \(lead) AND sent_at IS NOT NULL AND sent_at <= \(at)
                      AND sent_at > \(at.addingTimeInterval(-Double(window.seconds))) ORDER BY sent_at DESC LIMIT 1
                    """, logger: logger).first.map { try $0.value("id") }
            }
            rows.append(EventRow(lead: lead, type: recording.event.type, at: recording.event.at.timeIntervalSince1970, properties: recording.event.properties,
                                 machine: recording.event.isMachine, client: recording.clientID, send: send, i: index))
        }
        let json = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        let stored = try await connection.rows("""
            INSERT INTO events (lead_id, type, at, properties, machine, client_id, recorded_at, send_id)
            SELECT u.lead, u.type, to_timestamp(u.at), u.properties, u.machine, u.client, \(now), u.send
            FROM jsonb_to_recordset(\(json)::jsonb) AS u(lead bigint, type text, at double precision, properties jsonb,
              machine boolean, client text, send bigint, i integer)
            ORDER BY u.i
            ON CONFLICT (client_id) DO NOTHING
            RETURNING client_id
            """, logger: logger)
        // Those stored: every event without a client id, and the first of each id that came
        // back (a client id twice in one batch is stored once).
        var storedClients = Set(try stored.compactMap { try $0.value("client_id", as: String?.self) })
        let kept = rows.map { row in row.client.map { storedClients.remove($0) != nil } ?? true }
        let credited = rows.indices.compactMap { index -> (sendID: Int64, event: Event)? in
            guard kept[index], let send = rows[index].send else { return nil }
            return (send, recordings[index].0.event)
        }
        try await PostgresRollups.tally(credited, connection: connection, logger: logger)
        return kept
    }

    static let sendColumns = "id, lead_id, sequence, step, enrollment, occurrence, sent_at, links, message_id, template, subject, tracking"

    public func sentEmail(tokenID: String) async throws -> SentEmail? {
        try await fetch("SELECT \(unescaped: Self.sendColumns) FROM sends WHERE token_id = \(tokenID)")
            .first.map { try Self.sentEmail($0.makeRandomAccess()) }
    }

    public func sentEmail(messageID: String) async throws -> SentEmail? {
        try await fetch("SELECT \(unescaped: Self.sendColumns) FROM sends WHERE message_id = \(messageID)")
            .first.map { try Self.sentEmail($0.makeRandomAccess()) }
    }

    static func sentEmail(_ row: PostgresRandomAccessRow) throws -> SentEmail {
        let lead = String(try row.value("lead_id", as: Int64.self))
        return SentEmail(
            id: try row.value("id"), leadID: lead,
            key: SendKey(leadID: lead, sequence: try row.value("sequence"), step: try row.value("step"),
                         enrollment: try row.value("enrollment"), occurrence: try row.value("occurrence")),
            sentAt: try row.value("sent_at"), links: try row.value("links"), messageID: try row.value("message_id"),
            template: try row.value("template"), subject: try row.value("subject"), tracking: try row.value("tracking"))
    }

    public func suppress(email: String, reason: Suppression, now: Date) async throws {
        _ = try await fetch("""
            INSERT INTO suppressions (email, reason, at) VALUES (\(EmailAddress.canonicalIfValid(email)), \(reason.rawValue), \(now))
            ON CONFLICT (email) DO UPDATE SET reason = excluded.reason, at = excluded.at
            """)
    }

    public func suppression(email: String) async throws -> Suppression? {
        let rows = try await fetch("SELECT reason FROM suppressions WHERE email = \(EmailAddress.canonicalIfValid(email))")
        return try rows.first.flatMap { Suppression(rawValue: try $0.decode(String.self)) }
    }
}
