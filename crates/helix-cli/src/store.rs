//! The Gene Map a command uses, chosen by `--db`: a PostgreSQL URL
//! (`postgres://...`) for a map shared by many instances, else a SQLite
//! file (`sqlite://path` or a plain path), the embedded default. With a
//! local map configured (`[gene_map] local`, `HELIX_LOCAL_DB`), a
//! PostgreSQL map falls back to it while it is down; with a cache
//! configured (`[cache] redis`, `HELIX_REDIS_URL`), lookups go through Redis.

use std::sync::Arc;

use helix_core::GeneStore;
use helix_genemap::{CachedGeneStore, FallbackGeneStore, PostgresGeneStore, SqliteGeneStore};

/// An open Gene Map.
pub enum Store {
    /// One SQLite file.
    Sqlite(Arc<SqliteGeneStore>),
    /// A shared PostgreSQL database.
    Postgres(Arc<PostgresGeneStore>),
    /// A shared PostgreSQL database with a local fallback.
    Fallback(Arc<FallbackGeneStore>),
}

impl Store {
    /// Opens (and migrates) the Gene Map `db` names.
    pub async fn open(db: &str, settings: &crate::config::Config) -> Result<Store, String> {
        let local = settings.local().map(str::to_owned);
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            if let Some(local) = local {
                let l = SqliteGeneStore::open(&local).map_err(|e| format!("{local}: {e}"))?;
                let f = FallbackGeneStore::new(db, Arc::new(l)).await;
                return Ok(Store::Fallback(Arc::new(f)));
            }
            return PostgresGeneStore::connect(db)
                .await
                .map(|s| Store::Postgres(Arc::new(s)))
                .map_err(|e| e.to_string());
        }
        let path = db.strip_prefix("sqlite://").unwrap_or(db);
        SqliteGeneStore::open(path)
            .map(|s| Store::Sqlite(Arc::new(s)))
            .map_err(|e| format!("{path}: {e}"))
    }

    /// The store `db` opened, for the engine (behind the Redis cache when
    /// configured; instances sharing a Gene Map share its cache keys).
    pub async fn shared(&self, db: &str, settings: &crate::config::Config) -> Arc<dyn GeneStore> {
        let inner: Arc<dyn GeneStore> = match self {
            Store::Sqlite(s) => s.clone(),
            Store::Postgres(s) => s.clone(),
            Store::Fallback(s) => s.clone(),
        };
        match settings.redis() {
            Some(url) => {
                let prefix = format!("helix-{:016x}", fnv(db));
                Arc::new(CachedGeneStore::connect(url, &prefix, inner).await)
            }
            None => inner,
        }
    }

    /// Removes every gene; returns how many.
    pub async fn clear(&self) -> Result<u64, String> {
        match self {
            Store::Sqlite(s) => s.clear().map(|n| n as u64).map_err(|e| e.to_string()),
            Store::Postgres(s) => s.clear().await.map_err(|e| e.to_string()),
            Store::Fallback(_) => Err(
                "--fresh is not available with HELIX_LOCAL_DB; clear the shared Gene Map without it"
                    .into(),
            ),
        }
    }
}

/// A stable digest of the Gene Map's name, for its cache keys.
fn fnv(text: &str) -> u64 {
    helix_core::fnv::Fnv1a::new()
        .bytes(text.as_bytes())
        .finish()
}
