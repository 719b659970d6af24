import Synchronization

/// Turns at the transport's connections. A delivery renders its message first and then waits
/// here, in arrival order, so that at most `count` messages are with the transport at once and
/// the checks made just before sending (the claim's deadline, a shutdown) are made when a
/// connection is actually free, not before a wait of unknown length.
final class DeliverySlots: Sendable {
    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(_ count: Int) {
        state = Mutex(State(free: max(1, count)))
    }

    /// Waits for a free connection and takes it.
    func acquire() async {
        if state.withLock({ state in
            guard state.free > 0 else { return false }
            state.free -= 1
            return true
        }) { return }
        await withCheckedContinuation { continuation in
            let taken: Bool = state.withLock { state in
                // One may have come back between the two locks.
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if taken { continuation.resume() }
        }
    }

    /// Gives a connection back: to the longest waiter, if any.
    func release() {
        // Few wait at once (the sends a worker runs beyond its connections): a plain array.
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            if state.waiters.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
