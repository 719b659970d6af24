import Foundation
import NurtureCore
import PostgresNIO

/// The relay's rate for the whole deployment: one token bucket row, refilled on the
/// database's clock, from which every process takes permits in small batches.
extension PostgresStore {
    /// One statement, outside any transaction: the row is locked only while the server runs
    /// it, so a process frozen at any point (SIGSTOP, a VM pause) never holds the bucket — and
    /// with it every other process's sending — for longer than that.
    public func takePermits(_ count: Int, perSecond: Double, burst: Double) async throws -> Int {
        let n = Double(count)
        let rows = try await fetch("""
            INSERT INTO rate_buckets AS r (name, tokens, updated_at, granted)
            VALUES ('relay', \(burst) - least(floor(\(burst)), \(n)), statement_timestamp(), least(floor(\(burst)), \(n)))
            ON CONFLICT (name) DO UPDATE SET
              granted = least(floor(least(\(burst), r.tokens + greatest(0, extract(epoch FROM statement_timestamp() - r.updated_at)::float8) * \(perSecond))), \(n)),
              tokens = least(\(burst), r.tokens + greatest(0, extract(epoch FROM statement_timestamp() - r.updated_at)::float8) * \(perSecond))
                       - least(floor(least(\(burst), r.tokens + greatest(0, extract(epoch FROM statement_timestamp() - r.updated_at)::float8) * \(perSecond))), \(n)),
              updated_at = statement_timestamp()
            RETURNING granted
            """)
        return Int(try rows.first?.decode(Double.self) ?? 0)
    }
}
