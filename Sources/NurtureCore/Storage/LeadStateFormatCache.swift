import Foundation
import Synchronization

/// The database's lead-state format as a store last read it. A store reads the setting again
/// once its reading is ``maxAge`` old on a monotonic clock, so every running process follows
/// `nurture migrate --lead-states` within that time without a restart, however long its own
/// passes run and whatever times its callers pass.
public final class LeadStateFormatCache: Sendable {
    /// How long a reading is trusted unless a store is told otherwise.
    public static let defaultMaxAge: Duration = .seconds(10)

    private let reading = Mutex<(format: LeadStateFormat, at: Duration)?>(nil)
    /// How long a reading is trusted.
    public let maxAge: Duration
    /// Time elapsed on a monotonic clock since some fixed point (the process's start).
    private let elapsed: @Sendable () -> Duration

    /// - Parameter elapsed: a monotonic reading (tests pass their own; the default is the
    ///   process's `ContinuousClock`).
    public init(maxAge: Duration = LeadStateFormatCache.defaultMaxAge, elapsed: (@Sendable () -> Duration)? = nil) {
        self.maxAge = maxAge
        if let elapsed {
            self.elapsed = elapsed
        } else {
            let start = ContinuousClock.now
            self.elapsed = { ContinuousClock.now - start }
        }
    }

    /// The format read less than ``maxAge`` ago; `nil` when it must be read again.
    public func current() -> LeadStateFormat? {
        let now = elapsed()
        return reading.withLock { reading in
            guard let reading, now - reading.at < maxAge else { return nil }
            return reading.format
        }
    }

    /// Keeps what the store just read.
    public func remember(_ format: LeadStateFormat) {
        let now = elapsed()
        reading.withLock { $0 = (format, now) }
    }

    /// Forgets the reading: the next write reads the setting again (after this process set it).
    public func forget() {
        reading.withLock { $0 = nil }
    }
}
