import Foundation
import Logging
import NurtureCore
@testable import NurtureApp
@testable import NurtureRuntime
import Synchronization
import Testing
import TestSupport

@Suite("Delivery pass: the database's writes beside the sends (real SQLite file, real SMTP server)")
struct DeliveryPassTests {
    static let count = 40

    /// A runtime with `count` leads whose welcome email is due, and a delivery worker on its
    /// store whose writes of outcomes run `beforeWrite` first.
    private static func setUp(_ harness: Harness, beforeWrite: @escaping @Sendable () async throws -> Void) async throws -> (Runtime, DeliveryWorker) {
        let runtime = try harness.runtime()
        _ = try await runtime.scheduler.upsert((1...count).map { lead("lead\($0)@example.com") }, now: monday)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let worker = DeliveryWorker(
            store: HookedOutbox(base: runtime.store, beforeWrite: beforeWrite), scheduler: runtime.scheduler, transport: runtime.delivery.transport,
            concurrency: 4, connections: 2, maxAttempts: 3, retryBase: .minutes(5), retryMax: .hours(1), rateLimiter: nil, logger: logger)
        return (runtime, worker)
    }

    @Test("sends go on while the outcomes of earlier ones are being written, and every outcome is written")
    func writesDoNotHoldUpSends() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let count = Self.count
        // The first write of outcomes (after 16 sends) does not return until the gate opens.
        let gate = WriteGate()
        let (runtime, worker) = try await Self.setUp(harness, beforeWrite: { await gate.pass() })
        let pass = Task { try await worker.deliverDue(now: monday) }

        // Every email reaches the relay while that write is held. (Were the pass to wait for it,
        // no more than the 16 and the few already under way would.)
        let deadline = ContinuousClock.now + .seconds(30)
        while try harness.smtp.lines("ids.txt").count < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try harness.smtp.lines("ids.txt").count == count)
        #expect(gate.held == 1, "one write held, and no second one started beside it")

        gate.open()
        let tally = try await pass.value
        #expect(tally.sent == count)
        for i in 1...count {
            let details = try #require(try await runtime.store.details(.email("lead\(i)@example.com"), recent: 5))
            #expect(details.sends.map(\.status) == ["sent"], "lead\(i)")
        }
    }

    @Test("a write that fails: no new send starts, the ones under way finish and their outcomes are written, then the error is passed on; nothing goes out twice")
    func failedWriteEndsThePassCleanly() async throws {
        let harness = try Harness()
        defer { harness.cleanUp() }
        let count = Self.count
        // The first write of outcomes fails.
        let firstWrite = Mutex(true)
        let (runtime, worker) = try await Self.setUp(harness, beforeWrite: {
            if firstWrite.withLock({ first in defer { first = false }; return first }) { throw WriteFailure() }
        })
        await #expect(throws: WriteFailure.self) { try await worker.deliverDue(now: monday) }
        let first = try harness.smtp.lines("ids.txt").count
        #expect(first >= 16 && first < count, "the pass stopped after the failed write: \(first) sent")

        // What went out is recorded as sent: the next pass sends only the rest, each once.
        let tally = try await runtime.delivery.deliverDue(now: monday)
        #expect(tally.sent == count - first)
        let ids = try harness.smtp.lines("ids.txt")
        #expect(ids.count == count)
        #expect(Set(ids).count == count)
    }
}

private struct WriteFailure: Error {}

/// Holds every call that arrives while it is closed; ``open()`` lets them all through.
private final class WriteGate: Sendable {
    private struct State {
        var isOpen = false
        var held = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// How many calls were held.
    var held: Int { state.withLock { $0.held } }

    func pass() async {
        await withCheckedContinuation { continuation in
            let through = state.withLock { state in
                if state.isOpen { return true }
                state.held += 1
                state.waiting.append(continuation)
                return false
            }
            if through { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}

/// The real store, with `beforeWrite` run before each write of outcomes (to hold it or fail it).
private struct HookedOutbox: Outbox, WorkerRegistry {
    let base: any Outbox & WorkerRegistry
    let beforeWrite: @Sendable () async throws -> Void

    func claimSends(now: Date, limit: Int, worker: WorkerIdentity, duration: TimeSpan) async throws -> [OutboxSend] {
        try await base.claimSends(now: now, limit: limit, worker: worker, duration: duration)
    }

    func completeSends(_ results: [(send: OutboxSend, result: SendResult)], now: Date) async throws -> Int {
        try await beforeWrite()
        return try await base.completeSends(results, now: now)
    }

    func releaseSends(_ sends: [OutboxSend], now: Date) async throws {
        try await base.releaseSends(sends, now: now)
    }

    func nextSendDue() async throws -> Date? { try await base.nextSendDue() }
    func sentEmail(tokenID: String) async throws -> SentEmail? { try await base.sentEmail(tokenID: tokenID) }
    func sentEmail(messageID: String) async throws -> SentEmail? { try await base.sentEmail(messageID: messageID) }

    func heartbeat(_ worker: WorkerIdentity, now: Date, duration: TimeSpan) async throws {
        try await base.heartbeat(worker, now: now, duration: duration)
    }

    func recoverDeadWorkers(now: Date, deadAfter: TimeSpan, host: String, isRunning: @Sendable (Int32) -> Bool) async throws -> Int {
        try await base.recoverDeadWorkers(now: now, deadAfter: deadAfter, host: host, isRunning: isRunning)
    }

    func retire(_ worker: WorkerIdentity, now: Date) async throws {
        try await base.retire(worker, now: now)
    }
}
