import NurtureCore

/// How to reach an SMTP relay.
public struct SMTPConfiguration: Sendable, CustomStringConvertible {
    /// Whether to upgrade a plain `smtp://` connection with STARTTLS.
    /// (`smtps://` URLs use TLS from the first byte and ignore this.)
    public enum STARTTLS: String, Sendable, CaseIterable {
        /// Fail unless the server offers STARTTLS and the handshake succeeds.
        case required
        /// Use STARTTLS when the server offers it; otherwise continue in plain text.
        case opportunistic
        /// Never use STARTTLS.
        case off
    }

    /// `smtp://host[:port][/helo-name]` or `smtps://host[:port]`.
    public var url: String
    public var username: String?
    public var password: Secret?
    /// Defaults to `.required` when credentials are set (a password is never sent in
    /// the clear), else `.opportunistic`.
    public var starttls: STARTTLS
    /// Verify the server's certificate and host name (turn off only for tests).
    public var verifyPeer: Bool
    /// A PEM bundle of CA certificates to trust instead of the system's.
    public var caFile: String?
    public var connectTimeout: Duration
    /// The whole exchange for one message, connection included.
    public var timeout: Duration
    /// How many connections send in parallel; each is reused for many messages.
    public var connections: Int

    public init(
        url: String, username: String? = nil, password: Secret? = nil, starttls: STARTTLS? = nil,
        verifyPeer: Bool = true, caFile: String? = nil, connectTimeout: Duration = .seconds(10),
        timeout: Duration = .seconds(60), connections: Int = 4
    ) {
        self.url = url
        self.username = username
        self.password = password
        self.starttls = starttls ?? (username == nil ? .opportunistic : .required)
        self.verifyPeer = verifyPeer
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.connections = connections
    }

    public var description: String {
        var text = "SMTP \(RelayURL.redacted(url)) starttls=\(starttls.rawValue) connections=\(connections)"
        if let username { text += " user=\(username)" }
        return text
    }
}
