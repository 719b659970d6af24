import Foundation
import Hummingbird
import NurtureApp

/// SendGrid's Event Webhook (a JSON list of events per POST), mapped to the outcomes of a
/// relay report.
///
/// | event | becomes |
/// |---|---|
/// | `bounce` (`type: bounce`) | a hard bounce (suppresses) |
/// | `bounce` (`type: blocked`) | a soft bounce (counted) |
/// | `dropped` | by `reason`: Bounced Address, Invalid → hard bounce; Spam Reporting Address → complaint; Unsubscribed Address → unsubscribe; others → soft bounce |
/// | `spamreport` | a complaint (suppresses) |
/// | `unsubscribe`, `group_unsubscribe` | an unsubscribe (suppresses) |
/// | `delivered` | delivered |
/// | `processed`, `deferred`, `open`, `click`, … | ignored: Nurture tracks its own opens and clicks |
///
/// The email is found by the `nurture_message_id` custom argument Nurture adds when it sends
/// through SendGrid; without it, by the address. `sg_event_id` makes a retried POST a duplicate.
enum SendGridWebhook {
    static func reports(_ json: JSONValue) throws -> (reports: [RelayReport], ignored: Int) {
        guard let events = json.array else {
            throw HTTPError(.badRequest, message: "not a SendGrid event webhook: a JSON list of events is expected")
        }
        guard events.count <= APIInput.maxItems else {
            throw HTTPError(.badRequest, message: "at most \(APIInput.maxItems) events per request")
        }
        var reports: [RelayReport] = []
        var ignored = 0
        for (index, item) in events.enumerated() {
            guard let event = item.object, let type = event["event"]?.string else {
                throw HTTPError(.badRequest, message: "event \(index + 1): an object with \"event\" is expected")
            }
            let email = event["email"]?.string
            let messageID = event["nurture_message_id"]?.string
            guard email != nil || messageID != nil else {
                throw HTTPError(.badRequest, message: "event \(index + 1) (\(type)): no \"email\"")
            }
            let reason = [event["status"]?.string, event["reason"]?.string ?? event["response"]?.string].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            func report(_ kind: RelayReport.Kind, bounce: String? = nil) {
                var report = RelayReport(kind: kind, messageID: messageID, email: email, bounceType: bounce, reason: reason.isEmpty ? nil : String(reason.prefix(500)))
                report.eventID = event["sg_event_id"]?.string.map { "sendgrid-\($0)" }
                reports.append(report)
            }
            switch type {
            case "bounce":
                report(.bounced, bounce: event["type"]?.string == "blocked" ? "soft" : "hard")
            case "dropped":
                switch event["reason"]?.string ?? "" {
                case "Bounced Address", "Invalid": report(.bounced, bounce: "hard")
                case "Spam Reporting Address": report(.complained)
                case "Unsubscribed Address": report(.unsubscribed)
                default: report(.bounced, bounce: "soft")
                }
            case "spamreport":
                report(.complained)
            case "unsubscribe", "group_unsubscribe":
                report(.unsubscribed)
            case "delivered":
                report(.delivered)
            default:
                ignored += 1
            }
        }
        return (reports, ignored)
    }
}
