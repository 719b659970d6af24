import CCurl
import Foundation
import NurtureCore

/// Sends messages to an HTTP email API with libcurl: one POST per message, over a pool
/// of kept-alive connections.
///
/// Outcomes: 2xx accepted; 408, 429 and 5xx transient (honouring `Retry-After`);
/// any other status permanent; connection errors transient.
public final class HTTPRelayTransport: MailTransport {
    public let configuration: HTTPRelayConfiguration
    private let pool: CurlTransferPool

    public convenience init(configuration: HTTPRelayConfiguration) {
        self.init(configuration: configuration, threads: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// - Parameter threads: how many threads drive the connections (``CurlTransferPool``).
    init(configuration: HTTPRelayConfiguration, threads: Int) {
        self.configuration = configuration
        self.pool = CurlTransferPool(size: configuration.connections, label: "nurture.relay", threads: threads) { easy in
            HTTPRelayTransport.configure(easy, with: configuration)
        }
    }

    public func deliver(_ message: OutgoingMessage) async -> DeliveryOutcome {
        let body = configuration.format.body(for: message)
        let response = await pool.transfer { easy in
            easy.set(CURLOPT_POSTFIELDSIZE_LARGE, size: Int64(body.count))
            easy.setRequestBody(body)
        }
        return Self.classify(response, now: Date())
    }

    private static func configure(_ easy: CurlEasy, with configuration: HTTPRelayConfiguration) {
        easy.set(CURLOPT_URL, configuration.url)
        easy.set(CURLOPT_POST, 1)
        easy.set(CURLOPT_FOLLOWLOCATION, 0)
        easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        easy.set(CURLOPT_USERAGENT, "nurture")
        var headers = ["Content-Type: \(configuration.format.contentType)", "Accept: application/json", "Expect:"]
        headers += configuration.headers.map { "\($0.name): \($0.value.value)" }
        easy.set(CURLOPT_HTTPHEADER, list: headers)
        easy.set(CURLOPT_SSL_VERIFYPEER, configuration.verifyPeer ? 1 : 0)
        easy.set(CURLOPT_SSL_VERIFYHOST, configuration.verifyPeer ? 2 : 0)
        if let caFile = configuration.caFile { easy.set(CURLOPT_CAINFO, caFile) }
        easy.set(CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.milliseconds)
        easy.set(CURLOPT_TIMEOUT_MS, configuration.timeout.milliseconds)
    }

    static func classify(_ response: CurlResponse, now: Date) -> DeliveryOutcome {
        guard response.code == .ok else {
            let failure = DeliveryFailure(phase: .connection, reply: response.errorText)
            switch response.code {
            case .unsupportedProtocol, .malformedURL, .peerFailedVerification, .sslCACert:
                return .permanentFailure(failure)
            default:
                return .transientFailure(failure)
            }
        }
        let status = response.responseCode
        let text = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if (200..<300).contains(status) {
            return .accepted(reply: text.isEmpty ? "HTTP \(status)" : text)
        }
        let retryAfter = header("Retry-After", in: response.headerLines).flatMap { RetryAfter.parse($0, now: now) }
        let failure = DeliveryFailure(phase: .response, code: status, reply: text.isEmpty ? "HTTP \(status)" : text, retryAfter: retryAfter)
        if status == 408 || status == 429 || (500..<600).contains(status) {
            return .transientFailure(failure)
        }
        return .permanentFailure(failure)
    }

    /// The value of the last `name:` header in the final response's header block.
    static func header(_ name: String, in lines: [String]) -> String? {
        // After redirects or 100-continue there are several blocks; only the last counts.
        let lastBlock = lines.lastIndex(where: { $0.hasPrefix("HTTP/") }).map { lines[$0...] } ?? lines[...]
        let prefix = name.lowercased() + ":"
        return lastBlock.last(where: { $0.lowercased().hasPrefix(prefix) })
            .map { String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) }
    }
}
