import Foundation

/// How an event that arrives without its email (a reply or a form post through the API) is
/// credited to one in the steps report: to the lead's latest email sent within `window`
/// before the event. Events that name their email (tracking hits, relay reports) are
/// credited to it whatever the rule. Only reports read the credit:
/// scoring and branches see the event as it came.
public struct AttributionRule: Sendable, Equatable {
    /// How far back the latest email may be; zero credits nothing.
    public var window: TimeSpan
    /// The event types the rule applies to.
    public var events: Set<String>

    public init(window: TimeSpan = .days(7), events: Set<String> = [Event.Kind.replied, Event.Kind.formSubmitted]) {
        self.window = window
        self.events = events
    }

    /// The span to look back for `event`'s email, or nil when the rule does not apply.
    public func window(for event: Event) -> TimeSpan? {
        events.contains(event.type) && window.seconds > 0 ? window : nil
    }
}
