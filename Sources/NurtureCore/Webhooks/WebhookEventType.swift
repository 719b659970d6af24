/// The funnel events an outbound webhook can be told of, by the names receivers see in `type`.
public enum WebhookEventType: String, Sendable, CaseIterable, Codable, Comparable {
    /// The lead moved between lifecycle stages (`from`, `to`, `reason`).
    case stageChanged = "stage_changed"
    /// The lead met a sequence's exit goal (`sequence`, `goal`).
    case goalReached = "goal_reached"
    /// The lead's address was suppressed after an unsubscribe.
    case unsubscribed
    /// The lead's address was suppressed after a hard bounce.
    case bounced
    /// The lead's address was suppressed after a spam complaint.
    case complained
    /// The lead's score went past one of the endpoint's thresholds, up or down.
    case scoreCrossed = "score_crossed"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
