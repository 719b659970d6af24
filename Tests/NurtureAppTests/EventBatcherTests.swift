import Foundation
import NurtureCore
@testable import NurtureApp
@testable import NurtureRuntime
import Synchronization
import Testing

@Suite("Group commit of tracking events")
struct EventBatcherTests {
    final class Calls: Sendable {
        let batches = Mutex<[Int]>([])
    }

    @Test("every caller gets its own result; concurrent callers share transactions")
    func batching() async throws {
        let calls = Calls()
        let batcher = EventBatcher<LeadChange?> { jobs in
            calls.batches.withLock { $0.append(jobs.count) }
            try await Task.sleep(for: .milliseconds(2)) // a transaction that takes a while, so others queue up
            return jobs.map { job in
                LeadChange(effects: [.tagAdded(job.recording.event.type)], nextWake: nil)
            }
        }
        let results = try await withThrowingTaskGroup(of: (Int, LeadChange?).self) { group in
            for i in 0..<200 {
                group.addTask {
                    (i, try await batcher.submit((.id("\(i)"), RecordedEvent(Event("e\(i)", at: Date())))))
                }
            }
            return try await group.reduce(into: [Int: LeadChange?]()) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 200)
        for (i, change) in results { #expect(change?.effects == [.tagAdded("e\(i)")]) }
        let batches = calls.batches.withLock { $0 }
        #expect(batches.reduce(0, +) == 200)
        #expect(batches.count < 200)
    }

    @Test("a failed transaction fails its callers, and the next ones still go through")
    func failure() async throws {
        struct Boom: Error {}
        let fail = Mutex(true)
        let batcher = EventBatcher<LeadChange?> { jobs in
            if fail.withLock({ $0 }) { throw Boom() }
            return jobs.map { _ in LeadChange(effects: [], nextWake: nil) }
        }
        await #expect(throws: Boom.self) { try await batcher.submit((.id("1"), RecordedEvent(Event("x", at: Date())))) }
        fail.withLock { $0 = false }
        #expect(try await batcher.submit((.id("1"), RecordedEvent(Event("x", at: Date())))) != nil)
    }
}
