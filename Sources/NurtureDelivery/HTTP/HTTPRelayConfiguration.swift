import NurtureCore

/// How to reach an HTTP email API.
public struct HTTPRelayConfiguration: Sendable, CustomStringConvertible {
    /// `https://…` (or `http://…` on a trusted network) endpoint that accepts one message per POST.
    public var url: String
    /// Extra request headers, e.g. `Authorization: Bearer …`. Values are secrets: never logged.
    public var headers: [(name: String, value: Secret)]
    /// The shape of the JSON body; see ``HTTPRelayFormat``.
    public var format: HTTPRelayFormat
    public var verifyPeer: Bool
    public var caFile: String?
    public var connectTimeout: Duration
    public var timeout: Duration
    /// How many requests run in parallel; each connection is kept alive for the next.
    public var connections: Int

    public init(
        url: String, headers: [(name: String, value: Secret)] = [], format: HTTPRelayFormat = .nurture,
        verifyPeer: Bool = true, caFile: String? = nil, connectTimeout: Duration = .seconds(10),
        timeout: Duration = .seconds(30), connections: Int = 4
    ) {
        self.url = url
        self.headers = headers
        self.format = format
        self.verifyPeer = verifyPeer
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.connections = connections
    }

    public var description: String {
        let names = headers.map(\.name).joined(separator: ",")
        return "HTTP \(RelayURL.redacted(url)) format=\(format.rawValue) connections=\(connections)"
            + (names.isEmpty ? "" : " headers=\(names)")
    }
}
