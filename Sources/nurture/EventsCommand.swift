import ArgumentParser
import Foundation
import NurtureCore
import NurtureRuntime

/// `nurture events`: the tracking events set aside (kept, not decided) and putting them back.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "See the opens and clicks set aside (stored, not decided) and queue them again.",
        discussion: """
        The service decides stored opens and clicks right after answering them. When one lead's
        pass fails every time it is tried alone (three times, a second apart), that lead's pending
        events are set aside so the others go on: kept and counted in the reports, not scored,
        with the error (`nurture_events_set_aside` counts them). Fix the cause, then queue them
        again: the running service (or `nurture run`) decides them at its next pass.
        """,
        subcommands: [SetAside.self, Retry.self]
    )

    struct SetAside: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-aside",
            abstract: "List the events set aside, newest first, with their lead and the error.",
            discussion: """
            Examples:
              nurture events set-aside --config nurture.yaml
              nurture events set-aside --limit 500 --format json
            """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @Option(help: "How many to list.")
        var limit = 50

        @Option(help: "text or json.")
        var format: Format = .text

        @OptionGroup var options: ServiceOptions

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func run() async throws {
            try await options.withRuntime { runtime in
                let records = try await runtime.store.setAsideEvents(limit: limit)
                switch format {
                case .json:
                    try printJSON(records)
                case .text:
                    if records.isEmpty { print("no events set aside") }
                    let format = ISO8601DateFormatter()
                    for record in records {
                        print(terminalSafe("#\(record.id)  \(format.string(from: record.at))  \(record.type)  \(record.email) (lead \(record.leadID))  \(record.reason)"))
                    }
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue events set aside again (after the cause is fixed): the next pass decides them.",
            discussion: """
            Each is decided at its own time, as if it had never been set aside; one that fails
            again alone is set aside again.

            Examples:
              nurture events retry 1042 1043 --config nurture.yaml
              nurture events retry --all
            """
        )

        @Argument(help: "The events' numbers (the # in `nurture events set-aside`).")
        var ids: [Int64] = []

        @Flag(help: "Every event set aside.")
        var all = false

        @OptionGroup var options: ServiceOptions

        func validate() throws {
            if ids.isEmpty != all { throw ValidationError("give the events' numbers, or --all") }
        }

        func run() async throws {
            try await options.withRuntime { runtime in
                let count = try await runtime.store.requeueSetAsideEvents(ids: ids)
                print("\(count) event\(count == 1 ? "" : "s") queued again")
                if count < ids.count { printError("\(ids.count - count) of the numbers given are not events set aside") }
            }
        }
    }
}
