import Foundation
import NurtureCore
import Testing

/// Lead states in either format (``LeadStateFormat``), on every storage adapter.
extension StoreContractTests {
    @Test("lead states: a new database writes binary; both formats are read, by decisions and claims; rewritten either way without loss", arguments: Adapter.allCases)
    func leadStateFormats(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            #expect(try await store.leadStateFormat() == .binary)
            try await seed(store, ["ada@example.com", "bob@example.com", "eve@example.com"], wake: Self.t0)
            #expect(try await store.leadStateVersions() == [2: 3])

            // JSON from now on: a decision writes its lead as JSON, the others stay binary.
            try await store.setLeadStateFormat(.json, rewrite: false)
            #expect(try await store.leadStateFormat() == .json)
            _ = try await store.updateLead(.email("ada@example.com"), now: Self.t0) { state in
                state.lead.fields["plan"] = "pro"
                state.score.awarded["opened"] = 5
                return LeadChange(effects: [], nextWake: Self.t0)
            }
            #expect(try await store.leadStateVersions() == [1: 1, 2: 2])
            #expect(try await store.lead(.email("ada@example.com"))?.lead.fields["plan"] == "pro")
            #expect(try await store.lead(.email("bob@example.com"))?.lead.email == "bob@example.com")

            // Claims read the recipient from either format.
            let claimed = try await store.claimSends(now: Self.t0, limit: 10, worker: Self.worker, duration: Self.lease)
            #expect(claimed.compactMap { $0.recipient?.lead.email }.sorted() == ["ada@example.com", "bob@example.com", "eve@example.com"])
            #expect(claimed.first { $0.recipient?.lead.email == "ada@example.com" }?.recipient?.lead.fields["plan"] == "pro")

            // Rewriting: every state, either way, reads back equal.
            let before = try await Self.states(store, ["ada@example.com", "bob@example.com", "eve@example.com"])
            #expect(try await store.setLeadStateFormat(.json, rewrite: true) == 2)
            #expect(try await store.leadStateVersions() == [1: 3])
            #expect(try await Self.states(store, ["ada@example.com", "bob@example.com", "eve@example.com"]) == before)
            #expect(try await store.setLeadStateFormat(.binary, rewrite: true) == 3)
            #expect(try await store.leadStateVersions() == [2: 3])
            #expect(try await Self.states(store, ["ada@example.com", "bob@example.com", "eve@example.com"]) == before)

            // A due pass decides leads of both formats and writes them in the current one.
            try await store.setLeadStateFormat(.json, rewrite: false)
            _ = try await store.updateLead(.email("ada@example.com"), now: Self.t0) { _ in LeadChange(effects: [], nextWake: Self.t0) }
            #expect(try await store.leadStateVersions() == [1: 1, 2: 2])
            try await store.setLeadStateFormat(.binary, rewrite: false)
            let pass = try await store.processDueLeads(now: Self.t0, limit: 10) { state in
                state.lead.tags.insert("seen")
                return LeadChange(effects: [], nextWake: nil)
            }
            #expect(pass.processed == 3 && pass.parked.isEmpty)
            #expect(try await store.leadStateVersions() == [2: 3])
            for email in ["ada@example.com", "bob@example.com", "eve@example.com"] {
                #expect(try await store.lead(.email(email))?.lead.tags == ["seen"])
            }

            // A state that does not read is left alone by a rewrite (the engine parks it).
            try await subject.corrupt("eve@example.com")
            #expect(try await store.setLeadStateFormat(.json, rewrite: true) == 2)
            await #expect(throws: StoreError.self) { try await store.lead(.email("eve@example.com")) }
        }
    }

    static func states(_ store: any NurtureStore, _ emails: [String]) async throws -> [LeadState] {
        var states: [LeadState] = []
        for email in emails { states.append(try #require(try await store.lead(.email(email)))) }
        return states
    }
}
