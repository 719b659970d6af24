import ArgumentParser
import Foundation
import NurtureContent
import NurtureCore
import NurtureApp
import NurtureRuntime
import Yams

/// `nurture dry-run`: what a campaign would do, on a virtual clock, sending nothing.
struct DryRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dry-run",
        abstract: "Simulate the funnel for a lead (or a file of leads) on a virtual clock, with what-if events. Sends nothing, writes nothing.",
        discussion: """
        What-if events, relative to the start: 'opened welcome +2d', 'clicked welcome +2d3h', \
        'replied +9d', 'page_visited /pricing +5d', 'form_submitted quote +6d', 'unsubscribed +12d', \
        or any event with key=value properties ('webinar_attended topic=roi +4d'). A scenario file \
        is a YAML list of them (or {what_if: [...]}).

        Examples:
          nurture dry-run --leads samples/leads.csv --what-if 'clicked welcome +2d'
          nurture dry-run --lead ada.json --sequence lead-welcome --days 14 \\
            --what-if 'opened getting-started +3d' --out review/
          nurture dry-run --email ada@example.com --config nurture.yaml --format json
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Option(help: "The workflows folder.") var workflows = "Workflows"
    @Option(help: "The templates folder.") var templates = "Templates"
    @Option(help: "A lead as a flat JSON object (as for nurture preview).") var lead: String?
    @Option(help: "A CSV file of leads (as for nurture leads import): prints a summary.") var leads: String?
    @Option(help: "A lead from the database (read-only), by email; uses --config.") var email: String?
    @Option(help: "Simulate this sequence only (the lead starts in its stage).") var sequence: String?
    @Option(help: "Start the lead in this stage (default: its own, or the first).") var stage: String?
    @Option(help: "Start time, 'YYYY-MM-DD HH:MM' in the lead's time zone (default: now).") var start: String?
    @Option(help: "How many days to simulate.") var days = 30
    @Option(name: .customLong("what-if"), help: "A what-if event. Repeatable.") var whatIf: [String] = []
    @Option(help: "A YAML file with a list of what-if events.") var scenario: String?
    @Option(help: "Output: text or json.") var format: Format = .text
    @Option(help: "Also write every rendered email (.eml, .html, .txt) and index.html, a review page, into this folder.") var out: String?
    @Option(help: "Signing secret for the tracking links in rendered emails (default: a development secret).") var secret: String?
    @Option(help: "The sender shown in rendered emails.") var from = "Acme Analytics <hello@acme-analytics.example>"
    @Option(help: "The tracking server's URL in the rendered emails' links (default: the configuration's with --config, else http://localhost:8080).") var trackingURL: String?
    @Option(help: "The configuration file: for --email, and the tracking URL and secret of the rendered emails.") var config: String?

    func run() async throws {
        let inputs = [lead, leads, email].compactMap { $0 }
        guard inputs.count == 1 else { throw ValidationError("give one of --lead FILE.json, --leads FILE.csv or --email ADDRESS") }

        let library: TemplateLibrary
        do {
            library = try TemplateLibrary(directory: URL(fileURLWithPath: templates))
        } catch {
            for problem in error.errors { printError(problem.description(inFolder: templates)) }
            throw ExitCode(65)
        }
        let loaded = WorkflowLoader.load(directory: workflows, templates: library)
        guard let workflow = loaded.workflow else {
            for issue in loaded.errors { printError(issue.description) }
            printError("the workflows are invalid (as `nurture validate` reports): nothing simulated")
            throw ExitCode(65)
        }
        if let sequence, workflow.sequence(sequence) == nil {
            throw ValidationError("--sequence: unknown sequence '\(sequence)' (sequences: \(workflow.sequences.map(\.id).joined(separator: ", ")))")
        }
        if let stage, workflow.funnel.index(of: stage) == nil {
            throw ValidationError("--stage: unknown stage '\(stage)' (stages: \(workflow.funnel.stages.map(\.name).joined(separator: ", ")))")
        }
        guard (1...3650).contains(days) else { throw ValidationError("--days must be between 1 and 3650") }
        var texts = whatIf
        if let scenario { texts += try Self.scenario(scenario) }
        let events: [WhatIf]
        do {
            events = try texts.map { text throws(WhatIfError) in try WhatIf.parse(text, workflow: workflow) }
        } catch {
            throw ValidationError("\(error)")
        }
        let sender: EmailAddress
        do { sender = try EmailAddress.parse(from) } catch { throw ValidationError("--from: \(error)") }
        // With --config, the links point where the service's will (and are signed as its are).
        var configuration: Configuration?
        if let config {
            do {
                configuration = try Configuration.load(path: config, environment: ProcessInfo.processInfo.environment)
            } catch {
                printError(error.description)
                throw ExitCode(78)
            }
        }
        let renderer = EmailRenderer(library: library, settings: EmailRenderer.Settings(
            from: sender, trackingBaseURL: trackingURL ?? configuration?.trackingBaseURL ?? "http://localhost:8080",
            secret: secret.map { Secret($0) } ?? configuration?.secret ?? Secret(ProcessInfo.processInfo.environment["NURTURE_SECRET"] ?? Preview.developmentSecret)))
        let dryRun = DryRun(workflow: workflow, renderer: renderer, sequence: sequence, webhooks: configuration?.webhooks.routes ?? .none)
        if let sequence, let audience = workflow.sequence(sequence)?.audience {
            printError("note: --sequence \(sequence) is simulated whether or not the lead passes its when: \(audience)")
        }
        let stageToStart = stage ?? sequence.flatMap { workflow.sequence($0)?.stage }

        if let leads {
            try await summarize(path: leads, dryRun: dryRun, workflow: workflow, events: events, stage: stageToStart)
            return
        }
        var subject: Lead
        if let lead {
            let data: Data
            switch LimitedFile.read(lead, limit: Self.maxLeadFileBytes) {
            case .success(let read): data = read
            case .failure(let failure): throw ValidationError("--lead: '\(lead)': \(failure)")
            }
            do { subject = try LeadJSON.decode(data, source: lead) } catch { throw ValidationError("\(error)") }
        } else {
            subject = try await Self.fromDatabase(email!, config: config)
        }
        if let stageToStart { subject.stage = stageToStart }
        let zone = subject.timeZone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: workflow.settings.defaultTimeZone)!
        let startDate = try startDate(in: zone)
        let timeline = dryRun.timeline(for: subject, from: startDate, days: days, whatIfs: events)
        let report = DryRunReport(timeline: timeline, defaultTimeZone: workflow.settings.defaultTimeZone)
        print(format == .json ? report.json : report.text)
        if let out {
            let index = try report.write(to: URL(fileURLWithPath: out))
            printError("review page: \(index.path)")
        }
    }

    private func startDate(in zone: TimeZone) throws -> Date {
        guard let start else { return Date() }
        guard let local = LocalDateTime(parsing: start) else { throw ValidationError("--start: expected 'YYYY-MM-DD HH:MM', found '\(start)'") }
        return local.instant(in: zone)
    }

    private func summarize(path: String, dryRun: DryRun, workflow: Workflow, events: [WhatIf], stage: String?) async throws {
        // The size first (the importer reads the whole file): refused by name, before any reading.
        if case .failure(let failure) = LimitedFile.check(path, limit: Self.maxLeadsFileBytes) {
            throw ValidationError("--leads: '\(path)': \(failure)")
        }
        let parsed: LeadImporter.Parsed
        do { parsed = try LeadImporter.parse(path: path) } catch { throw ValidationError("--leads: \(error)") }
        for problem in parsed.problems { printError("\(path):\(problem)") }
        var population = parsed.leads
        for i in population.indices {
            population[i].id = String(i + 1)
            if let stage { population[i].stage = stage }
        }
        let startDate = try startDate(in: TimeZone(identifier: workflow.settings.defaultTimeZone)!)
        let terminal = isatty(STDERR_FILENO) == 1
        let total = population.count
        let clock = ContinuousClock()
        var summary = DryRun.Summary()
        let took = await clock.measure {
            summary = await dryRun.summary(for: population, from: startDate, days: days, whatIfs: events) { done in
                if terminal { FileHandle.standardError.write(Data("\rsimulating \(done)/\(total) leads".utf8)) }
            }
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        if format == .json {
            print(SummaryReport(summary: summary).json)
        } else {
            print(SummaryReport(summary: summary).text(path: path, start: startDate, seconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18))
        }
    }

    /// Largest `--lead` file (a lead as JSON).
    static let maxLeadFileBytes = 1 << 20
    /// Largest `--leads` file (leads as CSV).
    static let maxLeadsFileBytes = 256 << 20

    static func scenario(_ path: String) throws -> [String] {
        // The same bounded reader as the workflow files: size (before reading), nesting and aliases checked first.
        let text: String
        switch LimitedFile.readText(path, limit: YAMLLimits.maxFileBytes) {
        case .success(let read): text = read
        case .failure(let failure): throw ValidationError("--scenario: '\(path)': \(failure)")
        }
        let document = YAMLDocument(path: path)
        let node = document.compose(text)
        if !document.issues.isEmpty {
            throw ValidationError(document.issues.map { "--scenario \($0)" }.joined(separator: "\n"))
        }
        var list = node
        if case .mapping = node, let inner = node?.mapping?["what_if"] { list = inner }
        guard let items = list?.sequence else { throw ValidationError("--scenario \(path): expected a list of what-if events, like - opened welcome +2d") }
        return try items.map { item in
            guard let s = item.scalar?.string else {
                throw ValidationError("--scenario \(path):\(item.mark?.line ?? 0): expected a what-if like 'opened welcome +2d'")
            }
            return s
        }
    }

    static func fromDatabase(_ email: String, config: String?) async throws -> Lead {
        var options = try ServiceOptions.parse(config.map { ["--config", $0] } ?? [])
        options.logLevel = .error
        return try await options.withRuntime { runtime in
            guard let state = try await runtime.store.lead(.email(email)) else { throw ValidationError("--email: no lead \(email) in \(runtime.configuration.storeLocation)") }
            return state.lead
        }
    }
}
