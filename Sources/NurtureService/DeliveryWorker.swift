import Foundation
import Logging
import NurtureContent
import NurtureCore

/// Takes queued sends from the outbox, renders them, hands them to the relay with bounded
/// concurrency and the relay's rate limit, and records the outcome.
///
/// - Accepted: recorded with the Message-ID and the relay's reply.
/// - Transient (connection, timeout, 4xx, 429/5xx): retried with exponential backoff and
///   jitter (or the relay's `Retry-After`, if longer), up to `maxAttempts`.
/// - Permanent for the recipient (5xx to RCPT): a hard bounce — the address is suppressed and
///   the lead's enrollment ends. Permanent for the content: failed, address kept.
/// - Permanent for the relay itself (refused credentials, TLS required but not offered): it
///   is the configuration, not the message — retried like a transient failure, and logged.
/// The send is recorded in the outbox before the relay sees it; if the process dies mid-way,
/// the lease expires and the same send (same key, same Message-ID) goes out again.
public struct DeliveryWorker: Sendable {
    public let store: any NurtureStore
    public let scheduler: Scheduler
    public let transport: any MailTransport
    public let concurrency: Int
    public let maxAttempts: Int
    public let retryBase: TimeSpan
    public let retryMax: TimeSpan
    public let rateLimiter: RateLimiter?
    public let logger: Logger
    public let metrics: NurtureMetrics?
    /// How long a claimed send stays reserved for this worker.
    public var lease = TimeSpan.minutes(5)

    public init(
        store: any NurtureStore, scheduler: Scheduler, transport: any MailTransport, concurrency: Int, maxAttempts: Int,
        retryBase: TimeSpan, retryMax: TimeSpan, rateLimiter: RateLimiter?, logger: Logger, metrics: NurtureMetrics? = nil
    ) {
        self.metrics = metrics
        self.store = store
        self.scheduler = scheduler
        self.transport = transport
        self.concurrency = max(1, concurrency)
        self.maxAttempts = maxAttempts
        self.retryBase = retryBase
        self.retryMax = retryMax
        self.rateLimiter = rateLimiter
        self.logger = logger
    }

    /// Delivers every send due at `now` (in batches). Returns the outcomes by kind.
    @discardableResult
    public func deliverDue(now: Date) async throws -> DeliveryTally {
        var tally = DeliveryTally()
        while true {
            let batch = try await store.claimSends(now: now, limit: max(64, concurrency * 16), leaseUntil: now + lease)
            if batch.isEmpty { return tally }
            try await withThrowingTaskGroup(of: (Int64, SendResult).self) { group in
                var next = batch.makeIterator()
                for _ in 0..<concurrency {
                    guard let send = next.next() else { break }
                    group.addTask { (send.id, try await attempt(send, now: now)) }
                }
                // Outcomes are written in small groups: few transactions, and few sends whose
                // outcome a crash could lose (those go out again, with the same Message-ID).
                var done: [(id: Int64, result: SendResult)] = []
                while let (id, result) = try await group.next() {
                    done.append((id, result))
                    tally.count(result)
                    metrics?.send(result.outcome)
                    if done.count >= Self.recordEvery {
                        try await store.completeSends(done, now: now)
                        done.removeAll(keepingCapacity: true)
                    }
                    if let send = next.next() { group.addTask { (send.id, try await attempt(send, now: now)) } }
                }
                try await store.completeSends(done, now: now)
            }
        }
    }

    /// Outcomes written per transaction.
    static let recordEvery = 16

