import Foundation

/// Which outbound webhooks a lead's change calls for: the deployment's endpoints matched
/// against the change's effects. Pure; the stores call it inside the transaction that writes
/// the change, so a webhook is queued if and only if its event is stored.
public struct WebhookRoutes: Sendable, Equatable {
    public var endpoints: [WebhookEndpoint]

    public init(_ endpoints: [WebhookEndpoint] = []) {
        self.endpoints = endpoints
    }

    /// No endpoints: nothing is ever queued.
    public static let none = WebhookRoutes()

    public var isEmpty: Bool { endpoints.isEmpty }

    /// The messages for `effects`, which took `lead` (as it is after them) from a score of
    /// `scoreBefore`. `newID` makes each message's `webhook-id`.
    public func messages(for effects: [Effect], lead: Lead, scoreBefore: Int, now: Date,
                         newID: () -> String = { "msg_" + UUID().uuidString.lowercased() }) -> [WebhookMessage] {
        guard !endpoints.isEmpty else { return [] }
        let summary = WebhookPayload.LeadSummary(id: lead.id, email: lead.email, stage: lead.stage, score: lead.score)
        var events: [(type: WebhookEventType, at: Date, details: WebhookPayload.Details, stage: String?)] = []
        func details() -> WebhookPayload.Details { WebhookPayload.Details(lead: summary) }
        for effect in effects {
            switch effect {
            case .stageChanged(let change):
                var d = details()
                d.from = change.from
                d.to = change.to
                d.reason = change.reason
                events.append((.stageChanged, change.at, d, change.to))
            case .goalReached(let sequence, let goal):
                var d = details()
                d.sequence = sequence
                d.goal = goal
                events.append((.goalReached, now, d, nil))
            case .suppressed(let reason):
                let type: WebhookEventType? = switch reason {
                case .unsubscribed: .unsubscribed
                case .bounced: .bounced
                case .complained: .complained
                case .manual: nil
                }
                if let type { events.append((type, now, details(), nil)) }
            default:
                break
            }
        }
        var messages: [WebhookMessage] = []
        for endpoint in endpoints {
            for event in events where endpoint.events.contains(event.type) {
                if event.type == .stageChanged, let stages = endpoint.stages, let to = event.stage, !stages.contains(to) { continue }
                let body = WebhookPayload(type: event.type, timestamp: event.at, data: event.details).encoded()
                messages.append(WebhookMessage(id: newID(), endpoint: endpoint.url, type: event.type, leadID: lead.id, body: body, createdAt: now))
            }
            guard endpoint.events.contains(.scoreCrossed), lead.score != scoreBefore else { continue }
            for threshold in endpoint.scoreThresholds {
                let up = scoreBefore < threshold && lead.score >= threshold
                let down = scoreBefore >= threshold && lead.score < threshold
                guard up || down else { continue }
                var d = details()
                d.threshold = threshold
                d.direction = up ? "up" : "down"
                d.scoreBefore = scoreBefore
                d.scoreAfter = lead.score
                let body = WebhookPayload(type: .scoreCrossed, timestamp: now, data: d).encoded()
                messages.append(WebhookMessage(id: newID(), endpoint: endpoint.url, type: .scoreCrossed, leadID: lead.id, body: body, createdAt: now))
            }
        }
        return messages
    }
}
