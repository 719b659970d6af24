import ArgumentParser
import Foundation
import NurtureApp
import NurtureCore

extension Leads {
    /// `nurture leads list`: the leads a filter selects, for a person or a spreadsheet.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List leads by stage, score, sequence, tag or suppression (text, CSV or JSON).",
            discussion: """
            Leads come by id (oldest first), at most --limit of them (0: all); the next page starts \
            after the last id shown (--after). The score is the one stored at the lead's last change \
            (`nurture leads show` gives it with today's decay). Suppressed: unsubscribed, bounced, \
            complained, suppressed by hand, or an address on the suppression list.

            Examples:
              nurture leads list --stage mql --min-score 60
              nurture leads list --tag recycled --format csv > recycled.csv
              nurture leads list --suppressed --limit 100 --after 4200 --format json
            """
        )

        @Option(help: "Only leads in this stage.") var stage: String?
        @Option(help: "Only leads scoring at least this.") var minScore: Int?
        @Option(help: "Only leads scoring at most this.") var maxScore: Int?
        @Option(help: "Only leads enrolled in this sequence now.") var sequence: String?
        @Option(help: "Only leads with this tag.") var tag: String?
        @Flag(inversion: .prefixedNo, help: "Only suppressed leads (--no-suppressed: only those still mailed).") var suppressed: Bool?
        @Option(help: "Only leads with an id greater than this (the next page).") var after: String?
        @Option(help: "At most this many (0: all).") var limit = 100
        @Option(help: "Output: text, json or csv.") var format: ReportCommand.Format = .text
        @OptionGroup var options: ServiceOptions

        func validate() throws {
            guard limit >= 0 else { throw ValidationError("--limit must be 0 (all) or more") }
            if let low = minScore, let high = maxScore, low > high { throw ValidationError("--min-score \(low) is above --max-score \(high)") }
            if let after, Int64(after) == nil { throw ValidationError("--after takes a lead id (a number), found '\(after)'") }
        }

        func run() async throws {
            let filter = LeadFilter(stage: stage, minScore: minScore, maxScore: maxScore, sequence: sequence, tag: tag,
                                    suppressed: suppressed, after: after, limit: limit == 0 ? Int(Int32.max) : limit)
            let leads = try await options.withRuntime { runtime in try await runtime.store.leads(filter) }
            switch format {
            case .json:
                print(try FunnelReportText.json(["leads": leads]))
            case .csv:
                print("id,email,stage,score,sequence,tags,status,created_at,updated_at")
                let iso = ISO8601DateFormatter()
                for lead in leads {
                    let cells = [lead.id, lead.email, lead.stage, "\(lead.score)", lead.sequence ?? "", lead.tags.joined(separator: ";"), lead.status,
                                 iso.string(from: lead.createdAt), iso.string(from: lead.updatedAt)]
                    print(cells.map(FunnelReportText.field).joined(separator: ","))
                }
            case .text:
                let widths = [8, 32, 13, 6, 22, 24, 12]
                print(FunnelReportText.row(["id", "email", "stage", "score", "sequence", "tags", "status"], widths: widths))
                for lead in leads {
                    print(terminalSafe(FunnelReportText.row([lead.id, lead.email, lead.stage, "\(lead.score)", lead.sequence ?? "-",
                                                             lead.tags.isEmpty ? "-" : lead.tags.joined(separator: ","), lead.status], widths: widths)))
                }
                if leads.isEmpty { print("  no lead matches") }
                if limit > 0, leads.count == limit, let last = leads.last {
                    print("\n\(leads.count) shown; the next ones: --after \(last.id)")
                }
            }
        }
    }
}
