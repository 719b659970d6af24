import Foundation
import Testing
@testable import NurtureCore

@Suite("Reports: what each email drew, and the steps report built from it")
struct ReportTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("each kind of event adds what it means once; machines apart; a click is also an open")
    func engagement() {
        let open = Event(Event.Kind.opened, at: t0), click = Event(Event.Kind.clicked, at: t0)
        let proxy = Event(Event.Kind.opened, at: t0, isMachine: true), scanner = Event(Event.Kind.clicked, at: t0, isMachine: true)
        let sent: SendEngagement = .sent
        #expect(sent.adding(open) == .opened)
        #expect(sent.union(.opened).adding(open).isEmpty, "a second open adds nothing")
        #expect(sent.adding(click) == [.clicked, .opened])
        #expect(sent.union(.opened).adding(click) == .clicked)
        #expect(sent.adding(proxy) == .machineOpened && sent.adding(scanner) == .machineClicked)
        #expect(!sent.adding(scanner).contains(.clicked), "a scanner's click is not a click")
        // A bounce on an email the relay never accepted: it was handed over, and bounced.
        let hard = Event(Event.Kind.bounced, at: t0, properties: ["type": "hard"])
        #expect(SendEngagement().adding(hard) == [.sent, .bounced, .bouncedHard])
        #expect(sent.adding(Event(Event.Kind.bounced, at: t0, properties: ["type": "soft"])) == [.bounced, .bouncedSoft])
        #expect(sent.adding(Event(Event.Kind.bounced, at: t0)) == [.bounced, .bouncedHard], "no type: hard")
        for (type, flag) in [(Event.Kind.unsubscribed, SendEngagement.unsubscribed), (Event.Kind.complained, .complained),
                             (Event.Kind.replied, .replied), (Event.Kind.formSubmitted, .formSubmitted)] {
            #expect(sent.adding(Event(type, at: t0)) == flag, "\(type)")
        }
        #expect(sent.adding(Event("page_visited", at: t0)).isEmpty)
        #expect(SendEngagement([.sent, .opened, .goalReached]).metricNames == ["sent", "opened", "goal_exits"])
    }

    @Test("rates are of delivered emails, click-to-open of opened ones; none is a division by zero")
    func rates() {
        let key = StepFacts.Key(sequence: "s", step: "welcome")
        let facts = StepFacts(counts: [
            key: ["sent": 200, "bounced": 10, "opened": 95, "clicked": 19, "machine_opened": 40, "unsubscribed": 2],
            StepFacts.Key(sequence: "old", step: "gone"): ["sent": 1],
        ], links: [key: [.init(url: "https://b.example", clicks: 3, uniqueClicks: 2), .init(url: "https://a.example", clicks: 9, uniqueClicks: 7)]])
        let period = ReportPeriod(since: t0, until: t0 + 86_400)
        let report = StepsReport(facts: facts, order: [("s", ["welcome", "guide"])], period: period)
        #expect(report.steps.map { "\($0.sequence)/\($0.step)" } == ["s/welcome", "s/guide", "old/gone"])
        let row = report.steps[0]
        #expect(row.delivered == 190 && row.openRate == 0.5 && row.clickRate == 0.1 && row.clickToOpen == 0.2)
        #expect(row.unsubscribeRate == 2.0 / 190 && row.machine.opened == 40)
        #expect(row.links.map(\.url) == ["https://a.example", "https://b.example"], "most clicked first")
        #expect(report.steps[1].openRate == nil && report.steps[1].clickToOpen == nil)
        let one = StepsReport(facts: facts, order: [("s", ["welcome", "guide"])], period: period, sequence: "old")
        #expect(one.steps.map(\.step) == ["gone"])
    }

    @Test("periods: days at midnight UTC, times in ISO 8601, rounded out to whole hours for rollups")
    func periods() throws {
        let period = try ReportPeriod(since: "2026-11-01", until: "2026-11-02T10:30:00Z", now: t0)
        #expect(period.since == Date(timeIntervalSince1970: 1_793_491_200))
        let hours = RollupHour.range(period)
        #expect(hours.lowerBound == 1_793_491_200 / 3600 && hours.upperBound == (1_793_491_200 + 86_400 + 11 * 3600) / 3600)
        #expect(throws: ReportPeriodError.badDate(option: "since", text: "yesterday")) { try ReportPeriod(since: "yesterday", until: nil, now: t0) }
        #expect(throws: ReportPeriodError.emptyPeriod) { try ReportPeriod(since: "2026-11-02", until: "2026-11-01", now: t0) }
        let defaulted = try ReportPeriod(since: nil, until: nil, now: t0)
        #expect(defaulted.until == t0 && defaulted.since == t0 - 30 * 86_400)
    }

    @Test("attribution: the rule's events within its window; off credits nothing")
    func attribution() {
        let rule = AttributionRule()
        #expect(rule.window(for: Event(Event.Kind.replied, at: t0)) == .days(7))
        #expect(rule.window(for: Event(Event.Kind.formSubmitted, at: t0)) == .days(7))
        #expect(rule.window(for: Event("page_visited", at: t0)) == nil)
        #expect(AttributionRule(window: TimeSpan(seconds: 0)).window(for: Event(Event.Kind.replied, at: t0)) == nil)
    }
}
