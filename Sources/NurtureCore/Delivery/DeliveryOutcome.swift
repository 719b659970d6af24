/// What a relay said about one message.
public enum DeliveryOutcome: Sendable, Equatable {
    /// The relay took responsibility for the message. `reply` is its answer
    /// (e.g. `250 2.0.0 Ok: queued as 4F2A1`, or an API's JSON).
    case accepted(reply: String)
    /// Not delivered this time; the same message may be retried later
    /// (connection failure, timeout, SMTP 4xx, HTTP 429/5xx).
    case transientFailure(DeliveryFailure)
    /// Not delivered and retrying will not help (SMTP 5xx, HTTP 4xx other than 429).
    case permanentFailure(DeliveryFailure)

    /// True for ``accepted(reply:)``.
    public var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }

    /// The failure, for the two failure cases.
    public var failure: DeliveryFailure? {
        switch self {
        case .accepted: nil
        case .transientFailure(let f), .permanentFailure(let f): f
        }
    }
}

/// Why a message was not accepted, as precisely as the relay said it.
public struct DeliveryFailure: Sendable, Equatable, Error, CustomStringConvertible {
    /// Where in the exchange it failed.
    public enum Phase: String, Sendable {
        /// Could not reach the relay or the connection broke (DNS, TCP, TLS, timeout).
        case connection
        /// The relay refused our credentials.
        case authentication
        /// The relay refused the envelope sender.
        case sender
        /// The relay refused the recipient: the signal for a hard or soft bounce.
        case recipient
        /// The relay refused the message content, after DATA.
        case content
        /// An HTTP relay answered with a non-success status.
        case response
        /// Writing the message locally failed (file transport).
        case storage
    }

    public var phase: Phase
    /// The protocol status: the SMTP reply code or the HTTP status, when there was one.
    public var code: Int?
    /// The relay's own words (the SMTP reply text or the HTTP body), or a description of the
    /// local error when the relay said nothing.
    public var reply: String
    /// How long the relay asked us to wait before retrying (HTTP `Retry-After`).
    public var retryAfter: Duration?

    public init(phase: Phase, code: Int? = nil, reply: String, retryAfter: Duration? = nil) {
        self.phase = phase
        self.code = code
        self.reply = reply
        self.retryAfter = retryAfter
    }

    public var description: String {
        var text = "\(phase.rawValue) failed"
        if let code { text += " (\(code))" }
        if !reply.isEmpty { text += ": \(reply)" }
        if let retryAfter { text += " [retry after \(retryAfter.components.seconds)s]" }
        return text
    }
}
