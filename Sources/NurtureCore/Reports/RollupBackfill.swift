import Foundation

/// SQL fragments that rebuild the step rollups from stored events when a store first gets
/// them (a migration), by the same rules as ``SendEngagement/adding(_:)``; shared by the SQL
/// stores, which differ only in how they spell a machine flag and a JSON property.
public enum RollupBackfill {
    /// An aggregate over the events `e` of one send giving its ``SendEngagement`` raw value
    /// (all but `sent`, which the send's status gives, and `goalReached`, never stored).
    /// - Parameters:
    ///   - human: the condition that `e` was a person's; `machine` that it was a machine's.
    ///   - bounceType: the expression reading `e`'s `type` property.
    public static func engagement(human: String, machine: String, bounceType: String) -> String {
        let kinds: [(SendEngagement, String)] = [
            (.sent, "e.type = '\(Event.Kind.bounced)'"),
            (.opened, "\(human) AND e.type IN ('\(Event.Kind.opened)', '\(Event.Kind.clicked)')"),
            (.clicked, "\(human) AND e.type = '\(Event.Kind.clicked)'"),
            (.machineOpened, "\(machine) AND e.type = '\(Event.Kind.opened)'"),
            (.machineClicked, "\(machine) AND e.type = '\(Event.Kind.clicked)'"),
            (.bounced, "e.type = '\(Event.Kind.bounced)'"),
            (.bouncedHard, "e.type = '\(Event.Kind.bounced)' AND COALESCE(\(bounceType), 'hard') <> 'soft'"),
            (.bouncedSoft, "e.type = '\(Event.Kind.bounced)' AND \(bounceType) = 'soft'"),
            (.unsubscribed, "e.type = '\(Event.Kind.unsubscribed)'"),
            (.complained, "e.type = '\(Event.Kind.complained)'"),
            (.replied, "e.type = '\(Event.Kind.replied)'"),
            (.formSubmitted, "e.type = '\(Event.Kind.formSubmitted)'"),
        ]
        return kinds.map { "MAX(CASE WHEN \($1) THEN \($0.rawValue) ELSE 0 END)" }.joined(separator: " | ")
    }

    /// A table of every metric events and statuses give (not goal exits, which only the
    /// engine's decisions give): `bit` (its flag's raw value) and `name`.
    public static var metricTable: String {
        SendEngagement.metrics.filter { $0.flag != .goalReached }
            .map { "SELECT \($0.flag.rawValue) AS bit, '\($0.name)' AS name" }.joined(separator: " UNION ALL ")
    }

    /// ``ReportedLink/of(_:)`` in SQLite's SQL, of the text expression `url`.
    public static func sqliteLink(_ url: String) -> String {
        let noFragment = "CASE WHEN instr(\(url), '#') > 0 THEN substr(\(url), 1, instr(\(url), '#') - 1) ELSE \(url) END"
        return "substr(CASE WHEN instr(\(noFragment), '?') > 0 THEN substr(\(noFragment), 1, instr(\(noFragment), '?') - 1) ELSE \(noFragment) END, 1, 500)"
    }

    /// ``ReportedLink/of(_:)`` in PostgreSQL's SQL, of the text expression `url`.
    public static func postgresLink(_ url: String) -> String {
        "left(split_part(split_part(\(url), '#', 1), '?', 1), 500)"
    }

    /// The flags a rebuild keeps as they are (goal exits).
    public static let kept = SendEngagement.goalReached.rawValue
}
