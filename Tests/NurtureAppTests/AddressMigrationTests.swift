import Foundation
import GRDB
import NurtureCore
@testable import NurtureSQLite
import Testing

@Suite("Migration: stored addresses become canonical")
struct AddressMigrationTests {
    @Test("two spellings of one mailbox become one lead; its suppression follows; its history is kept")
    func mergesSpellings() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-migrate-\(UUID()).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // A database as the previous release left it, with the hardening issue's duplicates.
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteSchema.migrator.migrate(queue, upTo: "v2: tracking")
            let encoder = SQLiteStore.stateEncoder()
            try await queue.write { db in
                for (id, email) in [(1, "Victim@Example.com"), (2, " victim@example.com"), (3, "ada@example.com"), (4, "a@b@example.com")] {
                    let state = try encoder.encode(LeadState(lead: Lead(id: "\(id)", email: email), now: Date(timeIntervalSince1970: 1_700_000_000)))
                    try db.execute(sql: """
                        INSERT INTO leads (id, email, stage, score, fit_score, engagement_score, status, fields, state, next_wake_at, created_at, updated_at)
                        VALUES (?, ?, 'lead', 0, 0, 0, 'active', '{}', ?, 1700000000, 1700000000, 1700000000)
                        """, arguments: [id, email, state])
                }
                try db.execute(sql: "INSERT INTO suppressions (email, reason, at) VALUES (' victim@example.com', 'unsubscribed', 1700000000)")
                for (lead, step, status) in [(1, "welcome", "queued"), (2, "welcome", "queued"), (2, "guide", "sent"), (2, "case-study", "queued")] {
                    try db.execute(sql: """
                        INSERT INTO sends (lead_id, sequence, step, enrollment, template, tracking, status, planned_at, next_attempt_at)
                        VALUES (?, 'lead-welcome', ?, 1, ?, 1, ?, 1700000000, 1700000000)
                        """, arguments: [lead, step, step, status])
                }
                try db.execute(sql: "INSERT INTO events (lead_id, type, at, properties, machine, recorded_at) VALUES (2, 'page_visited', 1700000000, '{}', 0, 1700000000)")
            }
        }
        let store = try SQLiteStore(path: path)
        #expect(try await store.counts(now: Date()).leads == 3)
        let victim = try #require(try await store.details(.email("VICTIM@example.com"), recent: 10))
        #expect(victim.state.lead.email == "victim@example.com")
        #expect(victim.state.lead.id == "1")
        // What the newer spelling was sent is history and moves; what it still had queued was
        // its own schedule, unknown to the kept lead's state, and goes.
        #expect(Set(victim.sends.map(\.key.step)) == ["welcome", "guide"])
        #expect(victim.sends.first { $0.key.step == "guide" }?.status == "sent")
        #expect(victim.events.count == 1)
        #expect(try await store.suppression(email: "victim@example.com") == .unsubscribed)
        // The suppressed mailbox gets nothing, whatever the spelling its sends were queued under.
        let claimed = try await store.claimSends(now: Date(timeIntervalSince1970: 1_700_000_001), limit: 10, worker: WorkerIdentity(id: "test", host: "test", pid: 1), duration: TimeSpan(seconds: 60))
        #expect(claimed.filter { $0.request.key.leadID == "1" }.allSatisfy { $0.addressSuppression == .unsubscribed })
        // An address that was never valid stays as it was, for an operator to deal with.
        #expect(try await store.lead(.email("a@b@example.com")) != nil)
        #expect(try await store.lead(.email("ada@example.com"))?.lead.email == "ada@example.com")
    }
}
