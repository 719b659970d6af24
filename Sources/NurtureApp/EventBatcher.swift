import Foundation
import NurtureCore
import Synchronization

/// Group commit for tracking hits: while one transaction is being written, new hits queue up
/// and go together in the next one. No added latency when idle (the first caller writes at
/// once); under load, many opens and clicks share one transaction. Each caller returns only
/// after its event is durably stored, with its own result of the transaction.
final class EventBatcher<Output: Sendable>: Sendable {
    typealias Job = (lead: LeadReference, recording: RecordedEvent)
    private struct State {
        var pending: [(id: Int, job: Job)] = []
        var flushing = false
        var nextID = 0
        var results: [Int: Result<Output, any Error>] = [:]
        var waiters: [Int: CheckedContinuation<Output, any Error>] = [:]
    }
    private let state = Mutex(State())
    private let apply: @Sendable ([Job]) async throws -> [Output]
    /// Events per transaction, at most.
    private let limit: Int

    init(limit: Int = 512, apply: @escaping @Sendable ([Job]) async throws -> [Output]) {
        self.limit = limit
        self.apply = apply
    }

    func submit(_ job: Job) async throws -> Output {
        let (id, leader) = state.withLock { state -> (Int, Bool) in
            let id = state.nextID
            state.nextID += 1
            state.pending.append((id, job))
            if state.flushing { return (id, false) }
            state.flushing = true
            return (id, true)
        }
        if leader { await drain() }
        return try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Output, any Error>? = state.withLock { state in
                if let result = state.results.removeValue(forKey: id) { return result }
                state.waiters[id] = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Writes batches until nothing is pending.
    private func drain() async {
        while true {
            let batch: [(id: Int, job: Job)] = state.withLock { state in
                let taken = Array(state.pending.prefix(limit))
                state.pending.removeFirst(taken.count)
                if taken.isEmpty { state.flushing = false }
                return taken
            }
            if batch.isEmpty { return }
            let outcome: Result<[Output], any Error>
            do {
                outcome = .success(try await apply(batch.map(\.job)))
            } catch {
                outcome = .failure(error)
            }
            let resumes: [(CheckedContinuation<Output, any Error>, Result<Output, any Error>)] = state.withLock { state in
                var resumes: [(CheckedContinuation<Output, any Error>, Result<Output, any Error>)] = []
                for (index, entry) in batch.enumerated() {
                    let result: Result<Output, any Error> = outcome.map { $0[index] }
                    if let waiter = state.waiters.removeValue(forKey: entry.id) {
                        resumes.append((waiter, result))
                    } else {
                        state.results[entry.id] = result
                    }
                }
                return resumes
            }
            for (waiter, result) in resumes { waiter.resume(with: result) }
        }
    }
}
