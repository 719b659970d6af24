import Foundation

/// Everything the engine knows about one lead between two decisions. Compact and
/// `Codable`, so a store can keep it as one record.
public struct LeadState: Sendable, Codable, Equatable {
    public var lead: Lead
    public var score: ScoreState
    /// Required-event filters (by description) this lead has met, for stage criteria.
    public var milestones: Set<String>
    public var enrollment: Enrollment?
    /// The stage's enrollment, paused while an event-triggered sequence runs (`mode: pause`);
    /// it resumes where it was when that one ends, its waits shifted by the pause.
    public var pausedEnrollment: Enrollment?
    public var pausedAt: Date?
    /// The latest times of the events conditions ask about (see ``EventHistory``).
    public var eventLog: [String: [Date]]?
    public var pastEnrollments: [String: PastEnrollments]
    public var stageHistory: [StageChange]
    public var enteredStageAt: Date
    /// Marketing sends inside the frequency-cap period (older ones are dropped).
    public var recentSends: [Date]
    /// Why the lead gets no more marketing email, if it does not.
    public var suppression: Suppression?
    /// Recycled and not engaged since: thresholds do not move it forward again until it does.
    public var awaitingReengagement: Bool
    /// Which fit rules the fit score was computed with: after a reload that changes them,
    /// the lead is re-scored the next time the engine looks at it.
    public var fitRules: String?

    public init(lead: Lead, now: Date) {
        self.lead = lead
        self.score = ScoreState()
        self.milestones = []
        self.enrollment = nil
        self.pastEnrollments = [:]
        self.stageHistory = []
        self.enteredStageAt = now
        self.recentSends = []
        self.suppression = nil
        self.awaitingReengagement = false
    }
}

extension LeadState {
    /// Ends the current enrollment, remembering it for re-entry rules.
    mutating func endEnrollment(now: Date) {
        guard let enrollment else { return }
        var past = pastEnrollments[enrollment.sequence] ?? PastEnrollments(count: 0, lastEndedAt: now)
        past.count = max(past.count, enrollment.number)
        past.lastEndedAt = now
        pastEnrollments[enrollment.sequence] = past
        self.enrollment = nil
    }
}

/// Why a lead must not get marketing email.
public enum Suppression: String, Sendable, Codable, Equatable {
    case unsubscribed, bounced, complained, manual
}

/// A move between stages, kept forever for the lead's history.
public struct StageChange: Sendable, Codable, Equatable, CustomStringConvertible {
    public var from: String
    public var to: String
    public var at: Date
    public var reason: String

    public init(from: String, to: String, at: Date, reason: String) {
        self.from = from
        self.to = to
        self.at = at
        self.reason = reason
    }

    public var description: String { "\(from) → \(to): \(reason)" }
}
