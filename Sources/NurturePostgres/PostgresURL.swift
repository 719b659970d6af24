import Foundation
import NIOSSL
import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=…` URL, read into the settings
/// postgres-nio takes (it has no URL parser of its own).
///
/// Supported query parameters: `sslmode` as libpq reads it (`disable`; `prefer`, the default,
/// and `require`: encrypted, the certificate not checked; `verify-ca` and `verify-full`:
/// encrypted, the certificate and host name verified against the system's CAs),
/// `application_name`, and `pool_size` (the most connections this process opens, default 10).
public struct PostgresURL: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    public var poolSize: Int
    public var applicationName: String

    public enum SSLMode: String, Sendable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    /// - Throws: ``PostgresURLError`` naming what is wrong, never echoing the password.
    public init(_ text: String) throws(PostgresURLError) {
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"),
              let components = URLComponents(string: text) else { throw .malformed }
        guard let host = components.host, !host.isEmpty else { throw .missingPart("host") }
        self.host = host
        port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw .invalid("port", String(port)) }
        // Percent-decoded once (a password "50%OFF" is written 50%25OFF).
        guard let user = components.percentEncodedUser, !user.isEmpty else { throw .missingPart("user") }
        username = user.removingPercentEncoding ?? user
        password = components.percentEncodedPassword.map { $0.removingPercentEncoding ?? $0 }
        let path = components.percentEncodedPath.hasPrefix("/") ? String(components.percentEncodedPath.dropFirst()) : components.percentEncodedPath
        database = path.removingPercentEncoding ?? path
        guard !database.isEmpty else { throw .missingPart("database name (the path: postgres://user@host/DATABASE)") }
        sslMode = .prefer
        poolSize = 10
        applicationName = "nurture"
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                switch value {
                case "disable", "allow": sslMode = .disable
                case "prefer": sslMode = .prefer
                case "require": sslMode = .require
                case "verify-ca", "verify-full": sslMode = .verifyFull
                default: throw .invalid("sslmode", value)
                }
            case "pool_size":
                guard let size = Int(value), (1...1000).contains(size) else { throw .invalid("pool_size", value) }
                poolSize = size
            case "application_name":
                applicationName = value
            default:
                throw .unknownParameter(item.name)
            }
        }
    }

    /// The client settings: TLS as `sslmode` says, at most `pool_size` connections, and every
    /// session with `idle_in_transaction_session_timeout` so that a stuck transaction cannot
    /// hold back vacuum for long.
    public func clientConfiguration() -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(Self.unverified)
        case .require: tls = .require(Self.unverified)
        case .verifyFull: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        configuration.options.additionalStartupParameters = [
            ("application_name", applicationName),
            ("idle_in_transaction_session_timeout", "60000"),
        ]
        return configuration
    }

    /// TLS without checking the certificate: what libpq's `prefer` and `require` do.
    static var unverified: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return configuration
    }

    /// The same settings for one connection outside the pool (migrations, LISTEN).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case .disable: tls = .disable
        case .prefer: tls = (try? .prefer(.init(configuration: Self.unverified))) ?? .disable
        case .require: tls = try .require(.init(configuration: Self.unverified))
        case .verifyFull: tls = try .require(.init(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }

    /// The URL with its password replaced, for logs and errors.
    public var description: String {
        "postgres://\(username)\(password == nil ? "" : ":<redacted>")@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }
}

/// Why a PostgreSQL URL cannot be used. Never carries the password.
public enum PostgresURLError: Error, Equatable, CustomStringConvertible {
    case malformed
    case missingPart(String)
    case invalid(String, String)
    case unknownParameter(String)

    public var description: String {
        switch self {
        case .malformed: "not a PostgreSQL URL: expected postgres://user:password@host:5432/database?sslmode=disable|prefer|require"
        case .missingPart(let part): "the PostgreSQL URL has no \(part)"
        case .invalid(let name, let value): "the PostgreSQL URL's \(name) '\(value)' is not valid"
        case .unknownParameter(let name): "the PostgreSQL URL's parameter '\(name)' is not known (known: sslmode, pool_size, application_name)"
        }
    }
}
