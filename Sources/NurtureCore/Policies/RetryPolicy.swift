import Foundation

/// What a failed delivery attempt leads to: the domain's rule, apart from any transport.
///
/// - A transient failure (connection, timeout, 4xx, 429/5xx) is retried after exponential
///   backoff with jitter — or the relay's `Retry-After`, if longer — until `maxAttempts`.
/// - A relay that cannot be reached at all (the connection phase) is an outage, not the
///   message's fault: retried with backoff up to `maxDelay`, never failed for good.
/// - A relay that refuses us (credentials, TLS) is the configuration: retried, never final.
/// - A permanent refusal of the recipient is a hard bounce; of the message, a final failure.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var firstDelay: TimeSpan
    public var maxDelay: TimeSpan

    public init(maxAttempts: Int = 8, firstDelay: TimeSpan = .minutes(1), maxDelay: TimeSpan = .hours(6)) {
        self.maxAttempts = max(1, maxAttempts)
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
    }

    /// The decision after a failed attempt.
    public enum Decision: Sendable, Equatable {
        case retry(at: Date, reply: String)
        case fail(reply: String)
        /// The recipient does not exist: suppress the address, end the enrollment.
        case hardBounce(reply: String)
        /// The relay refuses every message: the operator must act; retried meanwhile.
        case misconfigured(retryAt: Date, reply: String)
    }

    /// - Parameters:
    ///   - failure: what the relay (or the connection) said.
    ///   - permanent: whether the transport judged it permanent.
    ///   - attemptsBefore: attempts already made for this send.
    ///   - jitter: a factor in 0.5…1 that spreads the retries of many sends apart.
    public func decide(_ failure: DeliveryFailure, permanent: Bool, attemptsBefore: Int, now: Date, jitter: Double) -> Decision {
        let attempt = attemptsBefore + 1
        if permanent {
            switch failure.phase {
            case .recipient: return .hardBounce(reply: failure.reply)
            case .connection, .authentication: return .misconfigured(retryAt: now + delay(attempt, failure, jitter), reply: failure.description)
            default: return .fail(reply: failure.reply)
            }
        }
        if failure.phase != .connection, attempt >= maxAttempts {
            return .fail(reply: "gave up after \(attempt) attempts: \(failure.reply)")
        }
        return .retry(at: now + delay(attempt, failure, jitter), reply: failure.description)
    }

    /// The wait before attempt `attempt + 1`.
    func delay(_ attempt: Int, _ failure: DeliveryFailure, _ jitter: Double) -> TimeInterval {
        let exponential = min(Double(firstDelay.seconds) * pow(2, Double(min(attempt - 1, 40))), Double(maxDelay.seconds))
        var delay = exponential * min(1, max(0.5, jitter))
        if let asked = failure.retryAfter { delay = max(delay, Double(asked.components.seconds)) }
        return delay
    }
}
