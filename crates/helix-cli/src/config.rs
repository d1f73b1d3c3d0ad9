//! Configuration: a TOML file (default `./helix.toml`, absent is fine) and
//! environment variables for every URL, the environment winning. `helix
//! config check` prints each setting (passwords hidden) and whether it is
//! reachable.
//!
//! ```toml
//! [gene_map]
//! url = "postgres://helix@db:5432/helix"   # or a SQLite path
//! local = "./helix-local.db"               # used while PostgreSQL is down
//! [cache]
//! redis = "redis://127.0.0.1:6379"
//! [events]
//! nats = "nats://127.0.0.1:4222"
//! [chain]
//! rpc = "http://127.0.0.1:8545"
//! [registry]                               # env: HELIX_REGISTRY_URL
//! url = "http://127.0.0.1:7700"            # pull on a local miss, push verified genes
//! chain_id = 42431                         # the chain the agent's evidence is on
//! pull_timeout_ms = 250                    # longest a miss waits for the registry
//! subscribe = ["payment-insufficient/balance"]  # follow these keys on [events] nats
//! channel = "main"                         # the registry's broadcast channel there
//! anchored_only = true                     # keep only genes anchored on chain by
//! anchor = "0x..."                         # this GeneAnchor's
//! anchorer = "0x..."                       # trusted anchorer
//! [mesh]                                   # the dashboard's mesh view
//! nodes = ["http://127.0.0.1:7800"]        # relay nodes, read with HELIX_MESH_TOKEN
//!                                          # (env: HELIX_MESH_NODES, comma-separated)
//! saga_log = "postgres://helix@db/helix"   # the saga coordinators' log (HELIX_SAGA_LOG)
//! [ode]                                    # the dashboard's objectives view
//! url = "http://127.0.0.1:7900"            # helix ode serve, read with HELIX_ODE_TOKEN
//!                                          # (env: HELIX_ODE_URL)
//! [llm]                                    # env: ANTHROPIC_API_KEY, OPENAI_API_KEY,
//! anthropic_model = "claude-haiku-4-5"     # ANTHROPIC_BASE_URL, OPENAI_BASE_URL,
//! openai_model = "gpt-4o-mini"             # HELIX_ANTHROPIC_MODEL, HELIX_OPENAI_MODEL,
//! timeout_ms = 10000                       # HELIX_LLM_TIMEOUT_MS
//! # anthropic_api_key / openai_api_key may be set here too; keep the file 0600
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde::Deserialize;

/// The settings, as read.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    gene_map: GeneMap,
    #[serde(default)]
    cache: Cache,
    #[serde(default)]
    events: Events,
    #[serde(default)]
    chain: Chain,
    #[serde(default)]
    llm: Llm,
    #[serde(default)]
    registry: Registry,
    #[serde(default)]
    mesh: Mesh,
    #[serde(default)]
    ode: Ode,
}

/// `[registry]`: the gene registry the agent pulls from and pushes to.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Base URL of `helix registry serve`.
    pub url: Option<String>,
    /// Chain id of the agent's transactions (the evidence of its pushes).
    pub chain_id: Option<u64>,
    /// Longest a local miss waits for a pull, ms.
    pub pull_timeout_ms: Option<u64>,
    /// Gene keys (`code/category`) to follow on the broadcast.
    #[serde(default)]
    pub subscribe: Vec<String>,
    /// The registry's broadcast channel on NATS (default "main").
    pub channel: Option<String>,
    /// Keep a registry gene only when `anchorer` anchored exactly its
    /// content in the GeneAnchor at `anchor` (read on `[chain] rpc`).
    #[serde(default)]
    pub anchored_only: bool,
    /// The GeneAnchor contract.
    pub anchor: Option<alloy::primitives::Address>,
    /// The registry's anchoring address.
    pub anchorer: Option<alloy::primitives::Address>,
}

/// `[mesh]`: what `helix serve`'s dashboard shows of the agent mesh.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mesh {
    /// Relay nodes (`helix mesh serve`) whose connected agents are shown,
    /// read with HELIX_MESH_TOKEN.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// The saga coordinators' PostgreSQL log.
    pub saga_log: Option<String>,
}

