import Foundation
import Synchronization

/// The database's lead-state format as a store last read it. A store reads the setting again
/// when its reading is older than ``maxAge``, so every running process follows
/// `nurture migrate --lead-states` within that time without a restart.
public final class LeadStateFormatCache: Sendable {
    private let reading = Mutex<(format: LeadStateFormat, at: Date)?>(nil)
    /// How long a reading is trusted.
    public let maxAge: TimeInterval

    public init(maxAge: TimeInterval = 10) {
        self.maxAge = maxAge
    }

    /// The format read less than ``maxAge`` before `now`; `nil` when it must be read again
    /// (never read, too old, or read "after" `now`, as on a clock set back).
    public func current(now: Date) -> LeadStateFormat? {
        reading.withLock { reading in
            guard let reading, reading.at <= now, now.timeIntervalSince(reading.at) < maxAge else { return nil }
            return reading.format
        }
    }

    /// Keeps what the store just read.
    public func remember(_ format: LeadStateFormat, at now: Date) {
        reading.withLock { $0 = (format, now) }
    }

    /// Forgets the reading: the next write reads the setting again (after this process set it).
    public func forget() {
        reading.withLock { $0 = nil }
    }
}
