import Foundation
import NurtureCore

/// The steps report as people read it (a terminal) and as spreadsheets read it (CSV).
enum StepsReportText {
    static func text(_ report: StepsReport) -> String {
        var lines = ["Steps: emails sent \(FunnelReportText.day(report.since)) to \(FunnelReportText.day(report.until)) (UTC)", ""]
        // The name columns are as wide as their longest name, so every row lines up.
        let sequenceWidth = max("sequence".count, report.steps.map(\.sequence.count).max() ?? 0) + 2
        let stepWidth = max("step".count, report.steps.map(\.step.count).max() ?? 0) + 2
        let widths = [sequenceWidth, stepWidth, 7, 10, 8, 14, 14, 8, 7, 8, 6]
        lines.append(FunnelReportText.row(["sequence", "step", "sent", "delivered", "bounced", "opened", "clicked", "CTO", "unsub", "replies", "goals"], widths: widths))
        for s in report.steps {
            lines.append(FunnelReportText.row([
                s.sequence, s.step, "\(s.sent)", "\(s.delivered)", "\(s.bounced)",
                "\(s.opened) \(percent(s.openRate))", "\(s.clicked) \(percent(s.clickRate))", percent(s.clickToOpen),
                "\(s.unsubscribed)", "\(s.replied)", "\(s.goalExits)",
            ], widths: widths))
            var notes: [String] = []
            if s.bouncedHard + s.bouncedSoft > 0 { notes.append("bounces: \(s.bouncedHard) hard, \(s.bouncedSoft) soft") }
            if s.complained > 0 { notes.append("complaints: \(s.complained)") }
            if s.formSubmitted > 0 { notes.append("forms: \(s.formSubmitted)") }
            if s.machine.opened + s.machine.clicked > 0 { notes.append("machines (not in the rates): \(s.machine.opened) opens, \(s.machine.clicked) clicks") }
            for note in notes { lines.append("    " + note) }
            // An A/B step: each variant's own numbers, to compare them.
            for v in s.variants {
                lines.append("    variant \(v.variant): \(v.sent) sent, \(v.delivered) delivered, opened \(v.opened) \(percent(v.openRate)), clicked \(v.clicked) \(percent(v.clickRate)), \(v.replied) replies, \(v.unsubscribed) unsubscribed, \(v.goalExits) goals")
            }
            for link in s.links.prefix(5) { lines.append("    \(link.clicks) clicks (\(link.uniqueClicks) emails)  \(link.url)") }
            if s.links.count > 5 { lines.append("    … \(s.links.count - 5) more links (--format json lists them all)") }
        }
        if report.steps.isEmpty { lines.append("  no send steps") }
        lines.append("")
        lines.append("Opened and clicked count emails opened or clicked by people, once each; rates are of delivered (sent less bounced); CTO is clicked / opened.")
        return lines.joined(separator: "\n")
    }

    static func percent(_ rate: Double?) -> String {
        rate.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
    }

    static func csv(_ report: StepsReport) -> String {
        var out = "sequence,step,sent,delivered,bounced,bounced_hard,bounced_soft,opened,clicked,open_rate,click_rate,click_to_open,unsubscribed,complained,replied,form_submitted,goal_exits,machine_opened,machine_clicked\n"
        func rate(_ r: Double?) -> String { r.map { String(format: "%.4f", $0) } ?? "" }
        for s in report.steps {
            let cells: [String] = [
                FunnelReportText.field(s.sequence), FunnelReportText.field(s.step), "\(s.sent)", "\(s.delivered)", "\(s.bounced)", "\(s.bouncedHard)",
                "\(s.bouncedSoft)", "\(s.opened)", "\(s.clicked)", rate(s.openRate), rate(s.clickRate), rate(s.clickToOpen), "\(s.unsubscribed)",
                "\(s.complained)", "\(s.replied)", "\(s.formSubmitted)", "\(s.goalExits)", "\(s.machine.opened)", "\(s.machine.clicked)",
            ]
            out += cells.joined(separator: ",") + "\n"
        }
        return out
    }
}
