import Foundation

/// Applies a ``ScoringModel``: events to engagement points, fields to fit points, time to decay.
/// Deterministic: the same history and times give the same scores.
public struct ScoringEngine: Sendable {
    public let model: ScoringModel

    public init(model: ScoringModel) {
        self.model = model
    }

    /// Scores `event` into `state`. Machine events (proxies, scanners) score nothing.
    /// - Returns: the changes made, one per matching rule (including rules that gave 0 and why).
    public func apply(_ event: Event, to state: inout ScoreState, now: Date) -> [ScoreChange] {
        guard !event.isMachine else { return [] }
        materializeDecay(&state, now: now)
        var changes: [ScoreChange] = []
        for rule in model.engagement where rule.filter.matches(event) {
            let already = state.awarded[rule.id]
            if rule.once, already != nil {
                changes.append(ScoreChange(rule: rule.id, points: 0, note: "once per lead"))
                continue
            }
            var points = rule.points
            if let cap = rule.maxPerLead {
                let room = max(0, cap - abs(already ?? 0))
                points = points >= 0 ? min(points, room) : -min(-points, room)
                if points != rule.points {
                    changes.append(ScoreChange(rule: rule.id, points: points, note: "cap of \(cap) reached"))
                    state.awarded[rule.id, default: 0] += points
                    add(points, decays: rule.decays, to: &state)
                    continue
                }
            }
            state.awarded[rule.id, default: 0] += points
            add(points, decays: rule.decays, to: &state)
            changes.append(ScoreChange(rule: rule.id, points: points))
        }
        if event.isEngagement { state.lastEngagement = max(state.lastEngagement ?? now, now) }
        return changes
    }

    /// Adds points that do not decay (a `score` step, a manual adjustment).
    public func adjust(_ points: Int, state: inout ScoreState) {
        state.fixed += points
    }

    /// Recomputes the fit score from the lead's profile.
    public func updateFit(of lead: Lead, state: inout ScoreState) {
        state.fit = fitBreakdown(of: lead).reduce(0) { $0 + $1.points }
    }

    /// The fit rules that apply to `lead`, with their points.
    public func fitBreakdown(of lead: Lead) -> [ScoreChange] {
        model.fit.filter { $0.test.test($0.field == "email" ? lead.email : lead.fields[$0.field]) }
            .map { ScoreChange(rule: $0.id, points: $0.points) }
    }

    /// The engagement score at `now`, decay included.
    public func engagement(_ state: ScoreState, at now: Date) -> Int {
        Int(decayed(state, at: now).rounded()) + state.fixed
    }

    /// Folds the decay up to `now` into the state, so new points start from today's value
    /// (points lost to inactivity stay lost).
    func materializeDecay(_ state: inout ScoreState, now: Date) {
        state.decaying = decayed(state, at: now)
        state.asOf = max(state.asOf ?? now, now)
    }

    private func decayed(_ state: ScoreState, at now: Date) -> Double {
        switch model.decay {
        case nil:
            return state.decaying
        case .halfLife(let span)?:
            guard let asOf = state.asOf, now > asOf else { return state.decaying }
            return state.decaying * pow(0.5, now.timeIntervalSince(asOf) / span.timeInterval)
        case .inactivity(let points, let every, let grace)?:
            guard let last = state.lastEngagement, state.decaying > 0 else { return state.decaying }
            // Whole periods of inactivity since the grace ended, minus those already folded
            // in at `asOf`: the result does not depend on when the state was materialized.
            let idleStart = last + grace
            func periods(until date: Date) -> Int {
                date > idleStart ? Int(date.timeIntervalSince(idleStart) / every.timeInterval) : 0
            }
            let due = periods(until: now) - periods(until: state.asOf ?? last)
            return due > 0 ? max(0, state.decaying - Double(due * points)) : state.decaying
        }
    }

    private func add(_ points: Int, decays: Bool, to state: inout ScoreState) {
        if decays {
            state.decaying += Double(points)
        } else {
            state.fixed += points
        }
    }
}
