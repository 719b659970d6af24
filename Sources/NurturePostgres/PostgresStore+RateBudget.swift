import Foundation
import NurtureCore
import PostgresNIO

/// The relay's rate for the whole deployment: one token bucket row, refilled on the
/// database's clock, from which every process takes permits in small batches.
extension PostgresStore {
    public func takePermits(_ count: Int, perSecond: Double, burst: Double) async throws -> Int {
        try await transaction { connection in
            try await connection.query("""
                INSERT INTO rate_buckets (name, tokens, updated_at) VALUES ('relay', \(burst), clock_timestamp())
                ON CONFLICT (name) DO NOTHING
                """, logger: self.logger)
            let rows = try await connection.rows("""
                WITH b AS (SELECT tokens, updated_at, clock_timestamp() AS at FROM rate_buckets WHERE name = 'relay' FOR UPDATE),
                     c AS (SELECT at, least(\(burst), tokens + greatest(0, extract(epoch FROM at - updated_at)::float8) * \(perSecond)) AS available FROM b)
                UPDATE rate_buckets r SET tokens = c.available - least(floor(c.available), \(Double(count))), updated_at = c.at
                FROM c WHERE r.name = 'relay'
                RETURNING least(floor(c.available), \(Double(count)))::bigint AS granted
                """, logger: self.logger)
            return Int(try rows.first?.value("granted", as: Int64.self) ?? 0)
        }
    }
}
