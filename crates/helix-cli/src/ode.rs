//! `helix ode`: objectives in plain language, run on Temporal.
//!
//! - `helix ode serve`: the intent server. `POST /v1/objectives` takes an
//!   objective and its context, asks the LLM for a task graph (Anthropic,
//!   then OpenAI), validates it, and starts it on Temporal. `GET
//!   /v1/objectives` lists the recent ones with every task's state (the
//!   dashboard's objectives view reads it).
//! - `helix ode worker`: runs the objectives' workflows and their steps,
//!   each payment through Helix with the agent's key, executors and Gene Map.
//! - `helix ode status <id>`, `helix ode cancel <id>`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use helix_core::Mode;
use helix_ode::temporal::{ObjectiveRun, Temporal};
use helix_ode::{Limits, Objective, PlanError, Planner, amount};
use helix_platforms::kit::{Agent, tempo_stablecoins};
use helix_tempo::{Address, TempoChain, Wallet};
use serde::Deserialize;
use serde_json::json;

/// The default Temporal frontend (`temporal server start-dev`).
const TEMPORAL: &str = "http://127.0.0.1:7233";

/// The subcommands.
#[derive(clap::Subcommand)]
pub enum Cmd {
    /// The intent server (HELIX_ODE_TOKEN guards every route but /health
    /// and the schema; the LLM from ANTHROPIC_API_KEY / OPENAI_API_KEY).
    Serve(ServeArgs),
    /// Run objectives' workflows and steps on Temporal, paying with the
    /// agent's key through Helix.
    Worker(WorkerArgs),
    /// Every step's state (a worker must be running to answer).
    Status {
        /// The objective's id.
        id: String,
        /// Temporal's frontend.
        #[arg(long, default_value = TEMPORAL)]
        temporal: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start no further step; running payments finish.
    Cancel {
        /// The objective's id.
        id: String,
        /// Temporal's frontend.
        #[arg(long, default_value = TEMPORAL)]
        temporal: String,
    },
}

/// `helix ode serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:7900")]
    pub listen: SocketAddr,
    /// Temporal's frontend.
    #[arg(long, default_value = TEMPORAL)]
    pub temporal: String,
    /// The currencies graphs may name (the worker's --token names).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "pathUSD,AlphaUSD,BetaUSD,ThetaUSD"
    )]
    pub currencies: Vec<String>,
    /// Steps running at once per objective.
    #[arg(long, default_value_t = 4)]
    pub max_parallel: usize,
}

/// `helix ode worker`.
#[derive(clap::Args)]
pub struct WorkerArgs {
    /// Temporal's frontend.
    #[arg(long, default_value = TEMPORAL)]
    pub temporal: String,
    /// The agent's key (hex), in a file only its owner can read.
    #[arg(long, env = "HELIX_AGENT_KEY_FILE")]
    pub key_file: PathBuf,
    /// The Tempo RPC endpoint (default: [chain] rpc, HELIX_RPC_URL).
    #[arg(long)]
    pub rpc: Option<String>,
    /// observe, auto or full (swaps and top-ups need full).
    #[arg(long, default_value = "full")]
    pub mode: Mode,
    /// Gene Map: a SQLite file.
    #[arg(long)]
    pub db: Option<String>,
    /// A currency a graph may name: NAME=0xTOKEN (repeat). Tempo's
    /// pathUSD, AlphaUSD, BetaUSD and ThetaUSD are known without it.
    #[arg(long = "token", value_name = "NAME=ADDRESS")]
    pub tokens: Vec<String>,
    /// The fee token (a --token name; default: the chain's).
    #[arg(long)]
    pub fee_token: Option<String>,
    /// What repairs may spend in a month, USD (kept in the Gene Map's
    /// file): a swap's or a top-up's cost is reserved against it first.
    #[arg(long, default_value_t = 25.0)]
    pub repair_budget_usd: f64,
}

