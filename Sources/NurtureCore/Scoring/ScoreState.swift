import Foundation

/// A lead's scoring memory: enough to compute its score at any later time and to apply
/// caps and once-per-lead rules, without keeping its whole event history.
public struct ScoreState: Sendable, Codable, Equatable {
    /// Fit points, from the profile.
    public var fit: Int = 0
    /// Engagement points that decay, as of ``asOf``.
    public var decaying: Double = 0
    public var asOf: Date?
    /// Engagement points that do not decay (disqualifiers, `score` steps).
    public var fixed: Int = 0
    /// Points awarded so far by each engagement rule (before decay), for caps and the breakdown.
    public var awarded: [String: Int] = [:]
    /// The last engagement, for inactivity decay and recycling.
    public var lastEngagement: Date?

    public init() {}
}

/// One change to a lead's score, with the rule that caused it.
public struct ScoreChange: Sendable, Equatable, Codable, CustomStringConvertible {
    public var rule: String
    public var points: Int
    /// Why it was smaller than the rule says, or not given ("once per lead", "cap reached").
    public var note: String?

    public init(rule: String, points: Int, note: String? = nil) {
        self.rule = rule
        self.points = points
        self.note = note
    }

    public var description: String {
        let sign = points >= 0 ? "+" : ""
        return "\(sign)\(points) \(rule)" + (note.map { " (\($0))" } ?? "")
    }
}
