import NurtureCore

/// The PostgreSQL schema, as versioned migrations. Add a migration; never edit a shipped one.
///
/// The same tables as SQLite's, in PostgreSQL's types: `timestamptz` times, `jsonb` fields
/// and event properties, `bytea` lead states, a unique index on `lower(email)`, partial
/// indexes on what is claimed (due leads, queued and in-flight sends), and autovacuum tuned
/// per table on the two that churn (every decision rewrites a lead row; every claim and
/// completion rewrites a send row), so dead tuples do not pile up under a steady queue.
enum PostgresSchema {
    struct Migration {
        var name: String
        var sql: String

        /// The statements, one by one (the extended protocol runs one at a time). Statements
        /// end with a semicolon at the end of a line; none has one inside.
        var statements: [String] {
            sql.components(separatedBy: ";\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty }
        }
    }

    /// The advisory lock migrations take (any constant; "nurture" in ASCII).
    static let lockKey: Int64 = 0x6E75_7274_7572_65

    static let migrations: [Migration] = [
        Migration(name: "p1: schema", sql: """
            CREATE TABLE leads (
              id bigserial PRIMARY KEY,
              email text NOT NULL,
              stage text NOT NULL,
              score integer NOT NULL,
              fit_score integer NOT NULL,
              engagement_score integer NOT NULL,
              status text NOT NULL,
              time_zone text,
              fields jsonb NOT NULL,
              state bytea NOT NULL,
              state_version integer NOT NULL DEFAULT 1,
              next_wake_at timestamptz,
              parked_error text,
              parked_at timestamptz,
              created_at timestamptz NOT NULL,
              updated_at timestamptz NOT NULL
            ) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0);
            CREATE UNIQUE INDEX leads_email ON leads (lower(email));
            CREATE INDEX leads_due ON leads (next_wake_at) WHERE next_wake_at IS NOT NULL;
            CREATE INDEX leads_stage ON leads (stage);
            CREATE INDEX leads_parked ON leads (parked_at) WHERE parked_error IS NOT NULL;

            CREATE TABLE sends (
              id bigserial PRIMARY KEY,
              lead_id bigint NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
              sequence text NOT NULL,
              step text NOT NULL,
              enrollment integer NOT NULL,
              occurrence integer NOT NULL DEFAULT 1,
              template text NOT NULL,
              subject text,
              tracking boolean NOT NULL,
              status text NOT NULL,
              attempts integer NOT NULL DEFAULT 0,
              planned_at timestamptz NOT NULL,
              next_attempt_at timestamptz,
              lease_until timestamptz,
              lease_owner text,
              lease_epoch bigint NOT NULL DEFAULT 0,
              sent_at timestamptz,
              message_id text,
              reply text,
              token_id text,
              links integer NOT NULL DEFAULT 0,
              UNIQUE (lead_id, sequence, step, enrollment, occurrence)
            ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000, autovacuum_vacuum_cost_delay = 0,
                    autovacuum_analyze_scale_factor = 0.05);
            CREATE INDEX sends_due ON sends (next_attempt_at, id) WHERE status = 'queued';
            CREATE INDEX sends_in_flight ON sends (lease_until) WHERE status = 'sending';
            CREATE INDEX sends_owner ON sends (lease_owner) WHERE status = 'sending';
            CREATE INDEX sends_lead ON sends (lead_id, planned_at);
            CREATE UNIQUE INDEX sends_token ON sends (token_id) WHERE token_id IS NOT NULL;
            CREATE INDEX sends_message ON sends (message_id) WHERE message_id IS NOT NULL;

            CREATE TABLE events (
              id bigserial PRIMARY KEY,
              lead_id bigint NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
              type text NOT NULL,
              at timestamptz NOT NULL,
              properties jsonb NOT NULL,
              machine boolean NOT NULL,
              client_id text UNIQUE,
              recorded_at timestamptz NOT NULL,
              send_id bigint
            );
            CREATE INDEX events_lead ON events (lead_id, at);
            CREATE INDEX events_send ON events (send_id, at) WHERE send_id IS NOT NULL;

            CREATE TABLE stage_changes (
              id bigserial PRIMARY KEY,
              lead_id bigint NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
              from_stage text NOT NULL,
              to_stage text NOT NULL,
              at timestamptz NOT NULL,
              reason text NOT NULL
            );
            CREATE INDEX stage_changes_lead ON stage_changes (lead_id, at);

            CREATE TABLE enrollments (
              id bigserial PRIMARY KEY,
              lead_id bigint NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
              sequence text NOT NULL,
              number integer NOT NULL,
              started_at timestamptz NOT NULL,
              ended_at timestamptz,
              end_reason text,
              UNIQUE (lead_id, sequence, number)
            );

            CREATE TABLE suppressions (
              email text PRIMARY KEY,
              reason text NOT NULL,
              at timestamptz NOT NULL
            );

            CREATE TABLE workers (
              id text PRIMARY KEY,
              host text NOT NULL,
              pid integer NOT NULL,
              started_at timestamptz NOT NULL,
              heartbeat_at timestamptz NOT NULL
            );
            """),
        Migration(name: "p2: shared send rate", sql: """
            CREATE TABLE rate_buckets (
              name text PRIMARY KEY,
              tokens double precision NOT NULL,
              updated_at timestamptz NOT NULL
            );
            """),
        Migration(name: "p3: report indexes", sql: """
            CREATE INDEX stage_changes_at ON stage_changes (at);
            CREATE INDEX stage_changes_to ON stage_changes (to_stage, at);
            CREATE INDEX leads_created ON leads (created_at);
            """),
        Migration(name: "p4: rate bucket grants", sql: """
            ALTER TABLE rate_buckets ADD COLUMN granted double precision NOT NULL DEFAULT 0;
            """),
        // What each email drew (``SendEngagement``) and the steps' hourly counts, kept by the
        // event transactions from now on and rebuilt here from what is stored (goal exits were
        // not stored: they count from this version on). Each count row has a few shards, so
        // processes that count the same step at once seldom wait for each other.
        Migration(name: "p5: step rollups", sql: """
            ALTER TABLE sends ADD COLUMN engagement integer NOT NULL DEFAULT 0;
            CREATE INDEX sends_lead_sent ON sends (lead_id, sent_at) WHERE sent_at IS NOT NULL;
            CREATE TABLE step_stats (
              hour bigint NOT NULL, sequence text NOT NULL, step text NOT NULL, metric text NOT NULL, shard smallint NOT NULL, n bigint NOT NULL,
              PRIMARY KEY (hour, sequence, step, metric, shard)
            );
            CREATE TABLE link_stats (
              hour bigint NOT NULL, sequence text NOT NULL, step text NOT NULL, url text NOT NULL, shard smallint NOT NULL,
              clicks bigint NOT NULL, unique_clicks bigint NOT NULL,
              PRIMARY KEY (hour, sequence, step, url, shard)
            );
            \(rebuildRollups)
            """),
        // The sequence a lead is enrolled in and its tags, kept with every decision, for
        // `nurture leads list`; filled from the stored states (a state that cannot be read is
        // left empty: it is parked at its next read).
        Migration(name: "p6: lead list columns", sql: """
            ALTER TABLE leads ADD COLUMN sequence text;
            ALTER TABLE leads ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
            CREATE FUNCTION pg_temp.nurture_state(b bytea) RETURNS jsonb LANGUAGE plpgsql AS $$ BEGIN RETURN convert_from(b, 'UTF8')::jsonb; EXCEPTION WHEN others THEN RETURN NULL; END $$;
            UPDATE leads l SET sequence = j.state #>> '{enrollment,sequence}',
              tags = coalesce(ARRAY(SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(j.state #> '{lead,tags}') = 'array' THEN j.state #> '{lead,tags}' ELSE '[]'::jsonb END)), '{}')
            FROM (SELECT id, pg_temp.nurture_state(state) AS state FROM leads) j
            WHERE l.id = j.id AND j.state IS NOT NULL;
            CREATE INDEX leads_sequence ON leads (sequence) WHERE sequence IS NOT NULL;
            CREATE INDEX leads_tags ON leads USING gin (tags);
            """),
        // Each time a lead entered a stage (its creation included), and when it left for
        // which stage: the funnel's cohorts are read from this by index. Rebuilt from the
        // leads' creation and their stage changes.
        Migration(name: "p7: stage entries", sql: """
            CREATE TABLE stage_entries (
              id bigserial PRIMARY KEY,
              lead_id bigint NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
              stage text NOT NULL,
              entered_at timestamptz NOT NULL,
              left_at timestamptz,
              left_to text
            ) WITH (autovacuum_vacuum_scale_factor = 0.02);
            \(rebuildStageEntries)
            CREATE INDEX stage_entries_cohort ON stage_entries (stage, entered_at) INCLUDE (left_to, left_at);
            CREATE INDEX stage_entries_open ON stage_entries (lead_id) WHERE left_at IS NULL;
            """),
        // The links a person clicked in each email: a link's first click is told by one
        // insert, not by reading the email's events (a link clicked 100,000 times stays cheap).
        Migration(name: "p8: clicked links", sql: """
            CREATE TABLE send_links (
              send_id bigint NOT NULL REFERENCES sends(id) ON DELETE CASCADE,
              url text NOT NULL,
              PRIMARY KEY (send_id, url)
            );
            \(rebuildClickedLinks)
            """),
        // Made once, at random: mixed into Message-IDs and tracking tokens (InstallationIdentity).
        Migration(name: "p9: installation id", sql: """
            CREATE TABLE installation (id text NOT NULL);
            INSERT INTO installation (id) VALUES (md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text));
            """),
        // The webhook outbox: one row per message and endpoint, written in the transaction of
        // the change that called for it, leased like sends (WebhookOutbox).
        Migration(name: "p10: outbound webhooks", sql: """
            CREATE TABLE webhooks (
              id bigserial PRIMARY KEY,
              message_id text NOT NULL UNIQUE,
              endpoint text NOT NULL,
              type text NOT NULL,
              lead_id bigint NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
              body bytea NOT NULL,
              status text NOT NULL,
              attempts integer NOT NULL DEFAULT 0,
              created_at timestamptz NOT NULL,
              next_attempt_at timestamptz,
              delivered_at timestamptz,
              last_error text,
              lease_owner text,
              lease_epoch bigint NOT NULL DEFAULT 0,
              lease_until timestamptz
            );
            CREATE INDEX webhooks_due ON webhooks (next_attempt_at, id) WHERE status = 'queued';
            CREATE INDEX webhooks_in_flight ON webhooks (lease_until) WHERE status = 'sending';
            CREATE INDEX webhooks_owner ON webhooks (lease_owner) WHERE status = 'sending';
            CREATE INDEX webhooks_lead ON webhooks (lead_id, id);
            CREATE INDEX webhooks_status ON webhooks (status, id);
            """),
        // The variant of an A/B step each send is (NULL for the others), counted per variant.
        Migration(name: "p11: A/B variants", sql: """
            ALTER TABLE sends ADD COLUMN variant text;
            CREATE INDEX sends_variants ON sends (sequence, step, variant) WHERE variant IS NOT NULL;
            """),
        // Tracking hits stored before they are decided (EventInbox): true until applied.
        Migration(name: "p12: pending events", sql: """
            ALTER TABLE events ADD COLUMN pending boolean;
            CREATE INDEX events_pending ON events (id) WHERE pending;
            CREATE INDEX events_pending_lead ON events (lead_id) WHERE pending;
            """),
        // Pending events whose decision failed every time it was tried alone: kept, not
        // decided, with the reason (EventInbox.setAsideOldestPending).
        Migration(name: "p13: events set aside", sql: """
            ALTER TABLE events ADD COLUMN apply_error text;
            CREATE INDEX events_set_aside ON events (id) WHERE apply_error IS NOT NULL;
            """),
        // How lead states are written (LeadStateFormat): JSON, which the processes not
        // upgraded yet read, until `nurture migrate --lead-states binary` once every process
        // runs this version; binary when this migration comes with the schema itself
        // (PostgresStore.migrate).
        Migration(name: binaryStatesMigration, sql: """
            ALTER TABLE installation ADD COLUMN lead_state_format text NOT NULL DEFAULT 'json'
              CHECK (lead_state_format IN ('json', 'binary'));
            """),
    ]

