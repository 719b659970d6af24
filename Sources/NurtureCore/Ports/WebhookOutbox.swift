import Foundation

/// The webhook outbox port: outbound webhooks queued in the transaction of the change that
/// called for them (see ``WebhookRoutes``), claimed under fenced leases like sends, retried
/// with backoff, and dead-lettered when their endpoint never takes them.
///
/// A worker's webhook leases are renewed by its heartbeat and given back when it is found
/// dead or retires (``WorkerRegistry``), exactly as its sends are.
public protocol WebhookOutbox: Sendable {
    /// Takes up to `limit` queued webhooks that are due, oldest first, leased to `worker`
    /// until `now + duration` with a new fencing epoch each. Expired leases go back first.
    func claimWebhooks(now: Date, limit: Int, worker: WorkerIdentity, duration: TimeSpan) async throws -> [QueuedWebhook]

    /// Records the attempts' outcomes in one transaction; results of stale leases change
    /// nothing. - Returns: how many were refused as stale.
    @discardableResult
    func completeWebhooks(_ results: [(webhook: QueuedWebhook, result: WebhookResult)], now: Date) async throws -> Int

    /// The soonest time a queued webhook is due (or a lease runs out).
    func nextWebhookDue() async throws -> Date?

    /// A lead's webhooks, newest first, at most `limit`.
    func webhooks(leadID: String, limit: Int) async throws -> [WebhookRecord]

    /// Webhooks by status, optionally only `status`, newest first (`nurture webhooks list`).
    func webhooks(status: WebhookStatus?, limit: Int) async throws -> [WebhookRecord]

    /// Puts dead webhooks (`ids`, or all of them when `ids` is empty) back in the queue, due
    /// now, with their attempts counted from zero. - Returns: how many were queued again.
    @discardableResult
    func requeueDeadWebhooks(ids: [Int64], now: Date) async throws -> Int

    /// How many webhooks are in each status (for `/metrics`).
    func webhookCounts() async throws -> [WebhookStatus: Int]
}

public enum WebhookStatus: String, Sendable, Codable, CaseIterable {
    /// Waiting for its first attempt or a retry.
    case queued
    /// Leased to a worker that is POSTing it.
    case sending
    /// The endpoint answered 2xx.
    case delivered
    /// Every attempt failed, or the endpoint is no longer configured: kept, never retried
    /// unless an operator queues it again.
    case dead
}

/// A webhook claimed for delivery.
public struct QueuedWebhook: Sendable, Equatable {
    /// The outbox row.
    public var rowID: Int64
    public var message: WebhookMessage
    /// Attempts made before this one.
    public var attempts: Int
    public var lease: Lease

    public init(rowID: Int64, message: WebhookMessage, attempts: Int, lease: Lease) {
        self.rowID = rowID
        self.message = message
        self.attempts = attempts
        self.lease = lease
    }
}

/// What became of one attempt.
public enum WebhookResult: Sendable, Equatable {
    /// 2xx; `response` is what the receiver said (status and the start of the body).
    case delivered(response: String)
    /// Failed; tried again at `at`.
    case retry(at: Date, error: String)
    /// Failed for good: out of attempts, or the endpoint is gone from the configuration.
    case dead(error: String)
}

/// A webhook as `leads show` and `nurture webhooks list` show it.
public struct WebhookRecord: Sendable, Equatable, Codable {
    public var rowID: Int64
    public var id: String
    public var endpoint: String
    public var type: WebhookEventType
    public var leadID: String
    public var status: WebhookStatus
    public var attempts: Int
    public var createdAt: Date
    public var nextAttemptAt: Date?
    public var deliveredAt: Date?
    public var lastError: String?

    public init(rowID: Int64, id: String, endpoint: String, type: WebhookEventType, leadID: String, status: WebhookStatus, attempts: Int,
                createdAt: Date, nextAttemptAt: Date?, deliveredAt: Date?, lastError: String?) {
        self.rowID = rowID
        self.id = id
        self.endpoint = endpoint
        self.type = type
        self.leadID = leadID
        self.status = status
        self.attempts = attempts
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
        self.deliveredAt = deliveredAt
        self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey {
        case rowID = "row_id", id, endpoint, type, leadID = "lead_id", status, attempts, createdAt = "created_at"
        case nextAttemptAt = "next_attempt_at", deliveredAt = "delivered_at", lastError = "last_error"
    }
}
