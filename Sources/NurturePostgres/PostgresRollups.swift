import Foundation
import Logging
import NurtureCore
import PostgresNIO

/// The step rollups on PostgreSQL: what a transaction's events, completed sends and goals add
/// to their emails' ``SendEngagement`` and to the steps' hourly counts, gathered in Swift and
/// written in three statements at most, in the transaction that recorded them. Count rows
/// are spread over a few shards (one picked per write) and written in key order, so
/// transactions counting the same step seldom wait for each other; PostgreSQL retries the
/// rare deadlock between a transaction's event counts and its goal counts.
enum PostgresRollups {
    typealias Send = RollupBatch.Send

    /// The sends, locked (in id order) for the rest of the transaction.
    static func sends(_ ids: [Int64], connection: PostgresConnection, logger: Logger) async throws -> [Int64: Send] {
        guard !ids.isEmpty else { return [:] }
        var sends: [Int64: Send] = [:]
        for row in try await connection.rows("""
            SELECT id, sequence, step, sent_at, engagement FROM sends WHERE id = ANY(\(Array(Set(ids)).sorted())) ORDER BY id FOR UPDATE
            """, logger: logger) {
            let send = Send(id: try row.value("id"), sequence: try row.value("sequence"), step: try row.value("step"),
                            sentAt: try row.value("sent_at"), engagement: SendEngagement(rawValue: try row.value("engagement")))
            sends[send.id] = send
        }
        return sends
    }

    /// Credits stored events to their emails.
    static func tally(_ events: [(sendID: Int64, event: Event)], connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        try await tally(events, sends: try await sends(events.map(\.sendID), connection: connection, logger: logger), connection: connection, logger: logger)
    }

    /// Credits stored events to their emails, `sends` already read and locked.
    static func tally(_ events: [(sendID: Int64, event: Event)], sends: [Int64: Send], connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        var sends = sends
        // The links clicked by people for the first time in their email: the pairs this
        // insert adds (a pair stored before, or twice in this batch, adds once).
        let clicked = events.filter { $0.event.type == Event.Kind.clicked && !$0.event.isMachine && $0.event.properties["url"] != nil }
        var firstClicks: Set<String> = []
        if !clicked.isEmpty {
            struct Pair: Encodable { var s: Int64; var u: String }
            let pairs = String(decoding: try JSONEncoder().encode(clicked.map { Pair(s: $0.sendID, u: ReportedLink.of($0.event.properties["url"] ?? "")) }), as: UTF8.self)
            for row in try await connection.rows("""
                INSERT INTO send_links (send_id, url) SELECT DISTINCT p.s, p.u FROM jsonb_to_recordset(\(pairs)::jsonb) AS p(s bigint, u text)
                ORDER BY 1, 2 ON CONFLICT DO NOTHING RETURNING send_id, url
                """, logger: logger) {
                firstClicks.insert("\(try row.value("send_id", as: Int64.self)) \(try row.value("url", as: String.self))")
            }
        }
        var batch = RollupBatch()
        for (id, event) in events {
            guard var send = sends[id] else { continue }
            batch.credit(event, send: &send)
            if event.type == Event.Kind.clicked, !event.isMachine, let clicked = event.properties["url"] {
                let url = ReportedLink.of(clicked)
                batch.click(url, send: send, at: event.at, first: firstClicks.remove("\(id) \(url)") != nil)
            }
            sends[id] = send
        }
        try await write(batch, connection: connection, logger: logger)
    }

    /// Writes what a transaction gathered.
    static func write(_ batch: RollupBatch, connection: PostgresConnection, logger: Logger) async throws {
        guard !batch.isEmpty else { return }
        let json = JSONEncoder()
        let shard = Int.random(in: 0..<8)
        var statements: [PostgresQuery] = []
        struct Drawn: Encodable { var id: Int64; var e: Int }
        if !batch.drawn.isEmpty {
            let rows = String(decoding: try json.encode(batch.drawn.sorted { $0.key < $1.key }.map { Drawn(id: $0.key, e: $0.value.rawValue) }), as: UTF8.self)
            statements.append("""
                UPDATE sends s SET engagement = s.engagement | u.e FROM jsonb_to_recordset(\(rows)::jsonb) AS u(id bigint, e integer) WHERE s.id = u.id
                """)
        }
        struct Count: Encodable { var h: Int64; var q: String; var s: String; var m: String; var n: Int }
        let counts = batch.sortedCounts
        if !counts.isEmpty {
            let rows = String(decoding: try json.encode(counts.map {
                Count(h: $0.key.hour, q: $0.key.sequence, s: $0.key.step, m: $0.key.metric, n: $0.n)
            }), as: UTF8.self)
            statements.append("""
                INSERT INTO step_stats (hour, sequence, step, metric, shard, n)
                SELECT u.h, u.q, u.s, u.m, \(shard), u.n FROM jsonb_to_recordset(\(rows)::jsonb) AS u(h bigint, q text, s text, m text, n bigint)
                ORDER BY u.h, u.q, u.s, u.m
                ON CONFLICT (hour, sequence, step, metric, shard) DO UPDATE SET n = step_stats.n + excluded.n
                """)
        }
        struct Link: Encodable { var h: Int64; var q: String; var s: String; var u: String; var c: Int; var n: Int }
        let links = batch.sortedLinks
        if !links.isEmpty {
            let rows = String(decoding: try json.encode(links.map {
                Link(h: $0.key.hour, q: $0.key.sequence, s: $0.key.step, u: $0.key.url, c: $0.clicks, n: $0.unique)
            }), as: UTF8.self)
            statements.append("""
                INSERT INTO link_stats (hour, sequence, step, url, shard, clicks, unique_clicks)
                SELECT x.h, x.q, x.s, x.u, \(shard), x.c, x.n FROM jsonb_to_recordset(\(rows)::jsonb) AS x(h bigint, q text, s text, u text, c bigint, n bigint)
                ORDER BY x.h, x.q, x.s, x.u
                ON CONFLICT (hour, sequence, step, url, shard) DO UPDATE SET clicks = link_stats.clicks + excluded.clicks,
                  unique_clicks = link_stats.unique_clicks + excluded.unique_clicks
                """)
        }
        try await connection.pipeline(statements, logger: logger)
    }
}

extension PostgresStore {
    /// Rebuilds the rollups from the stored sends and events, as the migration that brought
    /// them did (goal exits, which no event records, are kept). For benchmarks and checks.
    package func rebuildRollups() async throws {
        let statements = ["DELETE FROM step_stats WHERE metric <> 'goal_exits'", "DELETE FROM link_stats", "DELETE FROM send_links",
                          "UPDATE sends SET engagement = engagement & \(RollupBackfill.kept) WHERE engagement <> 0"]
            + PostgresSchema.Migration(name: "rebuild", sql: PostgresSchema.rebuildRollups + "\n" + PostgresSchema.rebuildClickedLinks).statements
        try await transaction { connection in
            for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger) }
        }
    }

    /// Rebuilds the stage entries from the leads' creation and their stage changes, as the
    /// migration that brought them did. For checks.
    package func rebuildStageEntries() async throws {
        try await transaction { connection in
            try await connection.query("DELETE FROM stage_entries", logger: self.logger)
            for statement in PostgresSchema.Migration(name: "rebuild", sql: PostgresSchema.rebuildStageEntries).statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
            }
        }
    }
}
