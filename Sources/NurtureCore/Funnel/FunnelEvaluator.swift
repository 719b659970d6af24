import Foundation

/// Decides stage moves from the funnel's thresholds and recycle rules.
public struct FunnelEvaluator: Sendable {
    public let funnel: Funnel

    public init(funnel: Funnel) {
        self.funnel = funnel
    }

    /// The furthest stage past the current one whose entry criteria `lead` meets.
    /// Manual stages and stages without criteria are never entered this way, and a lead in
    /// a manual stage is never moved forward by thresholds either (sales owns it).
    public func qualification(for lead: Lead, milestones: Set<String>) -> (stage: Stage, reason: String)? {
        guard let current = funnel.index(of: lead.stage), !funnel.stages[current].manual else { return nil }
        for stage in funnel.stages[(current + 1)...].reversed() {
            guard !stage.manual, let entry = stage.entry, entry.isMet(by: lead, milestones: milestones) else { continue }
            return (stage, "qualified: \(entry.description) (score \(lead.score), fit \(lead.fitScore))")
        }
        return nil
    }

    /// The recycle rule that applies to `lead` at `now`, if any.
    public func recycling(_ lead: Lead, lastEngagement: Date?, enteredStageAt: Date, now: Date) -> (rule: RecycleRule, reason: String)? {
        for rule in funnel.recycleRules where rule.from == lead.stage {
            let since = max(lastEngagement ?? enteredStageAt, enteredStageAt)
            guard now >= since + rule.afterInactive else { continue }
            if let threshold = rule.whenScoreBelow, lead.score >= threshold { continue }
            var reason = "recycled: no engagement for \(rule.afterInactive)"
            if let threshold = rule.whenScoreBelow { reason += " and score \(lead.score) < \(threshold)" }
            return (rule, reason)
        }
        return nil
    }

    /// When a recycle rule could next apply (the scheduler wakes the lead then).
    public func nextRecycleCheck(_ lead: Lead, lastEngagement: Date?, enteredStageAt: Date) -> Date? {
        funnel.recycleRules.filter { $0.from == lead.stage }
            .map { max(lastEngagement ?? enteredStageAt, enteredStageAt) + $0.afterInactive }
            .min()
    }
}
