import ArgumentParser
import Foundation
import NurtureCore
import NurtureRuntime

/// `nurture report …`: what the funnel did, from the database.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports from the database (read-only).",
        subcommands: [Funnel.self, Suppressions.self]
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, csv }

    /// `--since`, `--until` and `--format`, shared by the reports.
    struct PeriodOptions: ParsableArguments {
        @Option(help: "Start of the period (YYYY-MM-DD, UTC, or an ISO 8601 time; default: 30 days before --until).")
        var since: String?

        @Option(help: "End of the period, excluded (YYYY-MM-DD, UTC, or an ISO 8601 time; default: now).")
        var until: String?

        @Option(help: "Output: text, json or csv.")
        var format: Format = .text

        func period(now: Date) throws -> ReportPeriod {
            do {
                return try ReportPeriod(since: since, until: until, now: now)
            } catch {
                throw ValidationError("--\(error)")
            }
        }
    }

    struct Funnel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Leads in each stage now; stage changes in the period; conversion to the next stage, with the median time, for the leads that entered each stage in the period.",
            discussion: """
            A lead counts as converted when it reached the next stage or any later one (so far). Moves \
            back to an earlier stage (recycling, or by hand) are counted as recycled. JSON: `stages` \
            (objects with `stage` and `leads`), `changes`, `conversions`, `recycled`.
            """
        )

        @OptionGroup var period: PeriodOptions
        @OptionGroup var options: ServiceOptions

        func run() async throws {
            let span = try period.period(now: Date())
            let report = try await options.withRuntime { runtime in
                let stages = runtime.workflows.engine.workflow.funnel.stages.map(\.name)
                return FunnelReport(facts: try await runtime.store.funnelFacts(stages: stages, period: span), stages: stages, period: span)
            }
            switch period.format {
            case .json: print(try FunnelReportText.json(report))
            case .csv: print(FunnelReportText.csv(report), terminator: "")
            case .text: print(terminalSafe(FunnelReportText.text(report)))
            }
        }
    }

    struct Suppressions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Addresses that get no marketing email, by reason: all of them, and those added in the period."
        )

        @OptionGroup var period: PeriodOptions
        @OptionGroup var options: ServiceOptions

        func run() async throws {
            let span = try period.period(now: Date())
            let counts = try await options.withRuntime { runtime in try await runtime.store.suppressionCounts(period: span) }
            let reasons = Set(counts.total.keys).union(counts.inPeriod.keys).sorted()
            switch period.format {
            case .json:
                let object: [String: Any] = [
                    "since": ISO8601DateFormatter().string(from: span.since), "until": ISO8601DateFormatter().string(from: span.until),
                    "suppressions": reasons.map { ["reason": $0, "total": counts.total[$0] ?? 0, "in_period": counts.inPeriod[$0] ?? 0] },
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            case .csv:
                print("reason,total,in_period")
                for reason in reasons { print("\(FunnelReportText.field(reason)),\(counts.total[reason] ?? 0),\(counts.inPeriod[reason] ?? 0)") }
            case .text:
                print("Suppressions, \(FunnelReportText.day(span.since)) to \(FunnelReportText.day(span.until)) (UTC)\n")
                print(FunnelReportText.row(["reason", "total", "in period"], widths: [16, 10, 10]))
                for reason in reasons {
                    print(terminalSafe(FunnelReportText.row([reason, "\(counts.total[reason] ?? 0)", "\(counts.inPeriod[reason] ?? 0)"], widths: [16, 10, 10])))
                }
                if reasons.isEmpty { print("  none") }
            }
        }
    }
}
