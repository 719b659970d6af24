import Foundation

/// Walks a lead's enrollment through its sequence's steps: the one place that decides
/// what a sequence does. Pure: the lead's state and `now` in, the new state and effects out.
///
/// It runs steps until one makes the lead wait (a `wait`, an undecided branch, a send
/// window, a frequency cap), the sequence ends, or a `stage` step hands the lead to
/// another stage.
struct Planner {
    let workflow: Workflow

    /// What stopped the walk.
    enum Stop: Equatable {
        /// Waiting (or nothing to do); look again at ``LeadState/enrollment``'s `resumeAt`.
        case waiting
        /// The enrollment ended.
        case ended
        /// A `stage` step asks for this stage.
        case stage(String, step: String)
    }

    /// Steps run per call before the planner gives up on a runaway loop (validation rejects
    /// loops without a wait, so this only guards against a workflow that skipped validation).
    static let stepLimit = 1000

    func advance(_ state: inout LeadState, now: Date, effects: inout [Effect]) -> Stop {
        guard var enrollment = state.enrollment else { return .waiting }
        guard let sequence = workflow.sequence(enrollment.sequence) else {
            return end(&state, &enrollment, reason: "sequence '\(enrollment.sequence)' no longer exists", now: now, effects: &effects)
        }
        let zone = timeZone(for: state.lead)

        for _ in 0..<Self.stepLimit {
            guard enrollment.position < sequence.steps.count else {
                return end(&state, &enrollment, reason: "completed", now: now, effects: &effects)
            }
            let step = sequence.steps[enrollment.position]
            if let resumeAt = enrollment.resumeAt, now < resumeAt, !isBranch(step) {
                state.enrollment = enrollment
                return .waiting
            }

            switch step.kind {
            case .send(let template, let subject):
                if let suppression = state.suppression {
                    return end(&state, &enrollment, reason: "lead \(suppression.rawValue)", now: now, effects: &effects)
                }
                if let window = sequence.sendWindow ?? workflow.settings.sendWindow {
                    let opening = window.nextOpening(atOrAfter: now, in: zone)
                    if opening > now {
                        enrollment.resumeAt = opening
                        effects.append(.deferred(step: step.id, until: opening, reason: "outside the send window (\(window), \(zone.identifier))"))
                        state.enrollment = enrollment
                        return .waiting
                    }
                }
                if let cap = workflow.settings.frequencyCap {
                    state.recentSends.removeAll { $0 <= now - cap.per }
                    if state.recentSends.count >= cap.max, let oldest = state.recentSends.min() {
                        let free = oldest + cap.per
                        enrollment.resumeAt = free
                        effects.append(.deferred(step: step.id, until: free, reason: "frequency cap of \(cap) reached"))
                        state.enrollment = enrollment
                        return .waiting
                    }
                }
                let occurrence = enrollment.nextOccurrence(of: step.id)
                // An A/B step: the lead's variant, the same at every decision.
                let variant = step.variants.isEmpty ? nil : Variant.assigned(step.variants, lead: state.lead.id, sequence: sequence.id, step: step.id)
                effects.append(.send(SendRequest(
                    key: SendKey(leadID: state.lead.id, sequence: sequence.id, step: step.id, enrollment: enrollment.number, occurrence: occurrence),
                    template: variant?.template ?? template, subject: variant?.subject ?? subject, tracking: sequence.tracking, variant: variant?.id)))
                enrollment.sent[step.id] = now
                if occurrence > 1 {
                    // A loop came back: this email is new, and so is engagement with it.
                    enrollment.occurrences = (enrollment.occurrences ?? [:]).merging([step.id: occurrence]) { $1 }
                    enrollment.engagement[step.id] = nil
                }
                state.recentSends.append(now)
                // The schedule continues from when this send was planned (after any deferral),
                // not from when the scheduler got round to it.
                move(&enrollment, to: enrollment.position + 1, at: min(enrollment.resumeAt ?? enrollment.stepEnteredAt, now))

            case .wait(let wait):
                guard let resumeAt = enrollment.resumeAt else {
                    let businessDays = (sequence.sendWindow ?? workflow.settings.sendWindow)?.days
                    let until = self.until(wait, from: enrollment.stepEnteredAt, zone: zone, businessDays: businessDays)
                    enrollment.resumeAt = until
                    if until > now {
                        effects.append(.waiting(step: step.id, until: until, reason: wait.description))
                        state.enrollment = enrollment
                        return .waiting
                    }
                    continue
                }
                // Later steps are timed from the planned end of the wait, not from when the
                // scheduler got round to it, so a late poll never shifts the whole sequence.
                move(&enrollment, to: enrollment.position + 1, at: min(resumeAt, now))

            case .branch(let branch):
                guard let sentAt = enrollment.sent[branch.step] else {
                    effects.append(.decided(step: step.id, target: branch.else, reason: "\(branch.on.rawValue) '\(branch.step)': never sent → \(branch.else)"))
                    guard jump(&state, &enrollment, to: branch.else, from: enrollment.position, at: now, reason: "branch", effects: &effects) else { return .ended }
                    continue
                }
                let deadline = sentAt + branch.within
                let record = enrollment.engagement[branch.step]
                let engaged = branch.link.map { record?.clicked(link: $0) } ?? record?.time(of: branch.on)
                if let at = engaged, at <= deadline {
                    effects.append(.decided(step: step.id, target: branch.then, reason: "\(branch.what) within \(branch.within): yes → \(branch.then)"))
                    guard jump(&state, &enrollment, to: branch.then, from: enrollment.position, at: now, reason: "branch", effects: &effects) else { return .ended }
                } else if now >= deadline {
                    effects.append(.decided(step: step.id, target: branch.else, reason: "\(branch.what) within \(branch.within): no → \(branch.else)"))
                    // The else path starts when the window closed, or when the branch was
                    // reached if that was later (a branch reached after its window).
                    let decidedAt = max(deadline, enrollment.stepEnteredAt)
                    guard jump(&state, &enrollment, to: branch.else, from: enrollment.position, at: decidedAt, reason: "branch", effects: &effects) else { return .ended }
                } else {
                    if enrollment.resumeAt != deadline {
                        enrollment.resumeAt = deadline
                        effects.append(.waiting(step: step.id, until: deadline, reason: "until '\(branch.step)' is \(branch.on.rawValue)\(branch.link.map { " (link \($0))" } ?? ""), at most \(branch.within) after it was sent"))
                    }
                    state.enrollment = enrollment
                    return .waiting
                }

            case .if(let condition, let then, let otherwise):
                let holds = condition.evaluate(state.lead, history: EventHistory(log: state.eventLog ?? [:], now: now))
                let target = holds ? then : otherwise
                effects.append(.decided(step: step.id, target: target, reason: "\(condition): \(holds ? "yes" : "no") → \(target)"))
                guard jump(&state, &enrollment, to: target, from: enrollment.position, at: enrollment.stepEnteredAt, reason: "if", effects: &effects) else { return .ended }

            case .set(let assignment):
                switch assignment {
                case .field(let name, let value):
                    state.lead.fields[name] = value
                    effects.append(.fieldSet(name, value))
                case .addTag(let tag):
                    if state.lead.tags.insert(tag).inserted { effects.append(.tagAdded(tag)) }
                case .removeTag(let tag):
                    if state.lead.tags.remove(tag) != nil { effects.append(.tagRemoved(tag)) }
                }
                move(&enrollment, to: enrollment.position + 1, at: enrollment.stepEnteredAt)

            case .score(let points):
                state.score.fixed += points
                state.lead.engagementScore += points
                effects.append(.scored(event: "step \(sequence.id)/\(step.id)", ScoreChange(rule: "sequence step", points: points)))
                move(&enrollment, to: enrollment.position + 1, at: enrollment.stepEnteredAt)

            case .stage(let name):
                state.enrollment = enrollment
                return .stage(name, step: step.id)

            case .goal:
                if !enrollment.activeGoals.contains(enrollment.position) { enrollment.activeGoals.append(enrollment.position) }
                move(&enrollment, to: enrollment.position + 1, at: enrollment.stepEnteredAt)

            case .goto(let target):
                guard jump(&state, &enrollment, to: target, from: enrollment.position, at: enrollment.stepEnteredAt, reason: "goto", effects: &effects) else { return .ended }

            case .exit:
                return end(&state, &enrollment, reason: "exit step '\(step.id)'", now: now, effects: &effects)
            }
        }
        return end(&state, &enrollment, reason: "stopped: more than \(Self.stepLimit) steps without a wait", now: now, effects: &effects)
    }

