import Foundation
import NurtureApp

/// A dry-run over a file of leads, summarised: who gets which email, who reaches which stage, when.
public struct SummaryReport: Sendable {
    public let summary: DryRun.Summary

    public init(summary: DryRun.Summary) {
        self.summary = summary
    }

    private func percent(_ n: Int) -> String {
        summary.leads == 0 ? "0%" : String(format: "%.1f%%", Double(n) * 100 / Double(summary.leads))
    }

    private func median(_ values: [Double]?) -> String {
        guard var values, !values.isEmpty else { return "-" }
        values.sort()
        return String(format: "day %.1f", values[values.count / 2])
    }

    public func text(path: String, start: Date, seconds: Double) -> String {
        var out = ["dry run of \(summary.leads) leads from \(path) over \(summary.days) days (simulated in \(String(format: "%.2f", seconds)) s); nothing sent"]
        out.append("")
        out.append("emails (leads who get it, median time):")
        for (key, count) in summary.emails.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
            out.append("  \(key.padding(toLength: 40, withPad: " ", startingAt: 0)) \(String(count).leftPad(8))  \(percent(count).leftPad(7))  \(median(summary.emailDays[key]))")
            // An A/B step: how its leads split between the variants.
            for (variant, n) in (summary.variants[key] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let share = count > 0 ? String(format: "%.1f%%", 100 * Double(n) / Double(count)) : "-"
                out.append("    variant \(variant.padding(toLength: 30, withPad: " ", startingAt: 0)) \(String(n).leftPad(8))  \(share.leftPad(7)) of the step")
            }
        }
        out.append("  total sends: \(summary.totalSends)")
        out.append("")
        out.append("stages reached (leads, median time):")
        for (stage, count) in summary.stages.sorted(by: { $0.value > $1.value }) {
            out.append("  \(stage.padding(toLength: 40, withPad: " ", startingAt: 0)) \(String(count).leftPad(8))  \(percent(count).leftPad(7))  \(median(summary.stageDays[stage]))")
        }
        out.append("")
        out.append("at the end: " + summary.finalStages.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            + (summary.suppressed > 0 ? "; suppressed \(summary.suppressed)" : ""))
        return out.joined(separator: "\n")
    }

    public var json: String {
        struct Document: Encodable {
            var leads: Int
            var days: Int
            var emails: [String: Int]
            var stages: [String: Int]
            var final_stages: [String: Int]
            var suppressed: Int
            var total_sends: Int
            var variants: [String: [String: Int]]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let document = Document(leads: summary.leads, days: summary.days, emails: summary.emails, stages: summary.stages,
                                final_stages: summary.finalStages, suppressed: summary.suppressed, total_sends: summary.totalSends,
                                variants: summary.variants)
        return String(decoding: (try? encoder.encode(document)) ?? Data(), as: UTF8.self)
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
