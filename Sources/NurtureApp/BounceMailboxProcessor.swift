import Foundation
import Logging
import NurtureContent
import NurtureCore

/// Reads the bounce mailbox and applies what it finds, through the same feedback loop as the
/// relay's answers and webhooks:
///
/// - a DSN's failed recipients: hard bounces suppress the address (and end the enrollment),
///   soft ones are counted;
/// - an ARF complaint: suppresses the address;
/// - a `mailto:` unsubscribe request (`unsubscribe-<token>` in the subject): suppresses the lead
///   whose email carried that signed token;
/// - anything else: marked and left in the mailbox for a person.
///
/// Applied first, marked after: a crash in between reads the message again, and the report's
/// own Message-ID makes the second reading store nothing new.
public final class BounceMailboxProcessor: Sendable {
    public let mailbox: any BounceMailbox
    let feedback: FeedbackService
    /// Whether processed reports are deleted (else only marked).
    let remove: Bool
    let logger: Logger

    /// Messages read per pass.
    public static let batch = 100

    public init(mailbox: any BounceMailbox, feedback: FeedbackService, remove: Bool, logger: Logger) {
        self.mailbox = mailbox
        self.feedback = feedback
        self.remove = remove
        self.logger = logger
    }

    /// What a pass found.
    public struct Tally: Sendable, Equatable {
        public var bounces = 0
        public var complaints = 0
        public var unsubscribes = 0
        /// Reports naming no lead or email Nurture knows.
        public var unknown = 0
        /// Messages left for a person.
        public var other = 0
        public var total: Int { bounces + complaints + unsubscribes + unknown + other }
        public init() {}
    }

    /// One pass: up to ``batch`` unprocessed messages. `more` is true when the batch was full.
    public func pass(now: @Sendable () -> Date) async throws -> (tally: Tally, more: Bool) {
        let messages = try await mailbox.unprocessed(limit: Self.batch)
        var tally = Tally()
        for message in messages {
            let mail = FeedbackMail(raw: message.raw)
            var handled = true
            switch mail {
            case .bounce(let bounces, let originalMessageID, let reportID):
                for bounce in bounces {
                    var report = RelayReport(kind: .bounced, messageID: originalMessageID, email: bounce.recipient, bounceType: bounce.hard ? "hard" : "soft", reason: bounce.reason)
                    report.eventID = reportID.map { "mailbox-\($0)-\(bounce.recipient.lowercased())" }
                    if try await feedback.relayReport(report, now: now()) { tally.bounces += 1 } else { tally.unknown += 1 }
                }
            case .complaint(let recipient, let originalMessageID, let reportID):
                if recipient == nil, originalMessageID == nil {
                    handled = false
                    tally.other += 1
                    break
                }
                var report = RelayReport(kind: .complained, messageID: originalMessageID, email: recipient, bounceType: nil, reason: "complaint report (ARF)")
                report.eventID = reportID.map { "mailbox-\($0)" }
                if try await feedback.relayReport(report, now: now()) { tally.complaints += 1 } else { tally.unknown += 1 }
            case .unsubscribe(let token):
                if try await feedback.unsubscribe(token: token, now: now()) {
                    tally.unsubscribes += 1
                } else {
                    handled = false
                    tally.other += 1
                }
            case .other:
                handled = false
                tally.other += 1
            }
            try await mailbox.markProcessed(message.uid, remove: remove && handled)
        }
        if tally.total > 0 {
            logger.info("bounce mailbox", metadata: [
                "bounces": "\(tally.bounces)", "complaints": "\(tally.complaints)", "unsubscribes": "\(tally.unsubscribes)",
                "unknown": "\(tally.unknown)", "left_for_a_person": "\(tally.other)",
            ])
        }
        return (tally, messages.count >= Self.batch)
    }
}