/// Runs a subcommand.
pub fn run(cmd: Cmd, settings: &crate::config::Config) -> Result<ExitCode, String> {
    let rt = helix_cli::runtime()?;
    match cmd {
        Cmd::Serve(a) => {
            let token = helix_cli::token_from_env("HELIX_ODE_TOKEN", 16, "intent server token")?;
            rt.block_on(serve(a, settings, token))
        }
        Cmd::Worker(a) => rt.block_on(worker(a, settings)),
        Cmd::Status { id, temporal, json } => rt.block_on(async {
            let t = Temporal::connect(&temporal)
                .await
                .map_err(|e| e.to_string())?;
            let report = t.progress(&id).await.map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                );
            } else {
                println!(
                    "{id}: {} paid, {} repairs{}",
                    report.paid,
                    report.repairs,
                    if report.cancelled { ", cancelled" } else { "" }
                );
                for (step, s) in &report.steps {
                    let what = match (&s.result, &s.error) {
                        (Some(r), _) => {
                            let mut t = r.tx.clone().unwrap_or_default();
                            if !r.repairs.is_empty() {
                                t.push_str(&format!(" (repaired: {})", r.repairs.join(", ")));
                            }
                            if r.found_on_chain {
                                t.push_str(" (found on chain)");
                            }
                            t
                        }
                        (None, Some(e)) => e.clone(),
                        (None, None) => String::new(),
                    };
                    println!("  {step:<32} {:<9} {what}", s.state);
                }
            }
            Ok(ExitCode::SUCCESS)
        }),
        Cmd::Cancel { id, temporal } => rt.block_on(async {
            let t = Temporal::connect(&temporal)
                .await
                .map_err(|e| e.to_string())?;
            t.cancel(&id, "helix ode cancel")
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("helix: {id}: no further step starts; running payments finish");
            Ok(ExitCode::SUCCESS)
        }),
    }
}

/// The currencies named on the command line, with Tempo's own.
fn tokens(given: &[String]) -> Result<BTreeMap<String, Address>, String> {
    let mut all: BTreeMap<String, Address> = ["pathUSD", "AlphaUSD", "BetaUSD", "ThetaUSD"]
        .into_iter()
        .zip(tempo_stablecoins())
        .map(|(n, a)| (n.to_owned(), a))
        .collect();
    for t in given {
        let (name, addr) = t
            .split_once('=')
            .ok_or_else(|| format!("--token {t}: NAME=0xADDRESS"))?;
        let addr = addr
            .parse()
            .map_err(|_| format!("--token {t}: {addr} is not an address"))?;
        all.insert(name.to_owned(), addr);
    }
    Ok(all)
}

async fn worker(a: WorkerArgs, settings: &crate::config::Config) -> Result<ExitCode, String> {
    let rpc = a
        .rpc
        .clone()
        .or_else(|| settings.rpc().map(str::to_owned))
        .ok_or("no RPC endpoint: give --rpc, HELIX_RPC_URL or [chain] rpc")?;
    let wallet = Wallet::from_file(&a.key_file).map_err(|e| e.to_string())?;
    let chain_id = TempoChain::connect(&rpc, &wallet)
        .map_err(|e| e.to_string())?
        .chain_id()
        .await
        .map_err(|e| format!("{rpc}: {e}"))?;
    let tokens = tokens(&a.tokens)?;
    let db = settings.db(a.db.clone());
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        // The wallet lock and the repair budget are kept beside the Gene
        // Map, and the worker's are SQLite's.
        return Err("helix ode worker: --db is a SQLite file".into());
    }
    let path = db.strip_prefix("sqlite://").unwrap_or(&db).to_owned();
    let opened = crate::store::Store::open(&db, settings).await?;
    let store = opened.shared(&db, settings).await;
    // The worker's repairs reach the event log (helix events, helix serve)
    // and NATS like any agent's.
    let sinks = crate::sinks::Sinks::open(&opened, &db, settings).await?;
    if !(a.repair_budget_usd.is_finite() && a.repair_budget_usd >= 0.0) {
        return Err(format!(
            "--repair-budget-usd {}: not an amount",
            a.repair_budget_usd
        ));
    }
    let cap = (a.repair_budget_usd * 1e6).round() as u64;
    let budget =
        helix_genemap::SqliteBudget::open(&path, cap).map_err(|e| format!("{path}: {e}"))?;
    let locks =
        helix_genemap::SqliteWalletLocks::open(&path).map_err(|e| format!("{path}: {e}"))?;
    let http = reqwest::Client::new();
    let kit = Agent {
        rpc: rpc.clone(),
        other_rpcs: Vec::new(),
        wallet: wallet.clone(),
        stablecoins: tempo_stablecoins(),
        reserve: None,
    };
    let helix = kit
        .helix_builder(&http)
        .store(store)
        .sink(Arc::new(helix_core::Fanout(sinks.all.clone())))
        .budget(Arc::new(budget))
        .wallet_locks(Arc::new(locks))
        .mode(a.mode)
        .build();
    let mut actions =
        helix_ode::tempo::TempoActions::new(helix, wallet.clone(), &rpc, chain_id, tokens.clone());
    if let Some(f) = &a.fee_token {
        let t = tokens
            .get(f)
            .ok_or_else(|| format!("--fee-token {f}: not a known currency"))?;
        actions = actions.with_fee_token(*t);
    }
    let temporal = Temporal::connect(&a.temporal)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "helix: ode worker for {} on chain {chain_id} ({} currencies), mode {}, Temporal {}",
        wallet.address(),
        tokens.len(),
        a.mode,
        a.temporal
    );
    let worked = temporal
        .work(Arc::new(actions), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string());
    sinks.flush().await;
    worked?;
    Ok(ExitCode::SUCCESS)
}

