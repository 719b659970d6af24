import Foundation
import GRDB
import NurtureCore
@testable import NurtureSQLite
import Testing

@Suite("Migration v17: how an existing SQLite file writes lead states")
struct LeadStateMigrationTests {
    @Test("a file the version before left keeps writing JSON (a serve not restarted yet reads only that); a new file writes binary")
    func existingFileKeepsJSON() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-v17-\(UUID()).sqlite").path
        defer { for suffix in ["", "-wal", "-shm", ".migrate.lock"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteSchema.migrator.migrate(queue, upTo: "v16: events set aside")
            let state = try LeadStateCoder().encode(LeadState(lead: Lead(id: "1", email: "ada@example.com"), now: t0), as: .json)
            try await queue.write { db in
                try db.execute(sql: """
                    INSERT INTO leads (id, email, stage, score, fit_score, engagement_score, status, fields, state, next_wake_at, created_at, updated_at)
                    VALUES (1, 'ada@example.com', 'lead', 0, 0, 0, 'active', '{}', ?, NULL, 1800000000, 1800000000)
                    """, arguments: [state])
            }
        }
        let store = try SQLiteStore(path: path)
        #expect(try await store.leadStateFormat() == .json)
        _ = try await store.updateLead(.email("ada@example.com"), now: t0) { state in
            state.lead.fields["plan"] = "pro"
            return LeadChange(effects: [], nextWake: nil)
        }
        #expect(try await store.leadStateVersions() == [1: 1])
        try await store.setLeadStateFormat(.binary)
        _ = try await store.updateLead(.email("ada@example.com"), now: t0) { _ in LeadChange(effects: [], nextWake: nil) }
        #expect(try await store.leadStateVersions() == [2: 1])
        #expect(try await store.lead(.email("ada@example.com"))?.lead.fields["plan"] == "pro")

        let fresh = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-v17-new-\(UUID()).sqlite").path
        defer { for suffix in ["", "-wal", "-shm", ".migrate.lock"] { try? FileManager.default.removeItem(atPath: fresh + suffix) } }
        #expect(try await SQLiteStore(path: fresh).leadStateFormat() == .binary)
    }
}
