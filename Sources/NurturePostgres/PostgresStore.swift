import Foundation
import Logging
import NurtureCore
import PostgresNIO
import ServiceLifecycle

/// The PostgreSQL store (postgres-nio): one database shared by any number of `nurture serve`
/// processes on any number of machines.
///
/// - Decisions lock their leads (`FOR NO KEY UPDATE`; due leads with `SKIP LOCKED`), so two
///   processes never decide for the same lead at once, and write all they decided in the same
///   transaction.
/// - Sends are claimed with `FOR UPDATE SKIP LOCKED` in a materialized CTE, under a lease
///   measured on the database's clock and fenced by owner and epoch.
/// - No transaction is ever held across a network call: a claim commits before the first
///   SMTP command, and the outcome is recorded by a later, fenced transaction.
/// - A commit that queues a send or brings a wake-up forward notifies every process
///   (``WakeupFeed``); polling stays as the fallback.
///
/// ``client`` is a `Service`: it must run (first in the service group, so it closes last)
/// while the store is used.
public final class PostgresStore: NurtureStore, SchemaMigrating, WakeupFeed, SendRateBudget {
    /// The connection pool. Run it (`client.run()`) while the store is in use.
    public let client: PostgresClient
    let url: PostgresURL
    let logger: Logger
    let leaseClock: LeaseClock
    /// Reads JSON the store keeps besides lead states (event properties).
    let decoder: JSONDecoder
    /// Reads and writes lead states in either format.
    let stateCoder = LeadStateCoder()
    /// The format lead states are written in, as last read from the database.
    let stateFormat: LeadStateFormatCache
    /// The outbound webhooks each lead change queues (none unless the deployment has some).
    let webhookRoutes: WebhookRoutes

    /// Which clock leases and worker heartbeats are measured on.
    public enum LeaseClock: Sendable {
        /// The database server's (`now()`): processes on machines whose clocks disagree still
        /// agree on when a lease ran out. The default.
        case database
        /// The `now` each call passes (for tests on a virtual clock).
        case caller
    }

    /// The channel wake-ups are announced on.
    static let channel = "nurture_wake"

