//! The registry's schema: one migration list, each step in both dialects
//! (the embedded SQLite registry and the PostgreSQL one hold the same
//! logical schema).

/// One numbered step.
#[derive(Debug)]
pub struct Migration {
    /// Applied in order; recorded in `registry_migrations`.
    pub version: i64,
    /// What it does.
    pub name: &'static str,
    /// SQLite dialect.
    pub sqlite: &'static str,
    /// PostgreSQL dialect.
    pub postgres: &'static str,
}

/// Every step, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "genes, contributions, evidence, nonces",
    sqlite: "
        CREATE TABLE reg_genes (
            id TEXT PRIMARY KEY, code TEXT NOT NULL, category TEXT NOT NULL,
            strategy TEXT NOT NULL, params TEXT NOT NULL, platforms TEXT NOT NULL,
            successes INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
            verified_agents INTEGER NOT NULL DEFAULT 0, verified_evidence INTEGER NOT NULL DEFAULT 0,
            pushes INTEGER NOT NULL DEFAULT 0, mean_ms INTEGER NOT NULL DEFAULT 0,
            claimed_successes INTEGER NOT NULL DEFAULT 0,
            quality REAL NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
        CREATE INDEX reg_genes_key ON reg_genes (code, category, quality);
        CREATE TABLE reg_contributions (
            gene_id TEXT NOT NULL, agent TEXT NOT NULL,
            successes INTEGER NOT NULL, failures INTEGER NOT NULL, mean_ms INTEGER NOT NULL,
            evidence INTEGER NOT NULL, pushes INTEGER NOT NULL, updated_at INTEGER NOT NULL,
            PRIMARY KEY (gene_id, agent));
        CREATE TABLE reg_evidence (
            tx TEXT PRIMARY KEY, chain_id INTEGER NOT NULL, agent TEXT NOT NULL,
            gene_id TEXT NOT NULL, at INTEGER NOT NULL);
        CREATE TABLE reg_nonces (
            agent TEXT NOT NULL, nonce TEXT NOT NULL, at INTEGER NOT NULL,
            PRIMARY KEY (agent, nonce));
        CREATE INDEX reg_nonces_at ON reg_nonces (at);",
    postgres: "
        CREATE TABLE reg_genes (
            id TEXT PRIMARY KEY, code TEXT NOT NULL, category TEXT NOT NULL,
            strategy TEXT NOT NULL, params TEXT NOT NULL, platforms TEXT NOT NULL,
            successes BIGINT NOT NULL DEFAULT 0, failures BIGINT NOT NULL DEFAULT 0,
            verified_agents BIGINT NOT NULL DEFAULT 0, verified_evidence BIGINT NOT NULL DEFAULT 0,
            pushes BIGINT NOT NULL DEFAULT 0, mean_ms BIGINT NOT NULL DEFAULT 0,
            claimed_successes BIGINT NOT NULL DEFAULT 0,
            quality DOUBLE PRECISION NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
        CREATE INDEX reg_genes_key ON reg_genes (code, category, quality);
        CREATE TABLE reg_contributions (
            gene_id TEXT NOT NULL, agent TEXT NOT NULL,
            successes BIGINT NOT NULL, failures BIGINT NOT NULL, mean_ms BIGINT NOT NULL,
            evidence BIGINT NOT NULL, pushes BIGINT NOT NULL, updated_at BIGINT NOT NULL,
            PRIMARY KEY (gene_id, agent));
        CREATE TABLE reg_evidence (
            tx TEXT PRIMARY KEY, chain_id BIGINT NOT NULL, agent TEXT NOT NULL,
            gene_id TEXT NOT NULL, at BIGINT NOT NULL);
        CREATE TABLE reg_nonces (
            agent TEXT NOT NULL, nonce TEXT NOT NULL, at BIGINT NOT NULL,
            PRIMARY KEY (agent, nonce));
        CREATE INDEX reg_nonces_at ON reg_nonces (at);",
}];

/// The newest version.
pub const LATEST: i64 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_and_both_dialects_name_the_same_tables() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            let tables = |sql: &str| -> Vec<String> {
                sql.split("CREATE TABLE ")
                    .skip(1)
                    .filter_map(|s| s.split_whitespace().next().map(str::to_owned))
                    .collect()
            };
            assert_eq!(tables(m.sqlite), tables(m.postgres), "{}", m.name);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(LATEST));
    }
}