    private func attempt(_ send: OutboxSend, now: Date) async throws -> SendResult {
        let key = send.request.key
        guard let state = send.lead else { return .skipped(reason: "the lead no longer exists") }
        if let suppression = state.suppression { return .skipped(reason: "lead \(suppression.rawValue)") }
        if let suppression = send.addressSuppression { return .skipped(reason: "address \(suppression.rawValue)") }
        // The window was checked when the send was planned; a retry hours later may fall at night.
        let engine = scheduler.workflows.engine
        if let window = engine.workflow.sequence(key.sequence)?.sendWindow ?? engine.workflow.settings.sendWindow {
            let zone = engine.timeZone(for: state.lead)
            let opening = window.nextOpening(atOrAfter: now, in: zone)
            if opening > now { return .deferred(until: opening, reason: "outside the send window (\(window), \(zone.identifier))") }
        }

        let rendered: EmailRenderer.Rendered
        do {
            rendered = try scheduler.workflows.renderer.render(
                template: send.request.template, lead: state.lead, key: key, date: Int64(now.timeIntervalSince1970),
                tracking: send.request.tracking, subject: send.request.subject)
        } catch {
            logger.error("cannot render send", metadata: ["send": "\(send.id)", "template": "\(send.request.template)", "error": "\(error)"])
            return .failed(reply: "not rendered: \(error)")
        }
        if let rateLimiter { await rateLimiter.acquire() }
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = await transport.deliver(rendered.message)
        metrics?.relayLatency.record(started.duration(to: clock.now))
        switch outcome {
        case .accepted(let reply):
            return .sent(messageID: rendered.message.messageID, reply: reply, tokenID: rendered.sendID.description, links: rendered.trackedLinks)
        case .transientFailure(let failure):
            return retryOrGiveUp(send, failure, now: now)
        case .permanentFailure(let failure):
            switch failure.phase {
            case .recipient:
                logger.notice("hard bounce: address suppressed", metadata: ["send": "\(send.id)", "code": "\(failure.code ?? 0)"])
                let bounce = Event(Event.Kind.bounced, at: now, properties: [
                    "type": "hard", "reason": failure.reply, "sequence": key.sequence, "step": key.step, "enrollment": "\(key.enrollment)", "occurrence": "\(key.occurrence)",
                ])
                _ = try await store.recordEvent(bounce, leadID: key.leadID, clientID: "bounce-\(send.id)", sendID: send.id)
                try await store.suppress(email: state.lead.email, reason: .bounced, now: now)
                try await scheduler.handle(bounce, lead: .id(key.leadID), now: now)
                return .failed(reply: failure.reply)
            case .connection, .authentication:
                logger.error("the relay refuses every message: check the relay settings", metadata: ["error": "\(failure)"])
                return retryOrGiveUp(send, failure, now: now, finalAllowed: false)
            default:
                return .failed(reply: failure.reply)
            }
        }
    }

    /// A retry after exponential backoff with jitter, or a final failure after `maxAttempts`.
    private func retryOrGiveUp(_ send: OutboxSend, _ failure: DeliveryFailure, now: Date, finalAllowed: Bool = true) -> SendResult {
        let attempt = send.attempts + 1
        if finalAllowed, attempt >= maxAttempts {
            return .failed(reply: "gave up after \(attempt) attempts: \(failure.reply)")
        }
        let exponential = min(Double(retryBase.seconds) * pow(2, Double(attempt - 1)), Double(retryMax.seconds))
        var delay = exponential * Double.random(in: 0.5...1.0) // jitter: retries from many sends spread out
        if let asked = failure.retryAfter { delay = max(delay, Double(asked.components.seconds)) }
        return .retry(at: now.addingTimeInterval(delay), reply: failure.description)
    }
}

extension SendResult {
    /// The metric label for this result.
    var outcome: String {
        switch self {
        case .sent: "sent"
        case .retry: "retry"
        case .failed: "failed"
        case .skipped: "skipped"
        case .deferred: "deferred"
        }
    }
}

/// Counts of what a delivery pass did.
public struct DeliveryTally: Sendable, Equatable {
    public var sent = 0
    public var retried = 0
    public var failed = 0
    public var skipped = 0
    public var deferred = 0

    public init() {}

    mutating func count(_ result: SendResult) {
        switch result {
        case .sent: sent += 1
        case .retry: retried += 1
        case .failed: failed += 1
        case .skipped: skipped += 1
        case .deferred: deferred += 1
        }
    }

    public var total: Int { sent + retried + failed + skipped + deferred }
}
