import NurtureCore
import NurtureSQLite

/// Opens the store a `database` setting names: SQLite today; PostgreSQL is its own issue and
/// is refused with a clear message until it lands.
public enum StoreFactory {
    /// Opens the store at `location`, bringing its schema up to date when `migrate` is set.
    public static func open(_ location: StoreLocation, migrate: Bool = true) throws -> any NurtureStore & SchemaMigrating {
        switch location {
        case .sqlite(let path):
            return try SQLiteStore(path: path, migrate: migrate)
        case .postgres:
            throw StoreFactoryError.postgresNotBuilt(location.description)
        }
    }
}

public enum StoreFactoryError: Error, CustomStringConvertible {
    case postgresNotBuilt(String)

    public var description: String {
        switch self {
        case .postgresNotBuilt(let url):
            "\(url): PostgreSQL storage is not built yet; use a SQLite file (database: nurture.sqlite)"
        }
    }
}
