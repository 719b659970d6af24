import NurtureCore
import NurtureDelivery

/// The bounce mailbox as nurture.yaml declares it (`bounce_mailbox:`).
///
/// ```yaml
/// bounce_mailbox:
///   url: imaps://imap.acme.example/INBOX     # or imap://… with STARTTLS
///   username: bounces@acme.example
///   password: ${BOUNCE_MAILBOX_PASSWORD}
///   poll_interval: 1m
///   processed: delete                        # or keep (marked NurtureProcessed)
/// ```
public struct BounceMailboxSettings: Sendable {
    public var imap: IMAPMailbox.Settings
    public var pollInterval = TimeSpan.minutes(1)
    /// Whether bounces, complaints and unsubscribe requests are deleted once applied (the
    /// default); mail that is none of these is always kept, marked, for a person.
    public var remove = true

    public init(imap: IMAPMailbox.Settings) {
        self.imap = imap
    }
}
