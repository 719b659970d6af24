import Foundation
import NurtureCore

/// A token bucket: at most `rate` acquisitions per second on average, bursts up to `burst`.
///
/// With a ``SendRateBudget`` (PostgreSQL), the bucket is the deployment's: permits are taken
/// from it in small batches (a tenth of a second's worth), so the rate holds for all the
/// processes together. If the shared bucket cannot be reached, this process falls back to its
/// own bucket until it can.
public actor RateLimiter {
    /// Acquisitions per second, on average.
    public nonisolated let perSecond: Double
    private let rate: Double
    private let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant
    private let clock = ContinuousClock()
    private let shared: (any SendRateBudget)?
    /// Permits taken from the shared bucket and not used yet.
    private var granted = 0
    /// A refill from the shared bucket is in progress.
    private var refilling = false

    public init(perSecond rate: Double, burst: Double? = nil, shared: (any SendRateBudget)? = nil) {
        self.rate = rate
        self.perSecond = rate
        self.burst = max(1, burst ?? rate)
        self.tokens = self.burst
        self.last = clock.now
        self.shared = shared
    }

    /// Waits until a token is available, then takes it.
    public func acquire() async {
        if let shared {
            let batch = max(1, Int(rate / 10))
            while true {
                if granted > 0 {
                    granted -= 1
                    return
                }
                // One refill at a time (the actor is reentrant): the others wait for it rather
                // than each holding a database connection on the bucket's row.
                if refilling {
                    try? await Task.sleep(for: .milliseconds(2))
                    continue
                }
                refilling = true
                let result = try? await shared.takePermits(batch, perSecond: rate, burst: burst)
                refilling = false
                guard let got = result else { break }
                granted += got
                if granted == 0 {
                    // The deployment's bucket is empty: wait for a batch's worth to refill.
                    try? await Task.sleep(for: .milliseconds(Int((Double(batch) / rate * 1000).rounded(.up))))
                }
            }
        }
        while true {
            let now = clock.now
            let elapsed = last.duration(to: now)
            tokens = min(burst, tokens + (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * rate)
            last = now
            if tokens >= 1 {
                tokens -= 1
                return
            }
            let wait = (1 - tokens) / rate
            try? await Task.sleep(for: .milliseconds(Int((wait * 1000).rounded(.up))))
        }
    }
}
