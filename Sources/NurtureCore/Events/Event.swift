import Foundation

/// Something a lead did (or that happened to its mail), as scoring and sequences see it.
public struct Event: Hashable, Sendable, Codable {
    /// `email_opened`, `email_clicked`, `replied`, `page_visited`, `form_submitted`,
    /// `unsubscribed`, `bounced`, `complained`, or any custom name.
    public var type: String
    public var at: Date
    /// Details: `path`/`url` for visits, `form` for forms, and for email events the
    /// `sequence`, `step` and `enrollment` of the send they belong to.
    public var properties: [String: String]
    /// Recorded but not counted: opens by image proxies, clicks by link scanners.
    public var isMachine: Bool

    public init(_ type: String, at: Date, properties: [String: String] = [:], isMachine: Bool = false) {
        self.type = type
        self.at = at
        self.properties = properties
        self.isMachine = isMachine
    }

    /// Event types with a built-in meaning.
    public enum Kind {
        public static let opened = "email_opened"
        public static let clicked = "email_clicked"
        public static let replied = "replied"
        public static let pageVisited = "page_visited"
        public static let formSubmitted = "form_submitted"
        public static let unsubscribed = "unsubscribed"
        public static let bounced = "bounced"
        public static let complained = "complained"
        /// A relay's delivery report.
        public static let delivered = "delivered"

        /// Every type with a built-in meaning; any other must be declared (scoring.yaml's `events:`).
        public static let builtIn = [opened, clicked, replied, pageVisited, formSubmitted, unsubscribed, bounced, complained, delivered]
    }

    /// Engagement: the lead did something (not a bounce or complaint, not a machine).
    public var isEngagement: Bool {
        !isMachine && type != Kind.bounced && type != Kind.complained && type != Kind.unsubscribed
    }
}
