import Foundation
import GRDB
import NurtureCore

/// The SQLite store (GRDB): one file, WAL mode, zero setup. Safe for several processes on one
/// machine sharing the file: every decision runs in a write transaction, and SQLite
/// serialises writers.
public final class SQLiteStore: NurtureStore, SchemaMigrating {
    let pool: DatabasePool
    /// Reads JSON the store keeps besides lead states (event properties, tags).
    let decoder: JSONDecoder
    /// Reads and writes lead states in either format.
    let stateCoder = LeadStateCoder()
    /// The format lead states are written in, as last read from the database.
    let stateFormat: LeadStateFormatCache

    let path: String
    /// The outbound webhooks each lead change queues (none unless the deployment has some).
    let webhookRoutes: WebhookRoutes

    /// Opens (creating if needed) the database at `path`. With `migrate` (the default), the
    /// schema is brought up to date first (see ``migrate()``). `webhooks`: the endpoints
    /// whose messages are queued with every change that calls for them.
    /// `stateFormat`: how long the lead-state format setting is trusted once read (tests pass
    /// their own clock).
    public init(path: String, migrate: Bool = true, webhooks: WebhookRoutes = .none, stateFormat: LeadStateFormatCache = LeadStateFormatCache()) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30) // other processes on the same file wait, not fail
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL") // durable in WAL mode across crashes of the process
        }
        self.path = path
        webhookRoutes = webhooks
        // Opening a new file switches it to WAL, which needs the file to itself; two processes
        // switching at once can fail at once (SQLite answers "locked" without waiting, as
        // waiting could deadlock). They take turns on the migrations' lock file.
        pool = try Self.takingTurns(path) { try DatabasePool(path: path, configuration: configuration) }
        decoder = Self.stateDecoder()
        self.stateFormat = stateFormat
        if migrate { _ = try applyMigrations() }
    }

    /// Applies the migrations this version has and the file lacks, and returns their names.
    /// Safe when several processes start together: they take turns on a lock file beside the
    /// database (`<file>.migrate.lock`), and each applies only what is still missing.
    @discardableResult
    public func migrate() async throws -> [String] {
        try applyMigrations()
    }

    /// The migrations not applied yet.
    public func pendingMigrations() async throws -> [String] {
        let applied = try await pool.read { db in try SQLiteSchema.migrator.appliedIdentifiers(db) }
        return SQLiteSchema.migrator.migrations.filter { !applied.contains($0) }
    }

    /// Runs `body` holding the lock file beside the database at `path` (`<file>.migrate.lock`),
    /// which the processes on one file take in turns to open it and to migrate it.
    private static func takingTurns<T>(_ path: String, _ body: () throws -> T) rethrows -> T {
        let lock = open(path + ".migrate.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer {
            if lock >= 0 {
                flock(lock, LOCK_UN)
                close(lock)
            }
        }
        return try body()
    }

    private func applyMigrations() throws -> [String] {
        try Self.takingTurns(path) { try migrateHoldingTheLock() }
    }

    private func migrateHoldingTheLock() throws -> [String] {
        let before = try pool.read { db in try SQLiteSchema.migrator.appliedIdentifiers(db) }
        try SQLiteSchema.migrator.migrate(pool)
        let applied = SQLiteSchema.migrator.migrations.filter { !before.contains($0) }
        // A file created by this version: no older process can be reading its states, so
        // they are binary from the start (v17 keeps JSON for the others).
        if before.isEmpty, applied.contains(SQLiteSchema.binaryStatesMigration) {
            try pool.write { db in try db.execute(sql: "UPDATE installation SET lead_state_format = 'binary'") }
        }
        return applied
    }

    /// How lead states were written in the `state` column before the binary format (read by
    /// migration v3, which runs before any binary state exists).
    static func stateEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static func stateDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }
}
