//! An MPP server nobody here wrote: pympp (Tempo's Python SDK) behind
//! uvicorn, from the project-local venv that `scripts/tools.sh` installs.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running pympp server; killed on drop.
pub struct Pympp {
    child: Child,
    /// Base URL; the paid route is `/paid`.
    pub url: String,
}

impl Drop for Pympp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's python (`HELIX_PYTHON` overrides).
pub fn python() -> PathBuf {
    std::env::var("HELIX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(".venv/bin/python"))
}

impl Pympp {
    /// Serves `/paid` for `amount` (decimal string) of `currency`, paid to
    /// `recipient` on the chain behind `rpc_url`.
    pub async fn start(
        rpc_url: &str,
        chain_id: u64,
        recipient: &str,
        currency: &str,
        amount: &str,
    ) -> std::io::Result<Pympp> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(python())
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pympp/server.py"))
            .env("RPC_URL", rpc_url)
            .env("CHAIN_ID", chain_id.to_string())
            .env("RECIPIENT", recipient)
            .env("CURRENCY", currency)
            .env("AMOUNT", amount)
            .env("PORT", port.to_string())
            .env("MPP_SECRET_KEY", format!("lab-{:x}", rand::random::<u64>()))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "starting pympp with {} (run scripts/tools.sh): {e}",
                        python().display()
                    ),
                )
            })?;
        let url = format!("http://127.0.0.1:{port}");
        let server = Pympp { child, url };
        let t = Instant::now();
        let http = reqwest::Client::new();
        loop {
            let up = http.get(format!("{}/health", server.url)).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            if t.elapsed() > Duration::from_secs(30) {
                return Err(std::io::Error::other("pympp did not answer within 30 s"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
