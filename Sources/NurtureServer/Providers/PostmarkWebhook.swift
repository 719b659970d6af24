import Foundation
import Hummingbird
import NurtureApp

/// Postmark's webhooks (one record per POST), mapped to the outcomes of a relay report.
///
/// | RecordType | becomes |
/// |---|---|
/// | `Bounce` with `Type` HardBounce, BadEmailAddress | a hard bounce (suppresses) |
/// | `Bounce` with `Type` SoftBounce, Transient, DnsError, Blocked, DMARCPolicy, Unknown… | a soft bounce (counted) |
/// | `Bounce` with `Type` SpamComplaint, and `SpamComplaint` | a complaint (suppresses) |
/// | `Bounce` with `Type` Unsubscribe | an unsubscribe (suppresses) |
/// | `SubscriptionChange` with `SuppressSending: true` and `SuppressionReason: ManualSuppression` | an unsubscribe (the HardBounce and SpamComplaint ones repeat the Bounce and SpamComplaint records: ignored) |
/// | `Delivery` | delivered |
/// | `Open`, `Click`, other bounce types (AutoResponder, AddressChange, …) | ignored: Nurture tracks its own opens and clicks |
///
/// The email is found by the `nurture_message_id` Metadata Nurture adds when it sends through
/// Postmark; without it, by the address (`Email` or `Recipient`).
enum PostmarkWebhook {
    static let hard: Set<String> = ["HardBounce", "BadEmailAddress"]
    static let soft: Set<String> = ["SoftBounce", "Transient", "DnsError", "Blocked", "DMARCPolicy", "Unknown", "ChallengeVerification", "SMTPApiError"]

    /// The reports in a Postmark webhook body (none when the record is one Nurture ignores).
    /// - Throws: 400 when the body is not a Postmark record.
    static func reports(_ json: JSONValue) throws -> [RelayReport] {
        guard let record = json.object, let type = record["RecordType"]?.string else {
            throw HTTPError(.badRequest, message: "not a Postmark webhook: a JSON object with RecordType is expected")
        }
        let email = (record["Email"] ?? record["Recipient"])?.string
        let messageID = record["Metadata"]?.object?["nurture_message_id"]?.string
        guard email != nil || messageID != nil else {
            throw HTTPError(.badRequest, message: "the Postmark \(type) record names no recipient (Email or Recipient)")
        }
        // A retried POST repeats the record: its type, Postmark's message id and the address
        // make it the same event. (Postmark's `ID` is a 64-bit number a JSON double rounds.)
        let postmarkMessage = record["MessageID"]?.string
        let eventID = postmarkMessage.map { "postmark-\(type)-\($0)-\((email ?? "").lowercased())" }
        let reason = [record["Description"]?.string, record["Details"]?.string].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        func report(_ kind: RelayReport.Kind, bounce: String? = nil) -> [RelayReport] {
            var report = RelayReport(kind: kind, messageID: messageID, email: email, bounceType: bounce, reason: reason.isEmpty ? nil : String(reason.prefix(500)))
            report.eventID = eventID
            return [report]
        }
        switch type {
        case "Bounce":
            let bounce = record["Type"]?.string ?? "Unknown"
            if hard.contains(bounce) { return report(.bounced, bounce: "hard") }
            if soft.contains(bounce) { return report(.bounced, bounce: "soft") }
            if bounce == "SpamComplaint" { return report(.complained) }
            if bounce == "Unsubscribe" { return report(.unsubscribed) }
            return []
        case "SpamComplaint":
            return report(.complained)
        case "Delivery":
            return report(.delivered)
        case "SubscriptionChange":
            // Postmark also sends one after its own Bounce or SpamComplaint record: those are
            // counted from that record. Only an unsubscribe is news here.
            guard record["SuppressSending"] == .bool(true), record["SuppressionReason"]?.string == "ManualSuppression" else { return [] }
            return report(.unsubscribed)
        default:
            return []
        }
    }
}
