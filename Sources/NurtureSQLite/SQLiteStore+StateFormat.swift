import Foundation
import GRDB
import NurtureCore

/// The format lead states are written in (``LeadStateFormat``), rewriting them, and leads an
/// older Nurture parked for a state it could not read.
extension SQLiteStore {
    public func leadStateFormat() async throws -> LeadStateFormat {
        try await pool.read { db in try Self.readStateFormat(db) }
    }

    public func setLeadStateFormat(_ format: LeadStateFormat) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE installation SET lead_state_format = ?", arguments: [format.rawValue])
        }
        stateFormat.forget()
    }

    public func leadStateVersions() async throws -> [Int: Int] {
        try await pool.read { db in
            var counts: [Int: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state_version, count(*) AS n FROM leads WHERE parked_error IS NULL GROUP BY state_version") {
                counts[row["state_version"]] = row["n"]
            }
            return counts
        }
    }

    @discardableResult
    public func rewriteLeadStates(as format: LeadStateFormat) async throws -> Int {
        // SQLite runs one writer at a time, so each batch sees every committed state.
        try await LeadStateCoder.rewriteInPasses { after in
            try await pool.write { db in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT id, state, state_version FROM leads
                    WHERE id > ? AND state_version <> ? AND parked_error IS NULL ORDER BY id LIMIT 500
                    """, arguments: [after, format.version])
                var count = 0
                for row in rows {
                    guard let state = self.stateCoder.reencode(row["state"], version: row["state_version"], as: format) else { continue }
                    try db.execute(sql: "UPDATE leads SET state = ?, state_version = ? WHERE id = ?", arguments: [state, format.version, row["id"]])
                    count += 1
                }
                return (count, rows.last?["id"])
            }
        }
    }

    @discardableResult
    public func unparkReadableStates(now: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE leads SET parked_error = NULL, parked_at = NULL, next_wake_at = ?
                WHERE parked_error LIKE ? AND state_version <= ?
                """, arguments: [now.timeIntervalSince1970, StoredStateError.newerVersionPrefix + "%", LeadStateFormat.newestVersion])
            return db.changesCount
        }
    }

    /// How states are written now: the database's setting, read again when the last reading
    /// is ``LeadStateFormatCache/maxAge`` old.
    func writeFormat(db: Database) throws -> LeadStateFormat {
        if let format = stateFormat.current() { return format }
        let format = try Self.readStateFormat(db)
        stateFormat.remember(format)
        return format
    }

    static func readStateFormat(_ db: Database) throws -> LeadStateFormat {
        let raw = try String.fetchOne(db, sql: "SELECT lead_state_format FROM installation LIMIT 1")
        guard let raw, let format = LeadStateFormat(rawValue: raw) else {
            throw DatabaseError(message: "installation.lead_state_format is \(raw.map { "'\($0)'" } ?? "missing"): the database was changed by hand (json or binary)")
        }
        return format
    }
}
