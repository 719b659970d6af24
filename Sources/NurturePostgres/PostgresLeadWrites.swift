import Foundation
import Logging
import NurtureCore
import PostgresNIO

/// What one transaction decided for its leads, written in a few statements whatever the
/// number of leads: lead rows and queued sends go as one JSON batch each
/// (`jsonb_to_recordset`), the rarer effects (enrollments, suppressions) one by one in the
/// order they were decided.
struct PostgresLeadWrites {
    struct LeadRow: Encodable {
        var id: Int64
        var stage: String
        var score: Int
        var fit: Int
        var engagement: Int
        var status: String
        var tz: String?
        var fields: [String: String]
        var state: Data
        /// The state's format (``LeadStateFormat/version``).
        var version: Int
        var wake: Double?
        var sequence: String?
        var tags: [String]
    }

    struct SendRow: Encodable {
        var lead: Int64
        var sequence: String
        var step: String
        var enrollment: Int
        var occurrence: Int
        var template: String
        var subject: String?
        var tracking: Bool
        var variant: String?
    }

    struct StageRow: Encodable {
        var lead: Int64
        var from: String
        var to: String
        var at: Double
        var reason: String
    }

    /// A stage entered (the first at the lead's creation), and when it was left for which
    /// stage if that happened in this transaction.
    struct EntryRow: Encodable {
        var lead: Int64
        var stage: String
        /// nil: the transaction's time (a lead created now).
        var at: Double?
        var leftAt: Double?
        var leftTo: String?
    }

    /// An entry stored before this transaction, left now.
    struct ClosedEntry: Encodable {
        var lead: Int64
        var at: Double
        var to: String
    }

    enum Ordered {
        case enrolled(lead: Int64, sequence: String, number: Int)
        case ended(lead: Int64, sequence: String, reason: String)
        case suppressed(email: String, reason: Suppression)
    }

    /// An outbound webhook queued with the change that called for it.
    struct WebhookRow: Encodable {
        var id: String
        var endpoint: String
        var type: String
        var lead: Int64
        var body: Data
    }

    /// Goals met: credited to each lead's latest email of the sequence.
    struct Goal: Encodable, Hashable {
        var lead: Int64
        var sequence: String
    }

    private var leads: [Int64: LeadRow] = [:]
    private var leadOrder: [Int64] = []
    private var sends: [SendRow] = []
    private var stages: [StageRow] = []
    private var ordered: [Ordered] = []
    private var goals: [Goal] = []
    private var webhooks: [WebhookRow] = []
    /// The endpoints whose messages the changes queue.
    let webhookRoutes: WebhookRoutes
    /// How the states are written.
    let stateCoder: LeadStateCoder
    let stateFormat: LeadStateFormat

    init(webhooks: WebhookRoutes, stateCoder: LeadStateCoder, format: LeadStateFormat) {
        webhookRoutes = webhooks
        self.stateCoder = stateCoder
        stateFormat = format
    }
    private var entries: [EntryRow] = []
    private var closed: [ClosedEntry] = []
    /// Each lead's entry opened in this transaction, by index in `entries`.
    private var openEntry: [Int64: Int] = [:]
    /// A wake-up moved earlier (or a new one): other processes may be sleeping past it.
    private(set) var wakeBroughtForward = false

