//! The statements both backends run. Parameters are `$n`, which SQLite
//! also reads, each first used in order so positions agree.

pub const GENE_COLUMNS: &str = "id, code, category, strategy, params, platforms, successes, failures, \
     verified_agents, verified_evidence, pushes, mean_ms, quality, created_at, updated_at, \
     claimed_successes";

pub const CLAIM_NONCE: &str =
    "INSERT INTO reg_nonces (agent, nonce, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub const PRUNE_NONCES: &str = "DELETE FROM reg_nonces WHERE at < $1";
pub const EVIDENCE_OF: &str = "SELECT tx FROM reg_evidence WHERE gene_id = $1 ORDER BY tx";
pub const EVIDENCE_OWNER: &str = "SELECT agent, gene_id FROM reg_evidence WHERE tx = $1";
pub const INSERT_GENE: &str = "INSERT INTO reg_genes \
     (id, code, category, strategy, params, platforms, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (id) DO NOTHING";
/// What a merge starts from: the platforms, and the quality and pushes
/// before it (no pushes: the gene is new).
pub const SELECT_MERGE_STATE: &str =
    "SELECT platforms, quality, pushes FROM reg_genes WHERE id = $1";
/// PostgreSQL's: the row lock makes concurrent merges of one gene take turns
/// (SQLite's `BEGIN IMMEDIATE` already does).
pub const LOCK_MERGE_STATE: &str =
    "SELECT platforms, quality, pushes FROM reg_genes WHERE id = $1 FOR UPDATE";
pub const SET_PLATFORMS: &str = "UPDATE reg_genes SET platforms = $1 WHERE id = $2";
pub const INSERT_EVIDENCE: &str = "INSERT INTO reg_evidence (tx, chain_id, agent, gene_id, at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tx) DO NOTHING";
/// An agent's record of a gene: its largest cumulative counts, the mean
/// time that came with the largest success count, its new evidence added.
pub const UPSERT_CONTRIBUTION: &str = "INSERT INTO reg_contributions \
     (gene_id, agent, successes, failures, mean_ms, evidence, pushes, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (gene_id, agent) DO UPDATE SET \
     mean_ms = CASE WHEN excluded.successes >= reg_contributions.successes \
         THEN excluded.mean_ms ELSE reg_contributions.mean_ms END, \
     successes = CASE WHEN excluded.successes > reg_contributions.successes \
         THEN excluded.successes ELSE reg_contributions.successes END, \
     failures = CASE WHEN excluded.failures > reg_contributions.failures \
         THEN excluded.failures ELSE reg_contributions.failures END, \
     evidence = reg_contributions.evidence + excluded.evidence, \
     pushes = reg_contributions.pushes + excluded.pushes, \
     updated_at = excluded.updated_at";
/// The quality rule's inputs (see [`crate::quality`]) and the gene's totals:
/// an agent's successes count up to its verified transactions.
pub const TALLY: &str = "SELECT \
     CAST(COALESCE(SUM(CASE WHEN successes < evidence THEN successes ELSE evidence END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(failures), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN evidence > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(evidence), 0) AS BIGINT), \
     CAST(COALESCE(SUM(pushes), 0) AS BIGINT), \
     CAST(COALESCE(SUM((CASE WHEN successes < evidence THEN successes ELSE evidence END) * mean_ms), 0) AS BIGINT), \
     CAST(COALESCE(SUM(successes), 0) AS BIGINT) \
     FROM reg_contributions WHERE gene_id = $1";
pub const SET_TALLY: &str = "UPDATE reg_genes SET successes = $1, failures = $2, \
     verified_agents = $3, verified_evidence = $4, pushes = $5, mean_ms = $6, quality = $7, \
     updated_at = $8, claimed_successes = $9 WHERE id = $10";
pub const COUNT_STATS: &str = "SELECT \
     (SELECT CAST(COUNT(*) AS BIGINT) FROM reg_genes), \
     (SELECT CAST(COALESCE(SUM(pushes), 0) AS BIGINT) FROM reg_genes), \
     (SELECT CAST(COUNT(DISTINCT agent) AS BIGINT) FROM reg_contributions), \
     (SELECT CAST(COUNT(*) AS BIGINT) FROM reg_evidence)";

pub fn select_gene() -> String {
    format!("SELECT {GENE_COLUMNS} FROM reg_genes WHERE id = $1")
}

pub fn select_best() -> String {
    format!(
        "SELECT {GENE_COLUMNS} FROM reg_genes WHERE code = $1 AND category = $2 \
         AND quality >= $3 ORDER BY quality DESC, successes DESC, id LIMIT 1"
    )
}

pub fn select_top() -> String {
    format!("SELECT {GENE_COLUMNS} FROM reg_genes ORDER BY quality DESC, id LIMIT $1")
}
