import Foundation
import NurtureCore

/// A lead written as a flat JSON object, as `nurture preview --lead` and the dry-run read it:
/// `{"email": "ada@example.com", "first_name": "Ada", "company": "Analytical Engines", "timezone": "Europe/London"}`.
///
/// `email` is required. `id`, `timezone`, `stage`, `fit_score`, `engagement_score` and `tags`
/// set those properties; every other key becomes a profile field. Numbers and booleans are
/// kept as text; `null` means absent; nested objects and lists are refused.
///
/// Limits, refused with the key named: a field name is 1–64 characters without control
/// characters; a value is at most 4,096 characters without control characters but tab (no
/// line breaks; `email` is trimmed and checked by ``EmailAddress/canonical(_:)``); `tags` is a
/// list of at most 100 strings, each 1–64 characters without control characters.
public enum LeadJSON {
    public static let maxNameLength = 64
    public static let maxValueLength = 4096
    public static let maxTags = 100
    public static let maxTagLength = 64

    /// The keys the API does not take from outside, and why.
    static let storeOwned: [(key: String, reason: String)] = [
        ("id", "lead ids are the store's; a lead is identified by its email"),
        ("stage", "stages move by the funnel, or by `nurture leads stage`"),
        ("fit_score", "scores are computed by the scoring rules"),
        ("engagement_score", "scores are computed by the scoring rules"),
    ]

    public static func decode(_ data: Data, source: String) throws(LeadJSONError) -> Lead {
        try decode(data, source: source, api: false)
    }

    private static func decode(_ data: Data, source: String, api: Bool) throws(LeadJSONError) -> Lead {
        let object: [String: Value]
        do {
            object = try JSONDecoder().decode([String: Value].self, from: data)
        } catch DecodingError.typeMismatch {
            throw .notAnObject(source: source)
        } catch DecodingError.dataCorrupted(let context) {
            let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
            throw .invalidJSON(source: source, detail: detail)
        } catch {
            throw .invalidJSON(source: source, detail: "\(error)")
        }
        if api, let owned = storeOwned.first(where: { object[$0.key] != nil }) {
            throw .notAccepted(source: source, key: owned.key, reason: owned.reason)
        }
        var fields: [String: String] = [:]
        var tags: Set<String> = []
        // Sorted: the same body always gives the same error.
        for key in object.keys.sorted() {
            let value = object[key]!
            try checkName(key, source: source)
            if key == "tags" {
                tags = try readTags(value, source: source)
                continue
            }
            switch value {
            case .null: continue
            case .string(let text), .scalar(let text):
                try checkValue(text, key: key, source: source)
                fields[key] = text
            case .list, .other: throw .badValue(source: source, key: key, expected: "text, a number or a boolean (found \(value.kind))")
            }
        }
        guard let raw = fields.removeValue(forKey: "email"), !raw.isEmpty else {
            throw .missingEmail(source: source)
        }
        let email: String
        do {
            email = try EmailAddress.canonical(raw)
        } catch {
            throw .invalidEmail(source: source, error)
        }
        func integer(_ key: String) throws(LeadJSONError) -> Int {
            guard let text = fields.removeValue(forKey: key) else { return 0 }
            guard let value = Int(text) else { throw .badValue(source: source, key: key, expected: "a whole number") }
            return value
        }
        if let zone = fields["timezone"], !TimeZoneIdentifier.isValid(zone) {
            throw .badValue(source: source, key: "timezone", expected: "an IANA time zone such as Europe/Paris ('\(zone.prefix(64))' is not one)")
        }
        let fit = try integer("fit_score")
        let engagement = try integer("engagement_score")
        return Lead(
            id: fields.removeValue(forKey: "id") ?? email,
            email: email,
            fields: fields.filter { $0.key != "timezone" && $0.key != "stage" },
            timeZone: fields["timezone"],
            stage: fields["stage"] ?? "lead",
            fitScore: fit, engagementScore: engagement, tags: tags
        )
    }

    private static func checkName(_ key: String, source: String) throws(LeadJSONError) {
        let length = key.unicodeScalars.count
        if length == 0 || length > maxNameLength {
            throw .badName(source: source, key: key, problem: length == 0 ? "is empty" : "has \(length) characters (at most \(maxNameLength))")
        }
        if let scalar = key.unicodeScalars.first(where: isControl) {
            throw .badName(source: source, key: key, problem: "contains the control character \(hex(scalar))")
        }
    }

