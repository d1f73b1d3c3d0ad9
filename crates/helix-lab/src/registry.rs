//! A gene registry for the tests, the demo and the bench: the real
//! `helix-registry` server on a loopback port, checking evidence on a
//! local anvil, and agents that hold a transaction of their own to prove
//! a push with.

use std::sync::Arc;

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use helix_core::{GeneKey, Platform, StrategyId};
use helix_registry::anchor::Anchorer;
use helix_registry::broadcast::Broadcast;
use helix_registry::cache::PullCache;
use helix_registry::evidence::RpcVerifier;
use helix_registry::limits::{LocalLimiter, Rate};
use helix_registry::server::{Running, spawn};
use helix_registry::sign::{nonce, sign};
use helix_registry::store::{RegistryStore, SqliteRegistry};
use helix_registry::thresholds::follow;
use helix_registry::wire::{Evidence, Push, PushBody, SharedGene};
use helix_registry::{Registry, quality::PULL_THRESHOLD};
use helix_tempo::{SendOpts, TempoChain, Wallet};

use crate::onchain::token;

/// The bearer token of the lab registry's `/metrics`.
pub const METRICS_TOKEN: &str = "lab-registry-metrics-token";

/// How the lab registry is built.
pub struct LabRegistry {
    /// Where its evidence is checked.
    pub rpcs: Vec<String>,
    /// Its store (an in-memory SQLite one when not set).
    pub store: Option<Arc<dyn RegistryStore>>,
    /// NATS for the broadcast.
    pub nats: Option<String>,
    /// The broadcast's channel: a fresh one per lab registry, so registries
    /// of tests running side by side on one NATS never feed each other.
    pub channel: String,
    /// Push and pull buckets (none: unlimited).
    pub limits: Option<(Rate, Rate)>,
    /// The hot pull cache.
    pub cache: Option<PullCache>,
    /// Anchor genes with this signer in this GeneAnchor, fees in this token.
    pub anchoring: Option<(TempoChain, Address, Address)>,
    /// Follow this Governance's thresholds, read this often.
    pub governance: Option<(Address, std::time::Duration)>,
}

impl LabRegistry {
    /// A registry checking evidence on `rpc`.
    pub fn on(rpc: &str) -> Self {
        LabRegistry {
            rpcs: vec![rpc.to_owned()],
            store: None,
            nats: None,
            channel: format!("lab-{:016x}", rand::random::<u64>()),
            limits: None,
            cache: None,
            anchoring: None,
            governance: None,
        }
    }

    /// Starts it on a free loopback port.
    pub async fn start(self) -> std::io::Result<(Running, Registry)> {
        let store: Arc<dyn RegistryStore> = match self.store {
            Some(s) => s,
            None => Arc::new(SqliteRegistry::in_memory().map_err(std::io::Error::other)?),
        };
        let verifier = RpcVerifier::connect(&self.rpcs, std::time::Duration::from_secs(5))
            .await
            .map_err(std::io::Error::other)?;
        let broadcast = match &self.nats {
            Some(url) => Broadcast::nats(url, &self.channel)
                .await
                .map_err(std::io::Error::other)?,
            None => Broadcast::local(),
        };
        let mut registry = Registry::new(
            store,
            Arc::new(verifier),
            broadcast,
            self.cache,
            PULL_THRESHOLD,
        );
        if let Some((chain, contract, fee)) = self.anchoring {
            let a = Anchorer::start(
                chain,
                &self.rpcs[0],
                contract,
                Some(fee),
                registry.store().clone(),
            );
            registry = registry.with_anchorer(a);
        }
        if let Some((gov, every)) = self.governance {
            // Runs as long as the process (the lab's registries are per test).
            drop(follow(
                registry.thresholds().clone(),
                self.rpcs[0].clone(),
                gov,
                every,
            ));
        }
        if let Some((push, pull)) = self.limits {
            registry = registry.with_limiter(Arc::new(LocalLimiter::new(push, pull)));
        }
        let running = spawn(registry.clone(), METRICS_TOKEN, "127.0.0.1:0").await?;
        Ok((running, registry))
    }
}

/// A fresh agent that holds AlphaUSD and has sent one transfer of its own:
/// the wallet and that transaction's hash.
pub async fn agent_with_a_tx(
    funder: &TempoChain,
    rpc: &str,
) -> Result<(Wallet, B256), helix_tempo::ChainError> {
    let agent = crate::onchain::funded_agent(funder, token(1), 1_000_000).await?;
    let own = TempoChain::connect(rpc, &agent)?;
    let tx = own
        .transfer(
            token(1),
            funder.address(),
            1,
            SendOpts {
                nonce: None,
                fee_token: Some(token(1)),
            },
        )
        .await?;
    Ok((agent, tx))
}

/// The chain id of the lab's main anvil.
pub const CHAIN_ID: u64 = 31337;

/// A gene as an agent pushes it: `strategy` for `key` with `params`,
/// `successes` verified uses on Tempo, 100 ms each.
pub fn shared_gene(
    key: GeneKey,
    strategy: StrategyId,
    params: serde_json::Value,
    successes: u64,
) -> SharedGene {
    SharedGene {
        code: key.code,
        category: key.category,
        strategy,
        params,
        platforms: vec![Platform::Tempo],
        successes,
        failures: 0,
        mean_ms: 100 * successes,
    }
}

/// `gene` pushed by `key`'s agent, proven by `tx` on the main anvil, signed now.
pub fn signed_push(key: &PrivateKeySigner, gene: SharedGene, tx: B256) -> Push {
    let body = PushBody {
        gene,
        evidence: vec![Evidence {
            chain_id: CHAIN_ID,
            tx,
        }],
        agent: key.address(),
        nonce: nonce(),
        issued_at: helix_core::gene::now_ms(),
    };
    // A local key signing a text cannot fail.
    sign(body, key).unwrap_or_else(|e| panic!("signing a push: {e}"))
}
