import Foundation
import NurtureCore

/// A relay named by a URL, as on the command line and in configuration:
/// `smtp://host:port`, `smtps://host:port`, `https://api.example.com/send`, `file:///path`
/// or `file://relative/path`.
public enum RelayURL: Sendable, CustomStringConvertible {
    case smtp(SMTPConfiguration)
    case http(HTTPRelayConfiguration)
    case file(URL)

    /// Parses `url`; the scheme picks the transport. Options not expressible in the URL
    /// (credentials, TLS mode, headers, body format, connections) come from `options`.
    public static func parse(_ url: String, options: RelayOptions = RelayOptions()) throws(RelayURLError) -> RelayURL {
        guard let schemeEnd = url.range(of: "://") else { throw .missingScheme(url) }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let rest = url[schemeEnd.upperBound...]
        switch scheme {
        case "smtp", "smtps":
            guard let host = URLComponents(string: url)?.host, !host.isEmpty else { throw .missingHost(url) }
            return .smtp(SMTPConfiguration(
                url: url, username: options.username, password: options.password, starttls: options.starttls,
                verifyPeer: options.verifyPeer, caFile: options.caFile, connectTimeout: options.connectTimeout,
                timeout: options.timeout ?? .seconds(60), connections: options.connections
            ))
        case "http", "https":
            guard let host = URLComponents(string: url)?.host, !host.isEmpty else { throw .missingHost(url) }
            return .http(HTTPRelayConfiguration(
                url: url, headers: options.headers, format: options.format, verifyPeer: options.verifyPeer,
                caFile: options.caFile, connectTimeout: options.connectTimeout,
                timeout: options.timeout ?? .seconds(30), connections: options.connections
            ))
        case "file":
            guard !rest.isEmpty else { throw .missingPath(url) }
            let path = rest.removingPercentEncoding ?? String(rest)
            return .file(URL(fileURLWithPath: path, isDirectory: true))
        default:
            throw .unsupportedScheme(String(scheme))
        }
    }

    /// A transport for this relay.
    public func makeTransport() -> any MailTransport {
        switch self {
        case .smtp(let configuration): SMTPTransport(configuration: configuration)
        case .http(let configuration): HTTPRelayTransport(configuration: configuration)
        case .file(let directory): FileTransport(directory: directory)
        }
    }

    public var description: String {
        switch self {
        case .smtp(let configuration): configuration.description
        case .http(let configuration): configuration.description
        case .file(let directory): "files in \(directory.path)"
        }
    }

    /// How many messages the transport sends at once (1 for files).
    public var connections: Int {
        switch self {
        case .smtp(let configuration): configuration.connections
        case .http(let configuration): configuration.connections
        case .file: 1
        }
    }

    /// `url` with any `user:password@` removed, for logs and messages.
    public static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"),
              let at = url[schemeEnd.upperBound...].firstIndex(of: "@"),
              !url[schemeEnd.upperBound..<at].contains("/")
        else { return url }
        return String(url[..<schemeEnd.upperBound]) + "<redacted>@" + String(url[url.index(after: at)...])
    }
}

/// Relay settings that do not fit in a URL.
public struct RelayOptions: Sendable {
    public var username: String?
    public var password: Secret?
    /// `nil` picks the default (see ``SMTPConfiguration/starttls``).
    public var starttls: SMTPConfiguration.STARTTLS?
    public var headers: [(name: String, value: Secret)]
    public var format: HTTPRelayFormat
    public var verifyPeer: Bool
    public var caFile: String?
    public var connectTimeout: Duration
    /// `nil` picks the transport's default.
    public var timeout: Duration?
    public var connections: Int

    public init(
        username: String? = nil, password: Secret? = nil, starttls: SMTPConfiguration.STARTTLS? = nil,
        headers: [(name: String, value: Secret)] = [], format: HTTPRelayFormat = .nurture, verifyPeer: Bool = true,
        caFile: String? = nil, connectTimeout: Duration = .seconds(10), timeout: Duration? = nil, connections: Int = 4
    ) {
        self.username = username
        self.password = password
        self.starttls = starttls
        self.headers = headers
        self.format = format
        self.verifyPeer = verifyPeer
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.connections = connections
    }
}

/// Why a relay URL cannot be used.
public enum RelayURLError: Error, Equatable, CustomStringConvertible {
    case missingScheme(String)
    case unsupportedScheme(String)
    case missingHost(String)
    case missingPath(String)

    public var description: String {
        switch self {
        case .missingScheme(let url):
            "relay '\(RelayURL.redacted(url))' has no scheme: expected smtp://, smtps://, http://, https:// or file://"
        case .unsupportedScheme(let scheme):
            "relay scheme '\(scheme)' is not supported: expected smtp, smtps, http, https or file"
        case .missingHost(let url): "relay '\(RelayURL.redacted(url))' has no host"
        case .missingPath(let url): "relay '\(url)' has no folder: expected file:///path/to/outbox"
        }
    }
}
