//! A real Tempo chain for the lab: anvil in tempo mode on a free port.
//!
//! The binary comes from `scripts/tools.sh` (npm, into `.tools/`); its path
//! is `HELIX_ANVIL`, else the project's `.tools`, else `anvil` on PATH.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use helix_tempo::{SendOpts, TempoChain, Wallet};

/// Anvil's first dev account key (public test key, holds every TIP-20).
pub const DEV_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// Anvil's second dev account key (the lab's liquidity provider).
pub const DEV_KEY_1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// A running anvil; killed on drop.
pub struct Anvil {
    child: Option<Child>,
    /// JSON-RPC endpoint.
    pub url: String,
    /// Chain id it serves.
    pub chain_id: u64,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Reads anvil's output until it says where it listens, then drains the
/// rest on a thread of its own (anvil logs each call; a full pipe would
/// stall it).
async fn listening_on(out: std::process::ChildStdout) -> std::io::Result<String> {
    use std::io::BufRead;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.trim().strip_prefix("Listening on ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    match tokio::time::timeout(Duration::from_secs(15), rx).await {
        Ok(Ok(addr)) => Ok(addr),
        Ok(Err(_)) => Err(std::io::Error::other(
            "anvil exited before it said where it listens",
        )),
        Err(_) => Err(std::io::Error::other(
            "anvil did not say where it listens within 15 s",
        )),
    }
}

/// Where the anvil binary is.
pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("HELIX_ANVIL") {
        return PathBuf::from(p);
    }
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if tools.exists() {
        return tools;
    }
    PathBuf::from("anvil")
}

impl Anvil {
    /// Starts `anvil --network tempo` (chain id 31337 unless given) and waits
    /// until it answers.
    pub async fn start(chain_id: Option<u64>) -> std::io::Result<Anvil> {
        // Port 0: anvil binds a free port itself and says which. A port
        // picked here and handed over could be taken first by another
        // test's anvil, which would then answer this one's probe.
        let mut cmd = Command::new(binary());
        cmd.args(["--network", "tempo", "--host", "127.0.0.1", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(id) = chain_id {
            cmd.args(["--chain-id", &id.to_string()]);
        }
        let mut child = cmd.spawn().map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "starting {} (run scripts/tools.sh): {e}",
                    binary().display()
                ),
            )
        })?;
        // Owned by an `Anvil` before anything can fail, so that its drop
        // kills the process on every error below.
        let out = child.stdout.take();
        let mut anvil = Anvil {
            child: Some(child),
            url: String::new(),
            chain_id: chain_id.unwrap_or(31337),
        };
        let addr = match out {
            Some(out) => listening_on(out).await?,
            None => return Err(std::io::Error::other("anvil's output was not piped")),
        };
        anvil.url = format!("http://{addr}");
        let probe =
            TempoChain::connect(&anvil.url, &Wallet::random()).map_err(std::io::Error::other)?;
        let t = Instant::now();
        loop {
            match probe.chain_id().await {
                Ok(id) if id == anvil.chain_id => return Ok(anvil),
                _ if t.elapsed() > Duration::from_secs(15) => {
                    return Err(std::io::Error::other("anvil did not answer within 15 s"));
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// One another process started (its lifetime is that process's).
    pub fn attach(url: &str, chain_id: u64) -> Anvil {
        Anvil {
            child: None,
            url: url.to_owned(),
            chain_id,
        }
    }

    /// A client for a key.
    pub fn client(&self, key: &str) -> Result<TempoChain, helix_tempo::ChainError> {
        TempoChain::connect(&self.url, &Wallet::from_hex(key)?)
    }
}

/// Opens StablecoinDEX books for `tokens` against their quote token at par
/// (tick 0), bids and asks of `depth` each, from dev account 1.
pub async fn provide_liquidity(
    anvil: &Anvil,
    tokens: &[alloy_address::Address],
    depth: u128,
) -> Result<(), helix_tempo::ChainError> {
    use tempo_dex::*;
    let lp = anvil.client(DEV_KEY_1)?;
    let o = SendOpts::default();
    for t in std::iter::once(&PATH_USD).chain(tokens) {
        lp.approve(*t, DEX, u128::MAX, o).await?;
    }
    for t in tokens {
        lp.create_pair(*t, o).await?;
        lp.place(*t, depth, true, 0, o).await?;
        lp.place(*t, depth, false, 0, o).await?;
    }
    Ok(())
}

/// Re-exports for lab set-up without naming alloy in callers.
pub mod alloy_address {
    pub use helix_tempo::Address;
}

mod tempo_dex {
    use helix_tempo::Address;
    /// pathUSD.
    pub const PATH_USD: Address = Address::new([
        0x20, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    /// The StablecoinDEX.
    pub const DEX: Address = Address::new([
        0xde, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
}
