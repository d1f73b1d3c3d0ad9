use std::path::Path;
use std::process::ExitCode;

use helix_genemap::SqliteGeneStore;

pub fn run(db: &Path, json: bool) -> Result<ExitCode, String> {
    if !db.exists() {
        return Err(format!(
            "no Gene Map at {} (run `helix demo --db {}` first)",
            db.display(),
            db.display()
        ));
    }
    let store = SqliteGeneStore::open(db).map_err(|e| e.to_string())?;
    let (genes, bad) = store.scan().map_err(|e| e.to_string())?;
    for e in &bad {
        eprintln!("helix: skipped: {e}");
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&genes).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if genes.is_empty() {
        println!("{}: no genes yet", db.display());
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
