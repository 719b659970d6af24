/// A send rate shared by every process of a deployment: the relay's `rate_limit` holds for
/// all of them together, not for each. (PostgreSQL: one token bucket row.) A store without
/// one limits each process on its own.
public protocol SendRateBudget: Sendable {
    /// Takes up to `count` permits from the deployment's bucket, which refills at `perSecond`
    /// and holds at most `burst`. - Returns: how many it got (0 when the bucket is empty).
    func takePermits(_ count: Int, perSecond: Double, burst: Double) async throws -> Int
}
