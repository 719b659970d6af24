import Foundation

/// The worker port: processes that hold leases record themselves and beat their heart, so a
/// restart takes back the sends of a dead one at once.
public protocol WorkerRegistry: Sendable {
    /// Records a worker's start (or its heartbeat) and renews the leases it holds to
    /// `now + duration`.
    func heartbeat(_ worker: WorkerIdentity, now: Date, duration: TimeSpan) async throws

    /// Finds workers that are gone — a heartbeat older than `deadAfter`, or, on this host,
    /// a process that no longer runs (`isRunning(pid)` false) — and gives their sends back
    /// to the queue at once. - Returns: how many sends came back.
    @discardableResult
    func recoverDeadWorkers(now: Date, deadAfter: TimeSpan, host: String, isRunning: @Sendable (Int32) -> Bool) async throws -> Int

    /// A worker that stops: its remaining leases are given back and its record removed.
    func retire(_ worker: WorkerIdentity, now: Date) async throws
}
