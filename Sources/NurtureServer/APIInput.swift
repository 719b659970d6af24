import Foundation
import Hummingbird
import NurtureApp
import NurtureCore

/// Reads and validates API bodies: every problem is a 4xx with a reason, found before
/// anything is recorded. The rules are the lead import's: canonical addresses, IANA zones,
/// bounded lists and text.
enum APIInput {
    /// The most items (events, reports) one request may carry.
    static let maxItems = 1000
    /// The longest text value accepted in an event's properties or a report's reason.
    static let maxText = 4096

    /// The body as a JSON value: 415 unless it is `application/json` (UTF-8), 413 when too
    /// large, 400 when not JSON.
    static func json(_ request: Request, context: some RequestContext, timeout: Duration) async throws -> JSONValue {
        try json(try await body(request, timeout: timeout))
    }

    /// A body already read (``body(_:timeout:)``) as a JSON value: 400 when not JSON.
    static func json(_ data: Data) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw HTTPError(.badRequest, message: "the body is not valid JSON")
        }
    }

    /// The raw body of a JSON request, checked for its content type, size and encoding. A body
    /// that does not arrive whole within `timeout` (a client trickling bytes) gets 408.
    static func body(_ request: Request, timeout: Duration) async throws -> Data {
        try checkContentType(request.headers[.contentType])
        if let length = request.headers[.contentLength].flatMap(Int.init), length > NurtureRoutes.maxBody {
            throw HTTPError(.contentTooLarge, message: "the body is larger than \(NurtureRoutes.maxBody) bytes")
        }
        let received: ByteBuffer? = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do {
                    return try await request.body.collect(upTo: NurtureRoutes.maxBody)
                } catch is CancellationError {
                    return nil
                } catch let error as HTTPError where error.status == .contentTooLarge {
                    throw HTTPError(.contentTooLarge, message: "the body is larger than \(NurtureRoutes.maxBody) bytes")
                } catch {
                    throw HTTPError(.badRequest, message: "the body could not be read")
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let buffer = received else {
            throw HTTPError(.requestTimeout, message: "the body did not arrive within \(timeout.components.seconds) s")
        }
        let data = Data(buffer: buffer)
        // JSON text exchanged between systems is UTF-8 (RFC 8259 §8.1): no UTF-16, no BOM.
        guard String(validating: data, as: UTF8.self) != nil, !data.starts(with: [0xEF, 0xBB, 0xBF]), !data.contains(0) else {
            throw HTTPError(.badRequest, message: "the body must be UTF-8 JSON")
        }
        return data
    }

    /// `application/json`, with no charset or `charset=utf-8`.
    static func checkContentType(_ value: String?) throws {
        guard let value else {
            throw HTTPError(.unsupportedMediaType, message: "send the body as Content-Type: application/json")
        }
        let parts = value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard parts.first == "application/json" else {
            throw HTTPError(.unsupportedMediaType, message: "Content-Type must be application/json, not '\(value.prefix(100))'")
        }
        for parameter in parts.dropFirst() where parameter.hasPrefix("charset=") {
            let charset = parameter.dropFirst("charset=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard charset == "utf-8" || charset == "utf8" else {
                throw HTTPError(.unsupportedMediaType, message: "the body must be UTF-8 JSON (charset=\(charset) is not accepted)")
            }
        }
    }

    /// One object, `[object, …]`, or `{"events": [object, …]}`; 1 to ``maxItems`` of them.
    static func items(_ json: JSONValue, what: String) throws -> [JSONValue] {
        let items: [JSONValue]
        if let object = json.object, let list = object["events"] {
            guard object.count == 1, let array = list.array else { throw HTTPError(.badRequest, message: "expected {\"events\": [ … ]}") }
            items = array
        } else if let array = json.array {
            items = array
        } else {
            items = [json]
        }
        guard !items.isEmpty else { throw HTTPError(.badRequest, message: "no \(what)") }
        guard items.count <= maxItems else { throw HTTPError(.contentTooLarge, message: "at most \(maxItems) \(what) per request (found \(items.count))") }
        return items
    }

    static let eventKeys: Set<String> = ["type", "email", "lead_id", "at", "properties", "id"]

    /// Events: one event object, `[event, …]`, or `{"events": [event, …]}`.
    static func events(_ json: JSONValue, now: Date) throws -> [IncomingEvent] {
        let items = try items(json, what: "events")
        return try items.enumerated().map { index, item in
            let at = items.count == 1 ? "" : "events[\(index)]: "
            guard let object = item.object else { throw HTTPError(.badRequest, message: "\(at)expected an object, found \(item.kind)") }
            if let unknown = object.keys.sorted().first(where: { !eventKeys.contains($0) }) {
                throw HTTPError(.badRequest, message: "\(at)unknown field '\(unknown.prefix(64))' (fields: \(eventKeys.sorted().joined(separator: ", ")))")
            }
            guard let type = object["type"]?.string, isName(type) else {
                throw HTTPError(.badRequest, message: "\(at)'type' is required: page_visited, form_submitted, replied or a custom event name (letters, digits, _ . -; at most 64)")
            }
            let lead = try leadReference(object, at: at)
            var properties: [String: String] = [:]
            if let raw = object["properties"] {
                guard let dictionary = raw.object else { throw HTTPError(.badRequest, message: "\(at)'properties' must be an object, found \(raw.kind)") }
                guard dictionary.count <= 100 else { throw HTTPError(.badRequest, message: "\(at)at most 100 properties") }
                for (key, value) in dictionary {
                    guard !key.isEmpty, key.count <= 64, !hasControl(key) else {
                        throw HTTPError(.badRequest, message: "\(at)property names must be 1 to 64 characters without control characters")
                    }
                    switch value {
                    case .string(let s) where s.unicodeScalars.contains("\0"):
                        throw HTTPError(.badRequest, message: "\(at)property '\(key)' contains a NUL character (U+0000)")
                    case .string(let s) where s.count <= maxText: properties[key] = s
                    case .number(let n) where n.isFinite: properties[key] = n.rounded() == n && abs(n) < 9e15 ? String(Int(n)) : String(n)
                    default: throw HTTPError(.badRequest, message: "\(at)property '\(key)' must be text (at most \(maxText) characters) or a number, found \(value.kind)")
                    }
                }
            }
            var date = now
            if let raw = object["at"] {
                switch raw {
                case .number(let seconds) where seconds.isFinite:
                    date = Date(timeIntervalSince1970: seconds)
                case .string(let text):
                    guard let parsed = ISO8601DateFormatter().date(from: text) ?? fractionalISO8601(text) else { fallthrough }
                    date = parsed
                default:
                    throw HTTPError(.badRequest, message: "\(at)'at' must be an ISO 8601 time (2026-11-23T10:00:00Z) or seconds since 1970, found \(raw.kind)")
                }
                if date > now.addingTimeInterval(300) { throw HTTPError(.badRequest, message: "\(at)'at' is in the future") }
                if date < Date(timeIntervalSince1970: 946_684_800) { throw HTTPError(.badRequest, message: "\(at)'at' is before 2000: give seconds, not milliseconds or a flag") }
            }
            var clientID: String?
            if let raw = object["id"] {
                guard let id = raw.string, !id.isEmpty, id.count <= 200, !hasControl(id) else {
                    throw HTTPError(.badRequest, message: "\(at)'id' must be text of 1 to 200 characters, found \(raw.kind)")
                }
                clientID = id
            }
            return IncomingEvent(type: type, lead: lead, at: date, properties: properties, clientID: clientID)
        }
    }

    /// The lead an item names: its `email` (canonicalised) or its `lead_id`.
    private static func leadReference(_ object: [String: JSONValue], at: String) throws -> LeadReference {
        if let raw = object["email"] {
            guard let text = raw.string else { throw HTTPError(.badRequest, message: "\(at)'email' must be text, found \(raw.kind)") }
            do {
                return .email(try EmailAddress.canonical(text))
            } catch {
                throw HTTPError(.badRequest, message: "\(at)\(error)")
            }
        }
        if let raw = object["lead_id"] {
            if let id = raw.integer, id > 0 { return .id(String(id)) }
            if let id = raw.string, !id.isEmpty, id.count <= 64, id.allSatisfy(\.isNumber) { return .id(id) }
            throw HTTPError(.badRequest, message: "\(at)'lead_id' must be a lead's number, found \(raw.kind)")
        }
        throw HTTPError(.badRequest, message: "\(at)give the lead's 'email' or 'lead_id'")
    }

    static let relayKeys: Set<String> = ["type", "message_id", "email", "bounce_type", "reason"]

    /// Relay reports: one report, `[report, …]` or `{"events": [report, …]}`.
    static func relayReports(_ json: JSONValue) throws -> [RelayReport] {
        let items = try items(json, what: "reports")
        return try items.enumerated().map { index, item in
            let at = items.count == 1 ? "" : "events[\(index)]: "
            guard let object = item.object else { throw HTTPError(.badRequest, message: "\(at)expected an object, found \(item.kind)") }
            if let unknown = object.keys.sorted().first(where: { !relayKeys.contains($0) }) {
                throw HTTPError(.badRequest, message: "\(at)unknown field '\(unknown.prefix(64))' (fields: \(relayKeys.sorted().joined(separator: ", ")))")
            }
            guard let raw = object["type"]?.string, let kind = RelayReport.Kind(rawValue: raw) else {
                throw HTTPError(.badRequest, message: "\(at)'type' must be delivered, bounced or complained")
            }
            func text(_ key: String, max: Int) throws -> String? {
                guard let value = object[key] else { return nil }
                guard let s = value.string, !s.isEmpty, s.count <= max, !hasControl(s) else {
                    throw HTTPError(.badRequest, message: "\(at)'\(key)' must be text of 1 to \(max) characters, found \(value.kind)")
                }
                return s
            }
            let messageID = try text("message_id", max: 998)
            var email: String?
            if object["email"] != nil, case .email(let canonical) = try leadReference(["email": object["email"]!], at: at) { email = canonical }
            guard messageID != nil || email != nil else { throw HTTPError(.badRequest, message: "\(at)give 'message_id' or 'email'") }
            let bounceType = try text("bounce_type", max: 4)
            if let bounceType, bounceType != "hard", bounceType != "soft" { throw HTTPError(.badRequest, message: "\(at)'bounce_type' must be hard or soft") }
            return RelayReport(kind: kind, messageID: messageID, email: email, bounceType: bounceType, reason: try text("reason", max: maxText))
        }
    }

    /// An event type: letters, digits, `_`, `.`, `-`; 1 to 64 characters.
    private static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2E || $0 == 0x2D }
    }

    private static func hasControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    private static func fractionalISO8601(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
