import Foundation
import GRDB
import NurtureCore

/// The SQLite store (GRDB): one file, WAL mode, zero setup. Safe for several processes on one
/// machine sharing the file: every decision runs in a write transaction, and SQLite
/// serialises writers.
public final class SQLiteStore: NurtureStore {
    let pool: DatabasePool
    let encoder: JSONEncoder
    let decoder: JSONDecoder

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30) // other processes on the same file wait, not fail
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL") // durable in WAL mode across crashes of the process
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try SQLiteSchema.migrator.migrate(pool)
        encoder = Self.stateEncoder()
        decoder = Self.stateDecoder()
    }

    /// How lead states are written in the `state` column.
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
