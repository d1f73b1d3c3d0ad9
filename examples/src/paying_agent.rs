//! A small agent that pays for an API through Helix.
//!
//! The agent buys a 0.50 AlphaUSD resource over MPP (HTTP 402) but holds only
//! BetaUSD. Helix perceives "payment-insufficient / balance", swaps BetaUSD
//! for AlphaUSD with a min-out bound, retries, and stores the gene; the
//! second purchase is repaired at once from the gene (immunity).
//!
//! The network here is the Helix lab (a local stand-in for the chain and the
//! paid API), so the example runs offline:
//!
//! ```text
//! cargo run -p helix-examples --bin paying-agent
//! ```

use std::sync::Arc;

use helix_core::{Helix, Mode};
use helix_genemap::SqliteGeneStore;
use helix_lab::Lab;
use helix_lab::agent::{MppPayment, pay_mpp};
use helix_lab::scenarios::MAIN_CHAIN;
use helix_lab::services::Resource;
use helix_lab::tokens::{AGENT, ALPHA, BETA, MERCHANT, UNIT};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lab = Lab::start().await?;
    lab.state().resources.insert(
        "weather".into(),
        Resource {
            price: UNIT / 2,
            currencies: vec![ALPHA.into()],
            recipient: MERCHANT.into(),
            chain_id: MAIN_CHAIN,
            ttl_secs: 300,
            fail_after_payment_once: false,
            fail_without_receipt_once: false,
        },
    );

    let dir = tempfile::tempdir()?;
    let genes = Arc::new(SqliteGeneStore::open(dir.path().join("genes.db"))?);
    let helix = Helix::builder()
        .adapter(helix_platforms::builtin())
        .probes(lab.probes())
        .strategies(lab.strategies())
        .store(genes)
        .mode(Mode::Full) // swaps move funds: only in full mode
        .build();

    for purchase in 1..=2 {
        if let Some(chain) = lab.state().chains.get_mut(&MAIN_CHAIN) {
            chain.set_balance(ALPHA, AGENT, 0);
            chain.set_balance(BETA, AGENT, 10 * UNIT);
        }
        let mut pay = MppPayment {
            resource: lab.url("/mpp/weather"),
            rpc: lab.rpc(MAIN_CHAIN),
            payer: AGENT.into(),
            recipient: MERCHANT.into(),
            amount: UNIT / 2,
            currency: ALPHA.into(),
            fee_token: ALPHA.into(),
            chain_id: MAIN_CHAIN,
            nonce: None,
            challenge: None,
            receipt: None,
            idempotency_key: format!("weather-{purchase}"),
        };
        let http = lab.http.clone();
        let (result, report) = helix
            .run_mut(&mut pay, async |p: &MppPayment| pay_mpp(&http, p).await)
            .await;
        let paid = result?;
        println!(
            "purchase {purchase}: {} | repaired by {:?} | immune: {} | receipt: {}",
            paid.body["data"],
            report.repaired_by().map(|s| s.as_str()),
            report.immune(),
            paid.receipt
                .as_deref()
                .map_or("-", |r| &r[..16.min(r.len())]),
        );
    }
    Ok(())
}
