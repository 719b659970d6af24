import Synchronization
import NurtureCore

/// Recently looked-up sent emails by tracking token id: a sent email never changes the
/// fields the tracking server reads, so repeated opens and clicks skip the database read.
final class SentEmailCache: Sendable {
    private struct State {
        var entries: [String: SentEmail] = [:]
        var order: [String] = []
        var head = 0
    }
    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    func value(_ token: String) -> SentEmail? {
        state.withLock { $0.entries[token] }
    }

    func store(_ email: SentEmail, for token: String) {
        state.withLock { state in
            guard state.entries.updateValue(email, forKey: token) == nil else { return }
            state.order.append(token)
            if state.order.count - state.head > capacity {
                state.entries[state.order[state.head]] = nil
                state.head += 1
                if state.head > capacity { // compact now and then
                    state.order.removeFirst(state.head)
                    state.head = 0
                }
            }
        }
    }
}
