import GRDB

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
        return migrator
    }
}