/// `[ode]`: the intent server whose objectives the dashboard shows.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ode {
    /// Base URL of `helix ode serve`, read with HELIX_ODE_TOKEN.
    pub url: Option<String>,
}

#[derive(Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Llm {
    anthropic_api_key: Option<String>,
    anthropic_url: Option<String>,
    anthropic_model: Option<String>,
    openai_api_key: Option<String>,
    openai_url: Option<String>,
    openai_model: Option<String>,
    timeout_ms: Option<u64>,
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llm")
            .field("anthropic_model", &self.anthropic_model)
            .field("openai_model", &self.openai_model)
            .finish_non_exhaustive()
    }
}

impl Llm {
    /// The file's value for an environment variable's name.
    fn get(&self, env: &str) -> Option<String> {
        match env {
            "ANTHROPIC_API_KEY" => self.anthropic_api_key.clone(),
            "ANTHROPIC_BASE_URL" => self.anthropic_url.clone(),
            "HELIX_ANTHROPIC_MODEL" => self.anthropic_model.clone(),
            "OPENAI_API_KEY" => self.openai_api_key.clone(),
            "OPENAI_BASE_URL" => self.openai_url.clone(),
            "HELIX_OPENAI_MODEL" => self.openai_model.clone(),
            "HELIX_LLM_TIMEOUT_MS" => self.timeout_ms.map(|t| t.to_string()),
            _ => None,
        }
    }
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct GeneMap {
    url: Option<String>,
    local: Option<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Cache {
    redis: Option<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Events {
    nats: Option<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Chain {
    rpc: Option<String>,
}

impl Config {
    /// Reads `path` (a missing default file is an empty config; a missing
    /// named file or bad TOML is an error), then applies the environment.
    pub fn load(path: &Path, named: bool) -> Result<Config, String> {
        let mut c = match std::fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str::<Config>(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => Config::default(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("HELIX_DB") {
            c.gene_map.url = Some(v);
        }
        if let Some(v) = env("HELIX_LOCAL_DB") {
            c.gene_map.local = Some(v);
        }
        if let Some(v) = env("HELIX_REDIS_URL") {
            c.cache.redis = Some(v);
        }
        if let Some(v) = env("HELIX_NATS_URL") {
            c.events.nats = Some(v);
        }
        if let Some(v) = env("HELIX_RPC_URL") {
            c.chain.rpc = Some(v);
        }
        if let Some(v) = env("HELIX_REGISTRY_URL") {
            c.registry.url = Some(v);
        }
        if let Some(v) = env("HELIX_MESH_NODES") {
            c.mesh.nodes = v.split(',').map(|n| n.trim().to_owned()).collect();
        }
        if let Some(v) = env("HELIX_SAGA_LOG") {
            c.mesh.saga_log = Some(v);
        }
        if let Some(v) = env("HELIX_ODE_URL") {
            c.ode.url = Some(v);
        }
        if c.registry.anchored_only
            && (c.registry.anchor.is_none()
                || c.registry.anchorer.is_none()
                || c.chain.rpc.is_none())
        {
            return Err(format!(
                "{}: [registry] anchored_only needs anchor, anchorer and [chain] rpc",
                path.display()
            ));
        }
        if let Some(ch) = &c.registry.channel {
            helix_registry::broadcast::check_channel(ch)
                .map_err(|e| format!("{}: [registry] {e}", path.display()))?;
        }
        for k in &c.registry.subscribe {
            parse_key(k).map_err(|e| format!("{}: [registry] subscribe: {e}", path.display()))?;
        }
        Ok(c)
    }
}

impl Config {
    /// The Gene Map: `--db`, else the settings (file or `HELIX_DB`), else
    /// `./helix-genes.db`.
    pub fn db(&self, flag: Option<String>) -> String {
        flag.or_else(|| self.gene_map.url.clone())
            .unwrap_or_else(|| "./helix-genes.db".into())
    }

    /// The local fallback for a PostgreSQL Gene Map.
    pub fn local(&self) -> Option<&str> {
        self.gene_map.local.as_deref()
    }

    /// The Redis cache.
    pub fn redis(&self) -> Option<&str> {
        self.cache.redis.as_deref()
    }

    /// The NATS server events are published to.
    pub fn nats(&self) -> Option<&str> {
        self.events.nats.as_deref()
    }

    /// The chain's JSON-RPC endpoint.
    pub fn rpc(&self) -> Option<&str> {
        self.chain.rpc.as_deref()
    }

    /// The registry's broadcast channel: `[registry] channel`, else "main".
    pub fn channel(&self) -> &str {
        self.registry
            .channel
            .as_deref()
            .unwrap_or(helix_registry::broadcast::DEFAULT_CHANNEL)
    }

    /// `[registry]`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// `[mesh]`.
    pub fn mesh(&self) -> &Mesh {
        &self.mesh
    }

    /// `[ode]`.
    pub fn ode(&self) -> &Ode {
        &self.ode
    }

    /// The LLM fallback: the environment, else `[llm]`.
    pub fn llm(&self) -> helix_llm::LlmConfig {
        helix_llm::LlmConfig::from_lookup(|k| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| self.llm.get(k))
        })
    }
}

/// What one check found.
#[derive(Debug, serde::Serialize)]
struct Check {
    setting: &'static str,
    value: String,
    ok: bool,
    detail: String,
}

async fn nats_info(url: &str) -> Result<String, String> {
    use tokio::io::AsyncBufReadExt;
    let hostport = url
        .strip_prefix("nats://")
        .unwrap_or(url)
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    let conn = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(&hostport),
    )
    .await
    .map_err(|_| "no answer in 2 s".to_string())?
    .map_err(|e| e.to_string())?;
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(2),
        tokio::io::BufReader::new(conn).read_line(&mut line),
    )
    .await
    .map_err(|_| "no INFO in 2 s".to_string())?
    .map_err(|e| e.to_string())?;
    if !line.starts_with("INFO ") {
        return Err(format!("not a NATS server (said {:.40})", line.trim()));
    }
    let jetstream = line.contains("\"jetstream\":true");
    Ok(format!(
        "NATS answered{}",
        if jetstream {
            " (JetStream on)"
        } else {
            " (JetStream off)"
        }
    ))
}

/// A gene key written `code/category`.
pub fn parse_key(s: &str) -> Result<helix_core::GeneKey, String> {
    let (code, category) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not code/category"))?;
    Ok(helix_core::GeneKey {
        code: code.parse().map_err(|e| format!("{e}"))?,
        category: category.parse().map_err(|e| format!("{e}"))?,
    })
}

/// `GET url/path`, which must answer with success.
async fn answered(
    http: &reqwest::Client,
    url: &str,
    path: &str,
) -> Result<reqwest::Response, String> {
    let at = format!("{}{path}", url.trim_end_matches('/'));
    let r = http.get(&at).send().await.map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("{at} answered {}", r.status()));
    }
    Ok(r)
}

