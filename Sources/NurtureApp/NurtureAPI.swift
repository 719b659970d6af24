import Foundation
import NurtureCore

/// What the HTTP layer needs from the application: tracking hits, API events and leads, relay
/// reports. ``FeedbackService`` implements it; the HTTP adapter (`NurtureServer`) calls it.
/// Every method validates nothing about HTTP and trusts nothing about its input but types.
public protocol NurtureAPI: Sendable {
    /// Records an open for a valid open token. Returns false for an invalid token (true,
    /// recording nothing, for a valid one whose email is not stored: a test send).
    func open(token: String, userAgent: String?, now: Date) async throws -> Bool
    /// Records a click for a valid click token and returns its target; `nil` for an invalid
    /// token. A valid one whose email is not stored (a test send) returns its target, recording nothing.
    func click(token: String, userAgent: String?, now: Date) async throws -> String?
    /// The HTML of a sent email for a valid view token ("view in your browser"), `nil` otherwise.
    func webView(token: String, now: Date) async throws -> String?
    /// Whether the unsubscribe token is valid (the confirmation page is shown only then).
    func canUnsubscribe(token: String) async throws -> Bool
    /// Unsubscribes the lead of a valid unsubscribe token. Returns false for an invalid token.
    func unsubscribe(token: String, now: Date) async throws -> Bool

    /// Stores and applies API events, all or nothing for validation (each is idempotent by id).
    func ingest(_ events: [IncomingEvent], now: Date) async throws -> IngestResult
    /// Creates or updates a lead; true when it was created.
    func upsert(_ lead: Lead, now: Date) async throws -> Bool
    /// A lead's state as JSON-ready values, `nil` when unknown.
    func leadReport(email: String, now: Date) async throws -> [String: any Sendable]?
    /// Applies a relay's delivery report. Returns false when the message or lead is unknown.
    func relayReport(_ report: RelayReport, now: Date) async throws -> Bool
    /// The funnel report for a period (stages in the funnel's order).
    func funnelReport(period: ReportPeriod) async throws -> FunnelReport
    /// The steps report for the emails sent in a period, of every sequence or of one.
    func stepsReport(period: ReportPeriod, sequence: String?) async throws -> StepsReport
    /// Suppressed addresses by reason: all, and those added in the period.
    func suppressionReport(period: ReportPeriod) async throws -> SuppressionCounts

}

/// An event posted to `/v1/events`.
public struct IncomingEvent: Sendable, Equatable {
    public var type: String
    public var lead: LeadReference
    public var at: Date
    public var properties: [String: String]
    /// The client's id for the event: posting it again stores nothing new.
    public var clientID: String?

    public init(type: String, lead: LeadReference, at: Date, properties: [String: String], clientID: String?) {
        self.type = type
        self.lead = lead
        self.at = at
        self.properties = properties
        self.clientID = clientID
    }
}

public struct IngestResult: Sendable, Equatable {
    public var recorded = 0
    public var duplicates = 0
    public var unknownLeads: [String] = []

    public init() {}
}

/// A delivery report: posted to `/v1/webhooks/relay`, or read from a provider's webhook
/// (Postmark, SendGrid).
public struct RelayReport: Sendable, Equatable {
    public enum Kind: String, Sendable { case delivered, bounced, complained, unsubscribed }
    public var kind: Kind
    public var messageID: String?
    public var email: String?
    /// `hard` or `soft` for bounces.
    public var bounceType: String?
    public var reason: String?
    /// The provider's id for this event, when it has one: a retried webhook that repeats it
    /// stores nothing new.
    public var eventID: String?

    public init(kind: Kind, messageID: String?, email: String?, bounceType: String?, reason: String?) {
        self.kind = kind
        self.messageID = messageID
        self.email = email
        self.bounceType = bounceType
        self.reason = reason
    }
}
