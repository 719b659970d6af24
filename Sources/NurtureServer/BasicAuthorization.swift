import Foundation

/// HTTP Basic authentication (RFC 7617), as the dashboard and Postmark's webhooks read it.
enum BasicAuthorization {
    /// The `user:password` an `Authorization: Basic …` header carries, or `nil`.
    static func credentials(_ header: String) -> String? {
        guard header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
