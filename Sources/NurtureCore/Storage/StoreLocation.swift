/// Where the data lives, as the `database` setting names it: a SQLite file (`nurture.sqlite`,
/// `sqlite:path/to/file.sqlite`, `sqlite:///abs/path.sqlite`) or a PostgreSQL URL
/// (`postgres://user:password@host:5432/db`).
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    /// Reads the `database` setting.
    /// - Throws: ``StoreLocationError`` for an empty value or an unknown scheme.
    public init(parsing text: String) throws(StoreLocationError) {
        guard !text.isEmpty else { throw .empty }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else if text.hasPrefix("sqlite://") {
            let path = String(text.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw .empty }
            self = .sqlite(path: path)
        } else if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw .empty }
            self = .sqlite(path: path)
        } else if let colon = text.firstIndex(of: ":"), text[..<colon].allSatisfy({ $0.isLetter || $0 == "+" }), text[colon...].hasPrefix("://") {
            throw .unsupportedScheme(String(text[..<colon]))
        } else {
            self = .sqlite(path: text)
        }
    }

    /// The location with any password replaced, for logs.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let url):
            guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://"),
                  let colon = url[scheme.upperBound..<at].firstIndex(of: ":") else { return url }
            return String(url[..<url.index(after: colon)]) + "<redacted>" + String(url[at...])
        }
    }
}

/// Why a `database` setting cannot be used.
public enum StoreLocationError: Error, Equatable, CustomStringConvertible {
    case empty
    case unsupportedScheme(String)

    public var description: String {
        switch self {
        case .empty: "database is empty: give a SQLite file (nurture.sqlite) or a postgres:// URL"
        case .unsupportedScheme(let scheme): "database scheme '\(scheme)' is not supported: use a SQLite file path, sqlite:PATH or postgres://"
        }
    }
}
