import Foundation
import GRDB
import NurtureCore

/// The database schema, as versioned migrations. Add a migration; never edit a shipped one.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE leads (
                  id INTEGER PRIMARY KEY,
                  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                  stage TEXT NOT NULL,
                  score INTEGER NOT NULL,
                  fit_score INTEGER NOT NULL,
                  engagement_score INTEGER NOT NULL,
                  status TEXT NOT NULL,
                  time_zone TEXT,
                  fields TEXT NOT NULL,
                  state BLOB NOT NULL,
                  next_wake_at REAL,
                  created_at REAL NOT NULL,
                  updated_at REAL NOT NULL
                );
                CREATE INDEX leads_due ON leads(next_wake_at) WHERE next_wake_at IS NOT NULL;
                CREATE INDEX leads_stage ON leads(stage);

                CREATE TABLE sends (
                  id INTEGER PRIMARY KEY,
                  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                  sequence TEXT NOT NULL,
                  step TEXT NOT NULL,
                  enrollment INTEGER NOT NULL,
                  template TEXT NOT NULL,
                  subject TEXT,
                  tracking INTEGER NOT NULL,
                  status TEXT NOT NULL,
                  attempts INTEGER NOT NULL DEFAULT 0,
                  planned_at REAL NOT NULL,
                  next_attempt_at REAL,
                  lease_until REAL,
                  sent_at REAL,
                  message_id TEXT,
                  reply TEXT,
                  UNIQUE (lead_id, sequence, step, enrollment)
                );
                CREATE INDEX sends_due ON sends(next_attempt_at) WHERE status = 'queued';
                CREATE INDEX sends_in_flight ON sends(lease_until) WHERE status = 'sending';
                CREATE INDEX sends_lead ON sends(lead_id, planned_at);

                CREATE TABLE events (
                  id INTEGER PRIMARY KEY,
                  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                  type TEXT NOT NULL,
                  at REAL NOT NULL,
                  properties TEXT NOT NULL,
                  machine INTEGER NOT NULL,
                  client_id TEXT UNIQUE,
                  recorded_at REAL NOT NULL
                );
                CREATE INDEX events_lead ON events(lead_id, at);

                CREATE TABLE stage_changes (
                  id INTEGER PRIMARY KEY,
                  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                  from_stage TEXT NOT NULL,
                  to_stage TEXT NOT NULL,
                  at REAL NOT NULL,
                  reason TEXT NOT NULL
                );
                CREATE INDEX stage_changes_lead ON stage_changes(lead_id, at);

                CREATE TABLE enrollments (
                  id INTEGER PRIMARY KEY,
                  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                  sequence TEXT NOT NULL,
                  number INTEGER NOT NULL,
                  started_at REAL NOT NULL,
                  ended_at REAL,
                  end_reason TEXT,
                  UNIQUE (lead_id, sequence, number)
                );

                CREATE TABLE suppressions (
                  email TEXT PRIMARY KEY COLLATE NOCASE,
                  reason TEXT NOT NULL,
                  at REAL NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2: tracking") { db in
            try db.execute(sql: """
                ALTER TABLE sends ADD COLUMN token_id TEXT;
                ALTER TABLE sends ADD COLUMN links INTEGER NOT NULL DEFAULT 0;
                CREATE UNIQUE INDEX sends_token ON sends(token_id) WHERE token_id IS NOT NULL;
                CREATE INDEX sends_message ON sends(message_id) WHERE message_id IS NOT NULL;
                ALTER TABLE events ADD COLUMN send_id INTEGER;
                CREATE INDEX events_send ON events(send_id, at) WHERE send_id IS NOT NULL;
                """)
        }
        migrator.registerMigration("v3: canonical addresses") { db in
            try canonicalizeAddresses(db)
        }
        migrator.registerMigration("v4: send occurrences") { db in
            // A step a loop comes back to sends again: the occurrence joins the send's key.
            // (SQLite cannot change a table's UNIQUE constraint: the table is rebuilt.)
            try db.execute(sql: """
                CREATE TABLE sends_new (
                  id INTEGER PRIMARY KEY,
                  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                  sequence TEXT NOT NULL,
                  step TEXT NOT NULL,
                  enrollment INTEGER NOT NULL,
                  occurrence INTEGER NOT NULL DEFAULT 1,
                  template TEXT NOT NULL,
                  subject TEXT,
                  tracking INTEGER NOT NULL,
                  status TEXT NOT NULL,
                  attempts INTEGER NOT NULL DEFAULT 0,
                  planned_at REAL NOT NULL,
                  next_attempt_at REAL,
                  lease_until REAL,
                  sent_at REAL,
                  message_id TEXT,
                  reply TEXT,
                  token_id TEXT,
                  links INTEGER NOT NULL DEFAULT 0,
                  UNIQUE (lead_id, sequence, step, enrollment, occurrence)
                );
                INSERT INTO sends_new (id, lead_id, sequence, step, enrollment, occurrence, template, subject, tracking, status, attempts,
                                       planned_at, next_attempt_at, lease_until, sent_at, message_id, reply, token_id, links)
                  SELECT id, lead_id, sequence, step, enrollment, 1, template, subject, tracking, status, attempts,
                         planned_at, next_attempt_at, lease_until, sent_at, message_id, reply, token_id, links FROM sends;
                DROP TABLE sends;
                ALTER TABLE sends_new RENAME TO sends;
                CREATE INDEX sends_due ON sends(next_attempt_at) WHERE status = 'queued';
                CREATE INDEX sends_in_flight ON sends(lease_until) WHERE status = 'sending';
                CREATE INDEX sends_lead ON sends(lead_id, planned_at);
                CREATE UNIQUE INDEX sends_token ON sends(token_id) WHERE token_id IS NOT NULL;
                CREATE INDEX sends_message ON sends(message_id) WHERE message_id IS NOT NULL;
                """)
        }
        migrator.registerMigration("v5: fenced leases and workers") { db in
            try db.execute(sql: """
                ALTER TABLE sends ADD COLUMN lease_owner TEXT;
                ALTER TABLE sends ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX sends_owner ON sends(lease_owner) WHERE status = 'sending';
                CREATE TABLE workers (
                  id TEXT PRIMARY KEY,
                  host TEXT NOT NULL,
                  pid INTEGER NOT NULL,
                  started_at REAL NOT NULL,
                  heartbeat_at REAL NOT NULL
                );
                """)
        }
        migrator.registerMigration("v6: parked leads and state versions") { db in
            try db.execute(sql: """
                ALTER TABLE leads ADD COLUMN state_version INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE leads ADD COLUMN parked_error TEXT;
                ALTER TABLE leads ADD COLUMN parked_at REAL;
                CREATE INDEX leads_parked ON leads(parked_at) WHERE parked_error IS NOT NULL;
                """)
        }
        migrator.registerMigration("v7: report indexes") { db in
            // The funnel report reads stage changes by period and by stage, and new leads by
            // creation time: from these indexes, never by reading every row.
            try db.execute(sql: """
                CREATE INDEX stage_changes_at ON stage_changes(at);
                CREATE INDEX stage_changes_to ON stage_changes(to_stage, at);
                CREATE INDEX leads_created ON leads(created_at);
                """)
        }
        migrator.registerMigration("v8: step rollups") { db in
            // What each email drew (``SendEngagement``) and the steps' hourly counts, kept by
            // the event transactions from now on and rebuilt here from what is stored (goal
            // exits were not stored: they count from this version on).
            try db.execute(sql: """
                ALTER TABLE sends ADD COLUMN engagement INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX sends_lead_sent ON sends(lead_id, sent_at) WHERE sent_at IS NOT NULL;
                CREATE TABLE step_stats (
                  hour INTEGER NOT NULL, sequence TEXT NOT NULL, step TEXT NOT NULL, metric TEXT NOT NULL, n INTEGER NOT NULL,
                  PRIMARY KEY (hour, sequence, step, metric)
                ) WITHOUT ROWID;
                CREATE TABLE link_stats (
                  hour INTEGER NOT NULL, sequence TEXT NOT NULL, step TEXT NOT NULL, url TEXT NOT NULL,
                  clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL,
                  PRIMARY KEY (hour, sequence, step, url)
                ) WITHOUT ROWID;
                \(rebuildRollups)
                """)
        }
        migrator.registerMigration("v9: lead list columns") { db in
            // The sequence a lead is enrolled in and its tags, kept with every decision, for
            // `nurture leads list`; filled from the stored states (those that cannot be read are
            // left empty: they are parked at their next read).
            try db.execute(sql: """
                ALTER TABLE leads ADD COLUMN sequence TEXT;
                ALTER TABLE leads ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
                UPDATE leads SET
                  sequence = json_extract(CAST(state AS TEXT), '$.enrollment.sequence'),
                  tags = COALESCE(json_extract(CAST(state AS TEXT), '$.lead.tags'), '[]')
                WHERE length(state) > 0 AND json_valid(CAST(state AS TEXT));
                CREATE INDEX leads_sequence ON leads(sequence) WHERE sequence IS NOT NULL;
                """)
        }
        migrator.registerMigration("v10: stage entries") { db in
            // Each time a lead entered a stage (its creation included), and when it left for
            // which stage: the funnel's cohorts are read from this by index. Rebuilt from the
            // leads' creation and their stage changes.
            try db.execute(sql: """
                CREATE TABLE stage_entries (
                  id INTEGER PRIMARY KEY,
                  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                  stage TEXT NOT NULL,
                  entered_at REAL NOT NULL,
                  left_at REAL,
                  left_to TEXT
                );
                \(rebuildStageEntries)
                CREATE INDEX stage_entries_cohort ON stage_entries(stage, entered_at, left_to, left_at);
                CREATE INDEX stage_entries_open ON stage_entries(lead_id) WHERE left_at IS NULL;
                """)
        }
        migrator.registerMigration("v11: clicked links") { db in
            // The links a person clicked in each email: a link's first click is told by one
            // insert, not by reading the email's events (a link clicked 100,000 times stays cheap).
            try db.execute(sql: """
                CREATE TABLE send_links (
                  send_id INTEGER NOT NULL REFERENCES sends(id) ON DELETE CASCADE,
                  url TEXT NOT NULL,
                  PRIMARY KEY (send_id, url)
                ) WITHOUT ROWID;
                \(rebuildClickedLinks)
                """)
        }
        migrator.registerMigration("v12: installation id") { db in
            // Made once, at random: mixed into Message-IDs and tracking tokens (InstallationIdentity).
            try db.execute(sql: """
                CREATE TABLE installation (id TEXT NOT NULL);
                INSERT INTO installation (id) VALUES (lower(hex(randomblob(16))));
                """)
        }
        migrator.registerMigration("v13: outbound webhooks") { db in
            // The webhook outbox: one row per message and endpoint, written in the transaction
            // of the change that called for it, leased like sends (WebhookOutbox).
            try db.execute(sql: """
                CREATE TABLE webhooks (
                  id INTEGER PRIMARY KEY,
                  message_id TEXT NOT NULL UNIQUE,
                  endpoint TEXT NOT NULL,
                  type TEXT NOT NULL,
                  lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                  body BLOB NOT NULL,
                  status TEXT NOT NULL,
                  attempts INTEGER NOT NULL DEFAULT 0,
                  created_at REAL NOT NULL,
                  next_attempt_at REAL,
                  delivered_at REAL,
                  last_error TEXT,
                  lease_owner TEXT,
                  lease_epoch INTEGER NOT NULL DEFAULT 0,
                  lease_until REAL
                );
                CREATE INDEX webhooks_due ON webhooks(next_attempt_at) WHERE status = 'queued';
                CREATE INDEX webhooks_in_flight ON webhooks(lease_until) WHERE status = 'sending';
                CREATE INDEX webhooks_lead ON webhooks(lead_id, id);
                CREATE INDEX webhooks_status ON webhooks(status, id);
                """)
        }
        migrator.registerMigration("v14: A/B variants") { db in
            // The variant of an A/B step each send is (NULL for the others), counted per variant.
            try db.execute(sql: """
                ALTER TABLE sends ADD COLUMN variant TEXT;
                CREATE INDEX sends_variants ON sends(sequence, step, variant) WHERE variant IS NOT NULL;
                """)
        }
        migrator.registerMigration("v15: pending events") { db in
            // Tracking hits stored before they are decided (EventInbox): 1 until applied.
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN pending INTEGER;
                CREATE INDEX events_pending ON events(id) WHERE pending IS NOT NULL;
                CREATE INDEX events_pending_lead ON events(lead_id) WHERE pending IS NOT NULL;
                """)
        }
        migrator.registerMigration("v16: events set aside") { db in
            // Pending events whose decision failed every time it was tried alone: kept, not
            // decided, with the reason (EventInbox.setAsideOldestPending).
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN apply_error TEXT;
                CREATE INDEX events_set_aside ON events(id) WHERE apply_error IS NOT NULL;
                """)
        }
        migrator.registerMigration(binaryStatesMigration) { db in
            // How lead states are written (LeadStateFormat): JSON, which a process of the
            // version before (a `nurture serve` not restarted yet) reads, until `nurture migrate
            // --lead-states binary`; binary when this migration comes with the schema itself
            // (SQLiteStore.applyMigrations).
            try db.execute(sql: """
                ALTER TABLE installation ADD COLUMN lead_state_format TEXT NOT NULL DEFAULT 'json'
                  CHECK (lead_state_format IN ('json', 'binary'));
                """)
        }
        return migrator
    }

    /// The migration that adds the lead-state format setting.
    static let binaryStatesMigration = "v17: binary lead states"

    /// Rebuilds what each email drew and the steps' counts from the stored sends and events
    /// (by ``RollupBackfill``'s rules), into rollup tables that hold only goal exits.
    static var rebuildRollups: String {
        let human = "e.machine = 0", machine = "e.machine != 0"
        // The hour an email counts in: when it was sent, or (refused at once) when it bounced.
        let hour = "COALESCE(s.sent_at, (SELECT MIN(b.at) FROM events b WHERE b.send_id = s.id AND b.type = 'bounced'), s.planned_at)"
        return """
                UPDATE sends SET engagement = (engagement & \(RollupBackfill.kept)) | (CASE WHEN status = 'sent' THEN 1 ELSE 0 END) | COALESCE((
                  SELECT \(RollupBackfill.engagement(human: human, machine: machine, bounceType: "json_extract(e.properties, '$.type')"))
                  FROM events e WHERE e.send_id = sends.id), 0)
                WHERE status = 'sent' OR id IN (SELECT send_id FROM events WHERE send_id IS NOT NULL);
                INSERT INTO step_stats (hour, sequence, step, metric, n)
                SELECT CAST(\(hour) / 3600 AS INTEGER), s.sequence, s.step, m.name, COUNT(*)
                FROM sends s JOIN (\(RollupBackfill.metricTable)) m ON (s.engagement & m.bit) != 0
                WHERE s.engagement != 0 GROUP BY 1, 2, 3, 4;
                INSERT INTO link_stats (hour, sequence, step, url, clicks, unique_clicks)
                SELECT CAST(\(hour) / 3600 AS INTEGER), s.sequence, s.step, \(RollupBackfill.sqliteLink("json_extract(e.properties, '$.url')")),
                       COUNT(*), COUNT(DISTINCT e.send_id)
                FROM events e JOIN sends s ON s.id = e.send_id
                WHERE e.type = 'email_clicked' AND \(human) AND json_extract(e.properties, '$.url') IS NOT NULL GROUP BY 1, 2, 3, 4;
            """
    }

    /// Fills an empty `send_links` from the stored human clicks.
    static let rebuildClickedLinks = """
        INSERT OR IGNORE INTO send_links (send_id, url)
        SELECT send_id, \(RollupBackfill.sqliteLink("json_extract(properties, '$.url')")) FROM events
        WHERE type = 'email_clicked' AND machine = 0 AND send_id IS NOT NULL AND json_extract(properties, '$.url') IS NOT NULL;
        """

    /// Fills an empty `stage_entries` from the leads' creation and their stage changes.
    static let rebuildStageEntries = """
                INSERT INTO stage_entries (lead_id, stage, entered_at, left_at, left_to)
                SELECT lead_id, stage, at, LEAD(at) OVER w, LEAD(stage) OVER w FROM (
                  SELECT l.id AS lead_id, l.created_at AS at, 0 AS seq,
                         COALESCE((SELECT c.from_stage FROM stage_changes c WHERE c.lead_id = l.id ORDER BY c.at, c.id LIMIT 1), l.stage) AS stage
                  FROM leads l
                  UNION ALL
                  SELECT lead_id, at, id, to_stage FROM stage_changes
                )
                WINDOW w AS (PARTITION BY lead_id ORDER BY at, seq);
        """

    /// Rewrites stored addresses in their canonical form (``EmailAddress/canonical(_:)``).
    /// Two leads that were two spellings of one mailbox become one: the older lead keeps its
    /// state and takes over the other's events, sends, stage history and enrollments where
    /// they do not clash; the rest goes with the newer row. Suppressions follow the address,
    /// so a suppressed mailbox stays suppressed however it was written. Rows whose address
    /// is not valid at all are left as they are.
    static func canonicalizeAddresses(_ db: Database) throws {
        for row in try Row.fetchAll(db, sql: "SELECT email, reason, at FROM suppressions") {
            let email: String = row["email"]
            let canonical = EmailAddress.canonicalIfValid(email)
            guard canonical != email else { continue }
            try db.execute(sql: "DELETE FROM suppressions WHERE email = ?", arguments: [email])
            try db.execute(sql: "INSERT OR IGNORE INTO suppressions (email, reason, at) VALUES (?, ?, ?)",
                           arguments: [canonical, row["reason"], row["at"]])
        }
        let decoder = SQLiteStore.stateDecoder(), encoder = SQLiteStore.stateEncoder()
        // One pass over the addresses: the leads of each canonical address, oldest first.
        var groups: [String: [(id: Int64, email: String)]] = [:]
        let cursor = try Row.fetchCursor(db, sql: "SELECT id, email FROM leads ORDER BY id")
        while let row = try cursor.next() {
            let email: String = row["email"]
            groups[EmailAddress.canonicalIfValid(email), default: []].append((row["id"], email))
        }
        for (canonical, leads) in groups where leads.count > 1 || leads[0].email != canonical {
            let keep = leads[0].id
            for newer in leads.dropFirst() {
                // What was sent is history and moves; what was still to send belonged to the
                // newer lead's schedule, which the kept lead's state does not know: it goes.
                try db.execute(sql: "DELETE FROM sends WHERE lead_id = ? AND status IN ('queued', 'sending')", arguments: [newer.id])
                for table in ["events", "stage_changes", "sends", "enrollments"] {
                    try db.execute(sql: "UPDATE OR IGNORE \(table) SET lead_id = ? WHERE lead_id = ?", arguments: [keep, newer.id])
                    // What clashed goes with the row (foreign keys are not enforced during migrations).
                    try db.execute(sql: "DELETE FROM \(table) WHERE lead_id = ?", arguments: [newer.id])
                }
                try db.execute(sql: "DELETE FROM leads WHERE id = ?", arguments: [newer.id])
            }
            try db.execute(sql: "UPDATE leads SET email = ? WHERE id = ?", arguments: [canonical, keep])
            if let data = try Data.fetchOne(db, sql: "SELECT state FROM leads WHERE id = ?", arguments: [keep]), !data.isEmpty,
               var state = try? decoder.decode(LeadState.self, from: data) {
                state.lead.email = canonical
                try db.execute(sql: "UPDATE leads SET state = ? WHERE id = ?", arguments: [try encoder.encode(state), keep])
            }
        }
    }
}
