import Foundation
import GRDB
import NurtureCore

/// The format lead states are written in (``LeadStateFormat``), and rewriting them.
extension SQLiteStore {
    public func leadStateFormat() async throws -> LeadStateFormat {
        try await pool.read { db in try Self.readStateFormat(db) }
    }

    public func leadStateVersions() async throws -> [Int: Int] {
        try await pool.read { db in
            var counts: [Int: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state_version, count(*) AS n FROM leads GROUP BY state_version") {
                counts[row["state_version"]] = row["n"]
            }
            return counts
        }
    }

    @discardableResult
    public func setLeadStateFormat(_ format: LeadStateFormat, rewrite: Bool) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "UPDATE installation SET lead_state_format = ?", arguments: [format.rawValue])
        }
        stateFormat.forget()
        guard rewrite else { return 0 }
        // A state a decision rewrote meanwhile is not picked again (its version is the new one).
        return try await LeadStateCoder.rewriteInBatches { after in
            try await pool.write { db in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT id, state, state_version FROM leads
                    WHERE id > ? AND state_version <> ? AND parked_error IS NULL ORDER BY id LIMIT 500
                    """, arguments: [after, format.version])
                var count = 0
                for row in rows {
                    guard let state = try self.stateCoder.reencode(row["state"], version: row["state_version"], as: format) else { continue }
                    try db.execute(sql: "UPDATE leads SET state = ?, state_version = ? WHERE id = ?", arguments: [state, format.version, row["id"]])
                    count += 1
                }
                return (count, rows.last?["id"])
            }
        }
    }
}
