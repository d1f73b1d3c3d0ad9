//! `helix pay <URL>`: pays an MPP resource (HTTP 402 with
//! `WWW-Authenticate: Payment`) with the agent's key on a Tempo chain,
//! through the PCEC loop with the platforms' real executors.
//!
//! The resource's first answer says what it charges; the agent accepts a
//! challenge only on the RPC's chain and within `--max-usd`, and from then
//! on the recipient, the amount and the chain of that charge are the
//! payment's invariants.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use helix_core::{GeneStore, HelixError, Mode, Policy, Report};
use helix_genemap::{SqliteBudget, SqliteWalletLocks};
use helix_platforms::kit::{Agent, tempo_stablecoins};
use helix_platforms::mpp::Challenge;
use helix_platforms::mpp::{MppGet, get_paid};
use helix_tempo::{Address, TempoChain, Wallet};
use serde::Serialize;

/// What `helix pay` was asked to do.
pub struct PayArgs {
    pub url: String,
    pub key_file: PathBuf,
    pub rpc: String,
    pub mode: Mode,
    pub max_usd: f64,
    pub db: String,
    pub json: bool,
    /// Pre-empt the recurring windows of this many weeks of the event log.
    pub forecast_weeks: Option<u32>,
    /// The settings (`[registry]`: pull on a miss, push what verifies).
    pub settings: crate::config::Config,
}

#[derive(Serialize)]
struct Outcome {
    url: String,
    paid: bool,
    status: Option<u16>,
    receipt: Option<String>,
    charge: Charge,
    report: Report,
    immune: bool,
    error: Option<String>,
}

#[derive(Serialize)]
struct Charge {
    recipient: String,
    amount: String,
    currency: String,
    chain_id: u64,
}

/// Base units of a 6-decimal USD stablecoin.
fn units(usd: f64) -> Result<u128, String> {
    if !usd.is_finite() || usd < 0.0 {
        return Err(format!("--max-usd must be a positive amount, got {usd}"));
    }
    Ok((usd * 1e6).round() as u128)
}

/// The resource's challenges (an unpaid GET), or why there are none.
async fn offered(http: &reqwest::Client, url: &str) -> Result<Vec<Challenge>, String> {
    let resp = http
        .get(url)
        .header("accept-payment", "tempo/charge")
        .send()
        .await
        .map_err(|e| format!("{url}: {}", helix_http::signal::error_chain(&e)))?;
    if resp.status().as_u16() != 402 {
        return Err(format!(
            "{url} answered {} to an unpaid request: nothing to pay",
            resp.status()
        ));
    }
    let mut all = Vec::new();
    let mut bad = Vec::new();
    for parsed in helix_platforms::mpp::offered(resp.headers()) {
        match parsed {
            Ok(c) if c.method == "tempo" && c.intent == "charge" => all.push(c),
            Ok(c) => bad.push(format!("{}/{} is not supported", c.method, c.intent)),
            Err(e) => bad.push(e.to_string()),
        }
    }
    if all.is_empty() {
        return Err(format!(
            "{url} offered no tempo/charge challenge{}",
            if bad.is_empty() {
                String::new()
            } else {
                format!(" ({})", bad.join("; "))
            }
        ));
    }
    Ok(all)
}

/// The charge the agent accepts: on its chain, within its limit, preferring
/// a currency it already holds enough of.
async fn choose(
    chain: &TempoChain,
    payer: Address,
    offers: Vec<Challenge>,
    chain_id: u64,
    max: u128,
) -> Result<(Challenge, u128, Address, Address), String> {
    let mut fitting = Vec::new();
    let mut why = Vec::new();
    for c in offers {
        let amount = c.request.amount_units().map_err(|e| e.to_string())?;
        let on = c.request.chain().unwrap_or(chain_id);
        if on != chain_id {
            why.push(format!("one is for chain {on}, the RPC serves {chain_id}"));
        } else if amount > max {
            why.push(format!("one charges {amount} base units, above --max-usd"));
        } else {
            let currency: Address = c.request.currency.parse().map_err(|_| {
                format!(
                    "challenge currency {} is not an address",
                    c.request.currency
                )
            })?;
            let recipient: Address = c.request.recipient.parse().map_err(|_| {
                format!(
                    "challenge recipient {} is not an address",
                    c.request.recipient
                )
            })?;
            fitting.push((c, amount, currency, recipient));
        }
    }
    if fitting.is_empty() {
        return Err(format!("no acceptable charge: {}", why.join("; ")));
    }
    for (i, (_, amount, currency, _)) in fitting.iter().enumerate() {
        if chain.balance(*currency, payer).await.unwrap_or(0) >= *amount {
            return Ok(fitting.swap_remove(i));
        }
    }
    Ok(fitting.swap_remove(0))
}

pub fn run(a: PayArgs) -> Result<ExitCode, String> {
    // Read before the runtime starts: the log reader runs one of its own.
    let forecast = match a.forecast_weeks {
        Some(w) => {
            let f = crate::forecast::read(&a.db, w)
                .map_err(|e| format!("--forecast-weeks: {e}"))?
                .0
                .forecast();
            eprintln!("helix: forecast on: {} recurring window(s)", f.len());
            Some(Arc::new(f) as Arc<dyn helix_core::Forecast>)
        }
        None => None,
    };
    let rt = helix_cli::runtime()?;
    rt.block_on(pay(a, forecast))
}

