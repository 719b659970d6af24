import Foundation
import NurtureApp
import NurtureCore

/// The funnel report as people read it (a terminal), and as tools read it (JSON, CSV).
enum FunnelReportText {
    static func text(_ report: FunnelReport) -> String {
        var lines: [String] = []
        lines.append("Funnel, \(day(report.since)) to \(day(report.until)) (UTC)")
        lines.append("")
        lines.append(row(["stage", "leads now"], widths: [16, 10]))
        for stage in report.stages { lines.append(row([stage.stage, "\(stage.leads)"], widths: [16, 10])) }
        lines.append("")
        lines.append("Conversion of the leads that entered each stage in the period")
        lines.append(row(["from", "to", "entered", "converted", "rate", "median time"], widths: [16, 16, 9, 10, 7, 12]))
        for c in report.conversions {
            lines.append(row([c.from, c.to, "\(c.entered)", "\(c.converted)", c.rate.map { String(format: "%.1f%%", $0 * 100) } ?? "-",
                              c.medianSeconds.map(duration) ?? "-"], widths: [16, 16, 9, 10, 7, 12]))
        }
        lines.append("")
        lines.append("Stage changes in the period (recycled, moved back: \(report.recycled))")
        if report.changes.isEmpty { lines.append("  none") }
        for change in report.changes {
            lines.append("  \(change.from) → \(change.to): \(change.leads)\(change.backwards ? " (back)" : "")")
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ report: some Encodable) throws -> String {
        String(decoding: try ReportJSON.encoder(pretty: true).encode(report), as: UTF8.self)
    }

    /// One table: a `stage` row per stage, a `conversion` row per consecutive pair, a
    /// `change` row per move in the period.
    static func csv(_ report: FunnelReport) -> String {
        var out = "kind,stage,to,leads,entered,converted,rate,median_seconds\n"
        for s in report.stages { out += "stage,\(field(s.stage)),,\(s.leads),,,,\n" }
        for c in report.conversions {
            out += "conversion,\(field(c.from)),\(field(c.to)),,\(c.entered),\(c.converted),\(c.rate.map { String(format: "%.4f", $0) } ?? ""),\(c.medianSeconds.map { String(Int($0.rounded())) } ?? "")\n"
        }
        for c in report.changes { out += "change,\(field(c.from)),\(field(c.to)),\(c.leads),,,,\n" }
        return out
    }

    static func field(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 3600 { return String(format: "%.0f min", seconds / 60) }
        if seconds < 2 * 86_400 { return String(format: "%.1f h", seconds / 3600) }
        return String(format: "%.1f days", seconds / 86_400)
    }

    static func day(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    static func row(_ cells: [String], widths: [Int]) -> String {
        zip(cells, widths).map { cell, width in cell.count >= width ? cell + " " : cell + String(repeating: " ", count: width - cell.count) }.joined()
    }
}
