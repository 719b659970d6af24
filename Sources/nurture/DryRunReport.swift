import Foundation
import NurtureApp
import NurtureContent
import NurtureCore

/// A dry-run timeline as text (terminal), JSON (tools) or an HTML review page.
public struct DryRunReport: Sendable {
    public let timeline: DryRun.Timeline
    public let zone: TimeZone

    public init(timeline: DryRun.Timeline, defaultTimeZone: String) {
        self.timeline = timeline
        zone = timeline.lead.timeZone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: defaultTimeZone) ?? TimeZone(identifier: "UTC")!
    }

    /// One line of the timeline.
    public struct Line: Sendable, Encodable {
        public var at: Date
        public var offset: String
        public var kind: String
        public var text: String
        public var step: String?
        public var template: String?
        public var subject: String?
        public var messageID: String?
        public var email: Int?

        enum CodingKeys: String, CodingKey {
            case at, offset, kind, text, step, template, subject, messageID = "message_id", email
        }
    }

    public var lines: [Line] {
        var lines: [Line] = []
        var lastCause: Event?
        for (index, entry) in timeline.entries.enumerated() {
            if let cause = entry.cause, cause != lastCause {
                let props = cause.properties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                lines.append(line(entry.at, "what-if", "what-if: \(cause.type)\(props.isEmpty ? "" : " " + props)"))
            }
            lastCause = entry.cause
            switch entry.effect {
            case .send(let request):
                var l = line(entry.at, "send", "")
                l.step = request.key.step
                l.template = request.template
                l.email = index
                if let email = timeline.emails[index] {
                    l.subject = email.message.subject
                    l.messageID = email.message.messageID
                    l.text = "SEND \(request.key.sequence)/\(request.key.step)\(request.variant.map { " [variant \($0)]" } ?? "") (\(request.template)): \"\(email.message.subject)\""
                } else if let error = timeline.renderErrors[index] {
                    l.text = "SEND \(request.key.sequence)/\(request.key.step)\(request.variant.map { " [variant \($0)]" } ?? "") (\(request.template)): NOT RENDERED: \(error)"
                } else {
                    l.text = "SEND \(request.key.sequence)/\(request.key.step)\(request.variant.map { " [variant \($0)]" } ?? "") (\(request.template))"
                }
                lines.append(l)
            case .scored(let event, let change):
                lines.append(line(entry.at, "score", "score \(change) ← \(event)"))
            case .stageChanged(let change):
                lines.append(line(entry.at, "stage", "STAGE \(change.from) → \(change.to): \(change.reason)"))
            case .enrolled(let sequence, let number):
                lines.append(line(entry.at, "enrolled", "enrolled in \(sequence)\(number > 1 ? " (#\(number))" : "")"))
            case .enrollmentEnded(let sequence, let reason):
                lines.append(line(entry.at, "ended", "left \(sequence): \(reason)"))
            case .enrollmentPaused(let sequence, let by):
                lines.append(line(entry.at, "paused", "\(sequence) paused while \(by) runs"))
            case .enrollmentResumed(let sequence):
                lines.append(line(entry.at, "resumed", "\(sequence) resumed where it was"))
            case .waiting(let step, let until, let reason):
                var l = line(entry.at, "wait", "\(step): \(reason) — until \(format(until))")
                l.step = step
                lines.append(l)
            case .decided(let step, _, let reason):
                var l = line(entry.at, "decision", "\(step): \(reason)")
                l.step = step
                lines.append(l)
            case .deferred(let step, let until, let reason):
                var l = line(entry.at, "deferred", "\(step): held until \(format(until)) — \(reason)")
                l.step = step
                lines.append(l)
            case .fieldSet(let name, let value):
                lines.append(line(entry.at, "set", "set \(name) = \(value)"))
            case .tagAdded(let tag):
                lines.append(line(entry.at, "set", "tag +\(tag)"))
            case .tagRemoved(let tag):
                lines.append(line(entry.at, "set", "tag -\(tag)"))
            case .goalReached(let sequence, let goal):
                lines.append(line(entry.at, "goal", "goal reached in \(sequence): \(goal)"))
            case .suppressed(let reason):
                lines.append(line(entry.at, "suppressed", "SUPPRESSED (\(reason.rawValue)): no more marketing email"))
            case .notEnrolled(let stage, let reason):
                lines.append(line(entry.at, "not-enrolled", "no sequence of stage \(stage) takes the lead: \(reason)"))
            }
            for message in timeline.webhooks[index] ?? [] {
                lines.append(line(entry.at, "webhook", "WEBHOOK \(message.type.rawValue) -> \(message.endpoint) (would be POSTed, signed)"))
            }
        }
        return lines
    }

    private func line(_ at: Date, _ kind: String, _ text: String) -> Line {
        Line(at: at, offset: offset(at), kind: kind, text: text)
    }

    /// `+2d03h` after the start.
    func offset(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince(timeline.start))
        return String(format: "+%dd%02dh%02d", seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60)
    }

    func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "EEE d MMM HH:mm"
        return formatter.string(from: date)
    }

    private var header: [String] {
        let lead = timeline.lead
        var out = ["dry run for \(lead.displayName.map { "\($0) " } ?? "")<\(lead.email)>, time zone \(zone.identifier)"]
        out.append("from \(format(timeline.start)) for \(Int(timeline.end.timeIntervalSince(timeline.start) / 86_400)) days; nothing is sent, nothing is written")
        if !timeline.whatIfs.isEmpty { out.append("what-if: " + timeline.whatIfs.map(\.text).joined(separator: "; ")) }
        return out
    }

    private var footer: String {
        let final = timeline.final
        let sends = timeline.entries.filter { if case .send = $0.effect { true } else { false } }.count
        let stages = [timeline.entries.compactMap { if case .stageChanged(let c) = $0.effect { c.from } else { nil } }.first ?? final.lead.stage]
            + timeline.entries.compactMap { if case .stageChanged(let c) = $0.effect { c.to } else { nil } }
        return "\(sends) email\(sends == 1 ? "" : "s"); stage \(stages.joined(separator: " → ")); score \(final.lead.score) (fit \(final.lead.fitScore), engagement \(final.lead.engagementScore))"
            + (final.suppression.map { "; \($0.rawValue)" } ?? "")
    }

    public var text: String {
        (header + [""] + lines.map { "\(format($0.at))  \($0.offset.padding(toLength: 10, withPad: " ", startingAt: 0)) \($0.text)" } + ["", footer])
            .joined(separator: "\n")
    }

    public var json: String {
        struct Document: Encodable {
            var lead: String
            var time_zone: String
            var start: Date
            var end: Date
            var what_if: [String]
            var timeline: [Line]
            var final_stage: String
            var score: Int
            var fit_score: Int
            var engagement_score: Int
            var summary: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let document = Document(
            lead: timeline.lead.email, time_zone: zone.identifier, start: timeline.start, end: timeline.end,
            what_if: timeline.whatIfs.map(\.text), timeline: lines, final_stage: timeline.final.lead.stage,
            score: timeline.final.lead.score, fit_score: timeline.final.lead.fitScore, engagement_score: timeline.final.lead.engagementScore,
            summary: footer)
        return String(decoding: (try? encoder.encode(document)) ?? Data(), as: UTF8.self)
    }

    /// Writes every rendered email (`.eml` and `.html`) and `index.html`, the review page.
    /// - Returns: the index page's path.
    @discardableResult
    public func write(to directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("emails"), withIntermediateDirectories: true)
        var files: [Int: String] = [:]
        var number = 0
        for (index, entry) in timeline.entries.enumerated() {
            guard case .send(let request) = entry.effect, let email = timeline.emails[index] else { continue }
            number += 1
            let base = String(format: "%02d-%@", number, request.key.step.replacingOccurrences(of: "/", with: "_"))
            try Data(email.message.rfc5322).write(to: directory.appendingPathComponent("emails/\(base).eml"))
            try Data((email.message.html ?? "<pre>\(escape(email.message.text ?? ""))</pre>").utf8).write(to: directory.appendingPathComponent("emails/\(base).html"))
            try Data((email.message.text ?? "").utf8).write(to: directory.appendingPathComponent("emails/\(base).txt"))
            files[index] = base
        }
        var rows = ""
        for line in lines {
            var cell = escape(line.text)
            if let index = line.email, let base = files[index] {
                cell = "<strong>\(escape(line.step ?? ""))</strong> — \(escape(line.subject ?? "")) "
                    + "<a href=\"emails/\(base).html\" target=\"preview\">view</a> · <a href=\"emails/\(base).txt\" target=\"preview\">text</a> · <a href=\"emails/\(base).eml\">.eml</a>"
            }
            rows += "<tr class=\"\(line.kind)\"><td class=\"when\">\(escape(format(line.at)))</td><td class=\"offset\">\(line.offset)</td><td class=\"kind\">\(line.kind)</td><td>\(cell)</td></tr>\n"
        }
        let first = files.sorted { $0.key < $1.key }.first.map { "emails/\($0.value).html" } ?? "about:blank"
        let page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Nurture dry run — \(escape(timeline.lead.email))</title>
        <style>
        body { font-family: -apple-system, Helvetica, Arial, sans-serif; margin: 0; color: #1f2933; }
        header { padding: 16px 24px; background: #3b5bdb; color: white; }
        header h1 { margin: 0 0 4px 0; font-size: 20px; } header p { margin: 2px 0; opacity: .9; }
        main { display: flex; height: calc(100vh - 110px); }
        section.timeline { flex: 1 1 55%; overflow: auto; padding: 8px 16px; }
        section.preview { flex: 1 1 45%; border-left: 1px solid #d9e2ec; }
        iframe { width: 100%; height: 100%; border: 0; }
        table { border-collapse: collapse; width: 100%; font-size: 14px; }
        td { padding: 6px 8px; border-bottom: 1px solid #eef2f6; vertical-align: top; }
        td.when { white-space: nowrap; color: #52606d; } td.offset { white-space: nowrap; color: #9aa5b1; font-family: monospace; }
        td.kind { font-size: 12px; text-transform: uppercase; color: #7b8794; }
        tr.send { background: #edf2ff; } tr.stage { background: #e3f9e5; } tr.what-if { background: #fff8e1; }
        tr.suppressed { background: #ffe3e3; } tr.deferred td, tr.wait td { color: #52606d; }
        footer { padding: 8px 24px; border-top: 1px solid #d9e2ec; font-size: 14px; }
        td { overflow-wrap: anywhere; }
        /* A phone: the timeline, then the email below it, each the screen's width. */
        @media (max-width: 760px) {
          header { padding: 12px 16px; } header h1 { font-size: 17px; overflow-wrap: anywhere; }
          main { display: block; height: auto; }
          section.timeline { padding: 4px 8px; overflow: visible; }
          section.preview { border-left: 0; border-top: 1px solid #d9e2ec; height: 85vh; }
          table { font-size: 13px; } td { padding: 5px 4px; }
          td.when { white-space: normal; } td.offset { display: none; }
          footer { padding: 8px 16px; }
        }
        </style></head>
        <body>
        <header><h1>Dry run: \(escape(timeline.lead.displayName ?? timeline.lead.email)) &lt;\(escape(timeline.lead.email))&gt;</h1>
        \(header.dropFirst().map { "<p>\(escape($0))</p>" }.joined())
        </header>
        <main><section class="timeline"><table>
        \(rows)</table></section>
        <section class="preview"><iframe name="preview" src="\(first)" title="email preview"></iframe></section></main>
        <footer>\(escape(footer))</footer>
        </body></html>
        """
        let index = directory.appendingPathComponent("index.html")
        try Data(page.utf8).write(to: index)
        return index
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
