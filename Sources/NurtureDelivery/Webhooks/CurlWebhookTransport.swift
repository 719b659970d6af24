import CCurl
import Foundation
import NurtureCore

/// POSTs outbound webhooks with libcurl, over a small pool of kept-alive connections.
///
/// Redirects are not followed (a receiver that moved must be reconfigured, not guessed);
/// only http and https are allowed; each attempt has a connect and a total timeout, so a
/// receiver that hangs costs one attempt, never a stuck worker.
public final class CurlWebhookTransport: WebhookTransport {
    private let pool: CurlTransferPool

    /// - Parameters:
    ///   - connections: POSTs in flight at once.
    ///   - timeout: the most one attempt may take, connecting included.
    ///   - caFile: a CA bundle for receivers with a private CA.
    public init(connections: Int = 4, timeout: Duration = .seconds(15), connectTimeout: Duration = .seconds(5), caFile: String? = nil) {
        let timeoutMS = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let connectMS = Int(connectTimeout.components.seconds * 1000 + connectTimeout.components.attoseconds / 1_000_000_000_000_000)
        pool = CurlTransferPool(size: connections, label: "nurture.hooks") { easy in
            easy.set(CURLOPT_POST, 1)
            easy.set(CURLOPT_FOLLOWLOCATION, 0)
            easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
            easy.set(CURLOPT_USERAGENT, "nurture-webhooks")
            easy.set(CURLOPT_CONNECTTIMEOUT_MS, connectMS)
            easy.set(CURLOPT_TIMEOUT_MS, timeoutMS)
            if let caFile { easy.set(CURLOPT_CAINFO, caFile) }
        }
    }

    public func post(url: String, headers: [(name: String, value: String)], body: Data) async -> WebhookResponse {
        let lines = ["Content-Type: application/json", "Expect:"] + headers.map { "\($0.name): \($0.value)" }
        let bytes = [UInt8](body)
        let response = await pool.transfer { easy in
            easy.set(CURLOPT_URL, url)
            easy.set(CURLOPT_HTTPHEADER, list: lines)
            easy.set(CURLOPT_POSTFIELDSIZE_LARGE, size: Int64(bytes.count))
            easy.setRequestBody(bytes)
        }
        guard response.code == .ok else { return WebhookResponse(status: nil, text: response.errorText) }
        let text = String(decoding: response.body.prefix(512), as: UTF8.self)
        let retryAfter = HTTPRelayTransport.header("Retry-After", in: response.headerLines)
            .flatMap { RetryAfter.parse($0, now: Date()) }
            .map { Double($0.components.seconds) }
        return WebhookResponse(status: response.responseCode, text: text, retryAfter: retryAfter)
    }
}
