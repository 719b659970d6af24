import Foundation
import Logging
import NurtureContent
import NurtureCore

/// The feedback loop behind the HTTP routes: every open, click, unsubscribe, API event and
/// relay report is stored durably, then scored by the engine, which may move the lead's
/// stage and queue its next email — and the worker is woken at once.
///
/// Opens and clicks are answered once their event is stored (a group commit shared with the
/// other hits arriving meanwhile); the ``applier`` decides them right after. Unsubscribes,
/// API events and relay reports are decided in the transaction that stores them, before the
/// answer.
public struct FeedbackService: NurtureAPI {
    public let store: any LeadDecisions & EventInbox & Outbox & LeadReading & ReportReading
    public let scheduler: Scheduler
    public let signer: TrackingSigner
    public let rules: MachineRules
    /// How replies and form posts without their email are credited to one (reports only).
    public let attribution: AttributionRule
    public let doorbell: Doorbell
    public let metrics: any ServiceMetrics
    public let logger: Logger
    private let recentClicks = RecentClicks()
    private let batcher: EventBatcher<Bool>
    private let sentEmails = SentEmailCache()
    /// Decides the opens and clicks stored by the tracking routes (run by the service).
    public let applier: EventApplier

    /// The time a batch of tracking hits is written at.
    public let clock: any WallClock

    public init(store: any LeadDecisions & EventInbox & Outbox & LeadReading & ReportReading, scheduler: Scheduler, secret: Secret, rules: MachineRules = MachineRules(), attribution: AttributionRule = AttributionRule(), doorbell: Doorbell, metrics: any ServiceMetrics, logger: Logger, clock: any WallClock = SystemClock()) {
        self.clock = clock
        self.store = store
        self.scheduler = scheduler
        self.signer = TrackingSigner(secret: secret)
        self.rules = rules
        self.attribution = attribution
        self.doorbell = doorbell
        self.metrics = metrics
        self.logger = logger
        let applier = EventApplier(store: store, workflows: scheduler.workflows, doorbell: doorbell, metrics: metrics, logger: logger, clock: clock)
        self.applier = applier
        self.batcher = EventBatcher { [store] jobs in
            let stored = try await store.appendEvents(jobs, now: clock.now())
            applier.notify()
            return stored
        }
    }

    // MARK: Tracking

    public func open(token: String, userAgent: String?, now: Date) async throws -> Bool {
        guard case .open(let id)? = signer.verify(token) else { return false }
        // Ours, but its email is not stored (a test send): the pixel, and nothing recorded.
        guard let email = try await sentEmail(id) else { return true }
        let early = email.sentAt.map { now < $0 + rules.openWithin } ?? false
        let machine = early || rules.isMachineUserAgent(userAgent)
        try await store(Event(Event.Kind.opened, at: now, properties: properties(email, ["user_agent": userAgent]), isMachine: machine), email: email)
        return true
    }

    public func click(token: String, userAgent: String?, now: Date) async throws -> String? {
        guard case .click(let id, let url)? = signer.verify(token) else { return nil }
        // Our signature says the link is ours, so it still leads where it said when its email
        // is not in the store (a test send from `nurture preview --send-to`, or a lead deleted
        // since): the reader gets there, and nothing is recorded.
        guard let email = try await sentEmail(id) else { return url }
        var machine = rules.isMachineUserAgent(userAgent) || (email.sentAt.map { now < $0 + rules.clickWithin } ?? false)
        // Many different links of one email within seconds: a scanner following them all.
        let distinct = recentClicks.record(send: email.id, url: url, at: now, window: rules.burstWindow)
        if !machine, rules.burstLinks > 1, distinct >= min(rules.burstLinks, max(2, email.links)) { machine = true }
        try await store(Event(Event.Kind.clicked, at: now, properties: properties(email, ["url": url, "user_agent": userAgent]), isMachine: machine), email: email)
        return url
    }

