//! What the `helix` commands share, and what the lab's `helix-lab` binary
//! reuses: settings, the Gene Map a command opens, and where its events go.

pub mod config;
pub mod network;
pub mod sinks;
pub mod store;

use std::path::PathBuf;
use std::process::ExitCode;

/// The options every command of both binaries takes.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// Settings file (default ./helix.toml; absent is fine). The
    /// environment overrides it; --db overrides both.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

/// What both binaries do first: logs to stderr (`HELIX_LOG`, any `tracing`
/// filter; `warn` by default), then the settings from `--config` (default
/// ./helix.toml, absent is fine) and the environment. A bad settings file
/// ends the program with exit code 2, named by `program`.
pub fn start(program: &str, config: Option<PathBuf>) -> Result<config::Config, ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HELIX_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let named = config.is_some();
    let path = config.unwrap_or_else(|| PathBuf::from("helix.toml"));
    config::Config::load(&path, named).map_err(|e| {
        eprintln!("{program}: {e}");
        ExitCode::from(2)
    })
}

/// A command's result as the program's exit: its own code, or 2 with the
/// error on stderr.
pub fn finish(program: &str, result: Result<ExitCode, String>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("{program}: {e}");
        ExitCode::from(2)
    })
}

/// A server's secret from the environment variable `var`: refused when
/// shorter than `min`; when unset, a random one for this run, printed once
/// on stderr (`what` says what it guards).
pub fn token_from_env(var: &str, min: usize, what: &str) -> Result<String, String> {
    match std::env::var(var) {
        Ok(t) if t.len() >= min => Ok(t),
        Ok(_) => Err(format!("{var} must be at least {min} characters")),
        Err(_) => {
            let t = format!("{:032x}", rand::random::<u128>());
            eprintln!("helix: {var} is not set; this run's {what} is {t}");
            Ok(t)
        }
    }
}

/// The runtime every command runs its async work on: two workers (the
/// machines this targets have two cores), timers and I/O.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Whether `headers` carry `Authorization: Bearer <token>`, compared in
/// time that does not depend on where they differ.
pub fn bearer_matches(headers: &axum::http::HeaderMap, token: &str) -> bool {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|p| {
            p.len() == token.len()
                && p.iter()
                    .zip(token.as_bytes())
                    .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                    == 0
        })
}
