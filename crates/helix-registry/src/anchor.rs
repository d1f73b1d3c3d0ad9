//! Genes on chain: the registry anchors every gene that crosses the quality
//! threshold (its content hash and the hash of its verified evidence, in
//! `GeneAnchor`), in the background and never on a push's path; anyone
//! compares a gene as the registry serves it with its anchor.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy::primitives::{Address, B256, keccak256};
use alloy::sol_types::SolCall;
use helix_tempo::{SendOpts, TempoChain};
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;

use crate::contracts::GeneAnchor;
use crate::evidence::call;
use crate::store::RegistryStore;
use crate::wire::{GeneId, RegistryGene};

/// The hash of a gene's evidence: keccak256 of its transaction hashes,
/// sorted, concatenated.
pub fn evidence_hash(txs: &[B256]) -> B256 {
    let sorted: BTreeSet<&B256> = txs.iter().collect();
    let bytes: Vec<u8> = sorted.into_iter().flat_map(|t| t.0).collect();
    keccak256(bytes)
}

/// What a gene's anchor says of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Content and evidence as anchored.
    Valid {
        /// Unix seconds of the anchoring block.
        anchored_at: u64,
        /// Transactions the anchor counts.
        evidence: u64,
    },
    /// The anchorer never anchored this gene.
    NotAnchored,
    /// The gene's content is not what was anchored: altered since.
    ContentMismatch {
        /// On chain.
        anchored: B256,
        /// From the gene as served.
        served: B256,
    },
    /// The content matches; the evidence is not what was anchored (the
    /// registry's evidence changed since, or was altered).
    EvidenceMismatch {
        /// On chain.
        anchored: B256,
        /// From the gene as served.
        served: B256,
    },
}

impl Verdict {
    /// Only a full match is valid.
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid { .. })
    }
}

/// Reads anchors over JSON-RPC.
#[derive(Debug, Clone)]
pub struct AnchorReader {
    http: reqwest::Client,
    rpc: String,
    contract: Address,
    anchorer: Address,
}

/// The chain could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("reading the anchor failed: {0}")]
pub struct ReadError(pub String);

impl AnchorReader {
    /// Anchors made by `anchorer` in the `GeneAnchor` at `contract`.
    pub fn new(rpc: &str, contract: Address, anchorer: Address) -> Self {
        AnchorReader {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            rpc: rpc.to_owned(),
            contract,
            anchorer,
        }
    }

    /// The anchor of `id` (a zero `anchoredAt` when there is none).
    pub async fn anchor_of(&self, id: GeneId) -> Result<GeneAnchor::Anchor, ReadError> {
        let data = GeneAnchor::anchorOfCall {
            anchorer: self.anchorer,
            geneId: id.0,
        }
        .abi_encode();
        let params =
            json!([{ "to": self.contract, "data": alloy::hex::encode_prefixed(data) }, "latest"]);
        let out = call(&self.http, &self.rpc, "eth_call", params)
            .await
            .map_err(|e| ReadError(e.to_string()))?;
        let bytes: alloy::primitives::Bytes =
            serde_json::from_value(out).map_err(|e| ReadError(e.to_string()))?;
        GeneAnchor::anchorOfCall::abi_decode_returns(&bytes).map_err(|e| ReadError(e.to_string()))
    }

    /// Compares `g` (as a registry serves it, with its evidence) with its anchor.
    pub async fn verify(&self, g: &RegistryGene) -> Result<Verdict, ReadError> {
        let a = self.anchor_of(g.id).await?;
        if a.anchoredAt == 0 {
            return Ok(Verdict::NotAnchored);
        }
        let served = g.content_hash();
        if a.contentHash != served {
            return Ok(Verdict::ContentMismatch {
                anchored: a.contentHash,
                served,
            });
        }
        let served = evidence_hash(&g.evidence);
        if a.evidenceHash != served {
            return Ok(Verdict::EvidenceMismatch {
                anchored: a.evidenceHash,
                served,
            });
        }
        Ok(Verdict::Valid {
            anchored_at: a.anchoredAt,
            evidence: a.evidenceCount,
        })
    }
}

/// Anchors genes in the background, one transaction per gene whose anchor
/// is missing or holds less evidence than the registry has.
pub struct Anchorer {
    tx: mpsc::Sender<GeneId>,
    anchored: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Anchorer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Anchorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchorer").finish_non_exhaustive()
    }
}

impl Anchorer {
    /// Starts the anchoring task: `chain` signs (its address is the
    /// anchorer readers trust), paying fees in `fee_token`.
    pub fn start(
        chain: TempoChain,
        rpc: &str,
        contract: Address,
        fee_token: Option<Address>,
        store: Arc<dyn RegistryStore>,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<GeneId>(1024);
        let anchored = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let reader = AnchorReader::new(rpc, contract, chain.address());
        let (ok, bad) = (anchored.clone(), failed.clone());
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // Requests that piled up meanwhile: each gene once.
                let mut ids = BTreeSet::from([first]);
                while let Ok(more) = rx.try_recv() {
                    ids.insert(more);
                }
                for id in ids {
                    match anchor_one(&chain, &reader, contract, fee_token, store.as_ref(), id).await
                    {
                        Ok(true) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(false) => {}
                        Err(e) => {
                            bad.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(target: "helix::registry", gene = %id, error = %e, "gene not anchored");
                        }
                    }
                }
            }
        });
        Anchorer {
            tx,
            anchored,
            failed,
            task,
        }
    }

    /// Asks for `id` to be anchored (dropped if the queue is full; the
    /// next push of the gene asks again).
    pub fn request(&self, id: GeneId) {
        let _ = self.tx.try_send(id);
    }

    /// Anchor transactions sent so far.
    pub fn anchored(&self) -> u64 {
        self.anchored.load(Ordering::Relaxed)
    }

    /// Anchoring attempts that failed so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

async fn anchor_one(
    chain: &TempoChain,
    reader: &AnchorReader,
    contract: Address,
    fee_token: Option<Address>,
    store: &dyn RegistryStore,
    id: GeneId,
) -> Result<bool, String> {
    let g = store
        .show(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("gene vanished")?;
    let count = g.evidence.len() as u64;
    let current = reader.anchor_of(id).await.map_err(|e| e.to_string())?;
    if current.anchoredAt != 0 && current.evidenceCount >= count {
        return Ok(false);
    }
    let data = GeneAnchor::anchorCall {
        geneId: id.0,
        contentHash: g.content_hash(),
        evidenceHash: evidence_hash(&g.evidence),
        evidenceCount: count,
    }
    .abi_encode();
    chain
        .send(
            contract,
            data.into(),
            SendOpts {
                nonce: None,
                fee_token,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(target: "helix::registry", gene = %id, evidence = count, "gene anchored");
    Ok(true)
}
