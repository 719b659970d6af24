import ArgumentParser
import Foundation
import NurtureApp
import NurtureCore
import NurtureRuntime

/// `nurture report …`: what the funnel did, from the database.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports from the database (read-only).",
        subcommands: [Summary.self, Funnel.self, Steps.self, Suppressions.self],
        defaultSubcommand: Summary.self
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

    struct Summary: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The funnel, the steps and the suppressions, together (the default report).",
            discussion: """
            JSON: `stages` (objects with `stage` and `leads`), `changes`, `conversions`, `recycled`, \
            `daily`, `steps` (objects with `sequence`, `step`, `sent`, `opened`, `clicked`, …) and \
            `suppressions`. CSV is per report: use `nurture report funnel|steps|suppressions --format csv`.

            Examples:
              nurture report                      (the same as nurture report summary)
              nurture report summary --since 2026-11-01 --until 2026-12-01 --format json
            """
        )

        @OptionGroup var period: PeriodOptions
        @Option(help: "Only this sequence's steps.") var sequence: String?
        @OptionGroup var options: ServiceOptions

        func run() async throws {
            let span = try period.period(now: Date())
            guard period.format != .csv else { throw ValidationError("--format csv is per report: nurture report funnel|steps|suppressions --format csv") }
            let summary = try await options.withRuntime { runtime in
                ReportJSON.Summary(
                    funnel: try await runtime.feedback.funnelReport(period: span),
                    steps: try await runtime.feedback.stepsReport(period: span, sequence: sequence),
                    suppressions: try await runtime.store.suppressionCounts(period: span))
            }
            switch period.format {
            case .json: print(try FunnelReportText.json(summary))
            case .csv: break
            case .text:
                print(terminalSafe(FunnelReportText.text(summary.funnel)))
                print("")
                print(terminalSafe(StepsReportText.text(summary.steps)))
                let reasons = summary.suppressions.total.keys.sorted()
                print("")
                print("Suppressed addresses: " + (reasons.isEmpty ? "none" : reasons.map { "\($0) \(summary.suppressions.total[$0] ?? 0)" }.joined(separator: ", ")))
            }
        }
    }

    struct Steps: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per sequence and step, what the emails sent in the period drew: sent, delivered, bounces, unique human opens and clicks with their rates, unsubscribes, complaints, replies, goal exits, clicks per link.",
            discussion: """
            Counted by the hour each email was sent (the period is rounded out to whole hours), so \
            an email's opens and clicks stay with it whenever they come. Opened and clicked count \
            emails opened or clicked by people, once each (a click counts as an open); opens by \
            image proxies and clicks by link scanners are shown apart and never in the rates. \
            Delivered is sent less bounced. Replies and form posts that come through the API count \
            for the lead's latest email within reports.attribution_window (7 days by default).

            Examples:
              nurture report steps --sequence lead-welcome
              nurture report steps --since 2026-11-01 --format csv > steps.csv
            """
        )

        @OptionGroup var period: PeriodOptions
        @Option(help: "Only this sequence's steps.") var sequence: String?
        @OptionGroup var options: ServiceOptions

        func run() async throws {
            let span = try period.period(now: Date())
            let report = try await options.withRuntime { runtime in try await runtime.feedback.stepsReport(period: span, sequence: sequence) }
            switch period.format {
            case .json: print(try FunnelReportText.json(report))
            case .csv: print(StepsReportText.csv(report), terminator: "")
            case .text: print(terminalSafe(StepsReportText.text(report)))
            }
        }
    }

    struct Funnel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Leads in each stage now; stage changes in the period; conversion to the next stage, with the median time, of the entries into each stage in the period.",
            discussion: """
            A lead created in the period entered its first stage then; one that comes back to a stage \
            enters it again. An entry counts as converted when the lead left the stage for the next \
            one or any later one (so far). Moves back to an earlier stage (recycling, or by hand) are \
            counted as recycled. JSON: `stages` \
            (objects with `stage` and `leads`), `changes`, `conversions`, `recycled`.

            Examples:
              nurture report funnel --since 2026-10-01
              nurture report funnel --format csv > funnel.csv
            """
        )

        @OptionGroup var period: PeriodOptions
        @OptionGroup var options: ServiceOptions

        func run() async throws {
            let span = try period.period(now: Date())
            let report = try await options.withRuntime { runtime in try await runtime.feedback.funnelReport(period: span) }
            switch period.format {
            case .json: print(try FunnelReportText.json(report))
            case .csv: print(FunnelReportText.csv(report), terminator: "")
            case .text: print(terminalSafe(FunnelReportText.text(report)))
            }
        }
    }

    struct Suppressions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Addresses that get no marketing email, by reason: all of them, and those added in the period.",
            discussion: """
            Examples:
              nurture report suppressions --since 2026-11-01
              nurture report suppressions --format json
            """
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
