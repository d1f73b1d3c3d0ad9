//! # helix-lab
//!
//! The scenario lab: local services that answer exactly as the platforms
//! do, with fault injection, for the demo, the tests and the benchmarks.
//! Never used by production code.
//!
//! What is real and what is a stand-in:
//! - real: HTTP on loopback, the MPP 402 wire format (`WWW-Authenticate:
//!   Payment`, problem+json), Ethereum JSON-RPC, Privy's and Stripe's error
//!   shapes, Retry-After, timeouts; every repair acts through these.
//! - stand-in: the chain ([`chain`]) is an in-process TIP-20 ledger with a
//!   node's error codes and selectors, not Tempo; Privy and Stripe are local
//!   services (they cannot be reached offline); the swap executors
//!   ([`executors`]) act on the lab pools, not the StablecoinDEX.

#![warn(missing_docs)]

pub mod agent;
pub mod anvil;
pub mod bounded;
pub mod cascade;
pub mod chain;
pub mod contracts;
pub mod drop_proxy;
pub mod executors;
pub mod issuer;
pub mod llm;
pub mod maker;
pub mod mpp_server;
pub mod objective;
pub mod onchain;
pub mod pympp;
pub mod registry;
pub mod runner;
pub mod scenarios;
pub mod services;
pub mod tcp_gate;
pub mod temporal;
pub mod tokens;
pub mod tuning;

use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use helix_core::{Executor, Probe, StrategyId};
use helix_platforms::http::executors::{Backoff, BackoffRetry, ExtendDeadline};
use helix_platforms::kit;
use helix_platforms::stripe::StripeApi;
use helix_platforms::tempo::{BalanceProbe, SentTxProbe};

use crate::chain::Chain;
use crate::scenarios::{MAIN_CHAIN, OTHER_CHAIN};
use crate::services::{LabState, Shared, lock, router};
use crate::tokens::{ALPHA, BETA, FEE, PATH_USD, THETA};

/// A running lab on a loopback port; stops when dropped.
pub struct Lab {
    base: String,
    state: Shared,
    /// The client agents and executors use.
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Lab {
    /// Starts the lab on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Lab> {
        let mut st = LabState::default();
        st.chains.insert(MAIN_CHAIN, Chain::new(MAIN_CHAIN, true));
        st.chains
            .insert(OTHER_CHAIN, Chain::new(OTHER_CHAIN, false));
        let state: Shared = Arc::new(std::sync::Mutex::new(st));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(target: "helix_lab", %e, "lab server stopped");
            }
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Lab {
            base,
            state,
            http,
            server,
        })
    }

    /// `http://127.0.0.1:port`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A URL on the lab.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// JSON-RPC endpoint of a lab chain.
    pub fn rpc(&self, chain: u64) -> String {
        self.url(&format!("/chain/{chain}/rpc"))
    }

    /// The lab's state (set-up and ground truth).
    pub fn state(&self) -> MutexGuard<'_, LabState> {
        lock(&self.state)
    }

    /// Every executor, configured for the lab's endpoints.
    pub fn strategies(&self) -> Vec<Arc<dyn Executor>> {
        let http = self.http.clone();
        let main = self.rpc(MAIN_CHAIN);
        let coins: Vec<String> = [ALPHA, BETA, THETA, PATH_USD]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let alternatives = kit::Alternatives {
            offramps: vec![
                self.url("/offramp/alpha/payout"),
                self.url("/offramp/beta/payout"),
            ],
            payment_methods: vec!["pm_card_visa".into(), "pm_card_mastercard".into()],
            ..Default::default()
        };
        // Short waits: the bench runs thousands of payments.
        let timing = kit::Timing {
            backoff: Backoff {
                default_wait: Duration::from_millis(250),
                max_wait: Duration::from_secs(30),
            },
            backoff_retry: BackoffRetry {
                base: Duration::from_millis(50),
                cap: Duration::from_secs(1),
            },
            deadline: ExtendDeadline {
                factor: 3,
                max: Duration::from_secs(10),
                assumed: Duration::from_secs(5),
            },
        };
        let mut all = kit::generic(&alternatives, &timing);
        all.extend(kit::mpp(&http));
        all.extend(kit::tempo_reads(
            &http,
            &main,
            &[self.rpc(OTHER_CHAIN)],
            coins.clone(),
            10 * FEE,
        ));
        all.extend(kit::stripe(
            StripeApi::new(http.clone(), self.url("/stripe"), None),
            self.url("/lab/notify"),
        ));
        // The lab's own chain has no real StablecoinDEX: its swaps are the
        // lab's (anvil rows use the kit's DexSwap).
        for id in [
            StrategyId::SwapCurrency,
            StrategyId::SwapDirect,
            StrategyId::SwitchStablecoin,
        ] {
            all.push(Arc::new(executors::LabSwap::new(
                id,
                http.clone(),
                main.clone(),
                coins.clone(),
            )));
        }
        all.push(Arc::new(executors::LabSplitSwap::new(http, main)));
        all
    }

    /// The probes that read the lab's main chain: what became of a sent
    /// payment (first: it decides whether a low balance means anything),
    /// then balances.
    pub fn probes(&self) -> [Arc<dyn Probe>; 2] {
        [
            Arc::new(SentTxProbe::new(self.http.clone(), self.rpc(MAIN_CHAIN))),
            Arc::new(BalanceProbe::new(self.http.clone(), self.rpc(MAIN_CHAIN))),
        ]
    }
}