    /// `webhooks`: the endpoints whose messages are queued with every change that calls for them;
    /// `stateFormat`: how long the lead-state format setting is trusted once read (tests pass
    /// their own clock).
    public init(url: PostgresURL, logger: Logger, leaseClock: LeaseClock = .database, webhooks: WebhookRoutes = .none,
                stateFormat: LeadStateFormatCache = LeadStateFormatCache()) {
        self.url = url
        self.stateFormat = stateFormat
        webhookRoutes = webhooks
        self.logger = logger
        self.leaseClock = leaseClock
        client = PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: logger)
        decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
    }

    /// The store's URL, password redacted.
    public var urlDescription: String { url.description }

    /// The database's name.
    public var databaseName: String { url.database }

    /// The lease clock's reading as a bind: `nil` means "the database's `now()`".
    func clock(_ now: Date) -> Date? {
        leaseClock == .caller ? now : nil
    }

    // MARK: Transactions

    /// Runs `body` in one transaction, retried (with a short random pause) when PostgreSQL
    /// reports a deadlock or a serialization failure, which undo the whole transaction.
    /// Errors thrown by `body` come out as they are.
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        var attempt = 0
        while true {
            do {
                return try await client.withTransaction(logger: logger) { connection in
                    try await body(connection)
                }
            } catch {
                let cause = (error as? PostgresTransactionError).map { $0.closureError ?? $0.commitError ?? $0.beginError ?? $0 } ?? error
                if Self.isRetryable(cause), attempt < 8 {
                    attempt += 1
                    try await Task.sleep(for: .milliseconds(Int.random(in: 1...(10 * attempt))))
                    continue
                }
                throw PostgresStoreError.readable(cause)
            }
        }
    }

    /// Deadlock (40P01) and serialization failure (40001): the transaction can run again.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }

    // MARK: Migrations

    /// Applies the migrations this version has and the database lacks, in one transaction
    /// under an advisory lock: when several processes start together, one applies them and
    /// the others find nothing left to do. Uses its own connection, so it works before the
    /// pool runs.
    @discardableResult
    public func migrate() async throws -> [String] {
        try await migrate(upTo: nil)
    }

    /// ``migrate()``, stopping after the migration named `last` (for tests of a migration on
    /// data written before it).
    @discardableResult
    package func migrate(upTo last: String?) async throws -> [String] {
        var migrations = PostgresSchema.migrations
        if let last {
            guard let index = migrations.firstIndex(where: { $0.name == last }) else {
                throw PostgresStoreError(message: "no migration is named '\(last)'")
            }
            migrations = Array(migrations[...index])
        }
        return try await withOwnConnection { connection in
            // Nothing pending: no DDL, no lock (a role without CREATE can start; a replica too).
            let pending = try await Self.pending(connection, logger: self.logger)
            guard migrations.contains(where: { pending.contains($0.name) }) else { return [] }
            try await connection.query("BEGIN", logger: self.logger)
            do {
                try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.lockKey))", logger: self.logger)
                try await connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", logger: self.logger)
                let applied = try await Self.appliedMigrations(connection, logger: self.logger)
                var done: [String] = []
                for migration in migrations where !applied.contains(migration.name) {
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                    }
                    try await connection.query("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: self.logger)
                    done.append(migration.name)
                }
                // A database created by this version: no older process can be reading its
                // states, so they are binary from the start (p14 keeps JSON for the others).
                if done.contains(PostgresSchema.migrations[0].name), done.contains(PostgresSchema.binaryStatesMigration) {
                    try await connection.query("UPDATE installation SET lead_state_format = 'binary'", logger: self.logger)
                }
                try await connection.query("COMMIT", logger: self.logger)
                return done
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    /// Every migration this version has, in order.
    public static var migrationNames: [String] { PostgresSchema.migrations.map(\.name) }

    /// The migrations not applied yet.
    public func pendingMigrations() async throws -> [String] {
        try await withOwnConnection { connection in try await Self.pending(connection, logger: self.logger) }
    }

    static func pending(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
            .collect().first?.decode(Bool.self) ?? false
        let applied = exists ? try await appliedMigrations(connection, logger: logger) : []
        return PostgresSchema.migrations.map(\.name).filter { !applied.contains($0) }
    }

    static func appliedMigrations(_ connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        var names: Set<String> = []
        for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: logger).decode(String.self) {
            names.insert(name)
        }
        return names
    }

    /// One connection outside the pool, closed after `body`.
    func withOwnConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: Int.random(in: 1...Int.max), logger: logger)
        } catch {
            throw PostgresStoreError.readable(error)
        }
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw PostgresStoreError.readable(error)
        }
    }

    /// Runs one statement outside a transaction and returns its rows.
    func fetch(_ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            return try await client.query(query, logger: logger).collect()
        } catch {
            throw PostgresStoreError.readable(error)
        }
    }

    /// Runs `body` on a pooled connection, outside a transaction.
    func withConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw PostgresStoreError.readable(error)
        }
    }

    /// Runs raw SQL outside any transaction. For tests, benchmarks and maintenance tools inside
    /// this package; the service never needs it.
    package func execute(sql: String) async throws {
        _ = try await fetch(PostgresQuery(unsafeSQL: sql))
    }

    /// Runs raw SQL statements in one transaction, queued on its connection at once
    /// (``PostgresConnection/pipeline(_:logger:)``). For tests inside this package.
    package func executePipelined(_ statements: [String]) async throws {
        try await transaction { connection in
            try await connection.pipeline(statements.map { PostgresQuery(unsafeSQL: $0) }, logger: self.logger)
        }
    }
}

extension PostgresRandomAccessRow {
    /// The named column, decoded.
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }
}

extension PostgresConnection {
    /// Runs `query` and returns all its rows.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    /// Runs `statements` in order, all queued on the connection at once: each is sent as
    /// the one before it completes, by the connection's event loop, without a hop back to
    /// this task in between. Inside a transaction, a statement that fails fails the ones
    /// after it; the first error is thrown once all have completed.
    func pipeline(_ statements: [PostgresQuery], logger: Logger) async throws {
        if statements.count == 1 {
            try await query(statements[0], logger: logger)
            return
        }
        let results: [EventLoopFuture<PostgresQueryResult>] = statements.map { self.query($0, logger: logger) }
        var failure: (any Error)?
        for result in results {
            do { _ = try await result.get() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }
}
