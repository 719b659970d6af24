import Foundation
import NurtureCore

/// A lead, as `nurture leads show` prints it.
public struct LeadReport: Sendable {
    public let details: LeadDetails
    public let engine: NurtureEngine
    public let now: Date
    /// The lead's recent outbound webhooks, newest first.
    public let webhooks: [WebhookRecord]

    public init(details: LeadDetails, engine: NurtureEngine, now: Date, webhooks: [WebhookRecord] = []) {
        self.details = details
        self.engine = engine
        self.now = now
        self.webhooks = webhooks
    }

    public var text: String {
        let state = details.state
        let lead = state.lead
        var out: [String] = []
        out.append("\(lead.displayName.map { "\($0) " } ?? "")<\(lead.email)>  id \(lead.id)")
        out.append("stage: \(lead.stage)\(state.suppression.map { "  — \($0.rawValue): no marketing email" } ?? "")")
        out.append("time zone: \(lead.timeZone ?? "\(engine.workflow.settings.defaultTimeZone) (default)")")
        if !lead.fields.isEmpty {
            out.append("fields:")
            for (key, value) in lead.fields.sorted(by: { $0.key < $1.key }) { out.append("  \(key): \(value)") }
        }
        if !lead.tags.isEmpty { out.append("tags: \(lead.tags.sorted().joined(separator: ", "))") }

        let breakdown = engine.breakdown(state, at: now)
        let fit = breakdown.fit.reduce(0) { $0 + $1.points }
        out.append("score: \(max(0, min(100, fit + breakdown.engagementNow))) (fit \(fit), engagement \(breakdown.engagementNow))")
        for change in breakdown.fit { out.append("  fit        \(change)") }
        for change in breakdown.engagement { out.append("  engagement \(change) (before decay)") }
        if state.score.fixed != 0 { out.append("  engagement \(state.score.fixed >= 0 ? "+" : "")\(state.score.fixed) fixed (disqualifiers, score steps)") }

        if !state.stageHistory.isEmpty {
            out.append("stage history:")
            for change in state.stageHistory { out.append("  \(Self.format(change.at))  \(change)") }
        }
        if let enrollment = state.enrollment, let sequence = engine.workflow.sequence(enrollment.sequence) {
            let step = enrollment.position < sequence.steps.count ? sequence.steps[enrollment.position].id : "end"
            out.append("enrollment: \(enrollment.sequence) #\(enrollment.number), at step '\(step)'\(enrollment.resumeAt.map { " until \(Self.format($0))" } ?? "")")
        } else {
            out.append("enrollment: none")
        }
        if let paused = state.pausedEnrollment, let sequence = engine.workflow.sequence(paused.sequence) {
            let step = paused.position < sequence.steps.count ? sequence.steps[paused.position].id : "end"
            out.append("paused: \(paused.sequence) #\(paused.number), at step '\(step)'\(state.pausedAt.map { " since \(Self.format($0))" } ?? ""), until \(state.enrollment?.sequence ?? "the triggered sequence") ends")
        }
        out.append("next wake-up: \(details.nextWake.map(Self.format) ?? "none")")
        if !details.sends.isEmpty {
            out.append("recent sends:")
            for send in details.sends {
                out.append("  \(Self.format(send.sentAt ?? send.plannedAt))  \(send.status.padding(toLength: 7, withPad: " ", startingAt: 0)) \(send.key.sequence)/\(send.key.step) (\(send.template))\(send.attempts > 1 ? " after \(send.attempts) attempts" : "")\(send.reply.map { ": \($0)" } ?? "")")
            }
        }
        if !details.events.isEmpty {
            out.append("recent events:")
            for stored in details.events {
                let props = stored.event.properties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                let decision = stored.setAside.map { " (SET ASIDE, not decided: \($0); nurture events retry)" } ?? (stored.pending ? " (not decided yet)" : "")
                out.append("  \(Self.format(stored.event.at))  \(stored.event.type)\(stored.event.isMachine ? " (machine, not scored)" : "")\(decision) \(props)")
            }
        }
        if !webhooks.isEmpty {
            out.append("webhooks:")
            for webhook in webhooks { out.append("  " + Self.line(webhook)) }
        }
        return out.joined(separator: "\n")
    }

    /// One webhook: when, its status (DEAD in capitals: it needs an operator), what, where, and
    /// what went wrong last.
    static func line(_ webhook: WebhookRecord) -> String {
        let status = webhook.status == .dead ? "DEAD" : webhook.status.rawValue
        var text = "\(format(webhook.deliveredAt ?? webhook.createdAt))  \(status.padding(toLength: 9, withPad: " ", startingAt: 0)) \(webhook.type.rawValue) -> \(webhook.endpoint)"
        text += " (\(webhook.attempts) attempt\(webhook.attempts == 1 ? "" : "s"))"
        if webhook.status == .queued, let next = webhook.nextAttemptAt, webhook.attempts > 0 { text += ", next \(format(next))" }
        if webhook.status != .delivered, let error = webhook.lastError { text += ": \(error)" }
        if webhook.status == .dead { text += " — `nurture webhooks retry \(webhook.rowID)` queues it again" }
        return text
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
