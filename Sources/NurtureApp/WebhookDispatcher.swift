import Foundation
import Logging
import NurtureContent
import NurtureCore

/// Delivers the outbound webhooks queued in the outbox: claims the due ones under leases,
/// signs each (Standard Webhooks), POSTs it, and records the outcome, fenced.
///
/// - 2xx: delivered.
/// - No answer, 408, 409, 425, 429 or 5xx: tried again with the endpoint's backoff (or the
///   receiver's `Retry-After`), dead after its last attempt.
/// - Another 4xx: the receiver refuses this message; it is tried again the same way, since a
///   receiver's 4xx is often its configuration being fixed, and dead after the last attempt.
/// - An endpoint this process does not have in its configuration (another process with a
///   newer one queued it, or it was removed): tried again with the default backoff, so a
///   process that has it takes it; dead after the default number of attempts.
///
/// Delivery is at least once: a receiver drops repeats by `webhook-id`.
public final class WebhookDispatcher: Sendable {
    /// An endpoint with the secret its messages are signed with.
    public struct Target: Sendable {
        public var endpoint: WebhookEndpoint
        public var signature: WebhookSignature

        public init(endpoint: WebhookEndpoint, signature: WebhookSignature) {
            self.endpoint = endpoint
            self.signature = signature
        }
    }

    public let store: any WebhookOutbox & WorkerRegistry
    let transport: any WebhookTransport
    let targets: [String: Target]
    public let worker: WorkerIdentity
    /// Webhooks claimed at a time: as many as POSTs run at once.
    let batch: Int
    /// How long a claim lasts: longer than any attempt can take.
    let lease: TimeSpan
    let metrics: (any ServiceMetrics)?
    let logger: Logger

    public init(store: any WebhookOutbox & WorkerRegistry, transport: any WebhookTransport, targets: [Target], worker: WorkerIdentity,
                concurrency: Int = 4, lease: TimeSpan = .minutes(2), metrics: (any ServiceMetrics)? = nil, logger: Logger) {
        self.store = store
        self.transport = transport
        self.targets = Dictionary(targets.map { ($0.endpoint.url, $0) }, uniquingKeysWith: { first, _ in first })
        self.worker = worker
        self.batch = max(1, concurrency)
        self.lease = lease
        self.metrics = metrics
        self.logger = logger
    }

    /// What a pass did.
    public struct Tally: Sendable, Equatable {
        public var delivered = 0
        public var retried = 0
        public var dead = 0
        public var total: Int { delivered + retried + dead }
        public init() {}
    }

    /// Delivers every webhook due at `now()`, batch after batch, until none is left (or
    /// `shouldStop`). Each attempt is signed at the time it is made.
    public func deliverDue(now: @escaping @Sendable () -> Date, shouldStop: @escaping @Sendable () -> Bool = { false }) async throws -> Tally {
        var tally = Tally()
        while !shouldStop() {
            let claimed = try await store.claimWebhooks(now: now(), limit: batch, worker: worker, duration: lease)
            if claimed.isEmpty { break }
            let results = await withTaskGroup(of: (QueuedWebhook, WebhookResult).self) { group in
                for webhook in claimed {
                    group.addTask { (webhook, await self.attempt(webhook, now: now)) }
                }
                var results: [(webhook: QueuedWebhook, result: WebhookResult)] = []
                for await result in group { results.append(result) }
                return results.sorted { $0.webhook.rowID < $1.webhook.rowID }
            }
            for (webhook, result) in results {
                switch result {
                case .delivered: tally.delivered += 1
                case .retry: tally.retried += 1
                case .dead:
                    tally.dead += 1
                    logger.warning("webhook dead-lettered", metadata: ["id": "\(webhook.message.id)", "endpoint": "\(webhook.message.endpoint)", "type": "\(webhook.message.type.rawValue)"])
                }
                metrics?.webhookOutcome(Self.outcomeName(result))
            }
            let stale = try await store.completeWebhooks(results, now: now())
            if stale > 0 { metrics?.staleCompletions(stale) }
        }
        return tally
    }

    /// One signed POST and what it leads to.
    func attempt(_ webhook: QueuedWebhook, now: @Sendable () -> Date) async -> WebhookResult {
        let message = webhook.message
        guard let target = targets[message.endpoint] else {
            let error = "attempt \(webhook.attempts + 1): the endpoint is not in this process's configuration (webhooks:)"
            if let next = WebhookRetry().next(after: webhook.attempts + 1, now: now(), jitter: Double.random(in: 0.5...1)) {
                return .retry(at: next, error: error)
            }
            return .dead(error: error)
        }
        let timestamp = Int(now().timeIntervalSince1970)
        let headers = target.signature.headers(id: message.id, timestamp: timestamp, body: message.body)
        let response = await transport.post(url: message.endpoint, headers: headers, body: message.body)
        if response.isSuccess { return .delivered(response: response.summary) }
        let attempts = webhook.attempts + 1
        let error = "attempt \(attempts): \(response.summary)"
        if let next = target.endpoint.retry.next(after: attempts, now: now(), jitter: Double.random(in: 0.5...1), retryAfter: response.retryAfter) {
            logger.info("webhook not delivered; will retry", metadata: ["id": "\(message.id)", "endpoint": "\(message.endpoint)", "error": "\(response.summary)", "retry_at": "\(next)"])
            return .retry(at: next, error: error)
        }
        return .dead(error: "gave up after \(attempts) attempts: \(response.summary)")
    }

    /// Gives back what this dispatcher holds and removes its worker record (it stops).
    public func retire(now: Date) async throws {
        try await store.retire(worker, now: now)
    }

    static func outcomeName(_ result: WebhookResult) -> String {
        switch result {
        case .delivered: "delivered"
        case .retry: "retry"
        case .dead: "dead"
        }
    }
}
