//! The committed artifacts in `abi/` (what the Rust bindings are generated
//! from) are what the sources in `contracts/` compile to today: a fresh
//! `forge build` into a temporary directory, compared ABI and bytecode.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

#[test]
fn committed_artifacts_match_a_fresh_build_of_the_sources() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let forge = root.join(".tools/node_modules/@foundry-rs/forge-linux-amd64/bin/forge");
    assert!(
        forge.exists(),
        "forge is not installed (run scripts/tools.sh)"
    );
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(&forge)
        .args(["build", "--out"])
        .arg(out.path())
        .args(["--cache-path"])
        .arg(out.path().join("cache"))
        .current_dir(root.join("contracts"))
        .status()
        .unwrap();
    assert!(status.success(), "forge build failed");
    for name in ["GeneAnchor", "GeneStaking", "Governance", "HelixToken"] {
        let fresh: Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join(format!("{name}.sol/{name}.json"))).unwrap(),
        )
        .unwrap();
        let committed: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("crates/helix-registry/abi/{name}.json")))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            fresh["abi"], committed["abi"],
            "{name}: ABI differs; regenerate abi/ from contracts/"
        );
        assert_eq!(
            fresh["bytecode"]["object"], committed["bytecode"]["object"],
            "{name}: bytecode differs; regenerate abi/ from contracts/"
        );
    }
    assert!(!helix_registry::contracts::GeneAnchor::BYTECODE.is_empty());
}
