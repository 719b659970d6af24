import Foundation
import NurtureCore
import Synchronization
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
            try await store.setLeadStateFormat(.json)
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
            #expect(try await store.rewriteLeadStates(as: .json) == 2)
            #expect(try await store.leadStateVersions() == [1: 3])
            #expect(try await Self.states(store, ["ada@example.com", "bob@example.com", "eve@example.com"]) == before)
            #expect(try await store.rewriteLeadStates(as: .binary) == 3)
            #expect(try await store.leadStateVersions() == [2: 3])
            #expect(try await Self.states(store, ["ada@example.com", "bob@example.com", "eve@example.com"]) == before)

            // A due pass decides leads of both formats and writes them in the current one.
            try await store.setLeadStateFormat(.json)
            _ = try await store.updateLead(.email("ada@example.com"), now: Self.t0) { _ in LeadChange(effects: [], nextWake: Self.t0) }
            #expect(try await store.leadStateVersions() == [1: 1, 2: 2])
            try await store.setLeadStateFormat(.binary)
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
            #expect(try await store.rewriteLeadStates(as: .json) == 2)
            await #expect(throws: StoreError.self) { try await store.lead(.email("eve@example.com")) }
        }
    }

    @Test("leads an older Nurture parked for a state newer than it read are un-parked and due; others stay parked", arguments: Adapter.allCases)
    func unparkReadableStates(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            try await seed(store, ["ada@example.com", "bob@example.com", "eve@example.com"], wake: Self.t0, send: false)
            // As a version that read only JSON parked them (its error text, the wake-up cleared).
            try await subject.execute("UPDATE leads SET parked_error = 'state version 2 is newer than this Nurture reads (1): upgrade nurture', next_wake_at = NULL WHERE email = 'ada@example.com'")
            try await subject.execute("UPDATE leads SET state_version = 3, parked_error = 'state version 3 is newer than this Nurture reads (2): upgrade nurture', next_wake_at = NULL WHERE email = 'bob@example.com'")
            try await subject.execute("UPDATE leads SET parked_error = 'the state does not decode: damaged', next_wake_at = NULL WHERE email = 'eve@example.com'")
            #expect(try await store.counts(now: Self.t0).parkedLeads == 3)
            #expect(try await store.unparkReadableStates(now: Self.t0 + 60) == 1)
            #expect(try await store.counts(now: Self.t0).parkedLeads == 2)
            #expect(try await store.lead(.email("ada@example.com"))?.lead.email == "ada@example.com")
            let decided = Mutex<[String]>([])
            let pass = try await store.processDueLeads(now: Self.t0 + 60, limit: 10) { state in
                decided.withLock { $0.append(state.lead.email) }
                return LeadChange(effects: [], nextWake: nil)
            }
            #expect(pass.processed == 1 && decided.withLock { $0 } == ["ada@example.com"], "due at once")
            #expect(try await store.unparkReadableStates(now: Self.t0 + 61) == 0)
        }
    }

    static func states(_ store: any NurtureStore, _ emails: [String]) async throws -> [LeadState] {
        var states: [LeadState] = []
        for email in emails { states.append(try #require(try await store.lead(.email(email)))) }
        return states
    }
}
