//! `helix evolve`: the evolution worker. Follows the engine's events on
//! NATS (the stream the agents publish to with `[events] nats`) under a
//! durable consumer, so a restarted worker goes on from its last
//! acknowledged event; learns from every repair with a tunable parameter;
//! and writes changed values into the Gene Map as new gene versions, the
//! bandit's posterior as evidence (helix-evolve). Bounded with
//! `--max-events` or `--idle-secs`; otherwise it runs until stopped.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer};
use futures_util::StreamExt;
use helix_core::Event;
use helix_evolve::{Bounds, Evolver, Metrics, Retuned};
use serde_json::json;

use crate::store::Store;

/// What `helix evolve` was asked for.
#[derive(clap::Args)]
pub struct Args {
    /// The Gene Map to retune (default: the settings' `[gene_map] url`).
    #[arg(long)]
    pub db: Option<String>,
    /// NATS with JetStream carrying the events (default: `[events] nats`).
    #[arg(long)]
    pub nats: Option<String>,
    /// The events' stream.
    #[arg(long, default_value = "HELIX_EVENTS")]
    pub stream: String,
    /// The events' subject prefix.
    #[arg(long, default_value = "helix.events")]
    pub prefix: String,
    /// The worker's durable consumer (its place in the stream).
    #[arg(long, default_value = "helix-evolve")]
    pub durable: String,
    /// Retune a gene after this many new trials of it.
    #[arg(long, default_value_t = 20)]
    pub every: u32,
    /// No wait above this is ever written, ms.
    #[arg(long, default_value_t = Bounds::default().max_wait_ms)]
    pub max_wait_ms: u64,
    /// Stop after this many events.
    #[arg(long)]
    pub max_events: Option<u64>,
    /// Stop when no event came for this long, s.
    #[arg(long)]
    pub idle_secs: Option<u64>,
    /// Seed of the bandit's draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Serve `/metrics` (bearer `HELIX_EVOLVE_TOKEN`) and `/health` here.
    #[arg(long)]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

/// Shortest accepted metrics token.
const MIN_TOKEN: usize = 16;

/// Runs the worker.
pub fn run(a: Args, settings: &crate::config::Config) -> Result<ExitCode, String> {
    if a.every == 0 {
        return Err("--every must be at least 1".into());
    }
    if a.max_wait_ms == 0 {
        return Err("--max-wait-ms must be at least 1".into());
    }
    let token = match a.metrics_listen {
        Some(_) => Some(helix_cli::token_from_env(
            "HELIX_EVOLVE_TOKEN",
            MIN_TOKEN,
            "metrics token",
        )?),
        None => None,
    };
    let rt = helix_cli::runtime()?;
    rt.block_on(work(a, settings, token))
}

/// `/metrics` behind the bearer token, and `/health`.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    token: String,
    metrics: Arc<Metrics>,
) -> Result<(), String> {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move |headers: HeaderMap| {
                let (token, metrics) = (token.clone(), metrics.clone());
                async move {
                    if !helix_cli::bearer_matches(&headers, &token) {
                        return (
                            StatusCode::UNAUTHORIZED,
                            [(header::WWW_AUTHENTICATE, "Bearer realm=\"helix-evolve\"")],
                            axum::Json(json!({"error": "missing or invalid bearer token", "reason": "auth"})),
                        )
                            .into_response();
                    }
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        metrics.render(),
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/health",
            axum::routing::get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(1024));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("helix evolve: listening on http://{bound} (/metrics, /health)");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(target: "helix::evolve", error = %e, "metrics server stopped");
        }
    });
    Ok(())
}

