//! What the tests share: running `helix` (once, or as a server), and an
//! agent's key in a file only its owner can read.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Runs `cmd`, which must succeed (its output is shown when it does not).
pub fn ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed\nstdout: {}\nstderr: {:.4000}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `helix args`: exit code, stdout, stderr.
pub fn helix(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `w`'s key (hex) to `dir/name`, mode 0600; returns the path.
pub fn key_file(dir: &Path, name: &str, w: &helix_tempo::Wallet) -> String {
    let path = dir.join(name);
    std::fs::write(&path, alloy::hex::encode(w.signer().to_bytes())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.display().to_string()
}

/// A server process, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and reads its output (stdout, or stderr) until `marker`;
/// the URL that follows it is returned with the running server.
pub fn start(mut cmd: Command, marker: &str, on_stderr: bool) -> (Server, String) {
    if on_stderr {
        cmd.stderr(Stdio::piped());
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    }
    let mut child = cmd.spawn().unwrap();
    let out: Box<dyn std::io::Read + Send> = if on_stderr {
        Box::new(child.stderr.take().unwrap())
    } else {
        Box::new(child.stdout.take().unwrap())
    };
    let mut lines = BufReader::new(out).lines();
    let base = loop {
        let line = lines.next().expect("the server exited").unwrap();
        if let Some(rest) = line.split(marker).nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Server(child), base)
}

/// The API token the tests give `helix serve`.
pub const SERVE_TOKEN: &str = "serve-token-0123456789abcdef";

/// `helix serve` on a free port with the settings in `toml` and the Gene
/// Map `db` (not started: add what the test needs, then [`start`]).
pub fn serve_cmd(toml: &Path, db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helix"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(toml)
        .arg("--db")
        .arg(db)
        .env("HELIX_API_TOKEN", SERVE_TOKEN);
    cmd
}

/// `GET url` with a bearer token, read as JSON.
pub async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> serde_json::Value {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
