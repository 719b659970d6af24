import ArgumentParser
import Foundation
import Logging
import NurtureCore
import NurtureRuntime

/// The outbox alone, on any store: seed N queued sends, or drain them as one worker would —
/// claim a batch under a lease, record every send as sent (no relay) — and count claims/s.
/// `scripts/bench scaleout` runs several drainers as separate processes on one database.
struct OutboxThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Seed queued sends, drain them as a worker (claim + complete), or count what was sent."
    )

    @Option(help: "The database: a SQLite file or a postgres:// URL.")
    var database: String

    @Option(help: "Create this many leads with one queued send each.")
    var seed: Int?

    @Flag(help: "Claim and complete until nothing is left; print claimed=N seconds=S.")
    var drain = false

    @Flag(help: "Print how many sends are sent.")
    var countSent = false

    @Option(help: "Sends per claim.")
    var batch = 64

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let opened = try StoreFactory.open(try StoreLocation(parsing: database), logger: logger)
        if opened.migratesOnStart { try await opened.store.migrate() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in opened.services { group.addTask { try await service.run() } }
            defer { group.cancelAll() }
            try await work(opened.store)
        }
    }

    private func work(_ store: any NurtureStore) async throws {
        let now = Date()
        if let seed {
            for from in stride(from: 0, to: seed, by: 1_000) {
                let emails = (from..<min(seed, from + 1_000)).map { "outbox\($0)@bench.example" }
                _ = try await store.upsertLeads(emails, now: now) { id, email, _, state in
                    state = LeadState(lead: Lead(id: id, email: email), now: now)
                    let send = SendRequest(key: SendKey(leadID: id, sequence: "bench", step: "welcome", enrollment: 1), template: "welcome", subject: nil, tracking: false)
                    return LeadChange(effects: [.send(send)], nextWake: nil)
                }
            }
            print("seeded=\(seed)")
        }
        if drain {
            let worker = WorkerIdentity(id: UUID().uuidString, host: "bench", pid: getpid())
            let clock = ContinuousClock()
            let began = clock.now
            var claimed = 0
            while true {
                let sends = try await store.claimSends(now: Date(), limit: batch, worker: worker, duration: TimeSpan(seconds: 30))
                if sends.isEmpty { break }
                claimed += sends.count
                _ = try await store.completeSends(sends.map { ($0, SendResult.sent(messageID: "<\($0.id)@bench>", reply: "250 ok")) }, now: Date())
            }
            let took = began.duration(to: clock.now)
            try await store.retire(worker, now: Date())
            print(String(format: "claimed=%d seconds=%.3f", claimed, Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18))
        }
        if countSent {
            print(try await store.counts(now: Date()).sentSends)
        }
    }
}
