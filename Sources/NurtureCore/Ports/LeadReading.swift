import Foundation

/// The read-only port: a lead with its history, and counts for metrics.
public protocol LeadReading: Sendable {
    func details(_ reference: LeadReference, recent: Int) async throws -> LeadDetails?
    /// Counts for metrics; `dueLeads` are those due at `now`.
    func counts(now: Date) async throws -> StoreCounts
    /// The leads `filter` selects, by id, at most `filter.limit` (from indexes on stage and
    /// sequence; tags and score are tested on the rows those leave).
    func leads(_ filter: LeadFilter) async throws -> [LeadSummary]
}
