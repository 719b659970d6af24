/// A store shared by several processes that can tell them all when there is new work: a send
/// queued, or a lead's wake-up brought forward, by any of them. (PostgreSQL: LISTEN/NOTIFY.)
/// A store without one is polled.
public protocol WakeupFeed: Sendable {
    /// Calls `ring` for every wake-up any process announces, until the task is cancelled.
    /// Reconnects after errors (ringing once after each reconnect, since announcements made
    /// while disconnected are lost); never returns otherwise.
    func listenForWakeups(_ ring: @escaping @Sendable () -> Void) async throws
}
