import NurtureApp
import Foundation
import Logging
import NurtureCore
import NurtureDelivery
import NurtureServer
import ServiceLifecycle

/// The wired parts of a running Nurture: store, campaign files, scheduler, delivery worker.
/// The CLI commands and the service all start from here.
public struct Runtime: Sendable {
    public let configuration: Configuration
    public let store: any NurtureStore & SchemaMigrating
    /// What the store needs running while it is used (PostgreSQL's connection pool).
    public let storeServices: [any Service]
    /// Wake-ups from other processes sharing the store, when it has them (PostgreSQL).
    public let wakeups: (any WakeupFeed)?
    /// Whether the schema is brought up to date when the store's services start.
    let migratesOnStart: Bool
    public let workflows: WorkflowSet
    public let scheduler: Scheduler
    public let delivery: DeliveryWorker
    /// Delivers the outbound webhooks (`webhooks:` in nurture.yaml) queued in the outbox.
    public let webhooks: WebhookDispatcher
    /// The feedback loop behind the HTTP routes.
    public let feedback: FeedbackService
    /// Reads the bounce mailbox (`bounce_mailbox:`), when there is one.
    public let bounceMailbox: BounceMailboxProcessor?
    public let metrics: NurtureMetrics
    public let doorbell: Doorbell
    public let logger: Logger
    /// The time of day, for every part of the service.
    public let clock: any WallClock

    /// Opens the database and loads (and validates) the campaign files.
    public init(configuration: Configuration, logger: Logger, clock: any WallClock = SystemClock()) throws {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        let loaded: WorkflowSet.Loaded
        do {
            loaded = try WorkflowSet.load(configuration.campaign)
        } catch {
            throw RuntimeError.invalidFiles(error.problems)
        }
        for warning in loaded.warnings { logger.warning("\(warning)") }
        do {
            // Pending migrations are applied at every start (safe with several processes):
            // SQLite's here, PostgreSQL's when its connection pool starts (`withStore`, `serve`).
            let opened = try StoreFactory.open(configuration.storeLocation, webhooks: configuration.webhooks.routes, logger: logger)
            store = opened.store
            storeServices = opened.services
            wakeups = opened.wakeups
            migratesOnStart = opened.migratesOnStart
        } catch {
            throw RuntimeError.database(configuration.storeLocation.description, "\(error)")
        }
        // A webhook's stages must be the funnel's: a typo would never fire, silently.
        do {
            let names = loaded.engine.workflow.funnel.stages.map(\.name)
            let problems = configuration.webhooks.flatMap { settings in
                (settings.endpoint.stages ?? []).sorted().filter { !names.contains($0) }.map { stage in
                    "\(configuration.sourceName): webhooks \(settings.endpoint.url): stages: unknown stage '\(stage)'\(Spelling.hint(for: stage, among: names)) (stages: \(names.joined(separator: ", ")))"
                }
            }
            if !problems.isEmpty { throw RuntimeError.invalidFiles(problems) }
        }
        workflows = WorkflowSet(loaded)
        metrics = NurtureMetrics()
        scheduler = Scheduler(store: store, workflows: workflows, batchSize: configuration.batchSize, logger: logger)
        doorbell = Doorbell()
        delivery = DeliveryWorker(
            store: store, scheduler: scheduler, transport: configuration.relay.makeTransport(),
            // Twice the connections: a send renders while another's message is on the wire, so
            // no connection waits for a message to be rendered.
            concurrency: configuration.relay.connections * 2, connections: configuration.relay.connections, maxAttempts: configuration.maxAttempts,
            retryBase: configuration.retryBase, retryMax: configuration.retryMax,
            rateLimiter: configuration.rateLimit.map { [store] in RateLimiter(perSecond: $0, shared: store as? any SendRateBudget) }, logger: logger, metrics: metrics)
        do {
            webhooks = WebhookDispatcher(
                store: store, transport: CurlWebhookTransport(), targets: try configuration.webhooks.map { try $0.target() },
                // An identity of its own: the email worker's retire or heartbeat never touches
                // the webhooks in flight here.
                worker: WorkerIdentity(id: delivery.worker.id + "/webhooks", host: delivery.worker.host, pid: delivery.worker.pid),
                metrics: metrics, logger: logger)
        } catch {
            throw RuntimeError.invalidFiles(["\(configuration.sourceName): webhooks: \(error)"])
        }
        feedback = FeedbackService(
            store: store, scheduler: scheduler, secret: configuration.secret, rules: configuration.machineRules,
            attribution: configuration.attribution, doorbell: doorbell, metrics: metrics, logger: logger, clock: clock)
        if let settings = configuration.bounceMailbox {
            bounceMailbox = BounceMailboxProcessor(mailbox: IMAPMailbox(settings: settings.imap), feedback: feedback, remove: settings.remove, logger: logger)
        } else {
            bounceMailbox = nil
        }
    }

