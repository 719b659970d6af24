/// The header fields a campaign may add to its emails (`headers:` in nurture.yaml for every
/// email, in a sequence file for that sequence's): any, such as `Feedback-ID` or `List-Id`,
/// except those Nurture writes itself or that routing and authentication own.
public enum CustomHeaderRules {
    /// Lower-cased names that cannot be set (nor any `Content-*` or `Resent-*`).
    public static let reserved: Set<String> = [
        "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references",
        "mime-version", "content-type", "content-transfer-encoding", "content-disposition", "return-path", "received",
        "dkim-signature", "arc-seal", "arc-message-signature", "arc-authentication-results", "authentication-results",
        "list-unsubscribe", "list-unsubscribe-post",
    ]
    /// Longest value, before the send's placeholders are filled in.
    public static let maxValueLength = 900

    /// Why `name: value` cannot be added to an email, or `nil` when it can.
    public static func problem(name: String, value: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= 76, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
            return "'\(name.prefix(80))' is not a header name: expected letters, digits and hyphens, e.g. Feedback-ID"
        }
        let lowercased = name.lowercased()
        if reserved.contains(lowercased) || lowercased.hasPrefix("content-") || lowercased.hasPrefix("resent-") {
            return "'\(name)' is written by Nurture (or by the mail system) and cannot be set here"
        }
        // By scalars: "\r\n" is one Character, equal to neither "\r" nor "\n".
        if value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
            return "the value of '\(name)' has a line break: a header value is one line"
        }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) {
            return "the value of '\(name)' has a control character"
        }
        if value.count > maxValueLength { return "the value of '\(name)' is longer than \(maxValueLength) characters" }
        return nil
    }
}
