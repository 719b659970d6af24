import Foundation

/// One outbound webhook to deliver: an event for one endpoint, with the JSON body that is
/// signed and POSTed. The id is the Standard Webhooks `webhook-id`: the same at every retry,
/// so a receiver can drop a repeat.
public struct WebhookMessage: Sendable, Equatable {
    public var id: String
    public var endpoint: String
    public var type: WebhookEventType
    public var leadID: String
    public var body: Data
    public var createdAt: Date

    public init(id: String, endpoint: String, type: WebhookEventType, leadID: String, body: Data, createdAt: Date) {
        self.id = id
        self.endpoint = endpoint
        self.type = type
        self.leadID = leadID
        self.body = body
        self.createdAt = createdAt
    }
}

/// The JSON a receiver gets, in the Standard Webhooks shape: `type`, `timestamp` and `data`,
/// where `data` holds the lead (`id`, `email`, `stage`, `score`) and the event's details.
public struct WebhookPayload: Sendable, Equatable, Codable {
    public struct LeadSummary: Sendable, Equatable, Codable {
        public var id: String
        public var email: String
        public var stage: String
        public var score: Int

        public init(id: String, email: String, stage: String, score: Int) {
            self.id = id
            self.email = email
            self.stage = stage
            self.score = score
        }
    }

    public struct Details: Sendable, Equatable, Codable {
        public var lead: LeadSummary
        /// stage_changed
        public var from: String?
        public var to: String?
        public var reason: String?
        /// goal_reached
        public var sequence: String?
        public var goal: String?
        /// score_crossed: the threshold, which way, and the scores before and after.
        public var threshold: Int?
        public var direction: String?
        public var scoreBefore: Int?
        public var scoreAfter: Int?

        enum CodingKeys: String, CodingKey {
            case lead, from, to, reason, sequence, goal, threshold, direction
            case scoreBefore = "score_before", scoreAfter = "score_after"
        }
    }

    public var type: WebhookEventType
    /// When the event happened (ISO 8601, UTC).
    public var timestamp: Date
    public var data: Details

    /// The body as sent: keys sorted, dates in ISO 8601.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Every field is a string, number or date: encoding cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }

    public static func decode(_ body: Data) throws -> WebhookPayload {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(WebhookPayload.self, from: body)
    }
}