async fn registry_health(
    http: &reqwest::Client,
    url: &str,
    channel: Option<&str>,
) -> Result<String, String> {
    let r = answered(http, url, "/v1/stats").await?;
    let v: serde_json::Value = r.json().await.map_err(|e| format!("not a registry: {e}"))?;
    // A subscriber on another channel would wait for genes forever.
    if let (Some(theirs), Some(channel)) = (v["channel"].as_str(), channel)
        && theirs != channel
    {
        return Err(format!(
            "the registry broadcasts on channel {theirs:?}, [registry] channel is {channel:?}"
        ));
    }
    Ok(format!(
        "registry answered: {} genes, threshold {}",
        v["genes"], v["threshold"]
    ))
}

/// A joined service for the dashboard: it answers `/health`, and the token
/// it needs is in `var`.
async fn service_health(http: &reqwest::Client, url: &str, var: &str) -> Result<String, String> {
    answered(http, url, "/health").await?;
    if std::env::var(var).map_or(true, |t| t.is_empty()) {
        return Err(format!(
            "answered, but {var} is not set: helix serve needs it"
        ));
    }
    Ok(format!("answered; {var} set"))
}

async fn check(c: &Config) -> Vec<Check> {
    let mut out = Vec::new();
    let db = c
        .gene_map
        .url
        .clone()
        .unwrap_or_else(|| "./helix-genes.db".into());
    let shown = helix_genemap::redact_url(&db);
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        let r = helix_genemap::ping_postgres(&db).await;
        out.push(Check {
            setting: "gene_map.url",
            ok: r.is_ok(),
            detail: r.map_or_else(|e| e.to_string(), |_| "PostgreSQL answered".into()),
            value: shown,
        });
    } else {
        let path = db.strip_prefix("sqlite://").unwrap_or(&db);
        let dir = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let ok = dir.is_dir();
        out.push(Check {
            setting: "gene_map.url",
            ok,
            detail: if ok {
                format!("SQLite file in {}", dir.display())
            } else {
                format!("directory {} does not exist", dir.display())
            },
            value: shown,
        });
    }
    if let Some(r) = &c.cache.redis {
        let p = helix_genemap::ping_redis(r).await;
        out.push(Check {
            setting: "cache.redis",
            value: helix_genemap::redact_url(r),
            ok: p.is_ok(),
            detail: p.map_or_else(|e| e, |_| "Redis answered PING".into()),
        });
    }
    if let Some(n) = &c.events.nats {
        let p = nats_info(n).await;
        out.push(Check {
            setting: "events.nats",
            value: helix_genemap::redact_url(n),
            ok: p.is_ok(),
            detail: p.unwrap_or_else(|e| e),
        });
    }
    if let Some(rpc) = &c.chain.rpc {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        let p = helix_http::rpc::chain_id(&http, rpc).await;
        out.push(Check {
            setting: "chain.rpc",
            value: helix_genemap::redact_url(rpc),
            ok: p.is_ok(),
            detail: p.map_or_else(|e| e.to_string(), |id| format!("chain id {id}")),
        });
    }
    if let Some(url) = &c.registry.url {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        let p = registry_health(&http, url, c.events.nats.as_ref().map(|_| c.channel())).await;
        out.push(Check {
            setting: "registry.url",
            value: helix_genemap::redact_url(url),
            ok: p.is_ok(),
            detail: p.unwrap_or_else(|e| e),
        });
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap_or_default();
    let joined = c
        .mesh
        .nodes
        .iter()
        .map(|u| ("mesh.nodes", u, "HELIX_MESH_TOKEN"))
        .chain(c.ode.url.iter().map(|u| ("ode.url", u, "HELIX_ODE_TOKEN")));
    for (setting, url, var) in joined {
        let p = service_health(&http, url, var).await;
        out.push(Check {
            setting,
            value: helix_genemap::redact_url(url),
            ok: p.is_ok(),
            detail: p.unwrap_or_else(|e| e),
        });
    }
    if let Some(log) = &c.mesh.saga_log {
        let r = helix_genemap::ping_postgres(log).await;
        out.push(Check {
            setting: "mesh.saga_log",
            ok: r.is_ok(),
            detail: r.map_or_else(|e| e.to_string(), |_| "PostgreSQL answered".into()),
            value: helix_genemap::redact_url(log),
        });
    }
    let llm = c.llm();
    for (setting, api, p) in [
        ("llm.anthropic", helix_llm::Api::Anthropic, &llm.anthropic),
        ("llm.openai", helix_llm::Api::OpenAi, &llm.openai),
    ] {
        if let Some(p) = p {
            let r = helix_llm::check(api, p, Duration::from_secs(5)).await;
            out.push(Check {
                setting,
                value: format!("{} at {}", p.model, helix_genemap::redact_url(&p.base_url)),
                ok: r.is_ok(),
                detail: r.unwrap_or_else(|e| e),
            });
        }
    }
    out
}

/// `helix config check`: exit 0 when everything configured is reachable.
pub fn run_check(path: &Path, named: bool, json: bool) -> Result<ExitCode, String> {
    let c = Config::load(path, named)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let checks = rt.block_on(check(&c));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&checks).map_err(|e| e.to_string())?
        );
    } else {
        for ch in &checks {
            println!(
                "{} {:<13} {:<40} {}",
                if ch.ok { "ok  " } else { "FAIL" },
                ch.setting,
                ch.value,
                ch.detail
            );
        }
    }
    Ok(if checks.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
