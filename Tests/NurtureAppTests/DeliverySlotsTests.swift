@testable import NurtureApp
import Synchronization
import Testing

@Suite("Turns at the transport's connections")
struct DeliverySlotsTests {
    final class Held: Sendable {
        let counts = Mutex((now: 0, most: 0, done: 0))
    }

    @Test("never more holders than slots; every waiter gets its turn")
    func bounded() async {
        let slots = DeliverySlots(2)
        let held = Held()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    await slots.acquire()
                    held.counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                    await Task.yield()
                    held.counts.withLock { $0.now -= 1; $0.done += 1 }
                    slots.release()
                }
            }
        }
        let result = held.counts.withLock { $0 }
        #expect(result.done == 40 && result.now == 0)
        #expect(result.most <= 2)
    }
}
