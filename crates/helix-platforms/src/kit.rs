//! The one place a paying agent's probes and executors are wired: what
//! `helix pay` runs, and what the lab's on-chain rows run.

use std::sync::Arc;
use std::time::Duration;

use crate::http::executors::{
    Backoff, BackoffRetry, DropFailingCall, ExtendDeadline, ReduceRequest, SplitUnderLimit,
    SwitchTo, WaitAndRetry,
};
use crate::mpp::executors::{RenewSession, RetryWithReceipt};
use crate::mpp::probes::ChallengeProbe;
use crate::stripe::{HoldAndNotify, ResolveIdempotency, StripeApi};
use crate::tempo::executors::{
    DexSplit, DexSwap, ReconcileTx, RefreshNonce, SwitchFeeToken, SwitchNetwork, TopupFromReserve,
};
use crate::tempo::probes::{BalanceProbe, SentTxProbe};
use helix_core::{Executor, Probe, StrategyId};
use helix_tempo::{Address, Wallet};

/// Tempo's predeployed TIP-20 stablecoins (`0x20c0…00` pathUSD, then
/// AlphaUSD, BetaUSD, ThetaUSD): what an agent may sell or buy when no list
/// is given.
pub fn tempo_stablecoins() -> Vec<Address> {
    (0u8..4)
        .map(|n| {
            let mut a = [0u8; 20];
            a[0] = 0x20;
            a[1] = 0xc0;
            a[19] = n;
            Address::new(a)
        })
        .collect()
}

/// What an agent paying on Tempo needs to know to act.
#[derive(Debug, Clone)]
pub struct Agent {
    /// The chain's RPC endpoint.
    pub rpc: String,
    /// Other endpoints `switch_network` may move a payment to (it checks
    /// each one serves the payment's chain).
    pub other_rpcs: Vec<String>,
    /// The agent's wallet (signs swaps and payments).
    pub wallet: Wallet,
    /// Stablecoins it may sell, buy or pay fees in, in order of preference.
    pub stablecoins: Vec<Address>,
    /// A reserve wallet that may top the agent up, at most this many base
    /// units per payment (`topup_from_reserve`, full mode only).
    pub reserve: Option<(Wallet, u128)>,
}

impl Agent {
    /// A Helix with the built-in adapters and this agent's probes and
    /// executors; the caller adds its store, sinks, budget, locks and mode.
    pub fn helix_builder(&self, http: &reqwest::Client) -> helix_core::HelixBuilder {
        helix_core::Helix::builder()
            .adapter(crate::builtin())
            .probes(self.probes(http))
            .strategies(self.strategies(http))
    }

    /// Probes, in order: what became of a sent payment first (it decides
    /// whether a low balance means anything), then balances, then what a
    /// server accepts.
    pub fn probes(&self, http: &reqwest::Client) -> Vec<Arc<dyn Probe>> {
        vec![
            Arc::new(SentTxProbe::new(http.clone(), self.rpc.clone())),
            Arc::new(BalanceProbe::new(http.clone(), self.rpc.clone())),
            Arc::new(ChallengeProbe::new(http.clone())),
        ]
    }

    /// Every executor the agent can run: the chain reads, MPP's repairs,
    /// waits and reshapes, and the fund movers with its wallet. The mode
    /// still decides which may act: the fund-moving ones only in `full`.
    pub fn strategies(&self, http: &reqwest::Client) -> Vec<Arc<dyn Executor>> {
        let mut all = tempo_reads(
            http,
            &self.rpc,
            &self.other_rpcs,
            self.stablecoins.iter().map(|c| c.to_string()).collect(),
            100_000,
        );
        all.extend(mpp(http));
        all.extend(waits(&Timing::agent()));
        all.extend(reshapes());
        all.push(Arc::new(DexSplit::new(
            self.rpc.clone(),
            self.wallet.clone(),
        )));
        if let Some((reserve, cap)) = &self.reserve {
            all.push(Arc::new(TopupFromReserve::new(
                self.rpc.clone(),
                reserve.clone(),
                self.wallet.address(),
                *cap,
            )));
        }
        for id in [
            StrategyId::SwapCurrency,
            StrategyId::SwapDirect,
            StrategyId::SwapMultihop,
            StrategyId::SwitchStablecoin,
            StrategyId::SwapForFeeToken,
        ] {
            all.push(Arc::new(DexSwap::new(
                id,
                self.rpc.clone(),
                self.wallet.clone(),
                self.stablecoins.clone(),
            )));
        }
        all
    }
}

