import Foundation

/// A store whose schema is versioned: migrations are applied explicitly (`nurture migrate`)
/// and at every start, safely when several processes start together.
public protocol SchemaMigrating: Sendable {
    /// Applies what is missing; returns the names of the migrations applied.
    @discardableResult
    func migrate() async throws -> [String]
    /// The migrations not applied yet.
    func pendingMigrations() async throws -> [String]

    /// How lead states are written now (every process reads both; see ``LeadStateFormat``).
    func leadStateFormat() async throws -> LeadStateFormat
    /// Sets how lead states are written from now on: by every process on the database within
    /// ``LeadStateFormatCache/defaultMaxAge``. States already written stay as they are until
    /// their lead's next change (or ``rewriteLeadStates(as:)``).
    func setLeadStateFormat(_ format: LeadStateFormat) async throws
    /// Rewrites every stored state of a lead not parked that is not in `format`, in batches,
    /// each its own transaction; passes over the leads until one finds nothing left (so a
    /// state another process wrote the old way meanwhile is rewritten too). States that do not
    /// read are left for the engine to park.
    /// - Returns: how many states were rewritten.
    @discardableResult
    func rewriteLeadStates(as format: LeadStateFormat) async throws -> Int
    /// How many stored states of leads not parked have each `state_version` (1 JSON, 2 binary;
    /// a larger one was written by a newer Nurture).
    func leadStateVersions() async throws -> [Int: Int]
    /// Leads an older Nurture parked because their state was newer than it could read, whose
    /// state this version reads: no longer parked, and due at `now` so the engine looks at
    /// them at once. (Sends skipped while they were parked stay skipped.)
    /// - Returns: how many leads were un-parked.
    @discardableResult
    func unparkReadableStates(now: Date) async throws -> Int
}

extension StoredStateError {
    /// The start of the error a store keeps for a lead parked by ``newerVersion(found:known:)``
    /// (``SchemaMigrating/unparkReadableStates(now:)`` looks for it).
    public static let newerVersionPrefix = "state version "
}