    public func webView(token: String, now: Date) async throws -> String? {
        guard case .view(let id)? = signer.verify(token), let email = try await sentEmail(id),
              let state = try await store.lead(.id(email.leadID)) else { return nil }
        // Rendered again for the same send: the same tokens and links as the email itself.
        // As the email was sent (its sequence's open tracking), unsigned: only the HTML is shown.
        let rendered = try? scheduler.workflows.renderer.render(
            template: email.template, lead: state.lead, key: email.key, date: Int64(now.timeIntervalSince1970),
            tracking: email.tracking, subject: email.subject,
            openPixel: scheduler.workflows.engine.workflow.sequence(email.key.sequence)?.openTracking ?? true, sign: false)
        return rendered?.message.html
    }

    public func canUnsubscribe(token: String) async throws -> Bool {
        guard case .unsubscribe(let id)? = signer.verify(token) else { return false }
        return try await sentEmail(id) != nil
    }

    public func unsubscribe(token: String, now: Date) async throws -> Bool {
        guard case .unsubscribe(let id)? = signer.verify(token), let email = try await sentEmail(id) else { return false }
        // The event, its score and the suppression the engine decides are one transaction,
        // done before the answer: no email goes out after the reader saw "unsubscribed".
        let event = Event(Event.Kind.unsubscribed, at: now, properties: properties(email, [:]))
        _ = try await record(event, lead: .id(email.leadID), now: now, sendID: email.id)
        return true
    }

    /// The sent email a token's id names, from the cache or the database.
    private func sentEmail(_ id: SendID) async throws -> SentEmail? {
        let key = id.description
        if let cached = sentEmails.value(key) { return cached }
        guard let email = try await store.sentEmail(tokenID: key) else { return nil }
        sentEmails.store(email, for: key)
        return email
    }

    private func properties(_ email: SentEmail, _ extra: [String: String?]) -> [String: String] {
        var properties = ["sequence": email.key.sequence, "step": email.key.step, "enrollment": String(email.key.enrollment), "occurrence": String(email.key.occurrence)]
        for (key, value) in extra { if let value { properties[key] = String(value.prefix(500)) } }
        return properties
    }

    /// Stores the event, in one transaction shared with the other hits arriving meanwhile
    /// (group commit); the applier decides it right after.
    private func store(_ event: Event, email: SentEmail) async throws {
        metrics.event(event.type, machine: event.isMachine)
        _ = try await batcher.submit((.id(email.leadID), RecordedEvent(event, sendID: email.id)))
    }

    /// Stores `event` for `lead` and applies it, in one transaction.
    private func record(_ event: Event, lead: LeadReference, now: Date, clientID: String? = nil, sendID: Int64? = nil) async throws -> LeadUpdate {
        let recording = RecordedEvent(event, clientID: clientID, sendID: sendID, attributeWithin: sendID == nil ? attribution.window(for: event) : nil)
        let update = try await scheduler.handle(event, lead: lead, now: now, recording: recording)
        switch update {
        case .changed(let change):
            metrics.event(event.type, machine: false)
            metrics.effects(change.effects)
            if change.effects.contains(where: { if case .send = $0 { true } else { false } }) { doorbell.ring() }
        case .parked:
            metrics.event(event.type, machine: false)
        case .unknownLead, .duplicate:
            break
        }
        return update
    }

    // MARK: API

    public func ingest(_ events: [IncomingEvent], now: Date) async throws -> IngestResult {
        var result = IngestResult()
        for incoming in events {
            let event = Event(incoming.type, at: incoming.at, properties: incoming.properties)
            switch try await record(event, lead: incoming.lead, now: max(now, incoming.at), clientID: incoming.clientID) {
            case .unknownLead:
                switch incoming.lead {
                case .email(let e): result.unknownLeads.append(e)
                case .id(let i): result.unknownLeads.append(i)
                }
            case .duplicate: result.duplicates += 1
            case .changed, .parked: result.recorded += 1
            }
        }
        return result
    }

    public func upsert(_ lead: Lead, now: Date) async throws -> Bool {
        let result = try await scheduler.upsert([lead], now: now)
        if result.sendsQueued > 0 { doorbell.ring() }
        return result.created == 1
    }

