import Foundation
import NurtureContent
import NurtureCore

/// Simulates the funnel for leads on a virtual clock — the scheduler's own engine, an
/// in-memory state and no transport: nothing is sent and nothing is written.
public struct DryRun: Sendable {
    public let engine: NurtureEngine
    public let renderer: EmailRenderer?
    /// The deployment's outbound webhooks: the timeline shows each one it would call.
    public let webhooks: WebhookRoutes

    /// - Parameters:
    ///   - sequence: simulate only this sequence (the lead starts in its stage).
    ///   - webhooks: the endpoints whose calls the timeline shows (none are called).
    public init(workflow: Workflow, renderer: EmailRenderer?, sequence: String? = nil, webhooks: WebhookRoutes = .none) {
        var workflow = workflow
        if let id = sequence, let chosen = workflow.sequence(id) {
            // The chosen sequence is the only one its stage offers, and it accepts everyone.
            workflow.sequences = workflow.sequences.filter { $0.stage != chosen.stage || $0.id == id }
            if let i = workflow.sequences.firstIndex(where: { $0.id == id }) { workflow.sequences[i].audience = nil }
        }
        engine = NurtureEngine(workflow: workflow)
        self.renderer = renderer
        self.webhooks = webhooks
    }

    /// One lead's timeline.
    public struct Timeline: Sendable {
        public var lead: Lead
        public var start: Date
        public var end: Date
        public var whatIfs: [WhatIf]
        public var entries: [Simulation.Entry]
        public var final: LeadState
        /// Rendered emails, by index into `entries`.
        public var emails: [Int: EmailRenderer.Rendered]
        public var renderErrors: [Int: String]
        /// The webhooks each engine call would queue, by the index of its last entry.
        public var webhooks: [Int: [WebhookMessage]] = [:]
    }

    public func timeline(for lead: Lead, from start: Date, days: Int, whatIfs: [WhatIf] = [], render: Bool = true) -> Timeline {
        let end = start + .days(days)
        let (events, moves) = WhatIf.split(whatIfs, from: start)
        let (state, entries) = Simulation(engine: engine).run(lead, from: start, until: end, events: events, moves: moves)
        var emails: [Int: EmailRenderer.Rendered] = [:]
        var errors: [Int: String] = [:]
        if render, let renderer {
            for (index, entry) in entries.enumerated() {
                guard case .send(let request) = entry.effect else { continue }
                let sequence = engine.workflow.sequence(request.key.sequence)
                do {
                    emails[index] = try renderer.render(
                        template: request.template, lead: entry.lead ?? state.lead, key: request.key,
                        date: Int64(entry.at.timeIntervalSince1970), tracking: request.tracking, subject: request.subject,
                        headers: sequence?.headers ?? [], openPixel: sequence?.openTracking ?? true)
                } catch {
                    errors[index] = "\(error)"
                }
            }
        }
        var webhooks: [Int: [WebhookMessage]] = [:]
        if !self.webhooks.isEmpty {
            // The entries of one engine call are together; its webhooks follow its last one,
            // worked out by the rule the stores apply when they write the call's change.
            var first = 0
            for index in entries.indices where index == entries.count - 1 || entries[index + 1].call != entries[index].call {
                let call = entries[first...index]
                let last = entries[index]
                let messages = self.webhooks.messages(for: call.map(\.effect), lead: last.lead ?? state.lead, scoreBefore: last.scoreBefore, now: last.at,
                                                      newID: { "msg_dry_run" })
                if !messages.isEmpty { webhooks[index] = messages }
                first = index + 1
            }
        }
        return Timeline(lead: lead, start: start, end: end, whatIfs: whatIfs, entries: entries, final: state, emails: emails, renderErrors: errors, webhooks: webhooks)
    }

    /// What a file of leads would get: per email, per stage, and when.
    public struct Summary: Sendable {
        public var leads = 0
        public var days = 0
        /// `sequence/step` → leads that get it.
        public var emails: [String: Int] = [:]
        /// `sequence/step` → days after the start at which it goes out, for percentiles.
        public var emailDays: [String: [Double]] = [:]
        /// Stage → leads that reach it (beyond where they started).
        public var stages: [String: Int] = [:]
        public var stageDays: [String: [Double]] = [:]
        public var finalStages: [String: Int] = [:]
        public var suppressed = 0
        public var totalSends = 0
        /// A/B steps: `sequence/step` → variant → leads that get it.
        public var variants: [String: [String: Int]] = [:]

        public init() {}

        mutating func add(_ timeline: Timeline) {
            leads += 1
            let start = timeline.start
            var seenEmails = Set<String>()
            var seenStages = Set<String>()
            for entry in timeline.entries {
                let day = entry.at.timeIntervalSince(start) / 86_400
                switch entry.effect {
                case .send(let request):
                    totalSends += 1
                    let key = "\(request.key.sequence)/\(request.key.step)"
                    if seenEmails.insert(key).inserted {
                        emails[key, default: 0] += 1
                        emailDays[key, default: []].append(day)
                        if let variant = request.variant { variants[key, default: [:]][variant, default: 0] += 1 }
                    }
                case .stageChanged(let change):
                    if seenStages.insert(change.to).inserted {
                        stages[change.to, default: 0] += 1
                        stageDays[change.to, default: []].append(day)
                    }
                default:
                    break
                }
            }
            finalStages[timeline.final.lead.stage, default: 0] += 1
            if timeline.final.suppression != nil { suppressed += 1 }
        }

        mutating func merge(_ other: Summary) {
            leads += other.leads
            totalSends += other.totalSends
            suppressed += other.suppressed
            for (k, v) in other.emails { emails[k, default: 0] += v }
            for (k, v) in other.emailDays { emailDays[k, default: []] += v }
            for (k, v) in other.stages { stages[k, default: 0] += v }
            for (k, v) in other.stageDays { stageDays[k, default: []] += v }
            for (k, v) in other.finalStages { finalStages[k, default: 0] += v }
            for (k, v) in other.variants { variants[k, default: [:]].merge(v, uniquingKeysWith: +) }
        }
    }

    /// Simulates every lead (in parallel, without rendering) and summarises.
    /// - Parameter progress: called with the number of leads done, now and then.
    public func summary(for leads: [Lead], from start: Date, days: Int, whatIfs: [WhatIf], progress: (@Sendable (Int) -> Void)? = nil) async -> Summary {
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunk = max(1, (leads.count + workers * 8 - 1) / (workers * 8))
        let counter = Counter()
        var total = Summary()
        total.days = days
        await withTaskGroup(of: Summary.self) { group in
            for from in stride(from: 0, to: leads.count, by: chunk) {
                let slice = leads[from..<min(leads.count, from + chunk)]
                group.addTask {
                    var part = Summary()
                    for lead in slice {
                        part.add(timeline(for: lead, from: start, days: days, whatIfs: whatIfs, render: false))
                    }
                    progress?(counter.add(slice.count))
                    return part
                }
            }
            for await part in group { total.merge(part) }
        }
        return total
    }
}

import Synchronization

private final class Counter: Sendable {
    private let value = Mutex(0)
    func add(_ n: Int) -> Int { value.withLock { $0 += n; return $0 } }
}
