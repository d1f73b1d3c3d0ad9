//! The one migration list. SQLite and PostgreSQL share the logical schema:
//! every migration carries both dialects, so a migration that exists for one
//! backend exists for the other.

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Schema version after this step (1, 2, 3 ...).
    pub version: i64,
    /// What it does.
    pub name: &'static str,
    /// SQLite statements.
    pub sqlite: &'static str,
    /// PostgreSQL statements.
    pub postgres: &'static str,
}

/// Every migration, in order. Append only; never edit a released step.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "genes",
        sqlite: "
            CREATE TABLE genes (
                code TEXT NOT NULL,
                category TEXT NOT NULL,
                strategy TEXT NOT NULL,
                params TEXT NOT NULL DEFAULT 'null',
                q REAL NOT NULL,
                successes INTEGER NOT NULL DEFAULT 0,
                failures INTEGER NOT NULL DEFAULT 0,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                mean_ms REAL NOT NULL DEFAULT 0,
                platforms TEXT NOT NULL DEFAULT '',
                created_at INTEGER NOT NULL,
                last_used_at INTEGER NOT NULL,
                PRIMARY KEY (code, category, strategy)
            );",
        postgres: "
            CREATE TABLE genes (
                code TEXT NOT NULL,
                category TEXT NOT NULL,
                strategy TEXT NOT NULL,
                params TEXT NOT NULL DEFAULT 'null',
                q DOUBLE PRECISION NOT NULL,
                successes BIGINT NOT NULL DEFAULT 0,
                failures BIGINT NOT NULL DEFAULT 0,
                consecutive_failures BIGINT NOT NULL DEFAULT 0,
                mean_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
                platforms TEXT NOT NULL DEFAULT '',
                created_at BIGINT NOT NULL,
                last_used_at BIGINT NOT NULL,
                PRIMARY KEY (code, category, strategy)
            );",
    },
    Migration {
        version: 2,
        name: "gene provenance: source, confidence, expiry",
        sqlite: "
            ALTER TABLE genes ADD COLUMN source TEXT NOT NULL DEFAULT 'pcec';
            ALTER TABLE genes ADD COLUMN confidence REAL NOT NULL DEFAULT 1.0;
            ALTER TABLE genes ADD COLUMN expires_at INTEGER;",
        postgres: "
            ALTER TABLE genes ADD COLUMN source TEXT NOT NULL DEFAULT 'pcec';
            ALTER TABLE genes ADD COLUMN confidence DOUBLE PRECISION NOT NULL DEFAULT 1.0;
            ALTER TABLE genes ADD COLUMN expires_at BIGINT;",
    },
    Migration {
        version: 3,
        name: "mean repair cost",
        sqlite: "ALTER TABLE genes ADD COLUMN mean_cost REAL NOT NULL DEFAULT 0;",
        postgres: "ALTER TABLE genes ADD COLUMN mean_cost DOUBLE PRECISION NOT NULL DEFAULT 0;",
    },
    Migration {
        version: 4,
        name: "repair budget reservations",
        sqlite: "
            CREATE TABLE budget_reservations (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                month TEXT NOT NULL,
                amount INTEGER NOT NULL,
                settled INTEGER NOT NULL DEFAULT 0,
                actual INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL
            );
            CREATE INDEX budget_by_month ON budget_reservations (month, settled);",
        postgres: "
            CREATE TABLE budget_reservations (
                id BIGSERIAL PRIMARY KEY,
                month TEXT NOT NULL,
                amount BIGINT NOT NULL,
                settled BOOLEAN NOT NULL DEFAULT FALSE,
                actual BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL
            );
            CREATE INDEX budget_by_month ON budget_reservations (month, settled);",
    },
    Migration {
        version: 5,
        name: "append-only event log",
        sqlite: "
            CREATE TABLE events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                repair_id INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                at INTEGER NOT NULL,
                stage TEXT NOT NULL,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL
            );
            CREATE INDEX events_by_repair ON events (repair_id, seq);
            CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
            CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
        postgres: "
            CREATE TABLE events (
                id BIGSERIAL PRIMARY KEY,
                repair_id BIGINT NOT NULL,
                seq INTEGER NOT NULL,
                at BIGINT NOT NULL,
                stage TEXT NOT NULL,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL
            );
            CREATE INDEX events_by_repair ON events (repair_id, seq);
            CREATE FUNCTION helix_events_append_only() RETURNS trigger LANGUAGE plpgsql AS
                'BEGIN RAISE EXCEPTION ''events are append-only''; END';
            CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                FOR EACH ROW EXECUTE FUNCTION helix_events_append_only();
            CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                FOR EACH ROW EXECUTE FUNCTION helix_events_append_only();",
    },
    Migration {
        version: 6,
        name: "outcomes waiting for the shared Gene Map",
        sqlite: "
            CREATE TABLE outcome_queue (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                payload TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );",
        postgres: "
            CREATE TABLE outcome_queue (
                id BIGSERIAL PRIMARY KEY,
                payload TEXT NOT NULL,
                created_at BIGINT NOT NULL
            );",
    },
    Migration {
        version: 7,
        name: "diagnoses of failures no adapter recognised, by fingerprint",
        sqlite: "
            CREATE TABLE diagnoses (
                fingerprint TEXT PRIMARY KEY,
                payload TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );",
        postgres: "
            CREATE TABLE diagnoses (
                fingerprint TEXT PRIMARY KEY,
                payload TEXT NOT NULL,
                created_at BIGINT NOT NULL
            );",
    },
    Migration {
        version: 8,
        name: "what a budget reservation may spend; wallets held by a fund-moving repair",
        sqlite: "
            ALTER TABLE budget_reservations ADD COLUMN moves_funds INTEGER NOT NULL DEFAULT 1;
            CREATE TABLE wallet_locks (
                wallet TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at INTEGER NOT NULL
            );",
        postgres: "
            ALTER TABLE budget_reservations ADD COLUMN moves_funds BIGINT NOT NULL DEFAULT 1;
            CREATE TABLE wallet_locks (
                wallet TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at BIGINT NOT NULL
            );",
    },
    Migration {
        version: 9,
        name: "outcomes already learned from, by id (a replayed queue counts once)",
        sqlite: "
            CREATE TABLE applied_outcomes (
                id INTEGER PRIMARY KEY,
                applied_at INTEGER NOT NULL
            );",
        postgres: "
            CREATE TABLE applied_outcomes (
                id BIGINT PRIMARY KEY,
                applied_at BIGINT NOT NULL
            );",
    },
    Migration {
        version: 10,
        name: "failures per service-hour (PostgreSQL: range-partitioned by month)",
        // `hour` is unix time / 3600; `calls` is NULL where only failures
        // were counted. The PostgreSQL partitions (one per UTC month) are
        // created by the writer before it writes into a month.
        sqlite: "
            CREATE TABLE failure_hours (
                hour INTEGER NOT NULL,
                service TEXT NOT NULL,
                code TEXT NOT NULL,
                calls INTEGER,
                failures INTEGER NOT NULL,
                PRIMARY KEY (hour, service, code)
            );",
        postgres: "
            CREATE TABLE failure_hours (
                hour BIGINT NOT NULL,
                service TEXT NOT NULL,
                code TEXT NOT NULL,
                calls BIGINT,
                failures BIGINT NOT NULL,
                PRIMARY KEY (hour, service, code)
            ) PARTITION BY RANGE (hour);",
    },
    Migration {
        version: 11,
        name: "gene versions: parameters a tuner gave a gene, with its evidence",
        sqlite: "
            CREATE TABLE gene_versions (
                code TEXT NOT NULL,
                category TEXT NOT NULL,
                strategy TEXT NOT NULL,
                version INTEGER NOT NULL,
                params TEXT NOT NULL,
                evidence TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (code, category, strategy, version)
            );",
        postgres: "
            CREATE TABLE gene_versions (
                code TEXT NOT NULL,
                category TEXT NOT NULL,
                strategy TEXT NOT NULL,
                version BIGINT NOT NULL,
                params TEXT NOT NULL,
                evidence TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (code, category, strategy, version)
            );",
    },
];

/// The newest schema version this build knows.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_and_both_dialects_exist() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty());
            assert_eq!(
                m.sqlite.matches(';').count(),
                m.postgres.matches(';').count(),
                "migration {} has the same statements in both dialects",
                m.version
            );
        }
    }
}
