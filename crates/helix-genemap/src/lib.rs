//! # helix-genemap
//!
//! Where genes live. [`SqliteGeneStore`] is the embedded default: one file,
//! WAL mode, numbered migrations applied at open. The migration list
//! ([`migrations::MIGRATIONS`]) carries SQLite and PostgreSQL dialects side by
//! side so the shared backend keeps the same logical schema.
//!
//! ```
//! use helix_core::{Category, FailureCode, GeneKey, GeneSource, GeneStore, Outcome, Platform, StrategyId};
//! use helix_genemap::SqliteGeneStore;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = SqliteGeneStore::in_memory().unwrap();
//! let key = GeneKey { code: FailureCode::VerificationFailed, category: Category::Signature };
//! assert!(store.lookup(key).await.unwrap().is_none());
//! store.record(&Outcome::new(key, StrategyId::RefreshNonce, Platform::Tempo, true))
//!     .await
//!     .unwrap();
//! let gene = store.lookup(key).await.unwrap().unwrap();
//! assert_eq!(gene.strategy, StrategyId::RefreshNonce);
//! assert_eq!(gene.successes, 1);
//! # });
//! ```

#![warn(missing_docs)]

mod budget;
mod event_log;
pub mod failure_hours;
mod fallback;
pub mod migrations;
mod nats;
mod pg_budget;
mod pg_event_log;
mod postgres;
mod redis_cache;
mod row;
mod sqlite;
mod wallet_lock;

pub use budget::SqliteBudget;
pub use event_log::{LoggedRepair, SqliteEventLog};
pub use fallback::FallbackGeneStore;
pub use nats::{NatsConfig, NatsPublisher};
pub use pg_budget::PostgresBudget;
pub use pg_event_log::{PostgresEventLog, QUEUE as EVENT_QUEUE};
pub use postgres::{PostgresGeneStore, ping as ping_postgres, redact as redact_url};
pub use redis_cache::{CachedGeneStore, LEASE as CACHE_LEASE, ping as ping_redis};
pub use row::EventPage;
pub use sqlite::{SqliteGeneStore, migrate};
pub use wallet_lock::SqliteWalletLocks;
