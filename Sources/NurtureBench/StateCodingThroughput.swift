import ArgumentParser
import Foundation
import NurtureCore

/// Lead states written and read per second in each ``LeadStateFormat``, one thread: what a
/// decision pays to load and store its lead, and a claim to read the recipient.
struct StateCodingThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "states", abstract: "Encode and decode a mid-funnel lead state N times in each format and print µs per operation.")

    @Option var count = 50_000

    /// A lead three emails into a sequence, with a stage change, scores from three rules,
    /// opens and clicks recorded: the size of a state the engine reads and writes most.
    static func sampleState() -> LeadState {
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        var state = LeadState(lead: Lead(
            id: "48213", email: "ada.lovelace@analytical-engines.example",
            fields: ["first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "job_title": "CTO", "country": "GB"],
            timeZone: "Europe/London", stage: "mql", fitScore: 30, engagementScore: 24, tags: ["webinar-2026", "pricing"]), now: t)
        state.score.fit = 30
        state.score.decaying = 24.5
        state.score.asOf = t + 7_200
        state.score.awarded = ["email_opened": 6, "email_clicked": 10, "page_visited": 8]
        state.score.lastEngagement = t + 7_000
        state.milestones = ["visited pricing"]
        var enrollment = Enrollment(sequence: "mql-nurture", number: 1, startedAt: t)
        enrollment.position = 5
        enrollment.stepEnteredAt = t + 6 * 86_400
        enrollment.resumeAt = t + 8 * 86_400
        enrollment.sent = ["welcome": t, "case-study": t + 2 * 86_400, "pricing": t + 5 * 86_400]
        var opened = EngagementRecord()
        opened.opened = t + 3_600
        opened.clicked = t + 3_700
        opened.links = ["https://example.com/pricing": t + 3_700]
        enrollment.engagement = ["welcome": opened, "case-study": opened]
        enrollment.activeGoals = [4]
        state.enrollment = enrollment
        state.eventLog = ["email_opened": [t + 3_600, t + 2 * 86_400 + 60], "page_visited": [t + 3_800]]
        state.pastEnrollments = ["welcome-series": PastEnrollments(count: 1, lastEndedAt: t - 86_400)]
        state.stageHistory = [StageChange(from: "lead", to: "mql", at: t - 86_400, reason: "score 52 ≥ 50")]
        state.enteredStageAt = t - 86_400
        state.recentSends = [t, t + 2 * 86_400, t + 5 * 86_400]
        state.fitRules = "a41f09"
        return state
    }

    func run() throws {
        let coder = LeadStateCoder()
        let state = Self.sampleState()
        let clock = ContinuousClock()
        print("state: a mid-funnel lead (3 emails sent, 2 opened, a stage change); \(count) times each, one thread")
        for format in LeadStateFormat.allCases {
            let bytes = try coder.encode(state, as: format)
            var sink = 0
            let encode = try clock.measure {
                for _ in 0..<count { sink &+= try coder.encode(state, as: format).count }
            }
            let decode = try clock.measure {
                for _ in 0..<count { sink &+= try coder.decode(LeadState.self, from: bytes, version: format.version).score.fit }
            }
            let recipient = try clock.measure {
                for _ in 0..<count { sink &+= try coder.decode(OutboxSend.Recipient.self, from: bytes, version: format.version).lead.fitScore }
            }
            func micros(_ duration: Duration) -> String {
                let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                return String(format: "%.2f", seconds / Double(count) * 1e6)
            }
            print("\(format.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(bytes.count) bytes  encode \(micros(encode)) µs  decode \(micros(decode)) µs  claim's part \(micros(recipient)) µs  (\(sink % 2))")
        }
    }
}