async fn work(
    a: Args,
    settings: &crate::config::Config,
    token: Option<String>,
) -> Result<ExitCode, String> {
    let metrics = Arc::new(Metrics::default());
    if let (Some(addr), Some(token)) = (a.metrics_listen, token) {
        serve_metrics(addr, token, metrics.clone()).await?;
    }
    let db = settings.db(a.db.clone());
    let store = Store::open(&db, settings)
        .await?
        .shared(&db, settings)
        .await;
    let url = a
        .nats
        .clone()
        .or_else(|| settings.nats().map(str::to_owned))
        .ok_or("no NATS: give --nats or [events] nats (the worker learns from the events agents publish there)")?;
    let mut evolver = Evolver::new(
        Bounds {
            max_wait_ms: a.max_wait_ms,
        },
        a.every,
        a.seed,
    );
    let resumed = evolver.resume(&*store).await.map_err(|e| e.to_string())?;
    let client = async_nats::connect(url.as_str())
        .await
        .map_err(|e| format!("{}: {e}", helix_genemap::redact_url(&url)))?;
    let js = jetstream::new(client);
    let stream = js
        .get_or_create_stream(jetstream::stream::Config {
            name: a.stream.clone(),
            subjects: vec![format!("{}.>", a.prefix)],
            ..Default::default()
        })
        .await
        .map_err(|e| format!("stream {}: {e}", a.stream))?;
    let consumer: consumer::PullConsumer = stream
        .get_or_create_consumer(
            &a.durable,
            consumer::pull::Config {
                durable_name: Some(a.durable.clone()),
                ack_policy: consumer::AckPolicy::Explicit,
                // A new worker learns from every event the stream kept.
                deliver_policy: consumer::DeliverPolicy::All,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| format!("consumer {}: {e}", a.durable))?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    tracing::info!(target: "helix::evolve", resumed, stream = %a.stream, durable = %a.durable, "evolution worker following events");

    let idle = a.idle_secs.map(Duration::from_secs);
    let mut retuned: Vec<Retuned> = Vec::new();
    loop {
        if a.max_events.is_some_and(|m| metrics.counts().0 >= m) {
            break;
        }
        let next = match idle {
            Some(d) => match tokio::time::timeout(d, messages.next()).await {
                Ok(n) => n,
                Err(_) => break,
            },
            None => messages.next().await,
        };
        let m = match next {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                tracing::warn!(target: "helix::evolve", error = %e, "event receive failed");
                continue;
            }
            None => break,
        };
        match serde_json::from_slice::<Event>(&m.payload) {
            Ok(e) => {
                metrics.event(true);
                if evolver.observe(&e).is_some() {
                    metrics.trial();
                }
            }
            Err(e) => {
                metrics.event(false);
                tracing::warn!(target: "helix::evolve", error = %e, subject = %m.subject, "unreadable event skipped");
                let _ = m.ack_with(AckKind::Term).await;
                continue;
            }
        }
        match evolver.retune(&*store).await {
            Ok(r) => {
                metrics.retuned(r.len());
                retuned.extend(r);
            }
            // The trials stay learned; the gene is retuned at its next
            // due point.
            Err(e) => {
                metrics.retune_failed();
                tracing::warn!(target: "helix::evolve", error = %e, "retune not written");
            }
        }
        metrics.genes(evolver.genes());
        let _ = m.ack().await;
    }
    let (events, unreadable, trials) = metrics.counts();
    let summary = json!({
        "events": events,
        "unreadable": unreadable,
        "trials": trials,
        "resumed": resumed,
        "retuned": retuned.iter().map(|r| json!({
            "key": r.key.to_string(),
            "strategy": r.strategy.as_str(),
            "param": r.param,
            "from": r.from,
            "to": r.to,
            "version": r.version,
        })).collect::<Vec<_>>(),
    });
    if a.json {
        println!("{summary}");
    } else {
        println!(
            "helix evolve: {events} events, {trials} trials, {} retunes ({unreadable} unreadable, {resumed} genes resumed)",
            retuned.len()
        );
        for r in &retuned {
            println!(
                "  {} {} {}: {} -> {} (version {})",
                r.key,
                r.strategy,
                r.param,
                r.from.map_or("default".into(), |v| v.to_string()),
                r.to,
                r.version
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
