import Foundation
import Logging
import NurtureCore

/// Finds leads whose next wake-up is due (by index) and lets the engine decide for them;
/// queued sends land in the store's outbox in the same transaction as the decision.
///
/// Time is passed in, so tests and benchmarks drive it on a virtual clock.
public struct Scheduler: Sendable {
    public let store: any LeadDecisions
    public let workflows: WorkflowSet
    public let batchSize: Int
    /// Where leads parked by a pass are reported (once each: a parked lead is not due again).
    public let logger: Logger?

    public init(store: any LeadDecisions, workflows: WorkflowSet, batchSize: Int = 500, logger: Logger? = nil) {
        self.store = store
        self.workflows = workflows
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Decides for every lead due at `now`, a batch per transaction, until none is left or
    /// `shouldStop` turns true (a graceful shutdown). Returns how many leads were processed.
    @discardableResult
    public func processDue(now: Date, shouldStop: @Sendable () -> Bool = { false }) async throws -> Int {
        let engine = workflows.engine
        var total = 0
        while !shouldStop() {
            let pass = try await store.processDueLeads(now: now, limit: batchSize) { state in
                let effects = engine.tick(&state, now: now)
                return LeadChange(effects: effects, nextWake: engine.nextWake(state, after: now))
            }
            for lead in pass.parked {
                logger?.error("lead parked: its stored state cannot be read; the others go on", metadata: ["lead": "\(lead.id)", "error": "\(lead.error)"])
            }
            total += pass.processed
            if pass.processed < batchSize { return total }
        }
        return total
    }

    /// Adds or updates leads: new ones start in the funnel (and get their first email queued),
    /// known ones get their fields updated and re-scored. Suppressed addresses stay suppressed.
    /// - Parameter progress: called once per lead as it is written (for a progress bar).
    public func upsert(_ leads: [Lead], now: Date, progress: (@Sendable () -> Void)? = nil) async throws -> UpsertResult {
        let engine = workflows.engine
        let byEmail = Dictionary(leads.map { (EmailAddress.canonicalIfValid($0.email), $0) }, uniquingKeysWith: { _, last in last })
        return try await store.upsertLeads(leads.map(\.email), now: now) { id, email, suppression, state in
            progress?()
            guard var incoming = byEmail[email] else { return LeadChange(effects: [], nextWake: nil) }
            incoming.email = email
            var effects: [Effect] = []
            // Tags: `-name` removes a tag (from a known lead); the others are added.
            let removeTags = Set(incoming.tags.filter { $0.hasPrefix("-") }.map { String($0.dropFirst()) })
            incoming.tags = incoming.tags.filter { !$0.hasPrefix("-") }
            if state == nil {
                var lead = incoming
                lead.id = id
                // A known-unreachable address still gets a stage and scores, but no enrollment.
                let (fresh, startEffects) = engine.start(lead, now: now, suppression: suppression)
                state = fresh
                effects = startEffects
            } else if var existing = state {
                if let zone = incoming.timeZone { existing.lead.timeZone = zone }
                effects = engine.updateProfile(fields: incoming.fields, addTags: incoming.tags, removeTags: removeTags, state: &existing, now: now)
                state = existing
            }
            return LeadChange(effects: effects, nextWake: state.flatMap { engine.nextWake($0, after: now) })
        }
    }

    /// Applies an event to a lead (a bounce from a relay; the tracking server's events).
    /// With `recording`, the event is stored in the same transaction as the decision and its
    /// effects (suppression included: the engine decides it).
    @discardableResult
    public func handle(_ event: Event, lead: LeadReference, now: Date, recording: RecordedEvent? = nil) async throws -> LeadUpdate {
        let engine = workflows.engine
        return try await store.updateLead(lead, now: now, recording: recording) { state in
            let effects = engine.handle(event, state: &state, now: now)
            return LeadChange(effects: effects, nextWake: engine.nextWake(state, after: now))
        }
    }

    /// Adds and removes a lead's tags (`nurture leads tag`); conditions on tags see them at once.
    public func tag(_ lead: LeadReference, add: Set<String>, remove: Set<String>, now: Date) async throws -> LeadChange? {
        let engine = workflows.engine
        return try await store.updateLead(lead, now: now) { state in
            let effects = engine.updateProfile(addTags: add, removeTags: remove, state: &state, now: now)
            return LeadChange(effects: effects, nextWake: engine.nextWake(state, after: now))
        }
    }

    /// Moves a lead to a stage by hand (opportunity, customer…).
    public func move(_ lead: LeadReference, to stage: String, reason: String, now: Date) async throws -> LeadChange? {
        let engine = workflows.engine
        return try await store.updateLead(lead, now: now) { state in
            let effects = engine.moveToStage(stage, reason: reason, state: &state, now: now)
            return LeadChange(effects: effects, nextWake: engine.nextWake(state, after: now))
        }
    }
}
