import Foundation

/// A receiver of outbound webhooks, as the deployment declares it (`webhooks:` in
/// nurture.yaml): where to POST, which funnel events, and how long to keep trying.
///
/// The signing secret is not here: it is a delivery concern, kept by the dispatcher.
public struct WebhookEndpoint: Sendable, Equatable {
    /// The URL POSTed to; it also names the endpoint in the outbox.
    public var url: String
    public var events: Set<WebhookEventType>
    /// For `stage_changed`: only moves into these stages (`nil`: every move).
    public var stages: Set<String>?
    /// For `score_crossed`: the scores whose crossing is told, up or down.
    public var scoreThresholds: [Int]
    /// Attempts, and the backoff between them, before a message is dead-lettered.
    public var retry: WebhookRetry

    public init(url: String, events: Set<WebhookEventType>, stages: Set<String>? = nil, scoreThresholds: [Int] = [], retry: WebhookRetry = WebhookRetry()) {
        self.url = url
        self.events = events
        self.stages = stages
        self.scoreThresholds = scoreThresholds.sorted()
        self.retry = retry
    }
}

/// When a webhook that failed is tried again: exponential backoff from `firstDelay`, doubling
/// up to `maxDelay`, with jitter; after `maxAttempts` it is dead (kept, shown, never retried).
///
/// The defaults (5 s doubling to 1 h, 30 attempts) keep trying for 10 to 20 hours (the jitter
/// only shortens a delay: about 15 on average), close to the day the Standard Webhooks
/// convention suggests a sender covers.
public struct WebhookRetry: Sendable, Equatable {
    public var maxAttempts: Int
    public var firstDelay: TimeSpan
    public var maxDelay: TimeSpan

    public init(maxAttempts: Int = 30, firstDelay: TimeSpan = TimeSpan(seconds: 5), maxDelay: TimeSpan = .hours(1)) {
        self.maxAttempts = max(1, maxAttempts)
        self.firstDelay = firstDelay
        self.maxDelay = max(firstDelay, maxDelay)
    }

    /// What follows a failed attempt, the `attempts`-th (counting from 1): the time of the
    /// next try, or `nil` when that was the last. `jitter` in 0.5…1 spreads retries apart; a
    /// receiver's `Retry-After` is honoured when longer (capped at `maxDelay`).
    public func next(after attempts: Int, now: Date, jitter: Double, retryAfter: TimeInterval? = nil) -> Date? {
        guard attempts < maxAttempts else { return nil }
        let exponential = min(Double(firstDelay.seconds) * pow(2, Double(min(attempts - 1, 40))), Double(maxDelay.seconds))
        var delay = exponential * min(1, max(0.5, jitter))
        if let retryAfter { delay = max(delay, min(retryAfter, Double(maxDelay.seconds))) }
        return now + delay
    }
}
