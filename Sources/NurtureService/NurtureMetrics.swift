import NurtureCore
import Prometheus

/// The service's Prometheus metrics (swift-prometheus), exposed at `GET /metrics`.
public final class NurtureMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let relayLatency: DurationHistogram
    let queueDepth: Gauge
    let dueLeads: Gauge
    let leads: Gauge

    public init() {
        relayLatency = registry.makeDurationHistogram(
            name: "nurture_relay_latency_seconds",
            buckets: [.milliseconds(5), .milliseconds(20), .milliseconds(100), .milliseconds(500), .seconds(2), .seconds(10)],
            help: "Time the relay took to answer one message")
        queueDepth = registry.makeGauge(name: "nurture_queue_depth", help: "Emails queued or in flight")
        dueLeads = registry.makeGauge(name: "nurture_due_leads", help: "Leads whose next step is due")
        leads = registry.makeGauge(name: "nurture_leads", help: "Leads in the database")
    }

    func send(_ outcome: String) {
        registry.makeCounter(name: "nurture_sends_total", labels: [("outcome", outcome)], help: "Delivery attempts by outcome").increment()
    }

    func event(_ type: String, machine: Bool) {
        registry.makeCounter(name: "nurture_events_total", labels: [("type", type), ("machine", machine ? "true" : "false")], help: "Events recorded by type").increment()
    }

    func stageChange(to stage: String) {
        registry.makeCounter(name: "nurture_stage_changes_total", labels: [("to", stage)], help: "Stage changes by target stage").increment()
    }

    func record(_ effects: [Effect]) {
        for effect in effects {
            if case .stageChanged(let change) = effect { stageChange(to: change.to) }
        }
    }
}

