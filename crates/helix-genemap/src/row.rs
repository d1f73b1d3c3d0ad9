//! A gene as its table row stores it, shared by the SQLite and PostgreSQL
//! stores so both read and write the same logical schema the same way. A
//! row that does not decode is reported as corrupt, never guessed at.

use helix_core::{Event, Gene, GeneKey, GeneSource, Platform, StoreError};

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

/// A result row of either database, read cell by cell in [`COLUMNS`] order.
pub(crate) trait Cells {
    type Error: std::fmt::Display;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn real(&self, i: usize) -> Result<f64, Self::Error>;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error>;
}

impl Cells for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, i: usize) -> Result<String, Self::Error> {
        self.get(i)
    }
    fn real(&self, i: usize) -> Result<f64, Self::Error> {
        self.get(i)
    }
    fn int(&self, i: usize) -> Result<i64, Self::Error> {
        self.get(i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error> {
        self.get(i)
    }
}

impl Cells for tokio_postgres::Row {
    type Error = tokio_postgres::Error;
    fn text(&self, i: usize) -> Result<String, Self::Error> {
        self.try_get(i)
    }
    fn real(&self, i: usize) -> Result<f64, Self::Error> {
        self.try_get(i)
    }
    fn int(&self, i: usize) -> Result<i64, Self::Error> {
        self.try_get(i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error> {
        self.try_get(i)
    }
}

impl RawGene {
    /// Reads and decodes a row; a cell of the wrong type makes the row
    /// corrupt (named by its key as far as it reads), not the whole read.
    pub fn read<C: Cells>(r: &C) -> Result<Gene, StoreError> {
        let raw = (|| {
            Ok::<_, C::Error>(RawGene {
                code: r.text(0)?,
                category: r.text(1)?,
                strategy: r.text(2)?,
                params: r.text(3)?,
                q: r.real(4)?,
                successes: r.int(5)?,
                failures: r.int(6)?,
                consecutive_failures: r.int(7)?,
                mean_ms: r.real(8)?,
                platforms: r.text(9)?,
                created_at: r.int(10)?,
                last_used_at: r.int(11)?,
                source: r.text(12)?,
                confidence: r.real(13)?,
                expires_at: r.opt_int(14)?,
                mean_cost: r.real(15)?,
            })
        })();
        match raw {
            Ok(raw) => raw.decode(),
            Err(e) => {
                let cell = |i| r.text(i).unwrap_or_else(|_| "?".into());
                Err(StoreError::Corrupt {
                    row: format!("gene {}/{}/{}", cell(0), cell(1), cell(2)),
                    reason: e.to_string(),
                })
            }
        }
    }

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

/// Event log rows (id, JSON payload) read back: the events, and a corrupt
/// row error for each payload that does not parse.
/// Events newest first, a page at a time (`helix serve`'s history).
#[derive(Debug, Clone, Default)]
pub struct EventPage {
    /// Newest first.
    pub events: Vec<Event>,
    /// Rows that did not decode (skipped, reported).
    pub bad: Vec<StoreError>,
    /// Pass as `before` for the next (older) page; `None` at the start of
    /// the log.
    pub next: Option<i64>,
}

/// A page from rows read newest first (`id`, payload), `limit` asked.
pub(crate) fn page_of(rows: Vec<(i64, String)>, limit: u32) -> EventPage {
    let next = (rows.len() >= limit as usize)
        .then(|| rows.last().map(|(id, _)| *id))
        .flatten();
    let (events, bad) = decode_events(rows);
    EventPage { events, bad, next }
}

pub(crate) fn decode_events(
    rows: impl IntoIterator<Item = (i64, String)>,
) -> (Vec<Event>, Vec<StoreError>) {
    let mut events = Vec::new();
    let mut bad = Vec::new();
    for (id, payload) in rows {
        match serde_json::from_str::<Event>(&payload) {
            Ok(e) => events.push(e),
            Err(e) => bad.push(StoreError::Corrupt {
                row: format!("event {id}"),
                reason: e.to_string(),
            }),
        }
    }
    (events, bad)
}

/// Reads a stored gene version; unreadable JSON is a corrupt row.
pub(crate) fn version(
    key: &GeneKey,
    strategy: helix_core::StrategyId,
    version: i64,
    params: &str,
    evidence: &str,
    created_at: i64,
) -> Result<helix_core::GeneVersion, StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt {
        row: format!("gene version {key}/{strategy} v{version}"),
        reason: e.to_string(),
    };
    Ok(helix_core::GeneVersion {
        version: u32::try_from(version).map_err(|_| StoreError::Corrupt {
            row: format!("gene version {key}/{strategy}"),
            reason: format!("version {version} out of range"),
        })?,
        params: serde_json::from_str(params).map_err(corrupt)?,
        evidence: serde_json::from_str(evidence).map_err(corrupt)?,
        created_at,
    })
}