/// The repairs that only read a chain (no key): reconcile a sent payment,
/// the pending nonce, a fee token the payer holds (from `fee_tokens`, with
/// `fee_margin` base units to spare), and the endpoint among `rpc` and
/// `other_rpcs` that serves the payment's chain.
pub fn tempo_reads(
    http: &reqwest::Client,
    rpc: &str,
    other_rpcs: &[String],
    fee_tokens: Vec<String>,
    fee_margin: u128,
) -> Vec<Arc<dyn Executor>> {
    let mut endpoints = vec![rpc.to_owned()];
    endpoints.extend(other_rpcs.iter().cloned());
    vec![
        Arc::new(ReconcileTx::new(http.clone(), rpc)),
        Arc::new(RefreshNonce::new(http.clone(), rpc)),
        Arc::new(SwitchFeeToken::new(
            http.clone(),
            rpc,
            fee_tokens,
            fee_margin,
        )),
        Arc::new(SwitchNetwork::new(http.clone(), endpoints)),
    ]
}

/// MPP's repairs: a fresh challenge for the same deal, a receipt presented
/// instead of paying again.
pub fn mpp(http: &reqwest::Client) -> Vec<Arc<dyn Executor>> {
    vec![
        Arc::new(RenewSession::new(http.clone())),
        Arc::new(RetryWithReceipt),
    ]
}

/// How long the waiting repairs wait.
#[derive(Debug, Clone, Default)]
pub struct Timing {
    /// Honouring Retry-After (rate limits).
    pub backoff: Backoff,
    /// Jittered backoff (server errors).
    pub backoff_retry: BackoffRetry,
    /// A longer deadline (timeouts).
    pub deadline: ExtendDeadline,
}

impl Timing {
    /// An agent paying on its own behalf: short default waits.
    pub fn agent() -> Timing {
        Timing {
            backoff: Backoff {
                default_wait: Duration::from_millis(500),
                max_wait: Duration::from_secs(30),
            },
            ..Timing::default()
        }
    }
}

/// The waiting repairs: Retry-After, jittered backoff, a longer deadline,
/// waiting out a cause that passes.
pub fn waits(t: &Timing) -> Vec<Arc<dyn Executor>> {
    vec![
        Arc::new(t.backoff.clone()),
        Arc::new(t.backoff_retry.clone()),
        Arc::new(t.deadline.clone()),
        Arc::new(WaitAndRetry::default()),
    ]
}

/// The repairs that reshape the request without a client: a split under a
/// limit, a batch without its failing call, a smaller amount where the
/// caller allows it.
pub fn reshapes() -> Vec<Arc<dyn Executor>> {
    vec![
        Arc::new(SplitUnderLimit::default()),
        Arc::new(DropFailingCall),
        Arc::new(ReduceRequest),
    ]
}

/// The alternatives an operator configured: where a payment may go instead
/// when one place fails. An empty list means that switch is not offered an
/// executor.
#[derive(Debug, Clone, Default)]
pub struct Alternatives {
    /// Endpoints of the same API.
    pub endpoints: Vec<String>,
    /// Other providers of the same service.
    pub providers: Vec<String>,
    /// Other services that sell the same thing.
    pub services: Vec<String>,
    /// Other off-ramps.
    pub offramps: Vec<String>,
    /// Other cards or payment methods.
    pub payment_methods: Vec<String>,
}

/// Executors that need no platform client: waits (tuned by `t`), reshapes,
/// and a switch to each configured alternative.
pub fn generic(alt: &Alternatives, t: &Timing) -> Vec<Arc<dyn Executor>> {
    let mut all = waits(t);
    all.extend(reshapes());
    for (id, urls) in [
        (StrategyId::SwitchEndpoint, &alt.endpoints),
        (StrategyId::SwitchProvider, &alt.providers),
        (StrategyId::SwitchService, &alt.services),
        (StrategyId::SwitchOfframp, &alt.offramps),
    ] {
        if !urls.is_empty() {
            all.push(Arc::new(SwitchTo::endpoints(id, urls.iter().cloned())));
        }
    }
    if !alt.payment_methods.is_empty() {
        all.push(Arc::new(SwitchTo::payment_methods(
            alt.payment_methods.iter().cloned(),
        )));
    }
    all
}

/// Stripe's executors: resolve an idempotency conflict from the intents
/// made under the key, hold a payment that needs its customer and notify.
pub fn stripe(api: StripeApi, notify: impl Into<String>) -> Vec<Arc<dyn Executor>> {
    vec![
        Arc::new(ResolveIdempotency::new(api.clone())),
        Arc::new(HoldAndNotify::new(api, notify, Duration::from_secs(5))),
    ]
}