    /// The migration that adds the lead-state format setting.
    static let binaryStatesMigration = "p14: binary lead states"

    /// The advisory lock a pass over the pending events takes: one process applies at a time
    /// (any constant other than ``lockKey``; "inbox" in ASCII).
    static let inboxLockKey: Int64 = 0x69_6E62_6F78

    /// Rebuilds what each email drew and the steps' counts from the stored sends and events
    /// (by ``RollupBackfill``'s rules), into rollup tables that hold only goal exits.
    static var rebuildRollups: String {
        // The hour an email counts in: when it was sent, or (refused at once) when it bounced.
        let hour = "coalesce(s.sent_at, (SELECT min(b.at) FROM events b WHERE b.send_id = s.id AND b.type = 'bounced'), s.planned_at)"
        return """
            UPDATE sends SET engagement = (engagement & \(RollupBackfill.kept)) | (CASE WHEN status = 'sent' THEN 1 ELSE 0 END) | COALESCE((
              SELECT \(RollupBackfill.engagement(human: "NOT e.machine", machine: "e.machine", bounceType: "e.properties->>'type'"))
              FROM events e WHERE e.send_id = sends.id), 0)
            WHERE status = 'sent' OR id IN (SELECT send_id FROM events WHERE send_id IS NOT NULL);
            INSERT INTO step_stats (hour, sequence, step, metric, shard, n)
            SELECT floor(extract(epoch FROM \(hour)) / 3600)::bigint, s.sequence, s.step, m.name, 0, count(*)
            FROM sends s JOIN (\(RollupBackfill.metricTable)) m ON (s.engagement & m.bit) <> 0
            WHERE s.engagement <> 0 GROUP BY 1, 2, 3, 4;
            INSERT INTO link_stats (hour, sequence, step, url, shard, clicks, unique_clicks)
            SELECT floor(extract(epoch FROM \(hour)) / 3600)::bigint, s.sequence, s.step, \(RollupBackfill.postgresLink("e.properties->>'url'")), 0,
                   count(*), count(DISTINCT e.send_id)
            FROM events e JOIN sends s ON s.id = e.send_id
            WHERE e.type = 'email_clicked' AND NOT e.machine AND e.properties->>'url' IS NOT NULL GROUP BY 1, 2, 3, 4;
        """
    }

    /// Fills an empty `send_links` from the stored human clicks.
    static let rebuildClickedLinks = """
        INSERT INTO send_links (send_id, url)
        SELECT DISTINCT send_id, \(RollupBackfill.postgresLink("properties->>'url'")) FROM events
        WHERE type = 'email_clicked' AND NOT machine AND send_id IS NOT NULL AND properties->>'url' IS NOT NULL
        ON CONFLICT DO NOTHING;
        """

    /// Fills an empty `stage_entries` from the leads' creation and their stage changes.
    static let rebuildStageEntries = """
            INSERT INTO stage_entries (lead_id, stage, entered_at, left_at, left_to)
            SELECT lead_id, stage, at, lead(at) OVER w, lead(stage) OVER w FROM (
              SELECT l.id AS lead_id, l.created_at AS at, 0::bigint AS seq,
                     coalesce((SELECT c.from_stage FROM stage_changes c WHERE c.lead_id = l.id ORDER BY c.at, c.id LIMIT 1), l.stage) AS stage
              FROM leads l
              UNION ALL
              SELECT lead_id, at, id, to_stage FROM stage_changes
            ) x
            WINDOW w AS (PARTITION BY lead_id ORDER BY at, seq);
        """
}
