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
    public let store: any Outbox & WorkerRegistry
    public let scheduler: Scheduler
    public let transport: any MailTransport
    /// Sends in progress at once, rendering or with the transport. More than the transport's
    /// connections lets messages be rendered while the connections carry others (those wait
    /// for a free connection).
    public let concurrency: Int
    /// Messages with the transport at once: its connections.
    public let connections: Int
    private let slots: DeliverySlots
    /// When failed attempts are tried again, and when they are given up.
    public let retry: RetryPolicy
    public let rateLimiter: RateLimiter?
    public let logger: Logger
    public let metrics: (any ServiceMetrics)?
    /// This process, in whose name sends are leased.
    public let worker: WorkerIdentity
    /// How long claims last, how often they are renewed, when a silent worker is dead.
    public var leases = LeasePolicy()

    public init(
        store: any Outbox & WorkerRegistry, scheduler: Scheduler, transport: any MailTransport, concurrency: Int, connections: Int? = nil, maxAttempts: Int,
        retryBase: TimeSpan, retryMax: TimeSpan, rateLimiter: RateLimiter?, logger: Logger, metrics: (any ServiceMetrics)? = nil,
        worker: WorkerIdentity = .current()
    ) {
        self.metrics = metrics
        self.store = store
        self.scheduler = scheduler
        self.transport = transport
        self.concurrency = max(1, concurrency)
        self.connections = max(1, min(connections ?? concurrency, concurrency))
        self.slots = DeliverySlots(self.connections)
        self.retry = RetryPolicy(maxAttempts: maxAttempts, firstDelay: retryBase, maxDelay: retryMax)
        self.rateLimiter = rateLimiter
        self.logger = logger
        self.worker = worker
    }

    /// Delivers every send due at `start` (and what comes due while it runs), keeping every
    /// connection busy but claiming only a little ahead of them (``LeasePolicy/claimAhead``).
    /// While it runs it renews its leases every ``LeasePolicy/heartbeat``.
    ///
    /// - Parameters:
    ///   - start: the time of the pass (a virtual clock in tests); the pass's time moves on
    ///     from it as real time passes, so leases are measured from each claim.
    ///   - shouldStop: checked before each send starts: when it turns true (a graceful
    ///     shutdown) no new send starts, the claimed ones not started are given back, the
    ///     ones in flight finish and are recorded.
    /// - Returns: the outcomes by kind.
    @discardableResult
    public func deliverDue(now start: Date, shouldStop: @escaping @Sendable () -> Bool = { false }) async throws -> DeliveryTally {
        let clock = ContinuousClock()
        let began = clock.now
        let now: @Sendable () -> Date = { start + began.duration(to: clock.now).timeInterval }
        let ahead = leases.claimAhead(concurrency: concurrency, rate: rateLimiter?.perSecond)
        var tally = DeliveryTally()
        do {
            try await pass(now: now, ahead: ahead, shouldStop: shouldStop, tally: &tally)
        } catch {
            // A pass that failed (the database, most likely) gives back everything it holds, so
            // nothing stays leased to a worker that renews its leases but no longer works on them.
            try? await store.retire(worker, now: now())
            throw error
        }
        return tally
    }

    private func pass(now: @escaping @Sendable () -> Date, ahead: Int, shouldStop: @escaping @Sendable () -> Bool, tally: inout DeliveryTally) async throws {
        try await withThrowingTaskGroup(of: Step.self) { group in
            // Claimed sends not started yet, with when they were claimed (on this process's clock).
            var queue: [(send: OutboxSend, claimed: ContinuousClock.Instant)] = []
            // A send not started within two thirds of its lease is not started at all: this
            // process may have been stopped (SIGSTOP, a VM pause) past its lease, and another
            // may hold the send now. It is given back (a fenced no-op if it passed on).
            let startBy = Duration.seconds(leases.duration.seconds * 2 / 3)
            let clock = ContinuousClock()
            var inFlight = 0
            var exhausted = false
            var registered = false
            // The claims and the writes of outcomes run beside the sends, one of each at a time,
            // so that no connection waits for the database (on PostgreSQL a round trip each).
            var claiming = false
            var recording = false
            var done: [(send: OutboxSend, result: SendResult)] = []
            // A claim or a write that failed (the database, most likely): nothing new is claimed
            // or started; the sends under way finish, their outcomes are written if the database
            // takes them, and the error is passed on (deliverDue then gives back the rest).
            var failure: (any Error)?

            func startRecording() {
                let outcomes = done
                done.removeAll(keepingCapacity: true)
                recording = true
                group.addTask { [store] in
                    do { return .recorded(stale: try await store.completeSends(outcomes, now: now())) } catch { return .notRecorded(outcomes, error) }
                }
            }
            func noteStale(_ stale: Int) {
                guard stale > 0 else { return }
                metrics?.staleCompletions(stale)
                logger.warning("outcomes refused: the lease had passed to another worker", metadata: ["stale": "\(stale)"])
            }

            while true {
                // Claim a little ahead of the free connections, never far ahead, and in batches:
                // once half the queue is used (a claim takes some messages' time, a round trip
                // on PostgreSQL: the next batch comes before the queue runs dry), and for at
                // least a connection's worth of room.
                if failure == nil, !exhausted, !claiming, !shouldStop(), queue.count < max(concurrency, ahead / 2) {
                    let wanted = ahead - queue.count - inFlight
                    if wanted >= min(concurrency, ahead) {
                        claiming = true
                        group.addTask { [store, worker, leases] in
                            // The lease runs from the claim: its start is taken before asking.
                            let claimed = clock.now
                            do {
                                return .claimed(try await store.claimSends(now: now(), limit: wanted, worker: worker, duration: leases.duration), wanted: wanted, at: claimed)
                            } catch {
                                return .notClaimed(error)
                            }
                        }
                    }
                }
                // Outcomes are written in small groups: few transactions, and few sends whose
                // outcome a crash could lose (those go out again, with the same Message-ID).
                if failure == nil, !recording, done.count >= Self.recordEvery { startRecording() }
                if shouldStop(), !queue.isEmpty {
                    try await store.releaseSends(queue.map(\.send), now: now())
                    queue.removeAll()
                    exhausted = true
                }
                let late = queue.filter { $0.claimed + startBy < clock.now }
                if !late.isEmpty {
                    queue.removeAll { $0.claimed + startBy < clock.now }
                    try await store.releaseSends(late.map(\.send), now: now())
                    logger.warning("claimed sends not started in time given back", metadata: ["sends": "\(late.count)"])
                }
                // While a write is under way the outcomes pile up; past a few writes' worth no
                // send starts, so a crash can lose only a bounded number of them.
                let outcomesHeld = recording && done.count >= Self.recordEvery * 4
                while failure == nil, !outcomesHeld, inFlight < concurrency, !queue.isEmpty, !shouldStop() {
                    let (send, claimed) = queue.removeFirst()
                    let deadline = claimed + startBy
                    inFlight += 1
                    group.addTask {
                        do {
                            return .sent(send, try await attempt(send, now: now(), startBy: deadline, shouldStop: shouldStop))
                        } catch {
                            // The relay's answer could not be recorded as it asked (a bounce's
                            // write failed): try the send again in a minute rather than lose it.
                            return .sent(send, .retry(at: now() + 60, reply: "not recorded: \(error)"))
                        }
                    }
                }
                // (A queue left means a shutdown began meanwhile: the next turn gives it back.)
                if inFlight == 0, !claiming, !recording, queue.isEmpty || failure != nil { break }
                // Wait for a send, a claim or a write to finish (the heartbeat never finishes on its own).
                guard let step = try await group.next() else { break }
                switch step {
                case .sent(let send, let result):
                    inFlight -= 1
                    done.append((send, result))
                    tally.count(result)
                    metrics?.sendOutcome(result.outcome)
                case .claimed(let batch, let wanted, let claimed):
                    claiming = false
                    if batch.count < wanted { exhausted = true }
                    if !batch.isEmpty, !registered {
                        // The claim recorded the worker alive; from now on a heartbeat renews
                        // that record and the leases while the pass runs.
                        registered = true
                        group.addTask { [leases, store, worker, logger] in
                            while !Task.isCancelled {
                                do { try await Task.sleep(for: .seconds(leases.heartbeat.seconds)) } catch { break }
                                // A missed beat is retried at the next one: the lease outlasts three.
                                do { try await store.heartbeat(worker, now: now(), duration: leases.duration) } catch {
                                    logger.warning("heartbeat not recorded", metadata: ["error": "\(error)"])
                                }
                            }
                            return .heartbeat
                        }
                    }
                    queue += batch.map { ($0, claimed) }
                case .notClaimed(let error):
                    claiming = false
                    failure = failure ?? error
                case .recorded(let stale):
                    recording = false
                    noteStale(stale)
                case .notRecorded(let outcomes, let error):
                    recording = false
                    done.insert(contentsOf: outcomes, at: 0)
                    failure = failure ?? error
                case .heartbeat:
                    continue
                }
            }
            // The loop ends with no write under way; what is left is written now.
            if !done.isEmpty { noteStale(try await store.completeSends(done, now: now())) }
            group.cancelAll()
            if let failure { throw failure }
        }
    }

    /// What a child task of a delivery pass finished with.
    private enum Step: Sendable {
        case sent(OutboxSend, SendResult)
        /// Sends claimed, how many were asked for (fewer means the queue is exhausted), and
        /// when the claim was asked.
        case claimed([OutboxSend], wanted: Int, at: ContinuousClock.Instant)
        case notClaimed(any Error)
        /// Outcomes written; how many were refused because the lease had passed on.
        case recorded(stale: Int)
        /// Outcomes not written, with why: they are tried again once the sends under way end.
        case notRecorded([(send: OutboxSend, result: SendResult)], any Error)
        case heartbeat
    }

    /// Takes back, at once, the sends of workers that died (kill -9, a crashed host):
    /// those on this host whose process is gone, and any whose heartbeat stopped.
    /// - Returns: how many sends came back to the queue.
    @discardableResult
    public func recoverDeadWorkers(now: Date) async throws -> Int {
        let returned = try await store.recoverDeadWorkers(now: now, deadAfter: leases.deadAfter, host: worker.host, isRunning: WorkerIdentity.isRunning)
        if returned > 0 {
            metrics?.recoveredSends(returned)
            logger.notice("took back the sends of a worker that died", metadata: ["sends": "\(returned)"])
        }
        return returned
    }

    /// Outcomes written per transaction.
    static let recordEvery = 16

    private func attempt(_ send: OutboxSend, now: Date, startBy: ContinuousClock.Instant? = nil, shouldStop: @Sendable () -> Bool = { false }) async throws -> SendResult {
        let key = send.request.key
        guard let state = send.recipient else { return .skipped(reason: "the lead no longer exists") }
        if let suppression = state.suppression { return .skipped(reason: "lead \(suppression.rawValue)") }
        if let suppression = send.addressSuppression { return .skipped(reason: "address \(suppression.rawValue)") }
        // The window was checked when the send was planned; a retry hours later may fall at night.
        if let wait = scheduler.workflows.engine.sendWindowDeferral(sequence: key.sequence, lead: state.lead, at: now) {
            return .deferred(until: wait.until, reason: wait.reason)
        }

        let rendered: EmailRenderer.Rendered
        // The sequence's headers and open tracking, looked up once per send.
        let sequence = scheduler.workflows.engine.workflow.sequence(key.sequence)
        do {
            rendered = try scheduler.workflows.renderer.render(
                template: send.request.template, lead: state.lead, key: key, date: Int64(now.timeIntervalSince1970),
                tracking: send.request.tracking, subject: send.request.subject,
                headers: sequence?.headers ?? [], openPixel: sequence?.openTracking ?? true)
        } catch {
            logger.error("cannot render send", metadata: ["send": "\(send.id)", "template": "\(send.request.template)", "error": "\(error)"])
            return .failed(reply: "not rendered: \(error)")
        }
        let clock = ContinuousClock()
        // A free connection first, then the rate: the rate is kept on the wire.
        await slots.acquire()
        let outcome: DeliveryOutcome
        do {
            defer { slots.release() }
            if let rateLimiter { await rateLimiter.acquire() }
            // The waits may have outlasted the claim (a process frozen meanwhile), or a shutdown
            // may have begun: queued again without an attempt, a fenced no-op if the send passed on.
            if let startBy, clock.now > startBy { return .deferred(until: now, reason: "not started within its lease: given back") }
            if shouldStop() { return .deferred(until: now, reason: "not started before the shutdown: given back") }
            let started = clock.now
            outcome = await transport.deliver(rendered.message)
            metrics?.relayLatency(started.duration(to: clock.now))
        }
        switch outcome {
        case .accepted(let reply):
            return .sent(messageID: rendered.message.messageID, reply: reply, tokenID: rendered.sendID.description, links: rendered.trackedLinks)
        case .transientFailure(let failure):
            return try await decide(failure, permanent: false, send, now: now)
        case .permanentFailure(let failure):
            return try await decide(failure, permanent: true, send, now: now)
        }
    }

    /// Carries out the retry policy's decision for a failed attempt.
    private func decide(_ failure: DeliveryFailure, permanent: Bool, _ send: OutboxSend, now: Date) async throws -> SendResult {
        let key = send.request.key
        switch retry.decide(failure, permanent: permanent, attemptsBefore: send.attempts, now: now, jitter: Double.random(in: 0.5...1.0)) {
        case .retry(let at, let reply):
            return .retry(at: at, reply: reply)
        case .fail(let reply):
            return .failed(reply: reply)
        case .misconfigured(let at, let reply):
            logger.error("the relay refuses every message: check the relay settings", metadata: ["error": "\(failure)"])
            return .retry(at: at, reply: reply)
        case .hardBounce(let reply):
            logger.notice("hard bounce: address suppressed", metadata: ["send": "\(send.id)", "code": "\(failure.code ?? 0)"])
            let bounce = Event(Event.Kind.bounced, at: now, properties: [
                "type": "hard", "reason": reply, "sequence": key.sequence, "step": key.step, "enrollment": "\(key.enrollment)", "occurrence": "\(key.occurrence)",
            ])
            // The bounce, its score, the suppression and the end of the enrollment: one transaction.
            try await scheduler.handle(bounce, lead: .id(key.leadID), now: now, recording: RecordedEvent(bounce, clientID: "bounce-\(send.id)", sendID: send.id))
            return .failed(reply: reply)
        }
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

extension WorkerIdentity {
    /// A new identity for this process: a random id, where it runs and the process id.
    /// "Where" is the host name and the process-id namespace: two containers with the same
    /// host name (host networking) cannot judge each other's pids, so they are not one host.
    public static func current() -> WorkerIdentity {
        var host = ProcessInfo.processInfo.hostName
        if let namespace = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid") { host += "/" + namespace }
        return WorkerIdentity(id: UUID().uuidString.lowercased(), host: host, pid: ProcessInfo.processInfo.processIdentifier)
    }

    /// Whether a process with this id runs on this host (`kill(pid, 0)`).
    @Sendable public static func isRunning(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    public var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