    /// Records a lead's new state and its effects. `previousWake` is the wake-up the row had
    /// (to tell whether this one is earlier); `scoreBefore` the lead's score before the change
    /// (for `score_crossed` webhooks).
    mutating func save(_ state: LeadState, id: Int64, change: LeadChange, previousWake: Date?, scoreBefore: Int, now: Date, created: Bool = false) throws {
        let lead = state.lead
        if created {
            entries.append(EntryRow(lead: id, stage: change.stageBefore(lead.stage), at: nil))
            openEntry[id] = entries.count - 1
        }
        if leads[id] == nil { leadOrder.append(id) }
        leads[id] = LeadRow(
            id: id, stage: lead.stage, score: lead.score, fit: lead.fitScore, engagement: lead.engagementScore,
            status: state.suppression?.rawValue ?? "active", tz: lead.timeZone, fields: lead.fields,
            state: try stateCoder.encode(state, as: stateFormat), version: stateFormat.version, wake: change.nextWake?.timeIntervalSince1970,
            sequence: state.enrollment?.sequence, tags: lead.tags.sorted())
        // Compared in whole microseconds, as PostgreSQL stores them: an unchanged wake-up
        // read back is not "earlier".
        func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
        if let wake = change.nextWake, previousWake.map({ micros(wake) < micros($0) }) ?? true { wakeBroughtForward = true }
        for effect in change.effects {
            switch effect {
            case .send(let request):
                sends.append(SendRow(
                    lead: id, sequence: request.key.sequence, step: request.key.step, enrollment: request.key.enrollment,
                    occurrence: request.key.occurrence, template: request.template, subject: request.subject, tracking: request.tracking,
                    variant: request.variant))
            case .stageChanged(let change):
                let at = change.at.timeIntervalSince1970
                stages.append(StageRow(lead: id, from: change.from, to: change.to, at: at, reason: change.reason))
                // The stage it leaves: left now, for this one; the stage it enters: entered now.
                if let open = openEntry[id] {
                    entries[open].leftAt = at
                    entries[open].leftTo = change.to
                } else {
                    closed.append(ClosedEntry(lead: id, at: at, to: change.to))
                }
                entries.append(EntryRow(lead: id, stage: change.to, at: at))
                openEntry[id] = entries.count - 1
            case .enrolled(let sequence, let number):
                ordered.append(.enrolled(lead: id, sequence: sequence, number: number))
            case .enrollmentEnded(let sequence, let reason):
                ordered.append(.ended(lead: id, sequence: sequence, reason: reason))
            case .suppressed(let reason):
                ordered.append(.suppressed(email: EmailAddress.canonicalIfValid(lead.email), reason: reason))
            case .goalReached(let sequence, _):
                goals.append(Goal(lead: id, sequence: sequence))
            default:
                break
            }
        }
        for message in webhookRoutes.messages(for: change.effects, lead: lead, scoreBefore: scoreBefore, now: now) {
            webhooks.append(WebhookRow(id: message.id, endpoint: message.endpoint, type: message.type.rawValue, lead: id, body: message.body))
        }
    }

