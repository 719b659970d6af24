import NurtureCore
import PostgresNIO

/// The installation's id, made by migration p9.
extension PostgresStore: InstallationIdentity {
    /// Read on a connection of its own, like the migrations: it is asked for at start, before
    /// the pool runs.
    public func installationID() async throws -> String {
        try await withOwnConnection { connection in
            let rows = try await connection.query("SELECT id FROM installation LIMIT 1", logger: self.logger).collect()
            guard let id = try rows.first?.decode(String.self) else {
                throw PostgresStoreError(message: "the installation table is empty: the database was changed by hand")
            }
            return id
        }
    }
}
