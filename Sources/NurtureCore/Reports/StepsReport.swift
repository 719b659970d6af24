import Foundation

/// What a store reads for the steps report (see ``ReportReading/stepFacts(period:sequence:)``):
/// the rollup counts of each step for the emails sent in the period.
public struct StepFacts: Sendable, Equatable {
    public struct Key: Sendable, Hashable {
        public var sequence: String
        public var step: String
        public init(sequence: String, step: String) {
            self.sequence = sequence
            self.step = step
        }
    }

    public struct Link: Sendable, Equatable, Codable {
        public var url: String
        /// Human clicks on the link.
        public var clicks: Int
        /// Emails whose link was clicked by a person (each email once).
        public var uniqueClicks: Int
        public init(url: String, clicks: Int, uniqueClicks: Int) {
            self.url = url
            self.clicks = clicks
            self.uniqueClicks = uniqueClicks
        }
    }

    /// Counts by step and metric name (``SendEngagement/metrics``).
    public var counts: [Key: [String: Int]]
    /// Human clicks by step and link.
    public var links: [Key: [Link]]
    /// A/B steps: counts by step, variant and metric name (``variantMetrics``).
    public var variants: [Key: [String: [String: Int]]]

    /// The metrics counted per variant, each from the send's ``SendEngagement`` bit.
    public static let variantMetrics: [(flag: SendEngagement, name: String)] = SendEngagement.metrics.filter {
        ["sent", "bounced", "opened", "clicked", "unsubscribed", "complained", "replied", "form_submitted", "goal_exits"].contains($0.name)
    }

    /// The SQL (SQLite and PostgreSQL alike) that counts ``variantMetrics`` over the sends
    /// table's `engagement` bits, one column per metric.
    public static var variantColumns: String {
        variantMetrics.map { "SUM(CASE WHEN (engagement & \($0.flag.rawValue)) != 0 THEN 1 ELSE 0 END) AS \($0.name)" }.joined(separator: ", ")
    }

    public init(counts: [Key: [String: Int]], links: [Key: [Link]] = [:], variants: [Key: [String: [String: Int]]] = [:]) {
        self.counts = counts
        self.links = links
        self.variants = variants
    }
}

/// The steps report: for each send step, what its emails sent in the period drew. Opens and
/// clicks count unique emails opened or clicked by people; machine opens and clicks (image
/// proxies, link scanners) are shown apart and never in the rates. Delivered is sent less
/// bounced (an SMTP relay reports no deliveries, only bounces).
public struct StepsReport: Sendable, Equatable, Codable {
    public struct Machine: Sendable, Equatable, Codable {
        public var opened: Int
        public var clicked: Int
    }

    public struct Row: Sendable, Equatable, Codable {
        public var sequence: String
        public var step: String
        public var sent: Int
        public var delivered: Int
        public var bounced: Int
        public var bouncedHard: Int
        public var bouncedSoft: Int
        /// Emails opened by a person (unique per email).
        public var opened: Int
        /// Emails clicked by a person (unique per email).
        public var clicked: Int
        /// opened / delivered.
        public var openRate: Double?
        /// clicked / delivered.
        public var clickRate: Double?
        /// clicked / opened.
        public var clickToOpen: Double?
        public var unsubscribed: Int
        /// unsubscribed / delivered.
        public var unsubscribeRate: Double?
        public var complained: Int
        public var replied: Int
        public var formSubmitted: Int
        /// Leads that met a goal of the sequence while this was their latest email.
        public var goalExits: Int
        public var machine: Machine
        /// Human clicks per link, most clicked first.
        public var links: [StepFacts.Link]
        /// An A/B step's variants, by id: each with its own counts and rates.
        public var variants: [VariantRow] = []
    }

    /// One variant of an A/B step: what its emails drew.
    public struct VariantRow: Sendable, Equatable, Codable {
        public var variant: String
        public var sent: Int
        public var delivered: Int
        public var opened: Int
        public var clicked: Int
        public var openRate: Double?
        public var clickRate: Double?
        public var unsubscribed: Int
        public var complained: Int
        public var replied: Int
        public var formSubmitted: Int
        public var goalExits: Int
    }

    public var since: Date
    public var until: Date
    public var steps: [Row]

    /// - Parameter order: the sequences and their send steps as the workflow has them; steps
    ///   with counts that the workflow no longer has come after, by name.
    public init(facts: StepFacts, order: [(sequence: String, steps: [String])], period: ReportPeriod, sequence: String? = nil) {
        since = period.since
        until = period.until
        var keys = order.filter { sequence == nil || $0.sequence == sequence }.flatMap { entry in entry.steps.map { StepFacts.Key(sequence: entry.sequence, step: $0) } }
        let known = Set(keys)
        keys += facts.counts.keys.filter { !known.contains($0) && (sequence == nil || $0.sequence == sequence) }.sorted { ($0.sequence, $0.step) < ($1.sequence, $1.step) }
        steps = keys.map { key in
            let c = facts.counts[key] ?? [:]
            func n(_ name: String) -> Int { c[name] ?? 0 }
            func rate(_ part: Int, _ whole: Int) -> Double? { whole > 0 ? Double(part) / Double(whole) : nil }
            let sent = n("sent"), bounced = n("bounced"), opened = n("opened"), clicked = n("clicked")
            let delivered = max(0, sent - bounced)
            return Row(
                sequence: key.sequence, step: key.step, sent: sent, delivered: delivered, bounced: bounced,
                bouncedHard: n("bounced_hard"), bouncedSoft: n("bounced_soft"), opened: opened, clicked: clicked,
                openRate: rate(opened, delivered), clickRate: rate(clicked, delivered), clickToOpen: rate(clicked, opened),
                unsubscribed: n("unsubscribed"), unsubscribeRate: rate(n("unsubscribed"), delivered), complained: n("complained"),
                replied: n("replied"), formSubmitted: n("form_submitted"), goalExits: n("goal_exits"),
                machine: Machine(opened: n("machine_opened"), clicked: n("machine_clicked")),
                links: (facts.links[key] ?? []).sorted { ($1.clicks, $0.url) < ($0.clicks, $1.url) },
                variants: (facts.variants[key] ?? [:]).sorted { $0.key < $1.key }.map { variant, c in
                    func n(_ name: String) -> Int { c[name] ?? 0 }
                    let delivered = max(0, n("sent") - n("bounced"))
                    return VariantRow(
                        variant: variant, sent: n("sent"), delivered: delivered, opened: n("opened"), clicked: n("clicked"),
                        openRate: rate(n("opened"), delivered), clickRate: rate(n("clicked"), delivered), unsubscribed: n("unsubscribed"),
                        complained: n("complained"), replied: n("replied"), formSubmitted: n("form_submitted"), goalExits: n("goal_exits"))
                })
        }
    }
}

extension Workflow {
    /// The sequences and their send steps, in the files' order: the steps report's rows.
    public var reportOrder: [(sequence: String, steps: [String])] {
        sequences.map { sequence in
            (sequence.id, sequence.steps.compactMap { step in
                if case .send = step.kind { return step.id }
                return nil
            })
        }
    }
}

/// How a clicked link is named in reports: its URL without the query string and fragment
/// (at most 500 characters), so that personalised parameters (an address, a lead id) never
/// reach a report, and the clicks on one link in every lead's email add up.
public enum ReportedLink {
    public static func of(_ url: String) -> String {
        let cut = url.firstIndex { $0 == "?" || $0 == "#" } ?? url.endIndex
        return String(url[..<cut].prefix(500))
    }
}
