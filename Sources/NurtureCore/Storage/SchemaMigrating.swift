/// A store whose schema is versioned: migrations are applied explicitly (`nurture migrate`)
/// and at every start, safely when several processes start together.
public protocol SchemaMigrating: Sendable {
    /// Applies what is missing; returns the names of the migrations applied.
    @discardableResult
    func migrate() async throws -> [String]
    /// The migrations not applied yet.
    func pendingMigrations() async throws -> [String]
}
