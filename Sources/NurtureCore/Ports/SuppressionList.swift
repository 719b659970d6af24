import Foundation

/// The suppression port: addresses that never get marketing email again.
public protocol SuppressionList: Sendable {
    /// Marks an address as never to receive marketing email again (survives re-imports).
    func suppress(email: String, reason: Suppression, now: Date) async throws
    func suppression(email: String) async throws -> Suppression?
}
