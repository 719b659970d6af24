import Foundation
import Hummingbird
import NurtureCore

/// Reads and validates API bodies: every problem is a 4xx with a reason, found before
/// anything is recorded.
enum APIInput {
    /// The body as a JSON object or array (413 when too large, 400 when not JSON).
    static func json(_ request: Request, context: some RequestContext) async throws -> Any {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > HTTPServer.maxBody {
            throw HTTPError(.contentTooLarge, message: "the body is larger than \(HTTPServer.maxBody) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: HTTPServer.maxBody)
        } catch {
            throw HTTPError(.contentTooLarge, message: "the body is larger than \(HTTPServer.maxBody) bytes")
        }
        do {
            return try JSONSerialization.jsonObject(with: Data(buffer: buffer))
        } catch {
            throw HTTPError(.badRequest, message: "the body is not valid JSON")
        }
    }

    static let eventKeys: Set<String> = ["type", "email", "lead_id", "at", "properties", "id"]

    /// One event object, `[event, …]`, or `{"events": [event, …]}`.
    static func events(_ json: Any, now: Date) throws -> [IncomingEvent] {
        let items: [Any]
        if let object = json as? [String: Any], let list = object["events"] {
            guard object.count == 1, let array = list as? [Any] else { throw HTTPError(.badRequest, message: "expected {\"events\": [ … ]}") }
            items = array
        } else if let array = json as? [Any] {
            items = array
        } else {
            items = [json]
        }
        guard !items.isEmpty else { throw HTTPError(.badRequest, message: "no events") }
        guard items.count <= 1000 else { throw HTTPError(.contentTooLarge, message: "at most 1000 events per request") }
        return try items.enumerated().map { index, item in
            let at = items.count == 1 ? "" : "events[\(index)]: "
            guard let object = item as? [String: Any] else { throw HTTPError(.badRequest, message: "\(at)expected an object") }
            if let unknown = object.keys.sorted().first(where: { !eventKeys.contains($0) }) {
                throw HTTPError(.badRequest, message: "\(at)unknown field '\(unknown)' (fields: \(eventKeys.sorted().joined(separator: ", ")))")
            }
            guard let type = object["type"] as? String, !type.isEmpty, type.count <= 64 else {
                throw HTTPError(.badRequest, message: "\(at)'type' is required: page_visited, form_submitted, replied or a custom event name")
            }
            let lead: LeadReference
            if let email = object["email"] as? String, !email.isEmpty {
                lead = .email(email)
            } else if let id = object["lead_id"] as? String ?? (object["lead_id"] as? Int).map(String.init) {
                lead = .id(id)
            } else {
                throw HTTPError(.badRequest, message: "\(at)give the lead's 'email' or 'lead_id'")
            }
            var properties: [String: String] = [:]
            if let raw = object["properties"] {
                guard let dictionary = raw as? [String: Any] else { throw HTTPError(.badRequest, message: "\(at)'properties' must be an object") }
                for (key, value) in dictionary {
                    switch value {
                    case let s as String: properties[key] = s
                    case let n as NSNumber: properties[key] = n.stringValue
                    default: throw HTTPError(.badRequest, message: "\(at)property '\(key)' must be text or a number")
                    }
                }
            }
            var date = now
            if let raw = object["at"] {
                if let seconds = raw as? Double {
                    date = Date(timeIntervalSince1970: seconds)
                } else if let text = raw as? String, let parsed = ISO8601DateFormatter().date(from: text) {
                    date = parsed
                } else {
                    throw HTTPError(.badRequest, message: "\(at)'at' must be an ISO 8601 time (2026-11-23T10:00:00Z) or seconds since 1970")
                }
                if date > now.addingTimeInterval(300) { throw HTTPError(.badRequest, message: "\(at)'at' is in the future") }
            }
            let clientID = object["id"] as? String
            if let clientID, clientID.isEmpty || clientID.count > 200 { throw HTTPError(.badRequest, message: "\(at)'id' must be 1 to 200 characters") }
            return IncomingEvent(type: type, lead: lead, at: date, properties: properties, clientID: clientID)
        }
    }

    static let relayKeys: Set<String> = ["type", "message_id", "email", "bounce_type", "reason"]

    /// One report, `[report, …]` or `{"events": [report, …]}`.
    static func relayReports(_ json: Any) throws -> [RelayReport] {
        let items: [Any]
        if let object = json as? [String: Any], let list = object["events"] as? [Any] {
            items = list
        } else if let array = json as? [Any] {
            items = array
        } else {
            items = [json]
        }
        return try items.map { item in
            guard let object = item as? [String: Any] else { throw HTTPError(.badRequest, message: "expected an object") }
            if let unknown = object.keys.sorted().first(where: { !relayKeys.contains($0) }) {
                throw HTTPError(.badRequest, message: "unknown field '\(unknown)' (fields: \(relayKeys.sorted().joined(separator: ", ")))")
            }
            guard let raw = object["type"] as? String, let kind = RelayReport.Kind(rawValue: raw) else {
                throw HTTPError(.badRequest, message: "'type' must be delivered, bounced or complained")
            }
            let messageID = object["message_id"] as? String
            let email = object["email"] as? String
            guard messageID != nil || email != nil else { throw HTTPError(.badRequest, message: "give 'message_id' or 'email'") }
            let bounceType = object["bounce_type"] as? String
            if let bounceType, bounceType != "hard", bounceType != "soft" { throw HTTPError(.badRequest, message: "'bounce_type' must be hard or soft") }
            return RelayReport(kind: kind, messageID: messageID, email: email, bounceType: bounceType, reason: object["reason"] as? String)
        }
    }
}
