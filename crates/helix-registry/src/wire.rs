//! What crosses the wire between agents and the registry: the shared gene
//! (scrubbed, see [`crate::scrub`]), its evidence, and the signed envelopes
//! of a push and of a failure report.

use alloy::primitives::{Address, B256};
use helix_core::{Category, FailureCode, GeneKey, Platform, StrategyId};
use serde::{Deserialize, Serialize};

use crate::canonical::canonical_hash;

/// A gene as the registry carries it: the repair and its record, nothing
/// about whom the agent paid or how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedGene {
    /// What went wrong.
    pub code: FailureCode,
    /// Where.
    pub category: Category,
    /// The repair.
    pub strategy: StrategyId,
    /// The repair's tunable parameters (an allow-list, see [`crate::scrub`]).
    pub params: serde_json::Value,
    /// Platforms it healed, sorted.
    pub platforms: Vec<Platform>,
    /// Verified successes the pushing agent saw (cumulative).
    pub successes: u64,
    /// Failures the pushing agent saw (cumulative).
    pub failures: u64,
    /// Mean repair time, ms.
    pub mean_ms: u64,
}

impl SharedGene {
    /// The gene key.
    pub fn key(&self) -> GeneKey {
        GeneKey {
            code: self.code,
            category: self.category,
        }
    }

    /// The identity duplicates merge on: (code, category, strategy,
    /// parameters), hashed in canonical form.
    pub fn id(&self) -> GeneId {
        identity(self.code, self.category, self.strategy, &self.params)
    }
}

/// The hash of a gene's identity (code, category, strategy, parameters) in
/// canonical form: its id, and the content its anchor holds.
pub fn identity(
    code: FailureCode,
    category: Category,
    strategy: StrategyId,
    params: &serde_json::Value,
) -> GeneId {
    #[derive(Serialize)]
    struct Identity<'a> {
        code: FailureCode,
        category: Category,
        strategy: StrategyId,
        params: &'a serde_json::Value,
    }
    let id = Identity {
        code,
        category,
        strategy,
        params,
    };
    // Serializing plain enums and a Value cannot fail.
    GeneId(canonical_hash(&id).unwrap_or_default())
}

/// A gene's identity in the registry (the anchor contract stores the same 32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GeneId(pub B256);

impl std::fmt::Display for GeneId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for GeneId {
    type Err = alloy::hex::FromHexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<B256>().map(GeneId)
    }
}

/// One transaction that proves a verified repair: sent by the pusher and
/// successful on the named chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The chain it landed on.
    pub chain_id: u64,
    /// Its hash.
    pub tx: B256,
}

/// What a push says, before its signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushBody {
    /// The gene.
    pub gene: SharedGene,
    /// The repairs' transactions.
    pub evidence: Vec<Evidence>,
    /// The pusher; must be the signature's signer.
    pub agent: Address,
    /// Random, once per push (replays are refused).
    pub nonce: B256,
    /// Unix ms when signed; far from the registry's clock is refused.
    pub issued_at: i64,
}

/// What a failure report says: the reporter's local count of failures of a
/// gene it pulled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// The gene.
    pub gene: GeneId,
    /// Failures the reporter saw (cumulative).
    pub failures: u64,
    /// The reporter.
    pub agent: Address,
    /// Random, once per report.
    pub nonce: B256,
    /// Unix ms when signed.
    pub issued_at: i64,
}

/// A body and the EIP-191 signature over its [`Signable::message`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signed<T> {
    /// What is signed.
    #[serde(flatten)]
    pub body: T,
    /// 65-byte secp256k1 signature, hex.
    pub signature: alloy::primitives::Bytes,
}

/// A signed push.
pub type Push = Signed<PushBody>;
/// A signed failure report.
pub type Report = Signed<ReportBody>;

/// A body an agent signs.
pub trait Signable: Serialize + Sized {
    /// What the text starts with, so a push can never pass as a report.
    const DOMAIN: &'static str;
    /// Who says they signed it.
    fn agent(&self) -> Address;
    /// The replay guard.
    fn nonce(&self) -> B256;
    /// When it was signed.
    fn issued_at(&self) -> i64;
    /// The text the agent's wallet signs (EIP-191 personal message): the
    /// domain and the keccak of the canonical body, readable in a prompt.
    fn message(&self) -> String {
        let h = canonical_hash(self).unwrap_or_default();
        format!("{}\n{h}", Self::DOMAIN)
    }
}

impl Signable for PushBody {
    const DOMAIN: &'static str = "helix gene push v1";
    fn agent(&self) -> Address {
        self.agent
    }
    fn nonce(&self) -> B256 {
        self.nonce
    }
    fn issued_at(&self) -> i64 {
        self.issued_at
    }
}

impl Signable for ReportBody {
    const DOMAIN: &'static str = "helix gene failure report v1";
    fn agent(&self) -> Address {
        self.agent
    }
    fn nonce(&self) -> B256 {
        self.nonce
    }
    fn issued_at(&self) -> i64 {
        self.issued_at
    }
}

/// A gene as the registry holds it: the merged record of every agent that
/// pushed it, and its quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryGene {
    /// Identity.
    pub id: GeneId,
    /// What went wrong.
    pub code: FailureCode,
    /// Where.
    pub category: Category,
    /// The repair.
    pub strategy: StrategyId,
    /// Its parameters.
    pub params: serde_json::Value,
    /// Platforms it healed, sorted.
    pub platforms: Vec<Platform>,
    /// Successes of the agents, each counted up to its verified transactions.
    pub successes: u64,
    /// Failures pushed or reported by any agent.
    pub failures: u64,
    /// Agents with at least one verified transaction behind this gene.
    pub verified_agents: u64,
    /// Verified transactions behind it.
    pub verified_evidence: u64,
    /// Accepted pushes (every one, duplicates included).
    pub pushes: u64,
    /// Mean repair time over the agents' successes, ms.
    pub mean_ms: u64,
    /// See [`crate::quality`].
    pub quality: f64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Successes as the agents claimed them (each agent's largest count),
    /// proven or not; `successes` is what counts.
    pub claimed_successes: u64,
    /// The verified transactions behind it (filled by `show` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<B256>,
}

impl RegistryGene {
    /// The gene key.
    pub fn key(&self) -> GeneKey {
        GeneKey {
            code: self.code,
            category: self.category,
        }
    }

    /// The hash of what this row says the gene is; equal to `id` unless the
    /// row was altered after it was stored.
    pub fn content_hash(&self) -> B256 {
        identity(self.code, self.category, self.strategy, &self.params).0
    }
}