    /// Runs `body` while the store is usable: PostgreSQL's schema brought up to date and its
    /// connection pool running (stopped when `body` returns). For one-shot commands; `serve`
    /// puts the pool in its service group instead.
    public func withStore<Result>(_ body: () async throws -> Result) async throws -> Result {
        try await prepareStore()
        return try await OpenedStore.running(storeServices, body)
    }

    /// Brings a PostgreSQL schema up to date (on a connection of its own; SQLite's was when it
    /// opened), then reads the installation's id for the Message-IDs and tokens.
    public func prepareStore() async throws {
        do {
            if migratesOnStart {
                let applied = try await store.migrate()
                if !applied.isEmpty { logger.info("migrations applied", metadata: ["applied": "\(applied.joined(separator: ", "))"]) }
            }
            workflows.useInstallation(try await store.installationID())
        } catch {
            throw RuntimeError.database(configuration.storeLocation.description, "\(error)")
        }
    }

    /// Leads an older Nurture parked because their state was newer than it read, and that
    /// this version reads (a rolling upgrade that went wrong): back to the engine. A failure
    /// is logged, not fatal (the leads stay parked until the next start).
    func unparkReadableStates(now: Date = Date()) async {
        do {
            let unparked = try await store.unparkReadableStates(now: now)
            if unparked > 0 {
                logger.warning("leads un-parked: an older Nurture had parked them for a state it could not read; this version reads it", metadata: ["leads": "\(unparked)"])
            }
        } catch {
            logger.error("cannot un-park the leads an older Nurture parked", metadata: ["error": "\(error)"])
        }
    }

