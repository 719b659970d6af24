import Foundation

/// A process that claims sends: leases are held in its name, and its heartbeat tells the
/// others it is alive. A new identity is made for each start of a process.
public struct WorkerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// Unique for this start of the process.
    public var id: String
    public var host: String
    public var pid: Int32

    public init(id: String, host: String, pid: Int32) {
        self.id = id
        self.host = host
        self.pid = pid
    }

    public var description: String { "\(id)@\(host):\(pid)" }
}

/// The right to deliver one claimed send: who holds it, which claim of that send it is
/// (the fencing epoch: it grows at every claim), and until when.
///
/// Only the holder of the current epoch can record the send's outcome; a worker whose lease
/// expired and was claimed again by another gets its completion refused (it is "stale").
public struct Lease: Sendable, Hashable {
    public var owner: String
    public var epoch: Int64
    public var until: Date

    public init(owner: String, epoch: Int64, until: Date) {
        self.owner = owner
        self.epoch = epoch
        self.until = until
    }
}

/// How leases are kept: how long one lasts, how often its holder renews it (and beats its
/// heart), and when a silent worker is taken for dead.
public struct LeasePolicy: Sendable, Equatable {
    /// How long a claim lasts without renewal.
    public var duration: TimeSpan
    /// How often a live worker renews its leases and records its heartbeat.
    public var heartbeat: TimeSpan
    /// A worker whose heartbeat is older than this is dead: its sends go back to the queue.
    public var deadAfter: TimeSpan

    public init(duration: TimeSpan = TimeSpan(seconds: 30), heartbeat: TimeSpan = TimeSpan(seconds: 10), deadAfter: TimeSpan = TimeSpan(seconds: 30)) {
        self.duration = duration
        self.heartbeat = heartbeat
        self.deadAfter = deadAfter
    }

    /// What a worker of `concurrency` connections, at most `rate` sends a second, may claim
    /// ahead of what it sends: enough to keep every connection busy and to claim in batches
    /// (one transaction for many sends), never more than it starts within a quarter of a lease.
    /// What it claimed and did not start goes back at once when it stops or dies.
    public func claimAhead(concurrency: Int, rate: Double?) -> Int {
        let busy = max(1, concurrency) * 16
        guard let rate, rate > 0 else { return busy }
        return max(1, min(busy, Int(rate * Double(duration.seconds) / 4)))
    }
}
