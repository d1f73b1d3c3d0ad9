//! `helix mesh serve`: one relay node of the agent mesh (helix-mesh):
//! signed hellos, durable inboxes on NATS JetStream, sessions in Redis.

use std::process::ExitCode;

use helix_mesh::server::router;
use helix_mesh::{Relay, RelayConfig};

/// What `helix mesh serve` was asked for.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:7800")]
    pub listen: std::net::SocketAddr,
    /// This node's name (letters, digits, dashes).
    #[arg(long, default_value = "mesh-1")]
    pub node: String,
    /// NATS with JetStream (default: [events] nats, HELIX_NATS_URL).
    #[arg(long)]
    pub nats: Option<String>,
    /// Redis for sessions (default: [cache] redis, HELIX_REDIS_URL).
    #[arg(long)]
    pub redis: Option<String>,
}

/// Serves, the settings filling what the flags leave out (`[events] nats`,
/// `[cache] redis`).
pub fn run(mut args: Args, settings: &crate::config::Config) -> Result<ExitCode, String> {
    let nats = args
        .nats
        .take()
        .or_else(|| settings.nats().map(str::to_owned))
        .ok_or("no NATS: give --nats, HELIX_NATS_URL or [events] nats")?;
    if args.redis.is_none() {
        args.redis = settings.redis().map(str::to_owned);
    }
    if args.node.is_empty()
        || args.node.len() > 64
        || !args
            .node
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!(
            "--node {:?}: 1 to 64 letters, digits or dashes",
            args.node
        ));
    }
    let token = helix_cli::token_from_env("HELIX_MESH_TOKEN", 16, "metrics token")?;
    let rt = helix_cli::runtime()?;
    rt.block_on(async {
        let relay = Relay::connect(RelayConfig::new(&args.node), &nats, args.redis.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("{}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!(
            "helix mesh: node {} listening on ws://{addr}/v1/connect (sessions in Redis: {})",
            args.node,
            if args.redis.is_some() { "on" } else { "off" }
        );
        axum::serve(listener, router(relay, &token))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| e.to_string())?;
        Ok(ExitCode::SUCCESS)
    })
}
