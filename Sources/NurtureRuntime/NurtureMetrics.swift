import NurtureApp
import NurtureCore
import Prometheus
import Synchronization

/// The service's Prometheus metrics (swift-prometheus), exposed at `GET /metrics`.
public final class NurtureMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let relayLatencyHistogram: DurationHistogram
    let queueDepth: Gauge
    let dueLeads: Gauge
    let leads: Gauge
    let parkedLeads: Gauge
    let pendingEvents: Gauge
    let setAsideEvents: Gauge
    let staleCompletionsCounter: Counter
    let recoveredSendsCounter: Counter
    /// Stages reported so far (a stage emptied since is reported as 0).
    let stagesSeen = Mutex<Set<String>>([])
    /// Counters by name and labels, made once: the registry checks and locks on every make.
    let counters = Mutex<[String: Counter]>([:])

    /// The counter of `descriptor` with `labels`, from the cache.
    func counter(_ descriptor: MetricNameDescriptor, _ labels: [(String, String)]) -> Counter {
        let key = descriptor.metricName + labels.map { "|\($0.0)=\($0.1)" }.joined()
        if let known = counters.withLock({ $0[key] }) { return known }
        let made = registry.makeCounter(descriptor: descriptor, labels: labels)
        counters.withLock { $0[key] = made }
        return made
    }

    static var sends: MetricNameDescriptor { MetricNameDescriptor(metricName: "nurture_sends", unitName: "total", helpText: "Delivery attempts by outcome") }
    static var events: MetricNameDescriptor { MetricNameDescriptor(metricName: "nurture_events", unitName: "total", helpText: "Events recorded by type") }
    static var leadsInStage: MetricNameDescriptor { MetricNameDescriptor(metricName: "nurture_leads_in_stage", unitName: "", helpText: "Leads in each stage now (from the database)") }
    static var webhookAttempts: MetricNameDescriptor { MetricNameDescriptor(metricName: "nurture_webhook_attempts", unitName: "total", helpText: "Outbound webhook attempts by outcome") }
    static var webhooksByStatus: MetricNameDescriptor { MetricNameDescriptor(metricName: "nurture_webhooks", unitName: "", helpText: "Outbound webhooks in the outbox by status (dead: dead-lettered)") }
    static var stageChanges: MetricNameDescriptor { MetricNameDescriptor(metricName: "nurture_stage_changes", unitName: "total", helpText: "Stage changes by target stage") }

    public init() {
        relayLatencyHistogram = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(metricName: "nurture_relay_latency", unitName: "seconds", helpText: "Time the relay took to answer one message"),
            buckets: [.milliseconds(5), .milliseconds(20), .milliseconds(100), .milliseconds(500), .seconds(2), .seconds(10)])
        queueDepth = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "nurture_queue_depth", unitName: "", helpText: "Emails queued or in flight"))
        dueLeads = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "nurture_due_leads", unitName: "", helpText: "Leads whose next step is due"))
        leads = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "nurture_leads", unitName: "", helpText: "Leads in the database"))
        parkedLeads = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "nurture_parked_leads", unitName: "", helpText: "Leads set aside because their stored state cannot be read"))
        pendingEvents = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "nurture_events_pending", unitName: "", helpText: "Opens and clicks stored and not decided yet"))
        setAsideEvents = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "nurture_events_set_aside", unitName: "", helpText: "Opens and clicks kept but not decided: their decision failed every time it was tried alone"))
        staleCompletionsCounter = registry.makeCounter(descriptor: MetricNameDescriptor(
            metricName: "nurture_stale_completions", unitName: "total",
            helpText: "Send outcomes refused because the lease had passed to another worker"))
        recoveredSendsCounter = registry.makeCounter(descriptor: MetricNameDescriptor(
            metricName: "nurture_recovered_sends", unitName: "total",
            helpText: "Sends taken back from workers found dead"))
    }

    func send(_ outcome: String) {
        counter(Self.sends, [("outcome", outcome)]).increment()
    }

    func stageChange(to stage: String) {
        counter(Self.stageChanges, [("to", stage)]).increment()
    }

    /// The exposition for `GET /metrics`, with the gauges read from the store's counts
    /// (and its webhook outbox's, the tracking events waiting to be decided and those set aside).
    public func exposition(_ counts: StoreCounts, webhooks: [WebhookStatus: Int] = [:], pendingEvents pending: Int = 0, setAsideEvents setAside: Int = 0) -> String {
        for status in WebhookStatus.allCases {
            registry.makeGauge(descriptor: Self.webhooksByStatus, labels: [("status", status.rawValue)]).set(Double(webhooks[status] ?? 0))
        }
        // Read from the database at each scrape: right after a restart, and the same from
        // every process sharing the database. A stage no lead is in any more reads 0.
        let stages = stagesSeen.withLock { seen in
            seen.formUnion(counts.leadsByStage.keys)
            return seen
        }
        for stage in stages {
            registry.makeGauge(descriptor: Self.leadsInStage, labels: [("stage", stage)]).set(Double(counts.leadsByStage[stage] ?? 0))
        }
        queueDepth.set(Double(counts.queuedSends))
        dueLeads.set(Double(counts.dueLeads))
        leads.set(Double(counts.leads))
        parkedLeads.set(Double(counts.parkedLeads))
        pendingEvents.set(Double(pending))
        setAsideEvents.set(Double(setAside))
        return registry.emitToString()
    }
}

extension NurtureMetrics: ServiceMetrics {
    public func sendOutcome(_ outcome: String) { send(outcome) }

    public func event(_ type: String, machine: Bool) {
        counter(Self.events, [("type", type), ("machine", machine ? "true" : "false")]).increment()
    }

    public func effects(_ effects: [Effect]) {
        for effect in effects {
            if case .stageChanged(let change) = effect { stageChange(to: change.to) }
        }
    }

    public func relayLatency(_ duration: Duration) { relayLatencyHistogram.record(duration) }
    public func staleCompletions(_ count: Int) { staleCompletionsCounter.increment(by: Int64(count)) }
    public func recoveredSends(_ count: Int) { recoveredSendsCounter.increment(by: Int64(count)) }
    public func webhookOutcome(_ outcome: String) {
        counter(Self.webhookAttempts, [("outcome", outcome)]).increment()
    }
}
