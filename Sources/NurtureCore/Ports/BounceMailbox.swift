/// The bounce mailbox port: a mailbox (IMAP, through libcurl in `NurtureDelivery`) where
/// bounces, complaint reports and `mailto:` unsubscribe requests arrive as mail.
///
/// A message is read, applied, and only then marked processed: a crash in between reads it
/// again, and applying it again stores nothing new (each report has its own id).
public protocol BounceMailbox: Sendable {
    /// Up to `limit` messages not marked processed, oldest first.
    func unprocessed(limit: Int) async throws -> [MailboxMessage]

    /// Marks a message processed, so it is not read again; `remove` also deletes it.
    func markProcessed(_ uid: UInt64, remove: Bool) async throws
}

/// One message of the mailbox: its IMAP UID and its bytes.
public struct MailboxMessage: Sendable, Equatable {
    public var uid: UInt64
    public var raw: [UInt8]

    public init(uid: UInt64, raw: [UInt8]) {
        self.uid = uid
        self.raw = raw
    }
}
