//! `helix serve`: the API and dashboard (helix-server) over the configured
//! Gene Map, event log, LLM fallback and budget.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use helix_core::{Executor, Fanout, Helix, Mode};
use helix_platforms::http::executors::ExtendDeadline;
use helix_platforms::kit;
use helix_server::{Hub, MIN_TOKEN, ServerConfig};

use crate::config::Config;
use crate::sinks::Sinks;
use crate::store::Store;

/// What `helix serve` was asked for.
pub struct Args {
    pub listen: SocketAddr,
    pub mode: Mode,
    pub db: String,
    pub budget_usd: Option<f64>,
    pub budget_db: String,
    /// Pre-empt the recurring windows of this many weeks of the event log.
    pub forecast_weeks: Option<u32>,
}

/// The executors a server can run for callers: waits, deadlines, request
/// reshapes, fresh MPP challenges, receipts, and (with a chain RPC) the
/// repairs that only read the chain. Fund-moving repairs need the agent's
/// key, which a shared server does not hold.
fn strategies(settings: &Config) -> Vec<Arc<dyn Executor>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap_or_default();
    let timing = kit::Timing {
        deadline: ExtendDeadline {
            factor: 3,
            max: Duration::from_secs(60),
            assumed: Duration::from_secs(10),
        },
        ..kit::Timing::default()
    };
    let mut all = kit::generic(&kit::Alternatives::default(), &timing);
    all.extend(kit::mpp(&http));
    if let Some(rpc) = settings.rpc() {
        let fee_tokens = kit::tempo_stablecoins()
            .iter()
            .map(|c| c.to_string())
            .collect();
        all.extend(kit::tempo_reads(&http, rpc, &[], fee_tokens, 100_000));
    }
    all
}

pub fn run(args: Args, settings: &Config) -> Result<ExitCode, String> {
    let token = helix_cli::token_from_env("HELIX_API_TOKEN", MIN_TOKEN, "API token")?;
    // Read before the runtime starts: the log reader runs one of its own.
    let forecast = match args.forecast_weeks {
        Some(w) => Some(crate::forecast::live(
            &args.db,
            w,
            crate::forecast::REFRESH,
        )?),
        None => None,
    };
    let rt = helix_cli::runtime()?;
    rt.block_on(serve(args, settings, token, forecast))
}

async fn serve(
    args: Args,
    settings: &Config,
    token: String,
    forecast: Option<Arc<helix_predict::LiveForecast>>,
) -> Result<ExitCode, String> {
    let opened = Store::open(&args.db, settings).await?;
    let store = opened.shared(&args.db, settings).await;
    // A server holds no agent key: it pulls and follows, never pushes.
    let linked = helix_cli::network::link(store, &args.db, settings, None, 0).await?;
    let store = linked.store.clone();
    let sinks = Sinks::open(&opened, &args.db, settings).await?;
    let mut hub = match sinks.history() {
        Some(log) => Hub::new().with_history(log),
        None => Hub::new(),
    };
    if let Some(joined) = crate::views::Joined::from_settings(settings).await? {
        hub = hub.with_network(Arc::new(joined));
    }
    let mut all = sinks.all.clone();
    all.push(hub.sink());
    let mut builder = helix_platforms::Registry::new()
        .install(Helix::builder())
        .strategies(strategies(settings))
        .store(store)
        .sink(Arc::new(Fanout(all)))
        .mode(args.mode);
    let llm = settings.llm();
    if llm.is_empty() {
        eprintln!(
            "helix: LLM fallback off (set ANTHROPIC_API_KEY or OPENAI_API_KEY to diagnose unknown failures)"
        );
    } else {
        let d = helix_llm::LlmDiagnoser::from_config(&llm).map_err(|e| e.to_string())?;
        eprintln!("helix: LLM fallback: {d:?}");
        builder = builder.diagnoser(Arc::new(d));
    }
    if let Some(usd) = args.budget_usd {
        if !(usd.is_finite() && usd >= 0.0) {
            return Err(format!("--budget-usd {usd}: not an amount"));
        }
        let cap = (usd * 1e6).round() as u64;
        let at = &args.budget_db;
        let b: Arc<dyn helix_core::Budget> = if at.starts_with("postgres://")
            || at.starts_with("postgresql://")
        {
            Arc::new(
                helix_genemap::PostgresBudget::connect(at, cap)
                    .await
                    .map_err(|e| format!("{}: {e}", helix_genemap::redact_url(at)))?,
            )
        } else {
            Arc::new(helix_genemap::SqliteBudget::open(at, cap).map_err(|e| format!("{at}: {e}"))?)
        };
        builder = builder.budget(b);
    }
    if let Some(f) = forecast {
        builder = builder.forecast(f);
    }
    let helix = builder.build();
    let cfg = ServerConfig::new(&token).map_err(|e| e.to_string())?;
    let app = helix_server::router(helix, hub, cfg);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("{}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "helix: serving on http://{addr} (mode {}, Gene Map {}); dashboard: http://{addr}/#token=<token>",
        args.mode,
        helix_genemap::redact_url(&args.db)
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())?;
    sinks.flush().await;
    drop(linked);
    Ok(ExitCode::SUCCESS)
}
