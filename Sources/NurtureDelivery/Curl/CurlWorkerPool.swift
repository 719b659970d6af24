import Synchronization

/// A fixed set of ``CurlWorker``s (relay connections) lent out one transfer at a time.
///
/// At most `size` transfers run at once; callers beyond that wait, in arrival order,
/// for a worker to come back. Workers are created lazily, so an idle transport holds
/// no connections.
final class CurlWorkerPool: Sendable {
    private struct State {
        var idle: [CurlWorker] = []
        var created = 0
        var waiters: [CheckedContinuation<CurlWorker, Never>] = []
        var waiterHead = 0
    }

    let size: Int
    private let label: String
    private let configure: @Sendable (CurlEasy) -> Void
    private let state = Mutex(State())

    /// - Parameters:
    ///   - size: the number of concurrent transfers (connections); at least 1.
    ///   - configure: applied once to each new handle.
    init(size: Int, label: String, configure: @escaping @Sendable (CurlEasy) -> Void) {
        self.size = max(1, size)
        self.label = label
        self.configure = configure
    }

    /// Runs `body` on a worker's queue with exclusive use of its handle.
    func withHandle<T: Sendable>(_ body: @escaping @Sendable (CurlEasy) -> T) async -> T {
        let worker = await checkOut()
        let result = await worker.run(body)
        checkIn(worker)
        return result
    }

    private enum Lease {
        case ready(CurlWorker)
        case create(index: Int)
        case wait
    }

    private func checkOut() async -> CurlWorker {
        let lease: Lease = state.withLock { state in
            if let worker = state.idle.popLast() { return .ready(worker) }
            if state.created < size {
                state.created += 1
                return .create(index: state.created)
            }
            return .wait
        }
        switch lease {
        case .ready(let worker):
            return worker
        case .create(let index):
            return CurlWorker(label: "\(label).\(index)", configure: configure)
        case .wait:
            return await withCheckedContinuation { continuation in
                let handedOver: CurlWorker? = state.withLock { state in
                    // A worker may have come back between the two locks.
                    if let worker = state.idle.popLast() { return worker }
                    state.waiters.append(continuation)
                    return nil
                }
                if let handedOver { continuation.resume(returning: handedOver) }
            }
        }
    }

    private func checkIn(_ worker: CurlWorker) {
        let waiter: CheckedContinuation<CurlWorker, Never>? = state.withLock { state in
            if state.waiterHead < state.waiters.count {
                let next = state.waiters[state.waiterHead]
                state.waiterHead += 1
                if state.waiterHead == state.waiters.count {
                    state.waiters.removeAll(keepingCapacity: true)
                    state.waiterHead = 0
                }
                return next
            }
            state.idle.append(worker)
            return nil
        }
        waiter?.resume(returning: worker)
    }
}