    private static func checkValue(_ text: String, key: String, source: String) throws(LeadJSONError) {
        let length = text.unicodeScalars.count
        if length > maxValueLength {
            throw .badValue(source: source, key: key, expected: "at most 4,096 characters (found \(length))")
        }
        // The address is trimmed (a trailing CR LF included) and refused with a reason by EmailAddress.
        if key == "email" { return }
        if let scalar = text.unicodeScalars.first(where: { $0 != "\t" && isControl($0) }) {
            let what = scalar == "\n" || scalar == "\r" ? "a line break, \(hex(scalar))" : "the control character \(hex(scalar))"
            throw .badValue(source: source, key: key, expected: "one line of text without control characters (found \(what))")
        }
    }

    private static func readTags(_ value: Value, source: String) throws(LeadJSONError) -> Set<String> {
        let items: [Value]
        switch value {
        case .null: return []
        case .list(let list): items = list
        default: throw .badValue(source: source, key: "tags", expected: "a list of tags such as [\"vip\", \"trial\"] (found \(value.kind))")
        }
        guard items.count <= maxTags else {
            throw .badValue(source: source, key: "tags", expected: "a list of at most \(maxTags) tags (found \(items.count))")
        }
        var tags: Set<String> = []
        for (index, item) in items.enumerated() {
            guard case .string(let tag) = item else {
                throw .badValue(source: source, key: "tags", expected: "a list of text tags (tag \(index + 1) is \(item.kind))")
            }
            let length = tag.unicodeScalars.count
            guard length >= 1, length <= maxTagLength else {
                throw .badValue(source: source, key: "tags", expected: "a list of tags of 1–\(maxTagLength) characters (tag \(index + 1) \(length == 0 ? "is empty" : "has \(length) characters"))")
            }
            if let scalar = tag.unicodeScalars.first(where: isControl) {
                throw .badValue(source: source, key: "tags", expected: "a list of tags without control characters (tag \(index + 1) contains \(hex(scalar)))")
            }
            tags.insert(tag)
        }
        return tags
    }

    /// C0 (tab included), DEL, C1, and the line and paragraph separators.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
        default: false
        }
    }

    private static func hex(_ scalar: Unicode.Scalar) -> String { String(format: "U+%04X", scalar.value) }
}

extension LeadJSON {
    /// A lead posted to the API: the same flat object, without `id`, `stage`, `fit_score` or
    /// `engagement_score` (refused with a reason: ids are the store's, stages move by the funnel
    /// or `nurture leads stage`, scores by the scoring rules).
    public static func decodeForAPI(_ data: Data) throws(LeadJSONError) -> Lead {
        var lead = try decode(data, source: "body", api: true)
        lead.stage = ""
        lead.fitScore = 0
        lead.engagementScore = 0
        return lead
    }
}

/// One JSON value of a flat lead object.
private enum Value: Decodable {
    case null
    /// A JSON string.
    case string(String)
    /// A number or a boolean, as text.
    case scalar(String)
    case list([Value])
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let bool = try? container.decode(Bool.self) { self = .scalar(bool ? "true" : "false") }
        else if let int = try? container.decode(Int.self) { self = .scalar(String(int)) }
        else if let double = try? container.decode(Double.self) { self = .scalar(String(double)) }
        else if let string = try? container.decode(String.self) { self = .string(string) }
        else if let list = try? container.decode([Value].self) { self = .list(list) }
        else { self = .other }
    }

    /// What it is, for messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .string: "text"
        case .scalar(let text): text == "true" || text == "false" ? "a boolean" : "a number"
        case .list: "a list"
        case .other: "an object"
        }
    }
}

/// Why a lead file cannot be used.
public enum LeadJSONError: Error, CustomStringConvertible {
    case invalidJSON(source: String, detail: String)
    case notAnObject(source: String)
    case missingEmail(source: String)
    case invalidEmail(source: String, EmailAddressError)
    case badValue(source: String, key: String, expected: String)
    /// A field name that is empty, too long or holds a control character.
    case badName(source: String, key: String, problem: String)
    /// A key the API does not take from outside (`stage`, `id`, scores), and why.
    case notAccepted(source: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .invalidJSON(let source, let detail): "\(source): not valid JSON: \(detail)"
        case .notAnObject(let source): "\(source): expected a JSON object of lead fields, like {\"email\": \"ada@example.com\", \"first_name\": \"Ada\"}"
        case .missingEmail(let source): "\(source): the lead has no \"email\""
        case .invalidEmail(let source, let error): "\(source): \(error)"
        case .badValue(let source, let key, let expected): "\(source): \"\(key)\" must be \(expected)"
        case .badName(let source, let key, let problem):
            "\(source): the field name \(String(key.prefix(64)).debugDescription)\(key.unicodeScalars.count > 64 ? " (cut)" : "") \(problem): a field name is 1–64 characters without control characters"
        case .notAccepted(let source, let key, let reason): "\(source): \"\(key)\" cannot be set here: \(reason)"
        }
    }
}
