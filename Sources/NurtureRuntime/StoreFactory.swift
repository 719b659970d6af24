import Logging
import NurtureCore
import NurturePostgres
import NurtureSQLite
import ServiceLifecycle

/// A store as the factory opened it, with what must run beside it.
public struct OpenedStore: Sendable {
    public let store: any NurtureStore & SchemaMigrating
    /// What the store needs running while it is used (PostgreSQL's connection pool): first in
    /// the service group, so it stops last.
    public let services: [any Service]
    /// Wake-ups announced by other processes sharing the store (PostgreSQL), if it has them.
    public let wakeups: (any WakeupFeed)?
    /// Whether the schema still has to be brought up to date once the services run
    /// (SQLite migrates as it opens; PostgreSQL needs a connection first).
    public let migratesOnStart: Bool

    /// Runs `body` with the store's services running (PostgreSQL's pool), stopped when it
    /// returns: for one-shot commands.
    public func whileRunning<Result>(_ body: () async throws -> Result) async throws -> Result {
        try await Self.running(services, body)
    }

    /// Runs `body` with `services` running, cancelled (and awaited) when it returns.
    static func running<Result>(_ services: [any Service], _ body: () async throws -> Result) async throws -> Result {
        guard !services.isEmpty else { return try await body() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { try await service.run() }
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}

/// Opens the store a `database` setting names: a SQLite file or a PostgreSQL URL.
public enum StoreFactory {
    /// Opens the store at `location`. SQLite's schema is brought up to date here when
    /// `migrate` is set; PostgreSQL's when the runtime starts (``Runtime/withStore(_:)``).
    /// `webhooks`: the endpoints whose messages each lead change queues.
    public static func open(_ location: StoreLocation, migrate: Bool = true, webhooks: WebhookRoutes = .none, logger: Logger = Logger(label: "nurture")) throws -> OpenedStore {
        switch location {
        case .sqlite(let path):
            return OpenedStore(store: try SQLiteStore(path: path, migrate: migrate, webhooks: webhooks), services: [], wakeups: nil, migratesOnStart: false)
        case .postgres(let text):
            let url = try PostgresURL(text)
            let store = PostgresStore(url: url, logger: logger, webhooks: webhooks)
            return OpenedStore(store: store, services: [store.client], wakeups: store, migratesOnStart: migrate)
        }
    }
}
