import Foundation
import NurtureCore
import Synchronization
import Testing

/// The tracking server's events, stored pending and applied after, on every storage adapter.
extension StoreContractTests {
    @Test("stored events are pending until applied: counted in the reports at once, decided in order, a batch at most the limit", arguments: Adapter.allCases)
    func pendingEvents(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            try await seed(store, ["ada@example.com", "bob@example.com"])
            let claimed = try await sendQueued(store)
            func hit(_ send: OutboxSend, _ name: String, after seconds: Double) -> (lead: LeadReference, recording: RecordedEvent) {
                (.id(send.request.key.leadID), RecordedEvent(Event(Event.Kind.opened, at: Self.t0 + seconds, properties: ["sequence": "s", "step": "welcome", "n": name]), sendID: send.id))
            }
            let (ada, bob) = (claimed[0], claimed[1])
            let stored = try await store.appendEvents([hit(ada, "a", after: 60), hit(bob, "a", after: 61), hit(ada, "b", after: 62),
                                                       (.id("999999"), RecordedEvent(Event(Event.Kind.opened, at: Self.t0)))], now: Self.t0 + 70)
            #expect(stored == [true, true, true, false], "no such lead: not stored")
            _ = try await store.appendEvents([hit(ada, "c", after: 63), hit(bob, "b", after: 64)], now: Self.t0 + 71)
            #expect(try await store.pendingEventCount() == 5)
            // Counted before they are decided: the answer to the hit means "recorded".
            let period = ReportPeriod(since: Self.t0 - 3600, until: Self.t0 + 3600)
            #expect(try await store.stepFacts(period: period, sequence: nil).counts[StepFacts.Key(sequence: "s", step: "welcome")]?["opened"] == 2)
            #expect(try await store.details(.id(ada.request.key.leadID), recent: 10)?.events.map(\.pending) == [true, true, true])
            #expect(try await store.lead(.id(ada.request.key.leadID))?.lead.fields["seen"] == nil, "not decided yet")

            let seen = Mutex<[String]>([])
            let decide: @Sendable (inout LeadState, Event) -> [Effect] = { state, event in
                state.lead.fields["seen", default: ""] += event.properties["n"] ?? "?"
                seen.withLock { $0.append("\(state.lead.email):\(event.properties["n"] ?? "?")@\(Int(event.at.timeIntervalSince(Self.t0)))") }
                return [.tagAdded("opened")]
            }
            let first = try await store.applyPendingEvents(limit: 3, now: Self.t0 + 80, decide: decide, settle: { _ in LeadChange(effects: [], nextWake: Self.t0 + 500) })
            #expect(first == PendingEventsPass(applied: 3, effects: [.tagAdded("opened"), .tagAdded("opened"), .tagAdded("opened")]))
            #expect(try await store.pendingEventCount() == 2)
            let second = try await store.applyPendingEvents(limit: 3, now: Self.t0 + 80, decide: decide, settle: { _ in LeadChange(effects: [], nextWake: Self.t0 + 500) })
            #expect(second.applied == 2 && !second.busy)
            #expect(try await store.applyPendingEvents(limit: 3, now: Self.t0 + 80, decide: decide, settle: { _ in LeadChange(effects: [], nextWake: nil) }) == PendingEventsPass())
            #expect(try await store.pendingEventCount() == 0)
            #expect(try await store.details(.id(ada.request.key.leadID), recent: 10)?.events.contains { $0.pending || $0.setAside != nil } == false)
            // Each lead's events in the order stored, each at its own time; the state written once a batch.
            #expect(seen.withLock { $0 } == ["ada@example.com:a@60", "ada@example.com:b@62", "bob@example.com:a@61", "ada@example.com:c@63", "bob@example.com:b@64"])
            #expect(try await store.lead(.id(ada.request.key.leadID))?.lead.fields["seen"] == "abc")
            #expect(try await store.lead(.id(bob.request.key.leadID))?.lead.fields["seen"] == "ab")
            #expect(try await store.nextWake() == Self.t0 + 500)
            // Applying again changes nothing: each event is decided once.
            #expect(try await store.stepFacts(period: period, sequence: nil).counts[StepFacts.Key(sequence: "s", step: "welcome")]?["opened"] == 2)
        }
    }

    @Test("a batch of hits: a client id stored before, or twice in the batch, is stored once (the first); an event without an email is credited to the lead's latest one within its window, or to none", arguments: Adapter.allCases)
    func appendedBatchClientIDsAndCredit(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            try await seed(store, ["ada@example.com", "bob@example.com", "cy@example.com"])
            _ = try await sendQueued(store)
            let reply = { (email: String, client: String?, window: TimeSpan, n: String) in
                (lead: LeadReference.email(email),
                 recording: RecordedEvent(Event(Event.Kind.replied, at: Self.t0 + 600, properties: ["n": n]), clientID: client, attributeWithin: window))
            }
            #expect(try await store.appendEvents([reply("ada@example.com", "r-1", .days(1), "1")], now: Self.t0 + 600) == [true])
            // r-1 again, r-2 twice, bob's reply within a day of his email, cy's ten minutes after
            // hers with a minute's window, no such lead.
            let stored = try await store.appendEvents([
                reply("ada@example.com", "r-1", .days(1), "1 again"), reply("ADA@example.com", "r-2", .days(1), "2 first"),
                reply("ada@example.com", "r-2", .days(1), "2 second"), reply("bob@example.com", nil, .days(1), "bob"),
                reply("cy@example.com", nil, .minutes(1), "cy"), reply("nobody@example.com", "r-3", .days(1), "nobody"),
            ], now: Self.t0 + 600)
            #expect(stored == [false, true, false, true, true, false])
            #expect(try await store.pendingEventCount() == 4)
            let events = try #require(try await store.details(.email("ada@example.com"), recent: 10)).events
            #expect(Set(events.filter { $0.event.type == Event.Kind.replied }.compactMap { $0.event.properties["n"] }) == ["1", "2 first"])
            // Unique replies by email: ada's and bob's emails; cy's reply came after its window, credited to none.
            let facts = try await store.stepFacts(period: ReportPeriod(since: Self.t0 - 3600, until: Self.t0 + 3600), sequence: nil)
            #expect(facts.counts[StepFacts.Key(sequence: "s", step: "welcome")]?["replied"] == 2)
        }
    }

    @Test("a parked lead's pending events are kept and not decided; the others' are", arguments: Adapter.allCases)
    func pendingEventsOfParkedLead(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            try await seed(store, ["ada@example.com", "bob@example.com"], send: false)
            let stored = try await store.appendEvents([(.email("bob@example.com"), RecordedEvent(Event("page_visited", at: Self.t0))),
                                                       (.email("Ada@Example.com"), RecordedEvent(Event("page_visited", at: Self.t0)))], now: Self.t0)
            #expect(stored == [true, true])
            try await subject.corrupt("bob@example.com")
            let pass = try await store.applyPendingEvents(limit: 100, now: Self.t0, decide: { state, _ in
                state.lead.tags.insert("visited")
                return []
            }, settle: { _ in LeadChange(effects: [], nextWake: nil) })
            #expect(pass.applied == 1 && pass.skipped == 1)
            #expect(pass.parked.map(\.email) == ["bob@example.com"])
            #expect(try await store.pendingEventCount() == 0)
            #expect(try await store.lead(.email("ada@example.com"))?.lead.tags == ["visited"])
            #expect(try await store.counts(now: Self.t0).parkedLeads == 1)
        }
    }

    @Test("a pass that cannot write one lead writes nothing; the oldest pending event and its lead's others are set aside, kept and counted, and the next pass goes on", arguments: Adapter.allCases)
    func setAside(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            try await seed(store, ["ada@example.com", "bob@example.com"], send: false)
            let visit = { (email: String, path: String) in (lead: LeadReference.email(email), recording: RecordedEvent(Event("page_visited", at: Self.t0, properties: ["path": path]))) }
            #expect(try await store.appendEvents([visit("bob@example.com", "/a"), visit("ada@example.com", "/b"), visit("bob@example.com", "/c")], now: Self.t0) == [true, true, true])
            try await subject.poison("bob@example.com")
            let tag: @Sendable (inout LeadState, Event) -> [Effect] = { state, event in
                state.lead.tags.insert(event.properties["path"] ?? "?")
                return []
            }
            let settle: @Sendable (inout LeadState) -> LeadChange = { _ in LeadChange(effects: [], nextWake: nil) }
            await #expect(throws: (any Error).self) { try await store.applyPendingEvents(limit: 10, now: Self.t0, decide: tag, settle: settle) }
            // Nothing half-written: ada's event is still pending and not decided.
            #expect(try await store.pendingEventCount() == 3)
            #expect(try await store.lead(.email("ada@example.com"))?.lead.tags == [])
            #expect(try await store.setAsideEventCount() == 0)

            // bob's first event is the oldest: bob's two are set aside, ada's is not.
            let aside = try #require(try await store.setAsideOldestPending(reason: "poisoned lead"))
            #expect(aside.count == 2)
            #expect(try await store.pendingEventCount() == 1)
            #expect(try await store.setAsideEventCount() == 2)
            let applied = try await store.applyPendingEvents(limit: 10, now: Self.t0, decide: tag, settle: settle)
            #expect(applied.applied == 1)
            #expect(try await store.lead(.email("ada@example.com"))?.lead.tags == ["/b"])
            #expect(try await store.setAsideOldestPending(reason: "nothing left") == nil)
            #expect(try await store.pendingEventCount() == 0)
            #expect(try await store.setAsideEventCount() == 2)
            // Kept: still the lead's events, counted where events are counted, marked set aside.
            let kept = try #require(try await store.details(.email("bob@example.com"), recent: 10)).events
            #expect(kept.map(\.setAside) == ["poisoned lead", "poisoned lead"] && kept.allSatisfy { !$0.pending })
            // Listed newest first, with the lead and the reason; queued again by number, or all.
            let listed = try await store.setAsideEvents(limit: 10)
            #expect(listed.map(\.email) == ["bob@example.com", "bob@example.com"])
            #expect(listed.allSatisfy { $0.reason == "poisoned lead" && $0.type == "page_visited" && $0.at == Self.t0 })
            #expect(listed.map(\.id) == listed.map(\.id).sorted(by: >) && listed.last?.id == aside.oldest)
            #expect(try await store.requeueSetAsideEvents(ids: [aside.oldest, 999_999]) == 1)
            #expect(try await store.pendingEventCount() == 1)
            #expect(try await store.setAsideEventCount() == 1)
            #expect(try await store.requeueSetAsideEvents(ids: []) == 1)
            #expect(try await store.requeueSetAsideEvents(ids: []) == 0)
            #expect(try await store.pendingEventCount() == 2)
            #expect(try await store.setAsideEvents(limit: 10) == [])
        }
    }

    @Test("a due lead with pending events is left to the applier, whose settle runs after its events", arguments: Adapter.allCases)
    func duePassLeavesPendingLeads(adapter: Adapter) async throws {
        try await adapter.with { subject in
            let store = subject.store
            try await seed(store, ["ada@example.com"], wake: Self.t0 + 100, send: false)
            try await seed(store, ["bob@example.com"], wake: Self.t0 + 100, send: false)
            _ = try await store.appendEvents([(.email("ada@example.com"), RecordedEvent(Event("page_visited", at: Self.t0 + 99)))], now: Self.t0 + 99)
            let due = Mutex<[String]>([])
            let pass = try await store.processDueLeads(now: Self.t0 + 200, limit: 10) { state in
                due.withLock { $0.append(state.lead.email) }
                return LeadChange(effects: [], nextWake: nil)
            }
            #expect(pass.processed == 1 && due.withLock { $0 } == ["bob@example.com"], "ada has a click not decided yet")
            let order = Mutex<[String]>([])
            let applied = try await store.applyPendingEvents(limit: 10, now: Self.t0 + 200, decide: { _, event in
                order.withLock { $0.append(event.type) }
                return []
            }, settle: { state in
                order.withLock { $0.append("settle") }
                state.lead.tags.insert("settled")
                return LeadChange(effects: [.tagAdded("settled")], nextWake: Self.t0 + 900)
            })
            #expect(order.withLock { $0 } == ["page_visited", "settle"])
            #expect(applied.effects == [.tagAdded("settled")])
            #expect(try await store.lead(.email("ada@example.com"))?.lead.tags == ["settled"])
            #expect(try await store.nextWake() == Self.t0 + 900)
        }
    }
}
