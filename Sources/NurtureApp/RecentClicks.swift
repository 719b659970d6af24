import Foundation
import NurtureCore
import Synchronization

/// The links clicked in each email over the last seconds, in memory, for link-scanner
/// detection. Bounded: the oldest emails are forgotten first.
final class RecentClicks: Sendable {
    private struct State {
        var clicks: [Int64: [(url: String, at: Date)]] = [:]
        var order: [Int64] = []
    }
    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// Records a click and returns how many different links of that email were clicked within `window`.
    func record(send: Int64, url: String, at now: Date, window: TimeSpan) -> Int {
        state.withLock { state in
            var list = state.clicks[send] ?? []
            if list.isEmpty { state.order.append(send) }
            list.removeAll { $0.at < now - window }
            list.append((url, now))
            if list.count > 64 { list.removeFirst(list.count - 64) }
            state.clicks[send] = list
            if state.order.count > capacity {
                let evicted = state.order.removeFirst()
                state.clicks[evicted] = nil
            }
            return Set(list.map(\.url)).count
        }
    }
}
