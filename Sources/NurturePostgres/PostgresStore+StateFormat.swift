import Foundation
import NurtureCore
import PostgresNIO

/// The format lead states are written in (``LeadStateFormat``), rewriting them, and leads an
/// older Nurture parked for a state it could not read.
extension PostgresStore {
    public func leadStateFormat() async throws -> LeadStateFormat {
        try await withConnection { connection in try await Self.readStateFormat(connection, logger: self.logger) }
    }

    public func setLeadStateFormat(_ format: LeadStateFormat) async throws {
        _ = try await withConnection { connection in
            try await connection.query("UPDATE installation SET lead_state_format = \(format.rawValue)", logger: self.logger)
        }
        stateFormat.forget()
    }

    public func leadStateVersions() async throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for row in try await fetch("SELECT state_version, count(*) FROM leads WHERE parked_error IS NULL GROUP BY state_version") {
            let (version, count) = try row.decode((Int, Int).self)
            counts[version] = count
        }
        return counts
    }

    @discardableResult
    public func rewriteLeadStates(as format: LeadStateFormat) async throws -> Int {
        // Each batch holds its rows' locks (taken in id order, as every decision takes them)
        // for a moment; a row a decision holds is waited for, then read as it committed.
        try await LeadStateCoder.rewriteInPasses { after in
            try await transaction { connection in
                let rows = try await connection.rows("""
                    SELECT id, state, state_version FROM leads
                    WHERE id > \(after) AND state_version <> \(format.version) AND parked_error IS NULL
                    ORDER BY id LIMIT 500 FOR NO KEY UPDATE
                    """, logger: self.logger)
                var ids: [Int64] = []
                var states: [String] = []
                for row in rows {
                    guard let state = self.stateCoder.reencode(try row.value("state"), version: try row.value("state_version"), as: format) else { continue }
                    ids.append(try row.value("id"))
                    states.append(state.base64EncodedString())
                }
                if !ids.isEmpty {
                    try await connection.query("""
                        UPDATE leads l SET state = decode(u.state, 'base64'), state_version = \(format.version)
                        FROM unnest(\(ids)::bigint[], \(states)::text[]) AS u(id, state) WHERE l.id = u.id
                        """, logger: self.logger)
                }
                return (ids.count, try rows.last?.value("id", as: Int64.self))
            }
        }
    }

    /// On a connection of its own, like the migrations: `nurture serve` calls it at start,
    /// before the pool runs.
    @discardableResult
    public func unparkReadableStates(now: Date) async throws -> Int {
        try await withOwnConnection { connection in
            try await connection.query("""
                UPDATE leads SET parked_error = NULL, parked_at = NULL, next_wake_at = \(now)
                WHERE parked_error LIKE \(StoredStateError.newerVersionPrefix + "%") AND state_version <= \(LeadStateFormat.newestVersion)
                RETURNING id
                """, logger: self.logger).collect().count
        }
    }

    /// How states are written now: the database's setting, read again when the last reading
    /// is ``LeadStateFormatCache/maxAge`` old (one short query that often at most).
    func writeFormat(_ connection: PostgresConnection) async throws -> LeadStateFormat {
        if let format = stateFormat.current() { return format }
        let format = try await Self.readStateFormat(connection, logger: logger)
        stateFormat.remember(format)
        return format
    }

    static func readStateFormat(_ connection: PostgresConnection, logger: Logger) async throws -> LeadStateFormat {
        let raw = try await connection.query("SELECT lead_state_format FROM installation LIMIT 1", logger: logger).collect().first?.decode(String.self)
        guard let raw, let format = LeadStateFormat(rawValue: raw) else {
            throw PostgresStoreError(message: "installation.lead_state_format is \(raw.map { "'\($0)'" } ?? "missing"): the database was changed by hand (json or binary)")
        }
        return format
    }
}
