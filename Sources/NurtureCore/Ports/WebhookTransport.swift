import Foundation

/// The port webhooks leave through: one HTTP POST (libcurl in `NurtureDelivery`).
public protocol WebhookTransport: Sendable {
    func post(url: String, headers: [(name: String, value: String)], body: Data) async -> WebhookResponse
}

/// What a receiver answered, or why no answer came.
public struct WebhookResponse: Sendable, Equatable {
    /// The HTTP status; `nil` when there was no response (connection refused, timeout, TLS).
    public var status: Int?
    /// The start of the body, or the connection error.
    public var text: String
    /// The receiver's `Retry-After`, in seconds, when it gave one.
    public var retryAfter: TimeInterval?

    public init(status: Int?, text: String, retryAfter: TimeInterval? = nil) {
        self.status = status
        self.text = text
        self.retryAfter = retryAfter
    }

    public var isSuccess: Bool { status.map { (200..<300).contains($0) } ?? false }

    /// One line for the outbox and logs: `HTTP 503: busy` or the connection error.
    public var summary: String {
        let text = self.text.replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        let short = text.count > 200 ? String(text.prefix(200)) + "…" : text
        guard let status else { return short }
        return short.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(short)"
    }
}
