import Foundation
import NurtureCore

/// A lead written as a flat JSON object, as `nurture preview --lead` and the dry-run read it:
/// `{"email": "ada@example.com", "first_name": "Ada", "company": "Analytical Engines", "timezone": "Europe/London"}`.
///
/// `email` is required. `id`, `timezone`, `stage`, `fit_score`, `engagement_score` and `tags`
/// (a list) set those properties; every other key becomes a profile field. Numbers and
/// booleans are kept as text; `null` means absent; nested objects are refused.
public enum LeadJSON {
    public static func decode(_ data: Data, source: String) throws(LeadJSONError) -> Lead {
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
        var fields: [String: String] = [:]
        var tags: Set<String> = []
        for (key, value) in object {
            switch value {
            case .null: continue
            case .text(let text): fields[key] = text
            case .list(let list) where key == "tags": tags = Set(list)
            case .list, .other: throw .badValue(source: source, key: key, expected: key == "tags" ? "a list of tags" : "text, a number or a boolean")
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
}

extension LeadJSON {
    /// A lead posted to the API: the same flat object; `stage` and scores are not accepted
    /// from outside (stages move by the funnel, or `nurture leads stage`).
    public static func decodeForAPI(_ data: Data) throws(LeadJSONError) -> Lead {
        var lead = try decode(data, source: "body")
        lead.stage = ""
        lead.fitScore = 0
        lead.engagementScore = 0
        return lead
    }
}

/// One JSON value of a flat lead object.
private enum Value: Decodable {
    case null
    case text(String)
    case list([String])
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let bool = try? container.decode(Bool.self) { self = .text(bool ? "true" : "false") }
        else if let int = try? container.decode(Int.self) { self = .text(String(int)) }
        else if let double = try? container.decode(Double.self) { self = .text(String(double)) }
        else if let string = try? container.decode(String.self) { self = .text(string) }
        else if let list = try? container.decode([Value].self) {
            self = .list(list.compactMap { if case .text(let t) = $0 { t } else { nil } })
        } else { self = .other }
    }
}

/// Why a lead file cannot be used.
public enum LeadJSONError: Error, CustomStringConvertible {
    case invalidJSON(source: String, detail: String)
    case notAnObject(source: String)
    case missingEmail(source: String)
    case invalidEmail(source: String, EmailAddressError)
    case badValue(source: String, key: String, expected: String)

    public var description: String {
        switch self {
        case .invalidJSON(let source, let detail): "\(source): not valid JSON: \(detail)"
        case .notAnObject(let source): "\(source): expected a JSON object of lead fields, like {\"email\": \"ada@example.com\", \"first_name\": \"Ada\"}"
        case .missingEmail(let source): "\(source): the lead has no \"email\""
        case .invalidEmail(let source, let error): "\(source): \(error)"
        case .badValue(let source, let key, let expected): "\(source): \"\(key)\" must be \(expected)"
        }
    }
}
