import Foundation

/// The engine: events and the passage of time in, a lead's new state and the effects out.
///
/// It scores events, moves leads through the funnel (thresholds, recycling, `stage` steps),
/// ends and starts enrollments, and walks sequences with the ``Planner``. It is pure and
/// deterministic; the scheduler (real clock, real store, real relay) and the dry-run
/// (virtual clock, memory, no relay) both drive this one type.
public struct NurtureEngine: Sendable {
    public let workflow: Workflow
    public let scoring: ScoringEngine
    public let funnel: FunnelEvaluator
    private let planner: Planner
    /// The funnel's required-event filters and their milestone keys, computed once.
    private let milestoneFilters: [(filter: EventFilter, key: String)]
    /// A fingerprint of the fit rules (see ``LeadState/fitRules``).
    private let fitRules: String
    /// The event filters conditions ask about, each with how many times to remember.
    private let historyFilters: [(filter: EventFilter, key: String, keep: Int)]
    /// The event-triggered sequences, in priority order.
    private let triggered: [Sequence]

    public init(workflow: Workflow) {
        self.workflow = workflow
        self.scoring = ScoringEngine(model: workflow.scoring)
        self.funnel = FunnelEvaluator(funnel: workflow.funnel)
        self.planner = Planner(workflow: workflow)
        self.milestoneFilters = workflow.funnel.requiredEvents.map { ($0, $0.description) }
        self.fitRules = workflow.scoring.fit.map { "\($0.field) \($0.test) \($0.points)" }.joined(separator: "; ")
        var keep: [String: (EventFilter, Int)] = [:]
        for condition in workflow.conditions {
            for (filter, atLeast) in condition.eventTests {
                keep[filter.description] = (filter, max(keep[filter.description]?.1 ?? 1, min(atLeast, 1000)))
            }
        }
        self.historyFilters = keep.sorted { $0.key < $1.key }.map { ($0.value.0, $0.key, $0.value.1) }
        self.triggered = workflow.sequences.enumerated().filter { $0.element.trigger != nil }
            .sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }.map(\.element)
    }

    /// What event conditions read: the lead's remembered events, at `now`.
    func history(_ state: LeadState, now: Date) -> EventHistory {
        EventHistory(log: state.eventLog ?? [:], now: now)
    }

    /// Stage moves per decision before the engine stops following them (guards against
    /// thresholds and `stage` steps that would bounce a lead back and forth).
    static let stageMoveLimit = 10

    /// A new lead: fit scored, placed in its stage (the first one unless it names another),
    /// qualified by thresholds, enrolled, and walked to its first wait. A lead whose address is
    /// already `suppression`ed gets its stage and scores but no enrollment.
    public func start(_ lead: Lead, now: Date, suppression: Suppression? = nil) -> (LeadState, [Effect]) {
        var lead = lead
        if workflow.funnel.index(of: lead.stage) == nil { lead.stage = workflow.funnel.stages.first?.name ?? lead.stage }
        var state = LeadState(lead: lead, now: now)
        state.suppression = suppression
        var effects: [Effect] = []
        refreshScores(&state, now: now, fit: true)
        settle(&state, now: now, effects: &effects, enroll: true)
        return (state, effects)
    }

    /// An event: scored, recorded against the enrollment (branches, goals), and followed
    /// through (stage changes, suppression, the next steps).
    public func handle(_ event: Event, state: inout LeadState, now: Date) -> [Effect] {
        var effects: [Effect] = []
        for change in scoring.apply(event, to: &state.score, now: now) {
            effects.append(.scored(event: event.type, change))
        }
        if !event.isMachine {
            for (filter, key) in milestoneFilters where filter.matches(event) {
                state.milestones.insert(key)
            }
            if event.isEngagement { state.awaitingReengagement = false }
        }
        EventHistory.record(event, filters: historyFilters, in: &state.eventLog)
        refreshScores(&state, now: now)
        if let suppression = Self.suppression(for: event), state.suppression == nil {
            state.suppression = suppression
            effects.append(.suppressed(suppression))
            endEnrollments(&state, reason: "lead \(suppression.rawValue)", now: now, effects: &effects)
        }
        _ = planner.record(event, in: &state, now: now, effects: &effects)
        // A paused enrollment sees the lead's events too: engagement with its emails (for its
        // branches) and its goals (a quote request ends it even while it waits).
        if state.pausedEnrollment != nil {
            let current = state.enrollment
            state.enrollment = state.pausedEnrollment
            _ = planner.record(event, in: &state, now: now, effects: &effects)
            state.pausedEnrollment = state.enrollment
            state.enrollment = current
            if state.pausedEnrollment == nil { state.pausedAt = nil }
        }
        // The event's consequences first (a stage move it qualifies the lead for, and that
        // stage's sequence), then the trigger, which pauses or replaces what the lead is in.
        settle(&state, now: now, effects: &effects, enroll: false)
        if trigger(event, state: &state, now: now, effects: &effects) {
            settle(&state, now: now, effects: &effects, enroll: false)
        }
        return effects
    }

    /// Starts the first event-triggered sequence `event` fires whose stage, audience and
    /// re-entry rule let the lead in. A lead already in a triggered sequence stays in it.
    /// - Returns: whether a triggered sequence started.
    @discardableResult
    private func trigger(_ event: Event, state: inout LeadState, now: Date, effects: inout [Effect]) -> Bool {
        guard !triggered.isEmpty, !event.isMachine, state.suppression == nil else { return false }
        let candidates = triggered.filter { $0.trigger?.filter.matches(event) == true && ($0.stage.isEmpty || $0.stage == state.lead.stage) }
        guard !candidates.isEmpty else { return false }
        if let current = state.enrollment, workflow.sequence(current.sequence)?.trigger != nil {
            effects.append(.notEnrolled(stage: state.lead.stage, reason: "\(candidates.map(\.id).joined(separator: ", ")): the lead is in the triggered sequence \(current.sequence)"))
            return false
        }
        guard let (sequence, number) = firstAccepting(candidates, state: state, now: now, refusals: { effects.append(.notEnrolled(stage: state.lead.stage, reason: $0)) }) else { return false }
        if let current = state.enrollment {
            switch sequence.trigger?.mode ?? .pause {
            case .pause:
                state.pausedEnrollment = current
                state.pausedAt = now
                state.enrollment = nil
                effects.append(.enrollmentPaused(sequence: current.sequence, by: sequence.id))
            case .replace:
                effects.append(.enrollmentEnded(sequence: current.sequence, reason: "replaced by \(sequence.id) (\(event.type))"))
                state.endEnrollment(now: now)
            }
        }
        state.enrollment = Enrollment(sequence: sequence.id, number: number, startedAt: now)
        effects.append(.enrolled(sequence: sequence.id, number: number))
        return true
    }

    /// Ends the enrollment and any paused one (a suppression, a stage move).
    private func endEnrollments(_ state: inout LeadState, reason: String, now: Date, effects: inout [Effect]) {
        if let enrollment = state.enrollment {
            effects.append(.enrollmentEnded(sequence: enrollment.sequence, reason: reason))
            state.endEnrollment(now: now)
        }
        if let paused = state.pausedEnrollment {
            effects.append(.enrollmentEnded(sequence: paused.sequence, reason: reason))
            state.enrollment = paused
            state.endEnrollment(now: now)
            state.pausedEnrollment = nil
            state.pausedAt = nil
        }
    }

    /// Puts the paused enrollment back, its times shifted by the pause: a wait that had a day
    /// left still has a day left, a branch's window is as long as it was. The step's time to
    /// resume is worked out again from there, so calendar waits (until a date, until next
    /// Tuesday, business days) keep their calendar.
    private func resumePaused(_ state: inout LeadState, now: Date, effects: inout [Effect]) -> Bool {
        guard state.enrollment == nil, state.suppression == nil, var paused = state.pausedEnrollment else { return false }
        let pause = max(0, now.timeIntervalSince(state.pausedAt ?? now))
        paused.stepEnteredAt += pause
        paused.sent = paused.sent.mapValues { $0 + pause }
        paused.resumeAt = nil
        state.enrollment = paused
        state.pausedEnrollment = nil
        state.pausedAt = nil
        effects.append(.enrollmentResumed(sequence: paused.sequence))
        return true
    }

    /// Time passes: decay, recycling, waits that ended.
    public func tick(_ state: inout LeadState, now: Date) -> [Effect] {
        var effects: [Effect] = []
        refreshScores(&state, now: now)
        settle(&state, now: now, effects: &effects, enroll: false)
        return effects
    }

    /// An operator or the API moves the lead (manual stages are reached this way).
    public func moveToStage(_ stage: String, reason: String, state: inout LeadState, now: Date) -> [Effect] {
        var effects: [Effect] = []
        guard workflow.funnel.index(of: stage) != nil, stage != state.lead.stage else { return effects }
        changeStage(&state, to: stage, reason: reason, now: now, effects: &effects)
        settle(&state, now: now, effects: &effects, enroll: true)
        return effects
    }

    /// An operator stops all marketing email to the lead (its current enrollment ends).
    public func suppress(_ reason: Suppression, state: inout LeadState, now: Date) -> [Effect] {
        guard state.suppression == nil else { return [] }
        var effects: [Effect] = [.suppressed(reason)]
        state.suppression = reason
        endEnrollments(&state, reason: "lead \(reason.rawValue)", now: now, effects: &effects)
        return effects
    }

    /// Profile fields changed (an import, the API): fit re-scored, thresholds re-checked.
    public func updateFields(_ fields: [String: String], state: inout LeadState, now: Date) -> [Effect] {
        updateProfile(fields: fields, state: &state, now: now)
    }

    /// The profile changed (an import, the API, `nurture leads tag`): fields set, tags added and
    /// removed (each change an effect), fit re-scored, thresholds re-checked.
    public func updateProfile(fields: [String: String] = [:], addTags: Set<String> = [], removeTags: Set<String> = [], state: inout LeadState, now: Date) -> [Effect] {
        var effects: [Effect] = []
        for (key, value) in fields { state.lead.fields[key] = value }
        for tag in addTags.sorted() where state.lead.tags.insert(tag).inserted { effects.append(.tagAdded(tag)) }
        for tag in removeTags.sorted() where state.lead.tags.remove(tag) != nil { effects.append(.tagRemoved(tag)) }
        refreshScores(&state, now: now, fit: true)
        settle(&state, now: now, effects: &effects, enroll: false)
        return effects
    }

    /// When the lead next needs the engine if nothing happens: the end of a wait, a branch
    /// window, a deferred send, or the moment a recycle rule could apply. `nil`: never.
    /// Always after `now`.
    public func nextWake(_ state: LeadState, after now: Date) -> Date? {
        var recycle = state.suppression == nil
            ? funnel.nextRecycleCheck(state.lead, lastEngagement: state.score.lastEngagement, enteredStageAt: state.enteredStageAt)
            : nil
        // Inactive long enough but the score is still too high: look again daily, as decay lowers it.
        if let due = recycle, due <= now { recycle = now + .days(1) }
        return [state.enrollment?.resumeAt, recycle].compactMap { $0 }.filter { $0 > now }.min()
    }

    /// The lead's time zone, or the workflow's default.
    public func timeZone(for lead: Lead) -> TimeZone { planner.timeZone(for: lead) }

    /// When a send of `sequence` to `lead` must wait for its send window at `now` (a retry
    /// that falls at night): the opening and why; `nil` when it may go now.
    public func sendWindowDeferral(sequence: String, lead: Lead, at now: Date) -> (until: Date, reason: String)? {
        guard let window = workflow.sequence(sequence)?.sendWindow ?? workflow.settings.sendWindow else { return nil }
        let zone = timeZone(for: lead)
        let opening = window.nextOpening(atOrAfter: now, in: zone)
        return opening > now ? (opening, "outside the send window (\(window), \(zone.identifier))") : nil
    }

    /// The lead's score breakdown: fit rules that apply, engagement points per rule.
    public func breakdown(_ state: LeadState, at now: Date) -> (fit: [ScoreChange], engagement: [ScoreChange], engagementNow: Int) {
        let engagement = state.score.awarded.sorted { $0.key < $1.key }.map { ScoreChange(rule: $0.key, points: $0.value) }
        return (scoring.fitBreakdown(of: state.lead), engagement, scoring.engagement(state.score, at: now))
    }

    // MARK: - Internals

    /// Follows the consequences of a change until the lead is waiting: stage moves from
    /// thresholds, recycling or `stage` steps, enrollment in the stage's sequence, the walk.
    private func settle(_ state: inout LeadState, now: Date, effects: inout [Effect], enroll: Bool) {
        var needsEnrollment = enroll || state.enrollment == nil && state.stageHistory.isEmpty && state.pastEnrollments.isEmpty
        for _ in 0..<Self.stageMoveLimit {
            // A triggered sequence that ended between two decisions (a goal, an exit): the
            // paused one goes on.
            _ = resumePaused(&state, now: now, effects: &effects)
            if let (stage, reason) = qualification(state) {
                changeStage(&state, to: stage.name, reason: reason, now: now, effects: &effects)
                needsEnrollment = true
            } else if let (rule, reason) = funnel.recycling(state.lead, lastEngagement: state.score.lastEngagement, enteredStageAt: state.enteredStageAt, now: now) {
                changeStage(&state, to: rule.to, reason: reason, now: now, effects: &effects)
                if let tag = rule.tag, state.lead.tags.insert(tag).inserted { effects.append(.tagAdded(tag)) }
                // A recycled lead must show interest again to move forward: old quote requests
                // and replies no longer count, and its score alone does not re-qualify it.
                state.milestones.removeAll()
                state.awaitingReengagement = true
                needsEnrollment = true
            }
            if needsEnrollment, state.enrollment == nil, state.suppression == nil {
                enrollInStageSequence(&state, now: now, effects: &effects)
            }
            needsEnrollment = false
            let before = effects.count
            let stop = planner.advance(&state, now: now, effects: &effects)
            let fieldsChanged = effects[before...].contains { if case .fieldSet = $0 { true } else { false } }
            switch stop {
            case .ended where state.suppression == nil && resumePaused(&state, now: now, effects: &effects):
                continue
            case .waiting, .ended:
                refreshScores(&state, now: now, fit: fieldsChanged)
                if qualification(state) == nil { return }
            case .stage(let name, let step):
                if fieldsChanged { refreshScores(&state, now: now, fit: true) }
                let sequence = state.enrollment?.sequence ?? "?"
                changeStage(&state, to: name, reason: "step '\(step)' of sequence '\(sequence)'", now: now, effects: &effects)
                needsEnrollment = true
            }
        }
    }

    private func qualification(_ state: LeadState) -> (stage: Stage, reason: String)? {
        state.awaitingReengagement ? nil : funnel.qualification(for: state.lead, milestones: state.milestones)
    }

    private func changeStage(_ state: inout LeadState, to stage: String, reason: String, now: Date, effects: inout [Effect]) {
        let change = StageChange(from: state.lead.stage, to: stage, at: now, reason: reason)
        effects.append(.stageChanged(change))
        endEnrollments(&state, reason: "moved to stage \(stage)", now: now, effects: &effects)
        state.lead.stage = stage
        state.enteredStageAt = now
        state.stageHistory.append(change)
    }

    /// Enrolls the lead in the first sequence of its stage that accepts it.
    private func enrollInStageSequence(_ state: inout LeadState, now: Date, effects: inout [Effect]) {
        let candidates = workflow.sequences(for: state.lead.stage)
        guard !candidates.isEmpty else { return }
        guard let (sequence, number) = firstAccepting(candidates, state: state, now: now, refusals: { effects.append(.notEnrolled(stage: state.lead.stage, reason: $0)) }) else { return }
        state.enrollment = Enrollment(sequence: sequence.id, number: number, startedAt: now)
        effects.append(.enrolled(sequence: sequence.id, number: number))
    }

    /// The first of `candidates` whose audience the lead passes and whose re-entry rule lets
    /// it in, with the enrollment's number; else `nil`, and `refusals` gets why not.
    private func firstAccepting(_ candidates: [Sequence], state: LeadState, now: Date, refusals report: (String) -> Void) -> (Sequence, Int)? {
        var refusals: [String] = []
        let history = history(state, now: now)
        for sequence in candidates {
            if let audience = sequence.audience, !audience.evaluate(state.lead, history: history) {
                refusals.append("\(sequence.id): not in its audience (\(audience))")
                continue
            }
            let past = state.pastEnrollments[sequence.id]
            if let past {
                switch sequence.reEntry {
                case .never:
                    refusals.append("\(sequence.id): already done (re-entry: never)")
                    continue
                case .after(let span) where now < past.lastEndedAt + span:
                    refusals.append("\(sequence.id): re-entry only \(span) after the last one")
                    continue
                case .after, .always:
                    break
                }
            }
            return (sequence, (past?.count ?? 0) + 1)
        }
        report(refusals.joined(separator: "; "))
        return nil
    }

    /// Brings the lead's scores up to `now`. Fit depends only on the profile, so it is
    /// recomputed only when fields may have changed (fit rules can be costly patterns).
    private func refreshScores(_ state: inout LeadState, now: Date, fit: Bool = false) {
        if fit || state.fitRules != fitRules {
            scoring.updateFit(of: state.lead, state: &state.score)
            state.lead.fitScore = state.score.fit
            state.fitRules = fitRules
        }
        state.lead.engagementScore = scoring.engagement(state.score, at: now)
    }

    /// Hard bounces, complaints and unsubscribes stop marketing email.
    static func suppression(for event: Event) -> Suppression? {
        switch event.type {
        case Event.Kind.unsubscribed: .unsubscribed
        case Event.Kind.complained: .complained
        case Event.Kind.bounced: event.properties["type"]?.lowercased() == "soft" ? nil : .bounced
        default: nil
        }
    }
}
