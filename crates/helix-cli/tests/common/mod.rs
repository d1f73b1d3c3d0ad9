//! What the registry and trust tests share: running `helix`, and an
//! agent's key in a file only its owner can read.

use std::path::Path;
use std::process::Command;

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
