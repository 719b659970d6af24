import ArgumentParser
import Foundation
import Logging
import NurtureCore
import NurturePostgres
import NurtureRuntime
import NurtureSQLite

/// How long the reports take on a large database: the funnel, the steps (30 days and a year),
/// the suppressions and filtered lead lists, read through the reporting port as the CLI, the
/// API and the dashboard read them.
struct ReportLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "Build a database of N leads and E events (once), then time each report."
    )

    @Option(help: "Leads in the database.") var leads = 1_000_000
    @Option(help: "Events in the database.") var events = 10_000_000
    @Option(help: "Database: a SQLite file or a postgres:// URL (reused when it already holds the leads).") var database: String
    @Option(help: "Shipped workflows and templates.") var workflows = "Workflows"
    @Option var templates = "Templates"
    @Option(help: "Timed runs of each report (the median is printed).") var runs = 5

    /// The synthetic data's "now": 90 days of history end here.
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var configuration = Configuration(
            from: try EmailAddress("news@nurture.example"), secret: Secret("benchmark-secret-0123456789abcdef"), relay: .file(URL(fileURLWithPath: "/dev/null")))
        configuration.database = database
        configuration.workflows = workflows
        configuration.templates = templates
        let runtime = try Runtime(configuration: configuration, logger: logger)
        try await runtime.withStore { try await measure(runtime) }
    }

    private func measure(_ runtime: Runtime) async throws {
        let store = runtime.store
        let existing = try await store.counts(now: Self.now).leads
        if existing != leads {
            guard existing == 0 else { throw ValidationError("\(database) holds \(existing) leads, not \(leads): remove it") }
            let took = try await ContinuousClock().measure { try await build(store) }
            print(String(format: "setup: %d leads, %d events, rollups and stage entries rebuilt in %.1f s", leads, events, seconds(took)))
        }
        let stages = runtime.workflows.engine.workflow.funnel.stages.map(\.name)
        let month = ReportPeriod(since: Self.now - .days(30), until: Self.now)
        let year = ReportPeriod(since: Self.now - .days(365), until: Self.now)
        let reports: [(String, () async throws -> Int)] = [
            ("funnel, 30 days", { try await store.funnelFacts(stages: stages, period: month).cohorts.count }),
            ("steps, 30 days", { try await store.stepFacts(period: month, sequence: nil).counts.count }),
            ("steps, a year", { try await store.stepFacts(period: year, sequence: nil).counts.count }),
            ("steps, one sequence, a year", { try await store.stepFacts(period: year, sequence: "lead-welcome").counts.count }),
            ("suppressions", { try await store.suppressionCounts(period: month).total.count }),
            ("leads list: stage mql, 100", { try await store.leads(LeadFilter(stage: "mql")).count }),
            ("leads list: tag vip, score 50-100, 100", { try await store.leads(LeadFilter(minScore: 50, maxScore: 100, tag: "vip")).count }),
            ("leads list: suppressed, 100", { try await store.leads(LeadFilter(suppressed: true)).count }),
        ]
        for (name, report) in reports {
            var times: [Double] = []
            var rows = 0
            for _ in 0..<runs {
                let took = try await ContinuousClock().measure { rows = try await report() }
                times.append(seconds(took))
            }
            times.sort()
            print(String(format: "report=%@ rows=%d median=%.3fs max=%.3fs", name.replacingOccurrences(of: " ", with: "_"), rows, times[times.count / 2], times.last ?? 0))
        }
    }

    /// Synthetic history written by SQL (the measured part goes through the ports): leads
    /// created over 90 days across the stages, their stage changes, three welcome emails each,
    /// and events on those emails; then the step rollups and the stage entries rebuilt from
    /// them, as the migrations that brought them do.
    private func build(_ store: any NurtureStore) async throws {
        let end = Self.now.timeIntervalSince1970, sends = leads * 3
        let stage = "CASE WHEN i % 100 < 70 THEN 'lead' WHEN i % 100 < 88 THEN 'mql' WHEN i % 100 < 96 THEN 'sql' WHEN i % 100 < 99 THEN 'opportunity' ELSE 'customer' END"
        let sequence = "CASE WHEN i % 100 < 70 THEN 'lead-welcome' WHEN i % 100 < 88 THEN 'mql-nurture' WHEN i % 100 < 96 THEN 'sql-demo' ELSE NULL END"
        let event = """
            CASE WHEN j % 100 < 55 THEN 'email_opened' WHEN j % 100 < 60 THEN 'email_opened' WHEN j % 100 < 80 THEN 'email_clicked'
                 WHEN j % 100 < 83 THEN 'email_clicked' WHEN j % 100 < 84 THEN 'bounced' WHEN j % 100 < 85 THEN 'unsubscribed'
                 WHEN j % 100 < 90 THEN 'page_visited' WHEN j % 100 < 95 THEN 'replied' ELSE 'form_submitted' END
            """
        let machine = "(j % 100 >= 55 AND j % 100 < 60) OR (j % 100 >= 80 AND j % 100 < 83)"
        let onEmail = "j % 100 < 85 OR (j % 100 >= 90 AND j % 100 < 95)"
        let url = "CASE WHEN j % 2 = 0 THEN 'https://acme.example/start' ELSE 'https://acme.example/pricing' END"
        let steps = "CASE WHEN k = 0 THEN 'welcome' WHEN k = 1 THEN 'getting-started' ELSE 'reminder' END"
        if let postgres = store as? PostgresStore {
            for statement in [
                """
                INSERT INTO leads (id, email, stage, score, fit_score, engagement_score, status, fields, state, created_at, updated_at, sequence, tags)
                SELECT i, 'lead' || i || '@bench.example', \(stage), i % 101, i % 30, i % 71, CASE WHEN i % 50 = 0 THEN 'unsubscribed' ELSE 'active' END,
                  '{}', '\\x', to_timestamp(\(end) - (i * 7777) % 7776000), to_timestamp(\(end) - i % 86400), \(sequence),
                  CASE WHEN i % 10 = 0 THEN ARRAY['vip'] ELSE '{}'::text[] END
                FROM generate_series(1::bigint, \(leads)) i
                """,
                "SELECT setval('leads_id_seq', \(leads))",
                "INSERT INTO stage_changes (lead_id, from_stage, to_stage, at, reason) SELECT id, 'lead', 'mql', created_at + interval '3 days', 'score' FROM leads WHERE stage <> 'lead'",
                "INSERT INTO stage_changes (lead_id, from_stage, to_stage, at, reason) SELECT id, 'mql', 'sql', created_at + interval '9 days', 'score' FROM leads WHERE stage IN ('sql', 'opportunity', 'customer')",
                "INSERT INTO suppressions (email, reason, at) SELECT email, 'unsubscribed', updated_at FROM leads WHERE status = 'unsubscribed'",
                """
                INSERT INTO sends (id, lead_id, sequence, step, enrollment, template, tracking, status, attempts, planned_at, sent_at, message_id)
                SELECT (i - 1) * 3 + k + 1, i, 'lead-welcome', \(steps), 1, 'welcome', true, 'sent', 1,
                  to_timestamp(least(\(end), \(end) - (i * 7777) % 7776000 + k * 172800)), to_timestamp(least(\(end), \(end) - (i * 7777) % 7776000 + k * 172800)), '<' || i || '.' || k || '@bench>'
                FROM generate_series(1::bigint, \(leads)) i, generate_series(0::bigint, 2) k
                """,
                "SELECT setval('sends_id_seq', \(sends))",
                """
                INSERT INTO events (lead_id, type, at, properties, machine, recorded_at, send_id)
                SELECT (j % \(sends)) / 3 + 1, \(event), to_timestamp(\(end) - (((j % \(sends)) / 3 + 1) * 7777) % 7776000 + (j % \(sends)) % 3 * 172800 + 3600),
                  jsonb_build_object('url', \(url)), \(machine), now(), CASE WHEN \(onEmail) THEN j % \(sends) + 1 END
                FROM generate_series(0::bigint, \(events - 1)) j
                """,
                "VACUUM ANALYZE",
            ] { try await postgres.execute(sql: statement) }
            try await postgres.rebuildRollups()
            try await postgres.rebuildStageEntries()
            try await postgres.execute(sql: "VACUUM ANALYZE")
        } else {
            let file = try SQLiteStore(path: database, migrate: false)
            let series = { (name: String, count: Int) in "WITH RECURSIVE n(\(name)) AS (SELECT 1 UNION ALL SELECT \(name) + 1 FROM n WHERE \(name) < \(count))" }
            try await file.execute(sql: """
                \(series("i", leads))
                INSERT INTO leads (id, email, stage, score, fit_score, engagement_score, status, fields, state, created_at, updated_at, sequence, tags)
                SELECT i, 'lead' || i || '@bench.example', \(stage), i % 101, i % 30, i % 71, CASE WHEN i % 50 = 0 THEN 'unsubscribed' ELSE 'active' END,
                  '{}', x'', \(end) - (i * 7777) % 7776000, \(end) - i % 86400, \(sequence), CASE WHEN i % 10 = 0 THEN '["vip"]' ELSE '[]' END
                FROM n;
                INSERT INTO stage_changes (lead_id, from_stage, to_stage, at, reason) SELECT id, 'lead', 'mql', created_at + 259200, 'score' FROM leads WHERE stage <> 'lead';
                INSERT INTO stage_changes (lead_id, from_stage, to_stage, at, reason) SELECT id, 'mql', 'sql', created_at + 777600, 'score' FROM leads WHERE stage IN ('sql', 'opportunity', 'customer');
                INSERT INTO suppressions (email, reason, at) SELECT email, 'unsubscribed', updated_at FROM leads WHERE status = 'unsubscribed';
                \(series("i", leads)), m(k) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2)
                INSERT INTO sends (id, lead_id, sequence, step, enrollment, template, tracking, status, attempts, planned_at, sent_at, message_id)
                SELECT (i - 1) * 3 + k + 1, i, 'lead-welcome', \(steps), 1, 'welcome', 1, 'sent', 1,
                  min(\(end), \(end) - (i * 7777) % 7776000 + k * 172800), min(\(end), \(end) - (i * 7777) % 7776000 + k * 172800), '<' || i || '.' || k || '@bench>'
                FROM n, m;
                WITH RECURSIVE n(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM n WHERE j < \(events - 1))
                INSERT INTO events (lead_id, type, at, properties, machine, recorded_at, send_id)
                SELECT (j % \(sends)) / 3 + 1, \(event), \(end) - (((j % \(sends)) / 3 + 1) * 7777) % 7776000 + (j % \(sends)) % 3 * 172800 + 3600,
                  json_object('url', \(url)), \(machine), \(end), CASE WHEN \(onEmail) THEN j % \(sends) + 1 END
                FROM n;
                ANALYZE;
                """)
            try await file.rebuildRollups()
            try await file.rebuildStageEntries()
            try await file.execute(sql: "ANALYZE")
        }
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
