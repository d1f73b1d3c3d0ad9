//! A gene as its table row stores it, shared by the SQLite and PostgreSQL
//! stores so both read and write the same logical schema the same way. A
//! row that does not decode is reported as corrupt, never guessed at.

use helix_core::{Gene, GeneKey, GeneSource, Platform, StoreError};

/// Column list, in the order of [`RawGene`]'s fields.
pub(crate) const COLUMNS: &str = "code, category, strategy, params, q, successes, failures, \
    consecutive_failures, mean_ms, platforms, created_at, last_used_at, source, confidence, \
    expires_at, mean_cost";

/// One row's columns as the database types them.
pub(crate) struct RawGene {
    pub code: String,
    pub category: String,
    pub strategy: String,
    pub params: String,
    pub q: f64,
    pub successes: i64,
    pub failures: i64,
    pub consecutive_failures: i64,
    pub mean_ms: f64,
    pub platforms: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub source: String,
    pub confidence: f64,
    pub expires_at: Option<i64>,
    pub mean_cost: f64,
}

impl RawGene {
    pub fn encode(g: &Gene) -> Self {
        let platforms: Vec<&str> = g.platforms.iter().map(|p| p.as_str()).collect();
        RawGene {
            code: g.key.code.as_str().to_owned(),
            category: g.key.category.as_str().to_owned(),
            strategy: g.strategy.as_str().to_owned(),
            params: g.params.to_string(),
            q: g.q,
            successes: i64::try_from(g.successes).unwrap_or(i64::MAX),
            failures: i64::try_from(g.failures).unwrap_or(i64::MAX),
            consecutive_failures: i64::from(g.consecutive_failures),
            mean_ms: g.mean_ms,
            platforms: platforms.join(","),
            created_at: g.created_at,
            last_used_at: g.last_used_at,
            source: g.source.as_str().to_owned(),
            confidence: g.confidence,
            expires_at: g.expires_at,
            mean_cost: g.mean_cost,
        }
    }

    pub fn decode(self) -> Result<Gene, StoreError> {
        let id = format!("gene {}/{}/{}", self.code, self.category, self.strategy);
        let corrupt = |reason: String| StoreError::Corrupt {
            row: id.clone(),
            reason,
        };
        let count =
            |name: &str, v: i64| u64::try_from(v).map_err(|_| corrupt(format!("negative {name}")));
        let platforms = self
            .platforms
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<Platform>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt(format!("{e}")))?;
        Ok(Gene {
            key: GeneKey {
                code: self.code.parse().map_err(|e| corrupt(format!("{e}")))?,
                category: self.category.parse().map_err(|e| corrupt(format!("{e}")))?,
            },
            strategy: self.strategy.parse().map_err(|e| corrupt(format!("{e}")))?,
            params: serde_json::from_str(&self.params)
                .map_err(|e| corrupt(format!("params: {e}")))?,
            q: self.q,
            successes: count("successes", self.successes)?,
            failures: count("failures", self.failures)?,
            consecutive_failures: u32::try_from(self.consecutive_failures)
                .map_err(|_| corrupt("consecutive_failures out of range".into()))?,
            mean_ms: self.mean_ms,
            platforms,
            source: GeneSource::parse(&self.source)
                .ok_or_else(|| corrupt(format!("unknown source `{}`", self.source)))?,
            confidence: self.confidence,
            expires_at: self.expires_at,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            mean_cost: self.mean_cost,
        })
    }
}

/// Reads a stored diagnosis; an unreadable one is a corrupt row, never a guess.
pub(crate) fn decode_diagnosis(
    fingerprint: &str,
    payload: &str,
) -> Result<helix_core::Diagnosis, StoreError> {
    serde_json::from_str(payload).map_err(|e| StoreError::Corrupt {
        row: format!("diagnosis {fingerprint}"),
        reason: e.to_string(),
    })
}

/// The stored form of a diagnosis.
pub(crate) fn encode_diagnosis(d: &helix_core::Diagnosis) -> Result<String, StoreError> {
    serde_json::to_string(d).map_err(|e| StoreError::Unavailable(format!("diagnosis: {e}")))
}