    /// Runs the HTTP server, the scheduler and the reload listener until SIGTERM or SIGINT,
    /// then shuts down gracefully: the worker finishes its pass, then the server stops.
    public func serve() async throws {
        try await prepareStore()
        await unparkReadableStates()
        if let pidFile = configuration.pidFile {
            try? "\(ProcessInfo.processInfo.processIdentifier)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        }
        defer { if let pidFile = configuration.pidFile { try? FileManager.default.removeItem(atPath: pidFile) } }
        let files = OpenFileLimit.raise()
        let maxConnections = configuration.maxConnections ?? OpenFileLimit.connections(files: files)
        if maxConnections > OpenFileLimit.connections(files: files) {
            logger.warning("http.max_connections is above what the open-file limit allows", metadata: ["max_connections": "\(maxConnections)", "open_files": "\(files)"])
        }
        let options = NurtureRoutes.Options(
            apiKey: configuration.apiKey, publicMetrics: configuration.publicMetrics,
            idleTimeout: .seconds(configuration.idleTimeout.seconds), maxConnections: maxConnections, clock: clock,
            exposition: metricsExposition, providers: configuration.providers)
        let http = NurtureRoutes.application(host: configuration.listenHost, port: configuration.listenPort, api: feedback, options: options, logger: logger)
        let worker = NurtureWorkerService(scheduler: scheduler, delivery: delivery, pollInterval: configuration.pollInterval, doorbell: doorbell, logger: logger, clock: clock)
        let reload = ReloadService(configuration: configuration, workflows: workflows, logger: logger)
        // Started in order, stopped in reverse: the worker stops first, then the HTTP server,
        // and the store's connection pool last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = storeServices.map { .init(service: $0) }
        if let wakeups {
            services.append(.init(service: WakeupListener(feed: wakeups, doorbell: doorbell, logger: logger)))
        }
        // Before the HTTP server: it stops after it, and decides the last hits it answered.
        services.append(.init(service: EventApplierService(applier: feedback.applier, pollInterval: configuration.pollInterval, logger: logger)))
        services += [.init(service: http), .init(service: reload), .init(service: worker)]
        services.append(.init(service: WebhookService(dispatcher: webhooks, pollInterval: configuration.pollInterval, logger: logger, clock: clock)))
        if let bounceMailbox, let settings = configuration.bounceMailbox {
            services.append(.init(service: BounceMailboxService(processor: bounceMailbox, pollInterval: settings.pollInterval, logger: logger, clock: clock)))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        logger.info("nurture serving", metadata: [
            "http": "\(configuration.listenHost):\(configuration.listenPort)", "relay": "\(configuration.relay)",
            "database": "\(configuration.storeLocation)", "open_files": "\(files)", "max_connections": "\(maxConnections)",
        ])
        try await group.run()
    }

    /// `GET /metrics`: the counters, with gauges read from the store at the time asked.
    public var metricsExposition: @Sendable () async throws -> String {
        { [store, metrics, clock] in
            metrics.exposition(try await store.counts(now: clock.now()), webhooks: try await store.webhookCounts(), pendingEvents: try await store.pendingEventCount(),
                                setAsideEvents: try await store.setAsideEventCount())
        }
    }

    /// Processes everything due now — leads, then sends — until nothing is left, and returns.
    /// (`nurture run`: a one-shot pass for cron or a demo.)
    public func runOnce(now: Date = Date()) async throws -> (leads: Int, tally: DeliveryTally) {
        // The webhooks go out after the email pass, on a clock that moved on with it from
        // `now`: their timestamps and leases are those of when they are sent.
        let clock = ContinuousClock()
        let began = clock.now
        let current: @Sendable () -> Date = { now + began.duration(to: clock.now).timeInterval }
        try await delivery.recoverDeadWorkers(now: now)
        await unparkReadableStates(now: now)
        do {
            // Opens and clicks stored and not decided yet (a process stopped before it could).
            try await feedback.applier.drain(at: now)
            let result = try await processEverything(now: now)
            _ = try await webhooks.deliverDue(now: current)
            try await webhooks.retire(now: current())
            try await delivery.store.retire(delivery.worker, now: now)
            return result
        } catch {
            try? await webhooks.retire(now: current())
            try? await delivery.store.retire(delivery.worker, now: now)
            throw error
        }
    }

    private func processEverything(now: Date) async throws -> (leads: Int, tally: DeliveryTally) {
        var leads = 0
        var tally = DeliveryTally()
        while true {
            let processed = try await scheduler.processDue(now: now)
            let delivered = try await delivery.deliverDue(now: now)
            leads += processed
            tally.sent += delivered.sent
            tally.failed += delivered.failed
            tally.skipped += delivered.skipped
            tally.retried += delivered.retried
            tally.deferred += delivered.deferred
            if processed == 0 && delivered.total == 0 { return (leads, tally) }
        }
    }
}

public enum RuntimeError: Error, CustomStringConvertible {
    case invalidFiles([String])
    case database(String, String)

    public var description: String {
        switch self {
        case .invalidFiles(let problems): "the workflow or template files are invalid:\n" + problems.joined(separator: "\n")
        case .database(let path, let error): "cannot open the database \(path): \(error)"
        }
    }
}
