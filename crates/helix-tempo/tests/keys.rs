//! Keys load from the environment or a private file and never show.

use std::os::unix::fs::PermissionsExt;

use helix_tempo::{KeyError, Wallet};

const KEY: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const HEX: &str = "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";

#[test]
fn a_private_key_file_loads_and_an_open_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.key");
    std::fs::write(&path, format!("{KEY}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let w = Wallet::from_file(&path).unwrap();
    assert_eq!(
        w.address().to_string(),
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Wallet::from_file(&path).unwrap_err();
    assert!(matches!(e, KeyError::TooOpen { mode: 0o644, .. }), "{e}");
    assert!(!e.to_string().contains(HEX));
}

#[test]
fn nothing_shows_the_key() {
    let w = Wallet::from_hex(KEY).unwrap();
    let shown = format!("{w:?}");
    assert!(
        shown.contains("0x90F7") && !shown.to_lowercase().contains(HEX),
        "{shown}"
    );

    // A near-miss key must not be echoed in the error either.
    let bad = format!("{}zz", &KEY[..64]);
    let e = Wallet::from_hex(&bad).unwrap_err().to_string();
    assert!(!e.contains(&bad[2..40]), "{e}");

    let e = Wallet::from_env("HELIX_TEST_NO_SUCH_KEY_VAR").unwrap_err();
    assert!(matches!(e, KeyError::MissingEnv(_)));
}