/// What the intent server counts.
#[derive(Default)]
struct Counts {
    started: AtomicU64,
    refused: AtomicU64,
    unavailable: AtomicU64,
    by_rule: std::sync::Mutex<BTreeMap<&'static str, u64>>,
}

#[derive(Clone)]
struct St {
    planner: Arc<Planner>,
    temporal: Temporal,
    token: Arc<str>,
    max_parallel: usize,
    counts: Arc<Counts>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Submit {
    /// Optional: a client's own id makes resubmission idempotent.
    #[serde(default)]
    id: Option<String>,
    #[serde(flatten)]
    objective: Objective,
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": msg.into() }))).into_response()
}

/// The 401 for a request without the token, if it has none.
fn unauthorized(st: &St, h: &HeaderMap) -> Option<Response> {
    (!helix_cli::bearer_matches(h, &st.token))
        .then(|| error(StatusCode::UNAUTHORIZED, "missing or invalid bearer token"))
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

async fn submit(
    State(st): State<St>,
    h: HeaderMap,
    body: Result<axum::Json<Submit>, JsonRejection>,
) -> Response {
    if let Some(r) = unauthorized(&st, &h) {
        return r;
    }
    let axum::Json(s) = match body {
        Ok(b) => b,
        Err(r) => return error(r.status(), r.body_text()),
    };
    let id =
        s.id.unwrap_or_else(|| format!("objective-{:016x}", rand::random::<u64>()));
    if !valid_id(&id) {
        return error(
            StatusCode::BAD_REQUEST,
            "id: 1 to 64 of letters, digits and _.-",
        );
    }
    let plan =
        match tokio::time::timeout(Duration::from_secs(120), st.planner.plan(&s.objective)).await {
            Err(_) => {
                st.counts.unavailable.fetch_add(1, Ordering::Relaxed);
                return error(StatusCode::GATEWAY_TIMEOUT, "no plan within 120 s");
            }
            Ok(Err(PlanError::Refused {
                provider,
                refusal,
                answer,
            })) => {
                st.counts.refused.fetch_add(1, Ordering::Relaxed);
                *st.counts
                    .by_rule
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(refusal.rule())
                    .or_default() += 1;
                // Nothing runs; the owner sees why and what the model wrote.
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    axum::Json(json!({
                        "error": refusal.to_string(),
                        "rule": refusal.rule(),
                        "provider": provider,
                        "answer": answer,
                    })),
                )
                    .into_response();
            }
            Ok(Err(e @ PlanError::Unavailable(_))) => {
                st.counts.unavailable.fetch_add(1, Ordering::Relaxed);
                return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
            }
            Ok(Ok(p)) => p,
        };
    let (steps, total, budget) = (plan.steps.len(), plan.total, plan.budget);
    let run = ObjectiveRun {
        plan,
        max_parallel: st.max_parallel,
        step_timeout_secs: 60,
        max_attempts: 5,
    };
    match st.temporal.start(&id, run).await {
        Ok(run_id) => {
            st.counts.started.fetch_add(1, Ordering::Relaxed);
            tracing::info!(target: "helix::ode", %id, steps, "objective started");
            (
                StatusCode::CREATED,
                axum::Json(json!({
                    "id": id,
                    "run_id": run_id,
                    "steps": steps,
                    "total_usd": amount::format(total),
                    "budget_usd": amount::format(budget),
                })),
            )
                .into_response()
        }
        Err(e) if e.to_string().contains("already") => error(
            StatusCode::CONFLICT,
            format!("objective {id} is already running"),
        ),
        Err(e) => error(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

/// `?limit=`: how many of the most recent objectives (1 to 50, 10 if not said).
#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

async fn list(
    State(st): State<St>,
    h: HeaderMap,
    q: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(r) = unauthorized(&st, &h) {
        return r;
    }
    let limit = match q {
        Ok(q) => q.limit.unwrap_or(10),
        Err(r) => return error(StatusCode::BAD_REQUEST, r.body_text()),
    };
    if !(1..=50).contains(&limit) {
        return error(StatusCode::BAD_REQUEST, "limit: 1 to 50");
    }
    match st.temporal.recent(limit, Duration::from_secs(2)).await {
        Ok(v) => axum::Json(json!({ "objectives": v })).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

async fn status(State(st): State<St>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = unauthorized(&st, &h) {
        return r;
    }
    match st.temporal.progress(&id).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) if e.to_string().contains("not found") => {
            error(StatusCode::NOT_FOUND, format!("no objective {id}"))
        }
        Err(e) => error(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

async fn cancel(State(st): State<St>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = unauthorized(&st, &h) {
        return r;
    }
    match st
        .temporal
        .cancel(&id, "cancelled through the intent server")
        .await
    {
        Ok(()) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({ "id": id, "cancel": "requested" })),
        )
            .into_response(),
        Err(e) if e.to_string().contains("not found") => {
            error(StatusCode::NOT_FOUND, format!("no objective {id}"))
        }
        Err(e) => error(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

async fn metrics(State(st): State<St>, h: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&st, &h) {
        return r;
    }
    let c = &st.counts;
    let mut out = String::from(
        "# HELP helix_ode_objectives_total Objectives submitted, by what became of them.\n# TYPE helix_ode_objectives_total counter\n",
    );
    for (outcome, n) in [
        ("started", &c.started),
        ("refused", &c.refused),
        ("unavailable", &c.unavailable),
    ] {
        out.push_str(&format!(
            "helix_ode_objectives_total{{outcome=\"{outcome}\"}} {}\n",
            n.load(Ordering::Relaxed)
        ));
    }
    out.push_str("# HELP helix_ode_refusals_total Task graphs refused, by the rule broken.\n# TYPE helix_ode_refusals_total counter\n");
    for (rule, n) in c.by_rule.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        out.push_str(&format!(
            "helix_ode_refusals_total{{rule=\"{rule}\"}} {n}\n"
        ));
    }
    ([("content-type", "text/plain; version=0.0.4")], out).into_response()
}

/// The intent server's routes.
fn router(st: St) -> Router {
    Router::new()
        .route("/v1/objectives", post(submit).get(list))
        .route("/v1/objectives/{id}", get(status))
        .route("/v1/objectives/{id}/cancel", post(cancel))
        .route(
            "/v1/objectives/schema",
            get(|| async {
                (
                    [("content-type", "application/schema+json")],
                    helix_ode::graph::SCHEMA,
                )
            }),
        )
        .route("/metrics", get(metrics))
        .route(
            "/health",
            get(|| async { axum::Json(json!({ "status": "ok" })) }),
        )
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .with_state(st)
}

async fn serve(
    a: ServeArgs,
    settings: &crate::config::Config,
    token: String,
) -> Result<ExitCode, String> {
    let currencies: Vec<&str> = a.currencies.iter().map(String::as_str).collect();
    let planner = Planner::from_config(&settings.llm(), Limits::new(&currencies))
        .map_err(|e| format!("the intent server needs an LLM: {e}"))?;
    let temporal = Temporal::connect(&a.temporal)
        .await
        .map_err(|e| e.to_string())?;
    let st = St {
        planner: Arc::new(planner),
        temporal,
        token: token.into(),
        max_parallel: a.max_parallel.max(1),
        counts: Arc::new(Counts::default()),
    };
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| format!("{}: {e}", a.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "helix: intent server on http://{addr} (Temporal {}, currencies {})",
        a.temporal,
        a.currencies.join(", ")
    );
    axum::serve(listener, router(st))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