    /// Records an email event against the enrollment it belongs to, and applies goals.
    /// - Returns: `.ended` when a goal ended the enrollment.
    func record(_ event: Event, in state: inout LeadState, now: Date, effects: inout [Effect]) -> Stop? {
        guard var enrollment = state.enrollment, let sequence = workflow.sequence(enrollment.sequence), !event.isMachine else { return nil }
        if let kind = Branch.Engagement(eventType: event.type), let step = stepOfEmailEvent(event, enrollment: enrollment) {
            var record = enrollment.engagement[step] ?? EngagementRecord()
            switch kind {
            case .opened: record.opened = record.opened ?? event.at
            case .clicked:
                record.clicked = record.clicked ?? event.at
                if let url = event.properties["url"] { record.recordClick(url: url, at: event.at) }
                record.opened = record.opened ?? event.at // a click proves the open, even with images off
            case .replied: record.replied = record.replied ?? event.at
            }
            enrollment.engagement[step] = record
        }
        state.enrollment = enrollment

        let goals = sequence.goals.map { ($0, "goal") } + enrollment.activeGoals.compactMap { index -> (Goal, String)? in
            if case .goal(let goal) = sequence.steps[index].kind { return (goal, sequence.steps[index].id) }
            return nil
        }
        for (goal, name) in goals where goal.filter.matches(event) {
            effects.append(.goalReached(sequence: sequence.id, goal: "\(name): \(goal.filter)"))
            guard jump(&state, &enrollment, to: goal.then, from: enrollment.position, at: now, reason: "goal", effects: &effects) else { return .ended }
            return nil
        }
        return nil
    }

