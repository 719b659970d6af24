import ArgumentParser
import Foundation
import Logging
import NurtureCore
import NurtureDelivery
import NurtureApp
import NurtureRuntime
import NurtureSQLite
import NurturePostgres

/// Due steps processed end to end — found by index, decided by the engine, rendered, handed
/// to the relay, recorded — with many leads in the database.
struct SchedulingThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Build a database of N enrolled leads, make D of them due, and time scheduling and delivery."
    )

    @Option(help: "Leads in the database.")
    var leads = 10_000

    @Option(help: "Due steps to process.")
    var due = 10_000

    @Option(help: "The relay, e.g. smtp://127.0.0.1:2525 (Postfix smtp-sink).")
    var relay: String

    @Option(help: "Database: a SQLite file or a postgres:// URL (reused when it already holds the leads).")
    var database: String

    @Option(help: "Shipped workflows and templates.")
    var workflows = "Workflows"

    @Option var templates = "Templates"

    @Option(help: "Relay connections.")
    var connections = 4

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var configuration = Configuration(
            from: try EmailAddress("news@nurture.example", displayName: "Nurture"), secret: Secret("benchmark-secret-0123456789abcdef"),
            relay: try RelayURL.parse(relay, options: RelayOptions(starttls: .off, connections: connections)))
        configuration.database = database
        configuration.workflows = workflows
        configuration.templates = templates
        configuration.batchSize = 1000
        let runtime = try Runtime(configuration: configuration, logger: logger)
        try await runtime.withStore { try await measure(runtime) }
    }

    private func measure(_ runtime: Runtime) async throws {
        let store = runtime.store
        // Monday 10:00 in New York, inside the shipped send window; the guide is due 2 days later.
        let start = LocalDateTime(year: 2026, month: 11, day: 23, hour: 10).instant(in: TimeZone(identifier: "America/New_York")!)
        let dueAt = start + .days(2)

        let existing = try await store.counts(now: Date()).leads
        if existing != leads {
            guard existing == 0 else { throw ValidationError("\(database) holds \(existing) leads, not \(leads): remove it") }
            let clock = ContinuousClock()
            let took = try await clock.measure {
                let chunk = 10_000
                for from in stride(from: 0, to: leads, by: chunk) {
                    let batch = (from..<min(leads, from + chunk)).map {
                        Lead(id: "", email: "lead\($0)@bench.example", fields: ["first_name": "Lead\($0)", "company": "Company \($0 % 997)", "job_title": $0 % 3 == 0 ? "CTO" : "Analyst"], timeZone: "America/New_York")
                    }
                    _ = try await runtime.scheduler.upsert(batch, now: start)
                    FileHandle.standardError.write(Data("\rcreated \(min(leads, from + chunk))/\(leads) leads".utf8))
                }
            }
            FileHandle.standardError.write(Data("\n".utf8))
            // Their welcome emails count as delivered; D leads wake at `dueAt`, the rest a day later.
            // (The synthetic set-up edits the database itself; the measured part goes through the ports.)
            if let postgres = store as? PostgresStore {
                try await postgres.execute(sql: "UPDATE sends SET status = 'sent', sent_at = planned_at")
                try await postgres.execute(sql: "UPDATE leads SET next_wake_at = next_wake_at + interval '1 day' WHERE id > \(due)")
                try await postgres.execute(sql: "VACUUM ANALYZE")
            } else {
                let file = try SQLiteStore(path: database, migrate: false)
                try await file.execute(sql: "UPDATE sends SET status = 'sent', sent_at = planned_at")
                try await file.execute(sql: "UPDATE leads SET next_wake_at = next_wake_at + 86400 WHERE id > \(due)")
            }
            print(String(format: "setup: %d leads enrolled in %.1f s", leads, seconds(took)))
        }

        let clock = ContinuousClock()
        var processed = 0
        let planning = try await clock.measure {
            processed = try await runtime.scheduler.processDue(now: dueAt)
        }
        var tally = DeliveryTally()
        let delivery = try await clock.measure {
            tally = try await runtime.delivery.deliverDue(now: dueAt)
        }
        let total = seconds(planning) + seconds(delivery)
        // The relay's time per message as the engine saw it (handed to the transport until its
        // answer), from the service's own histogram: compared with the transport alone, it
        // says how much the rest of the work on the same cores slows each SMTP dialog.
        let relay = try await Self.meanRelayMilliseconds(runtime.metricsExposition())
        print(String(format: "leads=%d due=%d planned=%d sent=%d failed=%d select+plan=%.3fs deliver=%.3fs end_to_end=%.3fs steps_per_minute=%.0f max_rss_mb=%.0f relay_ms=%.2f",
                     leads, due, processed, tally.sent, tally.failed, seconds(planning), seconds(delivery), total,
                     Double(processed) / total * 60, maxResidentMegabytes(), relay))
    }

    /// `nurture_relay_latency_seconds`'s sum over its count, in milliseconds (0 when nothing was sent).
    static func meanRelayMilliseconds(_ exposition: String) -> Double {
        func value(_ name: String) -> Double {
            exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
                .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } } ?? 0
        }
        let count = value("nurture_relay_latency_seconds_count")
        return count > 0 ? value("nurture_relay_latency_seconds_sum") / count * 1000 : 0
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// Peak resident memory of this process, in MB.
func maxResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
