//! Headless Chromium loads the dashboard, a repair is triggered through the
//! API, and the page shows it live, then its gene. Needs Debian's chromium
//! and playwright-core (scripts/browser.sh installs both; scripts/test.sh
//! runs it and sets HELIX_PLAYWRIGHT).

use std::process::Command;
use std::time::Duration;

use helix_core::Mode;

use crate::common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repair_triggered_through_the_api_appears_on_the_dashboard() {
    let playwright = std::env::var("HELIX_PLAYWRIGHT").expect(
        "HELIX_PLAYWRIGHT (the playwright-core directory): run scripts/test.sh, \
         which installs it and Debian's chromium through scripts/browser.sh",
    );
    let s = start(Mode::Auto).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/dashboard.mjs");
    let shot = format!("{}/dashboard.png", env!("CARGO_TARGET_TMPDIR"));
    let base = s.base.clone();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args([script, &base, TOKEN, &shot])
            .env("HELIX_PLAYWRIGHT", playwright)
            .output()
    });
    let out = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the browser test within 90 s")
        .unwrap()
        .expect("node (Node.js) on PATH");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser test failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("\"ok\":true"), "{stdout}");
    assert_eq!(s.commits.load(std::sync::atomic::Ordering::SeqCst), 1);
}
