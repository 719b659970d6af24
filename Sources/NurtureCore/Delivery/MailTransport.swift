/// The delivery port: hands one message to a relay (or a folder) and reports the outcome.
///
/// Implementations never throw for relay answers; every answer is a ``DeliveryOutcome``.
/// They must be safe to call concurrently; each decides how many transfers run at once.
public protocol MailTransport: Sendable {
    /// Delivers `message` and waits for the relay's answer.
    func deliver(_ message: OutgoingMessage) async -> DeliveryOutcome
}