    /// Writes everything, and announces the work to other processes when a send was queued
    /// or a wake-up brought forward (one notification per transaction, delivered at commit).
    /// - Returns: how many sends were queued (a send key queued before is not queued again).
    func flush(_ connection: PostgresConnection, now: Date, logger: Logger) async throws -> Int {
        let json = JSONEncoder()
        // Batches of at most `chunk` rows: a statement's JSON stays small whatever the import.
        let chunk = 1_000
        let leadRows = leadOrder.compactMap { leads[$0] }
        for start in stride(from: 0, to: leadRows.count, by: chunk) {
            let rows = String(decoding: try json.encode(Array(leadRows[start..<Swift.min(leadRows.count, start + chunk)])), as: UTF8.self)
            try await connection.query("""
                UPDATE leads l SET stage = u.stage, score = u.score, fit_score = u.fit, engagement_score = u.engagement,
                  status = u.status, time_zone = u.tz, fields = u.fields, state = decode(u.state, 'base64'),
                  state_version = u.version, next_wake_at = to_timestamp(u.wake), updated_at = \(now),
                  sequence = u.sequence, tags = ARRAY(SELECT jsonb_array_elements_text(u.tags))
                FROM jsonb_to_recordset(\(rows)::jsonb) AS u(id bigint, stage text, score integer, fit integer, engagement integer,
                  status text, tz text, fields jsonb, state text, version integer, wake double precision, sequence text, tags jsonb)
                WHERE l.id = u.id
                """, logger: logger)
        }
        var queued = 0
        for start in stride(from: 0, to: sends.count, by: chunk) {
            let rows = String(decoding: try json.encode(Array(sends[start..<Swift.min(sends.count, start + chunk)])), as: UTF8.self)
            queued += try await connection.query("""
                INSERT INTO sends (lead_id, sequence, step, enrollment, occurrence, template, subject, tracking, status, attempts, planned_at, next_attempt_at, variant)
                SELECT u.lead, u.sequence, u.step, u.enrollment, u.occurrence, u.template, u.subject, u.tracking, 'queued', 0, \(now), \(now), u.variant
                FROM jsonb_to_recordset(\(rows)::jsonb) AS u(lead bigint, sequence text, step text, enrollment integer, occurrence integer,
                  template text, subject text, tracking boolean, variant text)
                ON CONFLICT (lead_id, sequence, step, enrollment, occurrence) DO NOTHING
                RETURNING id
                """, logger: logger).collect().count
        }
        for start in stride(from: 0, to: stages.count, by: chunk) {
            let rows = String(decoding: try json.encode(Array(stages[start..<Swift.min(stages.count, start + chunk)])), as: UTF8.self)
            try await connection.query("""
                INSERT INTO stage_changes (lead_id, from_stage, to_stage, at, reason)
                SELECT u.lead, u."from", u."to", to_timestamp(u.at), u.reason
                FROM jsonb_to_recordset(\(rows)::jsonb) AS u(lead bigint, "from" text, "to" text, at double precision, reason text)
                """, logger: logger)
        }
        // Entries stored before and left now are closed first, then the new ones written.
        for start in stride(from: 0, to: closed.count, by: chunk) {
            let rows = String(decoding: try json.encode(Array(closed[start..<Swift.min(closed.count, start + chunk)])), as: UTF8.self)
            try await connection.query("""
                UPDATE stage_entries e SET left_at = to_timestamp(u.at), left_to = u."to"
                FROM jsonb_to_recordset(\(rows)::jsonb) AS u(lead bigint, at double precision, "to" text)
                WHERE e.lead_id = u.lead AND e.left_at IS NULL
                """, logger: logger)
        }
        for start in stride(from: 0, to: entries.count, by: chunk) {
            let rows = String(decoding: try json.encode(Array(entries[start..<Swift.min(entries.count, start + chunk)])), as: UTF8.self)
            try await connection.query("""
                INSERT INTO stage_entries (lead_id, stage, entered_at, left_at, left_to)
                SELECT u.lead, u.stage, coalesce(to_timestamp(u.at), \(now)), to_timestamp(u."leftAt"), u."leftTo"
                FROM jsonb_to_recordset(\(rows)::jsonb) AS u(lead bigint, stage text, at double precision, "leftAt" double precision, "leftTo" text)
                """, logger: logger)
        }
        for write in ordered {
            switch write {
            case .enrolled(let lead, let sequence, let number):
                try await connection.query("""
                    INSERT INTO enrollments (lead_id, sequence, number, started_at) VALUES (\(lead), \(sequence), \(number), \(now))
                    ON CONFLICT (lead_id, sequence, number) DO NOTHING
                    """, logger: logger)
            case .ended(let lead, let sequence, let reason):
                try await connection.query("""
                    UPDATE enrollments SET ended_at = \(now), end_reason = \(reason)
                    WHERE lead_id = \(lead) AND sequence = \(sequence) AND ended_at IS NULL
                    """, logger: logger)
            case .suppressed(let email, let reason):
                try await connection.query("""
                    INSERT INTO suppressions (email, reason, at) VALUES (\(email), \(reason.rawValue), \(now))
                    ON CONFLICT (email) DO UPDATE SET reason = excluded.reason, at = excluded.at
                    """, logger: logger)
            }
        }
        if !goals.isEmpty {
            // The latest email of each goal's lead and sequence, all in one statement, then
            // locked in id order and counted in one write, as the events' are.
            let rows = String(decoding: try json.encode(Array(Set(goals))), as: UTF8.self)
            let latest = try await connection.rows("""
                SELECT DISTINCT ON (s.lead_id, s.sequence) s.id FROM sends s
                JOIN jsonb_to_recordset(\(rows)::jsonb) AS g(lead bigint, sequence text) ON s.lead_id = g.lead AND s.sequence = g.sequence
                WHERE s.sent_at IS NOT NULL ORDER BY s.lead_id, s.sequence, s.sent_at DESC
                """, logger: logger).map { try $0.value("id", as: Int64.self) }
            var sends = try await PostgresRollups.sends(latest, connection: connection, logger: logger)
            var batch = RollupBatch()
            for id in latest.sorted() {
                guard var send = sends[id] else { continue }
                batch.credit(.goalReached, send: &send, hour: RollupHour.of(send.sentAt ?? now))
                sends[id] = send
            }
            try await PostgresRollups.write(batch, connection: connection, logger: logger)
        }
        for start in stride(from: 0, to: webhooks.count, by: chunk) {
            let rows = String(decoding: try json.encode(Array(webhooks[start..<Swift.min(webhooks.count, start + chunk)])), as: UTF8.self)
            try await connection.query("""
                INSERT INTO webhooks (message_id, endpoint, type, lead_id, body, status, attempts, created_at, next_attempt_at)
                SELECT u.id, u.endpoint, u.type, u.lead, decode(u.body, 'base64'), 'queued', 0, \(now), \(now)
                FROM jsonb_to_recordset(\(rows)::jsonb) AS u(id text, endpoint text, type text, lead bigint, body text)
                """, logger: logger)
        }
        if queued > 0 || wakeBroughtForward {
            try await connection.query("SELECT pg_notify(\(PostgresStore.channel), '')", logger: logger)
        }
        return queued
    }
}
