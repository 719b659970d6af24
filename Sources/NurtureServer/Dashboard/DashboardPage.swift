import Foundation
import NurtureCore

/// The dashboard: server-rendered HTML with inline SVG charts and inline CSS, no script and no external asset.
public enum DashboardPage {
    /// The page for the reports of one period (`funnel.since` to `funnel.until`, UTC), of every
    /// sequence or of `sequence`, with a GET form to choose another period or sequence.
    /// Every name, step and URL is escaped; links are shown as text, never followed.
    public static func html(funnel: FunnelReport, steps: StepsReport, suppressions: SuppressionCounts, sequence: String?, generatedAt: Date) -> String {
        let minute = formatter("yyyy-MM-dd HH:mm"), day = formatter("yyyy-MM-dd")
        let scope = sequence.map { " · <span class=\"sequence\">sequence: \(e($0))</span>" } ?? ""
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex"><title>Nurture dashboard</title>
        <style>\(css)</style>
        </head><body><main>
        <header><h1>Nurture</h1><p class="period">\(minute.string(from: funnel.since)) → \(minute.string(from: funnel.until)) UTC\(scope)</p></header>
        <form method="get" action="/dashboard">
        <label>Since <input type="date" name="since" value="\(day.string(from: funnel.since))"></label>
        <label>Until <input type="date" name="until" value="\(day.string(from: endOfDay(funnel.until)))"></label>
        <label>Sequence <input type="text" name="sequence" value="\(e(sequence ?? ""))" placeholder="all"></label>
        <button type="submit">Show</button></form>
        \(funnelSection(funnel))
        \(dailySection(funnel))
        \(stepsSection(steps))
        \(suppressionSection(suppressions))
        <footer class="muted">Generated \(minute.string(from: generatedAt)) UTC</footer>
        </main></body></html>
        """
    }

    private static func funnelSection(_ funnel: FunnelReport) -> String {
        guard !funnel.stages.isEmpty else { return section("funnel", "Funnel", "<p class=\"muted\">No stages.</p>") }
        let chart = SVGChart.horizontalBars(
            funnel.stages.map { (label: $0.stage, value: Double($0.leads), text: String($0.leads)) }, title: "Leads in each stage now")
        let stages = funnel.stages.map { stage in
            "<tr data-stage=\"\(e(stage.stage))\"><td>\(e(stage.stage))</td><td data-leads=\"\(stage.leads)\">\(stage.leads)</td></tr>"
        }
        let conversions = funnel.conversions.map { c in
            let key = e(c.from + "→" + c.to)
            return "<tr data-conversion=\"\(key)\"><td>\(e(c.from)) → \(e(c.to))</td><td data-entered=\"\(c.entered)\">\(c.entered)</td>"
                + "<td data-converted=\"\(c.converted)\">\(c.converted)</td><td data-rate=\"conversion\">\(percent(c.rate))</td>"
                + "<td>\(duration(c.medianSeconds))</td></tr>"
        }
        let conversionTable = conversions.isEmpty ? "<p class=\"muted\">No conversions: the funnel has a single stage.</p>" : """
            <div class="scroll"><table><thead><tr><th>From → to</th><th>Entered</th><th>Converted</th><th>Rate</th><th>Median time</th></tr></thead>
            <tbody>\(conversions.joined())</tbody></table></div>
            """
        return section("funnel", "Funnel", """
            <div class="grid"><div>\(chart)</div>
            <div class="scroll"><table><thead><tr><th>Stage</th><th>Leads now</th></tr></thead><tbody>\(stages.joined())</tbody></table></div></div>
            <h3>Conversions of the leads that entered a stage in the period</h3>
            \(conversionTable)
            <p>Moved back to an earlier stage in the period: <strong data-recycled="\(funnel.recycled)">\(funnel.recycled)</strong></p>
            """)
    }

    private static func dailySection(_ funnel: FunnelReport) -> String {
        let title = "Stage changes over time"
        guard !funnel.daily.isEmpty else { return section("daily", title, "<p class=\"muted\">No stage changes in this period.</p>") }
        let present = Set(funnel.daily.map(\.stage))
        let known = funnel.stages.map(\.stage).filter { present.contains($0) }
        let series = known + present.subtracting(known).sorted()
        var byDay: [Date: [String: Int]] = [:]
        for entry in funnel.daily { byDay[entry.day, default: [:]][entry.stage, default: 0] += entry.leads }
        let label = formatter("MM-dd")
        let columns = byDay.keys.sorted().map { day in
            (label: label.string(from: day), values: series.map { stage in Double(byDay[day]?[stage] ?? 0) })
        }
        let chart = SVGChart.stackedColumns(columns, series: series, title: "Leads entering each stage per day (UTC)")
        return section("daily", title, "<p class=\"muted\">Leads entering each stage, per UTC day with changes.</p><div class=\"scroll\">\(chart)</div>")
    }

    private static func stepsSection(_ report: StepsReport) -> String {
        guard !report.steps.isEmpty else { return section("steps", "Steps", "<p class=\"muted\">No send steps.</p>") }
        let sent = report.steps.filter { $0.sent > 0 }
        let chart = sent.isEmpty ? "<p class=\"muted\">No emails sent in this period.</p>" : SVGChart.groupedBars(sent.map { row in
            (label: row.sequence + " / " + row.step, values: [(row.openRate ?? 0) * 100, (row.clickRate ?? 0) * 100],
             texts: [percent(row.openRate), percent(row.clickRate)])
        }, series: ["Open rate", "Click rate"], title: "Open and click rate per step")
        let head = ["Step", "Sent", "Delivered", "Bounced", "Opened", "Clicked", "Open rate", "Click rate", "Click-to-open",
                    "Unsubscribed", "Complaints", "Replies", "Goal exits", "Machines (not in rates)"]
        let table = "<div class=\"scroll\"><table><thead><tr>" + head.map { "<th>\($0)</th>" }.joined() + "</tr></thead><tbody>"
            + report.steps.map(stepRow).joined() + "</tbody></table></div>"
        let links = report.steps.filter { !$0.links.isEmpty }.map(linkDetails).joined()
        return section("steps", "Steps", """
            \(chart)
            <p class="muted">Opens and clicks count unique emails opened or clicked by people; rates are of delivered emails \
            (click-to-open: of opened ones). Machine opens and clicks (image proxies, link scanners) are shown apart, not in rates.</p>
            \(table)
            \(links)
            """)
    }

    private static func stepRow(_ row: StepsReport.Row) -> String {
        func metric(_ name: String, _ value: Int) -> String { "<td data-metric=\"\(name)\">\(value)</td>" }
        func rate(_ name: String, _ value: Double?) -> String { "<td data-rate=\"\(name)\">\(percent(value))</td>" }
        let opens = row.machine.opened == 1 ? "open" : "opens", clicks = row.machine.clicked == 1 ? "click" : "clicks"
        let cells = [
            metric("sent", row.sent), metric("delivered", row.delivered), metric("bounced", row.bounced),
            metric("opened", row.opened), metric("clicked", row.clicked),
            rate("open_rate", row.openRate), rate("click_rate", row.clickRate), rate("click_to_open", row.clickToOpen),
            metric("unsubscribed", row.unsubscribed), metric("complained", row.complained), metric("replied", row.replied),
            metric("goal_exits", row.goalExits),
            "<td class=\"muted\" data-machine-opened=\"\(row.machine.opened)\" data-machine-clicked=\"\(row.machine.clicked)\">"
                + "\(row.machine.opened) \(opens) · \(row.machine.clicked) \(clicks)</td>",
        ]
        return "<tr data-sequence=\"\(e(row.sequence))\" data-step=\"\(e(row.step))\"><td>\(e(row.sequence)) / \(e(row.step))</td>"
            + cells.joined() + "</tr>"
    }

    private static func linkDetails(_ row: StepsReport.Row) -> String {
        let rows = row.links.map { link in
            "<tr data-url=\"\(e(link.url))\"><td class=\"url\">\(e(link.url))</td><td data-clicks=\"\(link.clicks)\">\(link.clicks)</td>"
                + "<td data-unique-clicks=\"\(link.uniqueClicks)\">\(link.uniqueClicks)</td></tr>"
        }
        let count = row.links.count == 1 ? "1 link" : "\(row.links.count) links"
        return "<details data-links-sequence=\"\(e(row.sequence))\" data-links-step=\"\(e(row.step))\"><summary>Links of \(e(row.sequence)) / \(e(row.step)) (\(count))</summary>"
            + "<div class=\"scroll\"><table><thead><tr><th>Link (as text, not followed)</th><th>Clicks</th><th>Unique clicks</th></tr></thead><tbody>"
            + rows.joined() + "</tbody></table></div></details>"
    }

    private static func suppressionSection(_ counts: SuppressionCounts) -> String {
        let title = "Suppressions"
        let reasons = Set(counts.total.keys).union(counts.inPeriod.keys).sorted()
        guard !reasons.isEmpty else { return section("suppressions", title, "<p class=\"muted\">No suppressed addresses.</p>") }
        let rows = reasons.map { reason in
            let inPeriod = counts.inPeriod[reason] ?? 0, total = counts.total[reason] ?? 0
            return "<tr data-reason=\"\(e(reason))\"><td>\(e(reason))</td><td data-in-period=\"\(inPeriod)\">\(inPeriod)</td><td data-total=\"\(total)\">\(total)</td></tr>"
        }
        return section("suppressions", title, """
            <div class="scroll"><table class="narrow"><thead><tr><th>Reason</th><th>In period</th><th>All time</th></tr></thead>
            <tbody>\(rows.joined())</tbody></table></div>
            """)
    }

    // MARK: - Helpers

    private static func section(_ id: String, _ title: String, _ body: String) -> String {
        "<section id=\"\(id)\"><h2>\(title)</h2>\(body)</section>"
    }

    private static func e(_ text: String) -> String { SVGChart.escape(text) }

    /// A rate as a percent with one decimal, or "–" when there is none.
    static func percent(_ rate: Double?) -> String {
        guard let rate, rate.isFinite else { return "–" }
        return String(format: "%.1f%%", rate * 100)
    }

    /// A duration as people read it: "45 s", "12 min", "3.2 h", "2.0 days", or "–".
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, abs(seconds) < 1e12 else { return "–" }
        if seconds < 60 { return "\(Int(seconds.rounded())) s" }
        if seconds < 3_600 { return "\(Int((seconds / 60).rounded())) min" }
        if seconds < 86_400 { return String(format: "%.1f h", seconds / 3_600) }
        return String(format: "%.1f days", seconds / 86_400)
    }

    /// The midnight (UTC) at or after `date`: the form's `until` is an excluded end, so a
    /// period that ends during a day shows the next day, and sent again keeps that day in.
    static func endOfDay(_ date: Date) -> Date {
        let day = (date.timeIntervalSince1970 / 86_400).rounded(.up)
        return Date(timeIntervalSince1970: day * 86_400)
    }

    private static func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }

    private static let css = """
        *{box-sizing:border-box}
        body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2933;background:#f5f7fa;line-height:1.45}
        main{max-width:1200px;margin:0 auto;padding:1rem}
        header{display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;align-items:baseline}
        h1{font-size:1.5rem;margin:0}h2{font-size:1.2rem;margin:0 0 .75rem}h3{font-size:1rem;margin:1.25rem 0 .5rem}
        .period{margin:0;color:#52606d}
        form{display:flex;flex-wrap:wrap;gap:.5rem .75rem;align-items:flex-end;margin:1rem 0}
        label{display:flex;flex-direction:column;font-size:.85rem;color:#52606d}
        input{font:inherit;color:#1f2933;padding:.35rem .5rem;border:1px solid #9aa5b1;border-radius:4px;background:#fff}
        button{font:inherit;padding:.4rem 1.1rem;background:#3b5bdb;color:#fff;border:0;border-radius:4px;cursor:pointer}
        section{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:1rem;margin:1rem 0}
        .grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,340px),1fr));align-items:start}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;font-size:.9rem}table.narrow{width:auto;min-width:18rem}
        th,td{padding:.35rem .6rem;border-bottom:1px solid #e4e7eb;text-align:left;white-space:nowrap}
        th{font-weight:600;color:#3e4c59;background:#f5f7fa}
        th+th,td+td{text-align:right;font-variant-numeric:tabular-nums}
        td.url{text-align:left;white-space:normal;word-break:break-all;min-width:12rem}
        .muted{color:#616e7c}
        svg.chart{display:block;width:100%;height:auto}svg.bars{max-width:440px}svg.columns{min-width:560px}
        details{margin:.5rem 0}summary{cursor:pointer}
        footer{font-size:.85rem;margin:1rem 0}
        """
}
