import Foundation

/// The outbox port: queued sends, claimed under fenced leases (``Lease``), and the sent
/// emails the tracking server looks up.
public protocol Outbox: Sendable {
    /// Takes up to `limit` queued sends that are due, leases them to `worker` until
    /// `now + duration` with a new fencing epoch each, and returns them. Sends whose lease
    /// has run out go back to the queue first.
    func claimSends(now: Date, limit: Int, worker: WorkerIdentity, duration: TimeSpan) async throws -> [OutboxSend]

    /// Records what happened to claimed sends, in one transaction. A result whose lease is
    /// no longer current (it expired and the send was claimed again) changes nothing.
    /// - Returns: how many results were refused as stale.
    @discardableResult
    func completeSends(_ results: [(send: OutboxSend, result: SendResult)], now: Date) async throws -> Int

    /// Gives back sends claimed and not started (a worker stopping): queued again at once,
    /// without an attempt. Stale leases are ignored.
    func releaseSends(_ sends: [OutboxSend], now: Date) async throws

    /// The soonest time a queued send becomes due.
    func nextSendDue() async throws -> Date?

    /// A sent email, by the send id in its tracking tokens or by its Message-ID.
    func sentEmail(tokenID: String) async throws -> SentEmail?
    func sentEmail(messageID: String) async throws -> SentEmail?
}
