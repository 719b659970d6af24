import PostgresNIO

/// A PostgreSQL error as an operator can read it: the server's message and SQLSTATE, or what
/// went wrong with the connection. (postgres-nio's own errors print a generic text, to keep
/// query values out of logs; this keeps them out too: it never carries the query or its binds.)
public struct PostgresStoreError: Error, CustomStringConvertible {
    /// The SQLSTATE the server sent, if it sent one.
    public let sqlState: String?
    public let description: String

    init(_ error: PSQLError) {
        sqlState = error.serverInfo?[.sqlState]
        if let message = error.serverInfo?[.message] {
            var text = "PostgreSQL: \(message)"
            if let detail = error.serverInfo?[.detail] { text += " (\(detail))" }
            if let sqlState { text += " [SQLSTATE \(sqlState)]" }
            description = text
        } else if let underlying = error.underlying {
            description = "PostgreSQL \(error.code): \(underlying)"
        } else {
            description = "PostgreSQL: \(error.code)"
        }
    }

    /// A problem found in what the server answered, not reported by it.
    init(message: String) {
        sqlState = nil
        description = "PostgreSQL: \(message)"
    }

    init(_ error: PostgresDecodingError) {
        sqlState = nil
        description = "PostgreSQL: column \(error.columnName) (\(error.postgresType)) cannot be read as \(error.targetType): \(error.code)"
    }

    /// `error` made readable when it came from postgres-nio, unchanged otherwise.
    static func readable(_ error: any Error) -> any Error {
        if let error = error as? PSQLError { return PostgresStoreError(error) }
        if let error = error as? PostgresDecodingError { return PostgresStoreError(error) }
        if let error = error as? PostgresTransactionError {
            return readable(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error)
        }
        return error
    }
}
