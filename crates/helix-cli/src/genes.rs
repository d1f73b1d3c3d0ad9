use std::process::ExitCode;

use crate::store::Store;

pub fn run(db: &str, settings: &crate::config::Config, json: bool) -> Result<ExitCode, String> {
    let is_url = db.contains("://") && !db.starts_with("sqlite://");
    let path = db.strip_prefix("sqlite://").unwrap_or(db);
    if !is_url && !std::path::Path::new(path).exists() {
        return Err(format!(
            "no Gene Map at {path} (run `helix-lab demo --db {db}` first)"
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let genes = rt.block_on(async {
        match Store::open(db, settings).await? {
            Store::Sqlite(s) => {
                let (genes, bad) = s.scan().map_err(|e| e.to_string())?;
                for e in &bad {
                    eprintln!("helix: skipped: {e}");
                }
                Ok::<_, String>(genes)
            }
            other => other
                .shared(db, settings)
                .await
                .list()
                .await
                .map_err(|e| e.to_string()),
        }
    })?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&genes).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if genes.is_empty() {
        println!("{db}: no genes yet");
        return Ok(ExitCode::SUCCESS);
    }
    let mut genes = genes;
    // Most recently used first: what is healing now.
    genes.sort_by_key(|g| std::cmp::Reverse(g.last_used_at));
    let now = helix_core::gene::now_ms();
    println!(
        "{:<34} {:<24} {:>5} {:>4} {:>4} {:>9} {:>9} {:<8} {:<8} {:<23} platforms",
        "failure", "strategy", "q", "ok", "fail", "mean", "cost", "source", "status", "last used"
    );
    for g in &genes {
        let platforms: Vec<&str> = g.platforms.iter().map(|p| p.as_str()).collect();
        let status = if g.is_live(now) {
            "live"
        } else if g.expires_at.is_some_and(|t| t <= now) {
            "expired"
        } else {
            "demoted"
        };
        println!(
            "{:<34} {:<24} {:>5.3} {:>4} {:>4} {:>9} {:>9} {:<8} {:<8} {:<23} {}",
            g.key.to_string(),
            g.strategy.as_str(),
            g.q,
            g.successes,
            g.failures,
            format!("{:.0} ms", g.mean_ms),
            format!("${:.2}", g.mean_cost / 1e6),
            g.source.as_str(),
            status,
            crate::timeline::local(g.last_used_at),
            platforms.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}
