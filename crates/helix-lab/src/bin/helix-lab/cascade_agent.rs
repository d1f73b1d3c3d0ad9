//! `helix-lab cascade-agent`: a stand-in agent of scenario 9 (a provider
//! of the render service, or a buyer of jobs), on the mesh and anvil.

use std::path::PathBuf;
use std::process::ExitCode;

use helix_lab::cascade::{Failing, SERVICE, buyer, provider};
use helix_mesh::{Mailbox, MeshClient};
use helix_tempo::{Address, TempoChain, Wallet};

/// What the agent is told.
#[derive(clap::Args)]
pub struct Args {
    /// `provider` or `buyer`.
    #[arg(long)]
    role: String,
    /// Its key (hex, mode 0600).
    #[arg(long)]
    key_file: PathBuf,
    /// The relay (`ws://…/v1/connect`).
    #[arg(long)]
    mesh: String,
    /// The chain.
    #[arg(long)]
    rpc: String,
    /// The TIP-20 services are paid in.
    #[arg(long)]
    token: Address,
    /// The TIP-20 fees are paid in.
    #[arg(long)]
    fee_token: Option<Address>,
    /// Provider: its price (base units).
    #[arg(long, default_value_t = 500_000)]
    price: u128,
    /// Provider: how it fails.
    #[arg(long, value_enum, default_value_t = Failing::Never)]
    failing: Failing,
    /// Buyer: who it buys from.
    #[arg(long)]
    seller: Option<Address>,
    /// Buyer: how many jobs.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

pub fn run(a: Args) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cascade-agent: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(agent(a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cascade-agent: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn agent(a: Args) -> Result<(), String> {
    let wallet = Wallet::from_file(&a.key_file).map_err(|e| e.to_string())?;
    let chain = TempoChain::connect(&a.rpc, &wallet).map_err(|e| e.to_string())?;
    let client = MeshClient::connect(&a.mesh, &wallet.signer())
        .await
        .map_err(|e| e.to_string())?;
    let mail = Mailbox::new(client).map_err(|e| e.to_string())?;
    match a.role.as_str() {
        "provider" => {
            provider(
                mail,
                chain,
                SERVICE.into(),
                a.price,
                a.token,
                a.fee_token,
                a.failing,
            )
            .await
        }
        "buyer" => {
            let seller = a.seller.ok_or("a buyer needs --seller")?;
            buyer(mail, chain, seller, a.jobs, a.fee_token).await
        }
        other => Err(format!("unknown role {other:?} (provider or buyer)")),
    }
}