    /// The send step an email event belongs to: named by the event, else (a reply by mail)
    /// the enrollment's latest send.
    private func stepOfEmailEvent(_ event: Event, enrollment: Enrollment) -> String? {
        if let sequence = event.properties["sequence"], sequence != enrollment.sequence { return nil }
        if let number = event.properties["enrollment"].flatMap(Int.init), number != enrollment.number { return nil }
        if let step = event.properties["step"] {
            // Engagement with an earlier occurrence of a looped step is not engagement with this one.
            // (Tracking names the occurrence; an event that does not means the latest.)
            let occurrence = event.properties["occurrence"].flatMap(Int.init) ?? enrollment.occurrence(of: step)
            return enrollment.sent[step] != nil && occurrence == enrollment.occurrence(of: step) ? step : nil
        }
        return enrollment.sent.max { ($0.value, $0.key) < ($1.value, $1.key) }?.key
    }

    private func isBranch(_ step: Step) -> Bool {
        if case .branch = step.kind { return true }
        return false
    }

    private func move(_ enrollment: inout Enrollment, to position: Int, at time: Date) {
        enrollment.position = position
        enrollment.stepEnteredAt = time
        enrollment.resumeAt = nil
    }

    /// Moves to `target`; returns false when the target leaves the sequence (enrollment ended).
    private func jump(_ state: inout LeadState, _ enrollment: inout Enrollment, to target: StepTarget, from position: Int, at time: Date, reason: String, effects: inout [Effect]) -> Bool {
        switch target {
        case .next:
            move(&enrollment, to: position + 1, at: time)
        case .step(let id):
            guard let index = workflow.sequence(enrollment.sequence)?.index(of: id) else {
                _ = end(&state, &enrollment, reason: "step '\(id)' no longer exists", now: time, effects: &effects)
                return false
            }
            move(&enrollment, to: index, at: time)
        case .exit:
            _ = end(&state, &enrollment, reason: "\(reason) → exit", now: time, effects: &effects)
            return false
        }
        state.enrollment = enrollment
        return true
    }

    private func end(_ state: inout LeadState, _ enrollment: inout Enrollment, reason: String, now: Date, effects: inout [Effect]) -> Stop {
        effects.append(.enrollmentEnded(sequence: enrollment.sequence, reason: reason))
        state.enrollment = enrollment
        state.endEnrollment(now: now)
        return .ended
    }

    /// When a wait that started at `start` ends. `businessDays`: the send window's days, what a
    /// business-day wait counts when it names no days of its own (none: Monday to Friday).
    func until(_ wait: Wait, from start: Date, zone: TimeZone, businessDays: Set<Weekday>? = nil) -> Date {
        switch wait {
        case .duration(let span):
            return start + span
        case .until(let local, let zoneName):
            let instant = local.instant(in: zoneName.flatMap(Calendars.zone) ?? zone)
            return max(instant, start)
        case .untilNext(let days, let hour, let minute):
            // The first of `days` at hour:minute local time strictly after `start`.
            let calendar = Calendars.gregorian(in: zone)
            var day = calendar.startOfDay(for: start)
            for _ in 0..<9 {
                let weekday = calendar.component(.weekday, from: day)
                let candidate = SendWindow.instant(day, minutes: hour * 60 + minute, calendar: calendar)
                if candidate > start, let w = Weekday(calendarWeekday: weekday), days.contains(w) { return candidate }
                day = calendar.date(byAdding: .day, value: 1, to: day)!
            }
            return start
        case .businessDays(let n, let named):
            let days = named ?? businessDays.flatMap { $0.isEmpty ? nil : $0 } ?? [.mon, .tue, .wed, .thu, .fri]
            let calendar = Calendars.gregorian(in: zone)
            let minutes = calendar.component(.hour, from: start) * 60 + calendar.component(.minute, from: start)
            var day = calendar.startOfDay(for: start)
            var counted = 0
            // At most n weeks and a week: every week holds at least one business day.
            for _ in 0..<(7 * (n + 1)) where counted < n {
                day = calendar.date(byAdding: .day, value: 1, to: day)!
                if let w = Weekday(calendarWeekday: calendar.component(.weekday, from: day)), days.contains(w) { counted += 1 }
            }
            let end = SendWindow.instant(day, minutes: minutes, calendar: calendar) + Double(calendar.component(.second, from: start))
            return max(end, start)
        }
    }

    func timeZone(for lead: Lead) -> TimeZone {
        lead.timeZone.flatMap(Calendars.zone)
            ?? Calendars.zone(workflow.settings.defaultTimeZone) ?? TimeZone(identifier: "UTC")!
    }
}

extension Branch.Engagement {
    /// The branch kind an email event counts for.
    init?(eventType: String) {
        switch eventType {
        case Event.Kind.opened: self = .opened
        case Event.Kind.clicked: self = .clicked
        case Event.Kind.replied: self = .replied
        default: return nil
        }
    }
}
