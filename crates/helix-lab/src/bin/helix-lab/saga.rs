//! `helix-lab saga`: runs (or resumes) a saga plan with the coordinator,
//! signing for the payers whose keys it is given. A step's check fails at
//! `--fail-at` (the lab's stand-in for a paid service that failed), so the
//! refund waterfall runs; `--pause-after-refunds` stops it mid-way for a
//! crash test.

use std::path::PathBuf;
use std::process::ExitCode;

use helix_mesh::saga::{Coordinator, Plan, SagaLog, SagaOutcome};
use helix_tempo::{TempoChain, Wallet};

/// What to run.
#[derive(clap::Args)]
pub struct Args {
    /// The coordinator's log.
    #[arg(long)]
    pub pg: String,
    /// The chain's RPC.
    #[arg(long)]
    pub rpc: String,
    /// The plan (helix_mesh::saga::Plan as JSON).
    #[arg(long)]
    pub plan: PathBuf,
    /// A JSON list of the payers' keys (hex), in a file only its owner reads.
    #[arg(long)]
    pub keys: PathBuf,
    /// The TIP-20 fees are paid in.
    #[arg(long)]
    pub fee_token: Option<alloy::primitives::Address>,
    /// This step's check fails (the paid service failed).
    #[arg(long)]
    pub fail_at: Option<usize>,
    /// Stop after this many refunds and wait to be killed (crash tests).
    #[arg(long)]
    pub pause_after_refunds: Option<usize>,
}

pub fn run(a: Args) -> Result<ExitCode, String> {
    let plan: Plan = serde_json::from_str(
        &std::fs::read_to_string(&a.plan).map_err(|e| format!("{}: {e}", a.plan.display()))?,
    )
    .map_err(|e| format!("{}: {e}", a.plan.display()))?;
    let keys: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(&a.keys).map_err(|e| format!("{}: {e}", a.keys.display()))?,
    )
    .map_err(|e| format!("{}: not a list of keys: {e}", a.keys.display()))?;
    let rt = helix_cli::runtime()?;
    rt.block_on(async {
        let mut payers = Vec::new();
        for k in &keys {
            let w = Wallet::from_hex(k).map_err(|e| e.to_string())?;
            payers.push(TempoChain::connect(&a.rpc, &w).map_err(|e| e.to_string())?);
        }
        let log = SagaLog::connect(&a.pg).await?;
        let mut coordinator = Coordinator::new(log, payers, a.fee_token);
        coordinator.pause_after_refunds = a.pause_after_refunds;
        let fail_at = a.fail_at;
        let outcome = coordinator
            .run(&plan, async |i| match fail_at {
                Some(f) if f == i => Err("the paid service answered 503 and did not do its part".into()),
                _ => Ok(()),
            })
            .await
            .map_err(|e| e.to_string())?;
        let hashes = coordinator.log().hashes(&plan.id).await?;
        let json = match outcome {
            SagaOutcome::Completed => serde_json::json!({"saga": plan.id, "outcome": "completed", "transfers": hashes}),
            SagaOutcome::Compensated { failed_step, reason } => serde_json::json!({
                "saga": plan.id, "outcome": "compensated", "failed_step": failed_step, "reason": reason, "transfers": hashes,
            }),
        };
        println!("{json}");
        Ok(ExitCode::SUCCESS)
    })
}
