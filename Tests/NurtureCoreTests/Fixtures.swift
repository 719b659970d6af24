import Foundation
@testable import NurtureCore

/// A local date in a zone: `at("2026-11-23 10:00", "America/New_York")`.
func at(_ text: String, _ zone: String = "UTC") -> Date {
    LocalDateTime(parsing: text)!.instant(in: TimeZone(identifier: zone)!)
}

func step(_ id: String, _ kind: Step.Kind) -> Step { Step(id: id, kind) }

/// The seeds' funnel and scoring model (PRODUCT.md): open + click welcome +10, pricing +5,
/// quote +20; MQL at 40 with fit 10, SQL at 70 with a quote or a reply.
func seedWorkflow(sequences: [Sequence], settings: Workflow.Settings = Workflow.Settings(defaultTimeZone: "America/New_York"), decay: Decay? = nil) -> Workflow {
    let funnel = Funnel(
        stages: [
            Stage(name: "lead"),
            Stage(name: "mql", entry: EntryCriteria(scoreAtLeast: 40, fitAtLeast: 10)),
            Stage(name: "sql", entry: EntryCriteria(scoreAtLeast: 70, requiresAny: [
                EventFilter(type: "form_submitted", properties: ["form": .equals("quote")]), EventFilter(type: "replied"),
            ])),
            Stage(name: "opportunity", manual: true),
            Stage(name: "customer", manual: true),
        ],
        recycleRules: [RecycleRule(from: "sql", to: "mql", afterInactive: .days(60), tag: "recycled")])
    let scoring = ScoringModel(
        engagement: [
            EngagementRule(id: "opened", filter: EventFilter(type: "email_opened"), points: 2, maxPerLead: 10),
            EngagementRule(id: "clicked", filter: EventFilter(type: "email_clicked"), points: 10),
            EngagementRule(id: "pricing", filter: EventFilter(type: "page_visited", properties: ["path": .prefix("/pricing")]), points: 5),
            EngagementRule(id: "quote", filter: EventFilter(type: "form_submitted", properties: ["form": .equals("quote")]), points: 20, once: true),
            EngagementRule(id: "replied", filter: EventFilter(type: "replied"), points: 15),
            EngagementRule(id: "unsubscribed", filter: EventFilter(type: "unsubscribed"), points: -50),
        ],
        fit: [
            FitRule(id: "decision maker", field: "job_title", test: .matches(try! Pattern("(?i)\\b(vp|head|director|chief|cto|ceo)\\b")), points: 15),
            FitRule(id: "company size", field: "employees", test: .between(50, 5000), points: 10),
            FitRule(id: "student", field: "email", test: .matches(try! Pattern("\\.edu$")), points: -30),
        ],
        decay: decay)
    return Workflow(funnel: funnel, scoring: scoring, sequences: sequences, settings: settings)
}

/// The sends of a timeline: (time, step).
func sends(_ timeline: [Simulation.Entry]) -> [(Date, String)] {
    timeline.compactMap { entry in
        if case .send(let request) = entry.effect { return (entry.at, request.key.step) }
        return nil
    }
}

func sendSteps(_ timeline: [Simulation.Entry]) -> [String] { sends(timeline).map(\.1) }

func stageChanges(_ timeline: [Simulation.Entry]) -> [StageChange] {
    timeline.compactMap { if case .stageChanged(let change) = $0.effect { change } else { nil } }
}

func decisions(_ timeline: [Simulation.Entry]) -> [String] {
    timeline.compactMap { if case .decided(_, _, let reason) = $0.effect { reason } else { nil } }
}

let ny = "America/New_York"
