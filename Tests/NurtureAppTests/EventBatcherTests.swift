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
        let batcher = EventBatcher { jobs in
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
        let batcher = EventBatcher { jobs in
            if fail.withLock({ $0 }) { throw Boom() }
            return jobs.map { _ in LeadChange(effects: [], nextWake: nil) }
        }
        await #expect(throws: Boom.self) { try await batcher.submit((.id("1"), RecordedEvent(Event("x", at: Date())))) }
        fail.withLock { $0 = false }
        #expect(try await batcher.submit((.id("1"), RecordedEvent(Event("x", at: Date())))) != nil)
    }

    @Test("with lanes, transactions for different leads run at once; one lead's events, and one lane, one at a time")
    func lanes() async throws {
        for (lanes, leads) in [(1, 40), (4, 40), (4, 1)] {
            let running = Mutex((now: 0, most: 0))
            let batcher = EventBatcher(lanes: lanes) { jobs in
                running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                try await Task.sleep(for: .milliseconds(3))
                running.withLock { $0.now -= 1 }
                return jobs.map { job in LeadChange(effects: [.tagAdded(job.recording.event.type)], nextWake: nil) }
            }
            let results = try await withThrowingTaskGroup(of: (String, String, LeadChange?).self) { group in
                for i in 0..<400 {
                    let lead = "\(i % leads)"
                    group.addTask { (lead, "e\(i)", try await batcher.submit((.id(lead), RecordedEvent(Event("e\(i)", at: Date()))))) }
                }
                return try await group.reduce(into: [(String, String, LeadChange?)]()) { $0.append($1) }
            }
            #expect(results.count == 400)
            for (_, event, change) in results { #expect(change?.effects == [.tagAdded(event)]) }
            let most = running.withLock { $0.most }
            // One lane, or one lead (always the same lane): never two transactions at once.
            if lanes == 1 || leads == 1 { #expect(most == 1) } else { #expect(most > 1 && most <= lanes) }
        }
    }
}
