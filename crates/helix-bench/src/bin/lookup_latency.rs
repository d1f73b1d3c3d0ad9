//! Gene lookup latency, p50 and p99, for each Gene Map backend: SQLite,
//! PostgreSQL, and PostgreSQL behind the Redis cache (a cache hit). Each of
//! N lookups is timed on its own, after a warm-up:
//!
//!     cargo run --release -p helix-bench --bin lookup_latency [N]
//!
//! PostgreSQL and Redis are read from HELIX_BENCH_POSTGRES (default
//! postgres://postgres@127.0.0.1:5432/test) and HELIX_BENCH_REDIS (default
//! redis://127.0.0.1:6379); a backend that cannot be reached is reported
//! and skipped. The PostgreSQL runs use a schema of their own.

use std::sync::Arc;
use std::time::Instant;

use helix_bench::decision::outcome;
use helix_core::GeneStore;
use helix_genemap::{CachedGeneStore, PostgresGeneStore, SqliteGeneStore};

async fn measure(name: &str, store: &dyn GeneStore, n: usize) {
    let key = outcome().key;
    if let Err(e) = store.record(&outcome()).await {
        println!("{name:<16} skipped: {e}");
        return;
    }
    for _ in 0..n / 10 {
        let _ = store.lookup(key).await;
    }
    let mut us: Vec<f64> = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let found = store.lookup(key).await;
        us.push(t.elapsed().as_secs_f64() * 1e6);
        if !matches!(found, Ok(Some(_))) {
            println!("{name:<16} skipped: the gene was not found");
            return;
        }
    }
    us.sort_by(f64::total_cmp);
    let at = |p: f64| us[((us.len() - 1) as f64 * p) as usize];
    println!(
        "{name:<16} {:>9.1} {:>9.1} {:>9.1}",
        at(0.50),
        at(0.99),
        at(0.999)
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    println!("{n} lookups each; microseconds per lookup");
    println!("{:<16} {:>9} {:>9} {:>9}", "store", "p50", "p99", "p99.9");

    let dir = std::env::temp_dir().join(format!("helix-lookup-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    match SqliteGeneStore::open(dir.join("bench.db")) {
        Ok(s) => measure("sqlite", &s, n).await,
        Err(e) => println!("{:<16} skipped: {e}", "sqlite"),
    }
    let _ = std::fs::remove_dir_all(&dir);

    let base = std::env::var("HELIX_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("helix_bench_{}", std::process::id());
    let url = match tokio_postgres::connect(&base, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                ))
                .await;
            Some((
                client,
                format!("{base}?options=-c%20search_path%3D{schema}"),
            ))
        }
        Err(e) => {
            println!("{:<16} skipped: {e}", "postgres");
            None
        }
    };
    if let Some((client, url)) = url {
        match PostgresGeneStore::connect(&url).await {
            Ok(pg) => {
                let pg: Arc<dyn GeneStore> = Arc::new(pg);
                measure("postgres", pg.as_ref(), n).await;
                let redis = std::env::var("HELIX_BENCH_REDIS")
                    .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
                let cached = CachedGeneStore::connect(&redis, &schema, pg).await;
                if cached.connected() {
                    measure("postgres+redis", &cached, n).await;
                } else {
                    println!("{:<16} skipped: redis unavailable", "postgres+redis");
                }
            }
            Err(e) => println!("{:<16} skipped: {e}", "postgres"),
        }
        let _ = client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await;
    }
}