    public func funnelReport(period: ReportPeriod) async throws -> FunnelReport {
        let stages = scheduler.workflows.engine.workflow.funnel.stages.map(\.name)
        return FunnelReport(facts: try await store.funnelFacts(stages: stages, period: period), stages: stages, period: period)
    }

    public func stepsReport(period: ReportPeriod, sequence: String?) async throws -> StepsReport {
        let order = scheduler.workflows.engine.workflow.reportOrder
        return StepsReport(facts: try await store.stepFacts(period: period, sequence: sequence), order: order, period: period, sequence: sequence)
    }

    public func suppressionReport(period: ReportPeriod) async throws -> SuppressionCounts {
        try await store.suppressionCounts(period: period)
    }

    public func leadReport(email: String, now: Date) async throws -> [String: any Sendable]? {
        guard let details = try await store.details(.email(email), recent: 20) else { return nil }
        let engine = scheduler.workflows.engine
        let state = details.state
        let breakdown = engine.breakdown(state, at: now)
        let fit = breakdown.fit.reduce(0) { $0 + $1.points }
        let iso = ISO8601DateFormatter()
        var report: [String: any Sendable] = [
            "id": state.lead.id, "email": state.lead.email, "stage": state.lead.stage,
            "score": max(0, min(100, fit + breakdown.engagementNow)), "fit_score": fit, "engagement_score": breakdown.engagementNow,
            "fields": state.lead.fields, "tags": state.lead.tags.sorted(), "status": state.suppression?.rawValue ?? "active",
            "breakdown": [
                "fit": breakdown.fit.map { ["rule": $0.rule, "points": $0.points] as [String: any Sendable] },
                "engagement": breakdown.engagement.map { ["rule": $0.rule, "points": $0.points] as [String: any Sendable] },
            ] as [String: any Sendable],
            "stage_history": state.stageHistory.map { ["from": $0.from, "to": $0.to, "at": iso.string(from: $0.at), "reason": $0.reason] as [String: any Sendable] },
            "sends": details.sends.map { ["sequence": $0.key.sequence, "step": $0.key.step, "status": $0.status] as [String: any Sendable] },
        ]
        if let zone = state.lead.timeZone { report["timezone"] = zone }
        if let enrollment = state.enrollment {
            report["enrollment"] = ["sequence": enrollment.sequence, "number": enrollment.number] as [String: any Sendable]
        }
        if let paused = state.pausedEnrollment {
            report["paused_enrollment"] = ["sequence": paused.sequence, "number": paused.number] as [String: any Sendable]
        }
        if let wake = details.nextWake { report["next_wake_at"] = iso.string(from: wake) }
        return report
    }

    public func relayReport(_ report: RelayReport, now: Date) async throws -> Bool {
        var email: SentEmail?
        if let messageID = report.messageID { email = try await store.sentEmail(messageID: messageID) }
        let lead: LeadReference
        if let email {
            lead = .id(email.leadID)
        } else if let address = report.email {
            lead = .email(address)
        } else {
            return false
        }
        let type: String
        var properties: [String: String] = [:]
        switch report.kind {
        case .delivered:
            type = "delivered"
        case .bounced:
            type = Event.Kind.bounced
            properties["type"] = report.bounceType ?? "hard"
        case .complained:
            type = Event.Kind.complained
        case .unsubscribed:
            type = Event.Kind.unsubscribed
        }
        if let reason = report.reason { properties["reason"] = String(reason.prefix(500)) }
        if let email { properties.merge(["sequence": email.key.sequence, "step": email.key.step, "enrollment": String(email.key.enrollment), "occurrence": String(email.key.occurrence)]) { a, _ in a } }
        // Stored, scored and (hard bounces, complaints) suppressed by the engine, together.
        let event = Event(type, at: now, properties: properties)
        // A relay that retries its webhook reports the same message's bounce twice: once is kept.
        let clientID = report.eventID ?? report.messageID.map { "relay-\(report.kind.rawValue)-\($0)" }
        if case .unknownLead = try await record(event, lead: lead, now: now, clientID: clientID, sendID: email?.id) { return false }
        return true
    }
}
