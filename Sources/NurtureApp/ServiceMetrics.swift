import NurtureCore

/// What the use cases report as they work; the runtime exposes it (Prometheus). The
/// application knows nothing of the metrics system behind it.
public protocol ServiceMetrics: Sendable {
    /// One delivery attempt's outcome (`sent`, `retry`, `failed`, `skipped`, `deferred`).
    func sendOutcome(_ outcome: String)
    /// One event recorded.
    func event(_ type: String, machine: Bool)
    /// What a decision did (stage changes are counted).
    func effects(_ effects: [Effect])
    /// How long the relay took to answer one message.
    func relayLatency(_ duration: Duration)
    /// Outcomes refused because the lease had passed to another worker.
    func staleCompletions(_ count: Int)
    /// Sends taken back from workers found dead.
    func recoveredSends(_ count: Int)
    /// One outbound webhook attempt's outcome (`delivered`, `retry`, `dead`).
    func webhookOutcome(_ outcome: String)
}
