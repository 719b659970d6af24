import Foundation

/// The lead port: decisions about leads, each inside the store's write transaction.
///
/// Every method that changes a lead takes a closure that runs inside the transaction, so
/// reading the lead's state, deciding (with the pure engine) and writing the result — new
/// state, next wake-up, queued sends, history — is one atomic step: two workers never decide
/// for the same lead at once, and a crash never leaves half a decision.
public protocol LeadDecisions: Sendable {
    /// Creates or updates leads by email, in one transaction. `body` gets the lead's id (new
    /// leads get one first), its address, the address's suppression if any, and its state
    /// (`nil` for a new lead, which `body` must create).
    func upsertLeads(_ emails: [String], now: Date, _ body: @Sendable (String, String, Suppression?, inout LeadState?) -> LeadChange) async throws -> UpsertResult

    /// Runs `body` on one lead (by id or email) in a transaction. `recording`, when given, is
    /// stored in the same transaction first: an event, its decision and all its effects
    /// (stage, enrollment, suppression) are written together or not at all. A recording whose
    /// client id was stored before is a duplicate: nothing is written and `body` does not run.
    func updateLead(_ reference: LeadReference, now: Date, recording: RecordedEvent?, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> LeadUpdate

    /// Runs `body` on up to `limit` leads whose next wake-up is due, oldest first, found by
    /// index (never by scanning leads). A lead whose stored state cannot be read is parked
    /// (see ``ParkedLead``) and the others go on.
    func processDueLeads(now: Date, limit: Int, _ body: @Sendable (inout LeadState) -> LeadChange) async throws -> DuePass

    /// The soonest next wake-up of any lead, for the scheduler's sleep.
    func nextWake() async throws -> Date?

    func lead(_ reference: LeadReference) async throws -> LeadState?
}
