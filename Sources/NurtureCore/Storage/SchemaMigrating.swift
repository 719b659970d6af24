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
    /// Sets how lead states are written from now on, by every process on the database within
    /// ``LeadStateFormatCache/maxAge``. States already written stay as they are until their
    /// lead's next change; `rewrite` rewrites them all now, in batches.
    /// - Returns: how many states were rewritten.
    @discardableResult
    func setLeadStateFormat(_ format: LeadStateFormat, rewrite: Bool) async throws -> Int
    /// How many stored lead states have each `state_version` (1 JSON, 2 binary; a larger one
    /// was written by a newer Nurture).
    func leadStateVersions() async throws -> [Int: Int]
}
