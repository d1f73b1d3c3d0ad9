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
    }
    println!(
        "{:<34} {:<26} {:>5} {:>4} {:>4} {:>8} {:<7} platforms",
        "failure", "strategy", "q", "ok", "fail", "mean_ms", "source"
    );
    for g in &genes {
        let platforms: Vec<&str> = g.platforms.iter().map(|p| p.as_str()).collect();
        println!(
            "{:<34} {:<26} {:>5.3} {:>4} {:>4} {:>8.1} {:<7} {}",
            g.key.to_string(),
            g.strategy.as_str(),
            g.q,
            g.successes,
            g.failures,
            g.mean_ms,
            g.source.as_str(),
            platforms.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}
