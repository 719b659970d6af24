import GRDB
import NurtureCore

/// The installation's id, made by migration v12.
extension SQLiteStore: InstallationIdentity {
    public func installationID() async throws -> String {
        try await pool.read { db in
            guard let id = try String.fetchOne(db, sql: "SELECT id FROM installation LIMIT 1") else {
                throw DatabaseError(message: "the installation table is empty: the database was changed by hand")
            }
            return id
        }
    }
}
