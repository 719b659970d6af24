import Foundation

/// A token bucket: at most `rate` acquisitions per second on average, bursts up to `burst`.
public actor RateLimiter {
    /// Acquisitions per second, on average.
    public nonisolated let perSecond: Double
    private let rate: Double
    private let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant
    private let clock = ContinuousClock()

    public init(perSecond rate: Double, burst: Double? = nil) {
        self.rate = rate
        self.perSecond = rate
        self.burst = max(1, burst ?? rate)
        self.tokens = self.burst
        self.last = clock.now
    }

    /// Waits until a token is available, then takes it.
    public func acquire() async {
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