async fn pay(
    a: PayArgs,
    forecast: Option<Arc<dyn helix_core::Forecast>>,
) -> Result<ExitCode, String> {
    let wallet = Wallet::from_file(&a.key_file).map_err(|e| e.to_string())?;
    let max = units(a.max_usd)?;
    let http = reqwest::Client::new();
    let chain = TempoChain::connect(&a.rpc, &wallet).map_err(|e| e.to_string())?;
    let chain_id = chain
        .chain_id()
        .await
        .map_err(|e| format!("{}: {e}", a.rpc))?;
    let offers = offered(&http, &a.url).await?;
    let (chosen, amount, currency, recipient) =
        choose(&chain, wallet.address(), offers, chain_id, max).await?;

    let path = a.db.strip_prefix("sqlite://").unwrap_or(&a.db).to_owned();
    let local: Arc<dyn GeneStore> =
        Arc::new(helix_genemap::SqliteGeneStore::open(&path).map_err(|e| format!("{path}: {e}"))?);
    let linked =
        helix_cli::network::link(local, &a.db, &a.settings, Some(wallet.signer()), chain_id)
            .await?;
    let layer = linked.layer.clone();
    let store = linked.store.clone();
    let policy = Policy {
        mode: a.mode,
        // No repair may spend more than the charge it makes possible.
        per_repair_ceiling: u64::try_from(max).unwrap_or(u64::MAX),
        ..Policy::default()
    };
    let budget = SqliteBudget::open(&path, policy.per_repair_ceiling.saturating_mul(10))
        .map_err(|e| format!("{path}: {e}"))?;
    let locks = SqliteWalletLocks::open(&path).map_err(|e| format!("{path}: {e}"))?;
    let agent = Agent {
        rpc: a.rpc.clone(),
        other_rpcs: Vec::new(),
        wallet: wallet.clone(),
        stablecoins: tempo_stablecoins(),
        reserve: None,
    };
    let mut builder = agent
        .helix_builder(&http)
        .store(store)
        .budget(Arc::new(budget))
        .wallet_locks(Arc::new(locks))
        .policy(policy);
    if let Some(f) = forecast {
        builder = builder.forecast(f);
    }
    let helix = builder.build();
    let mut req = MppGet::new(
        a.url.clone(),
        a.rpc.clone(),
        chain_id,
        wallet.address(),
        recipient,
        amount,
        currency,
    );
    // The agent pays the challenge it accepted, checked again against the
    // agreed charge when presented; a renewed one must charge the same.
    req.challenge = Some(chosen.raw);
    let (res, report) = helix
        .run_mut(&mut req, async |r: &MppGet| get_paid(&wallet, r).await)
        .await;
    // A verified gene's push leaves before the process does (bounded).
    if let Some(outbox) = layer.as_ref().and_then(|l| l.outbox())
        && !outbox.flush(std::time::Duration::from_secs(5)).await
    {
        eprintln!(
            "helix: the registry push did not finish in 5 s; it is dropped with this process"
        );
    }
    let charge = Charge {
        recipient: recipient.to_string(),
        amount: amount.to_string(),
        currency: currency.to_string(),
        chain_id,
    };
    let (paid, status, receipt, error) = match res {
        Ok(receipt) => (true, Some(200), Some(receipt), None),
        Err(e) => {
            let status = e.error().signal.http_status;
            let text = match &e {
                HelixError::NotRepaired { recommended, .. } if !recommended.is_empty() => {
                    format!(
                        "{e} (mode {}: rerun with --mode full to let Helix act)",
                        a.mode
                    )
                }
                _ => e.to_string(),
            };
            (false, status, None, Some(text))
        }
    };
    let out = Outcome {
        url: a.url,
        paid,
        status,
        receipt,
        charge,
        immune: report.immune(),
        report,
        error,
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        print_outcome(&out);
    }
    Ok(if out.paid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_outcome(o: &Outcome) {
    let c = &o.charge;
    println!(
        "{}: {} base units of {} to {} on chain {}",
        o.url, c.amount, c.currency, c.recipient, c.chain_id
    );
    if let Some(f) = &o.report.failure {
        let by = o
            .report
            .repaired_by()
            .map_or("not repaired".to_owned(), |s| s.to_string());
        println!(
            "failure {} -> {by}{}",
            f.key(),
            if o.immune { " (immune)" } else { "" }
        );
        for step in &o.report.repairs {
            for tx in &step.tx_hashes {
                println!("  {} tx {tx}", step.strategy);
            }
        }
    }
    match (&o.receipt, &o.error) {
        (Some(r), _) => println!("paid: HTTP {} receipt {r}", o.status.unwrap_or(200)),
        (None, Some(e)) => println!("not paid: {e}"),
        (None, None) => println!("not paid"),
    }
}
