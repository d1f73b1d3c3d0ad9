//! `helix gene push | pull | list | show`: the registry by hand.

use std::path::PathBuf;
use std::process::ExitCode;

use helix_core::GeneKey;
use helix_registry::anchor::{AnchorReader, Verdict};
use helix_registry::client::{RegistryClient, adopted};
use helix_registry::scrub::scrub;
use helix_registry::sign::{nonce, sign};
use helix_registry::wire::{Evidence, GeneId, PushBody, RegistryGene};

use crate::config::{Config, parse_key};
use crate::store::Store;

/// What a `helix gene` command was asked for.
pub enum Cmd {
    Push {
        key: String,
        strategy: Option<String>,
        key_file: PathBuf,
        txs: Vec<String>,
        chain_id: Option<u64>,
        db: String,
    },
    Pull {
        key: String,
        db: Option<String>,
    },
    List {
        limit: u32,
    },
    Show {
        id: String,
    },
    Verify {
        id: String,
        anchor: alloy::primitives::Address,
        anchorer: alloy::primitives::Address,
        rpc: Option<String>,
    },
}

fn client(settings: &Config, registry: Option<String>) -> Result<RegistryClient, String> {
    let url = registry
        .or_else(|| settings.registry().url.clone())
        .ok_or("no registry: give --registry, HELIX_REGISTRY_URL or [registry] url")?;
    RegistryClient::new(&url).map_err(|e| e.to_string())
}

fn print(g: &RegistryGene, json: bool) -> Result<(), String> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(g).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "{}  {}/{}  {}  quality {:.3}  successes {}  failures {}  agents {}  evidence {}  pushes {}  params {}",
            g.id,
            g.code,
            g.category,
            g.strategy,
            g.quality,
            g.successes,
            g.failures,
            g.verified_agents,
            g.verified_evidence,
            g.pushes,
            g.params
        );
    }
    Ok(())
}

pub fn run(
    cmd: Cmd,
    registry: Option<String>,
    settings: &Config,
    json: bool,
) -> Result<ExitCode, String> {
    let client = client(settings, registry)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        match cmd {
            Cmd::Push {
                key,
                strategy,
                key_file,
                txs,
                chain_id,
                db,
            } => {
                let key: GeneKey = parse_key(&key)?;
                let wallet =
                    helix_tempo::Wallet::from_file(&key_file).map_err(|e| e.to_string())?;
                let chain_id = chain_id.or(settings.registry().chain_id).ok_or(
                    "no chain id for the evidence: give --chain-id or [registry] chain_id",
                )?;
                let genes = Store::open(&db, settings)
                    .await?
                    .shared(&db, settings)
                    .await
                    .list()
                    .await
                    .map_err(|e| e.to_string())?;
                let gene = genes
                    .iter()
                    .filter(|g| g.key == key)
                    .find(|g| strategy.as_deref().is_none_or(|s| g.strategy.as_str() == s))
                    .ok_or_else(|| format!("no gene for {key} in {db}"))?;
                let evidence = txs
                    .iter()
                    .map(|t| {
                        t.parse()
                            .map(|tx| Evidence { chain_id, tx })
                            .map_err(|e| format!("--tx {t}: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let body = PushBody {
                    gene: scrub(gene),
                    evidence,
                    agent: wallet.address(),
                    nonce: nonce(),
                    issued_at: helix_core::gene::now_ms(),
                };
                let push = sign(body, &wallet.signer()).map_err(|e| e.to_string())?;
                let stored = client.push(&push).await.map_err(|e| e.to_string())?;
                print(&stored, json)?;
                Ok(ExitCode::SUCCESS)
            }
            Cmd::Pull { key, db } => {
                let key = parse_key(&key)?;
                match client.pull(key).await.map_err(|e| e.to_string())? {
                    Some(g) => {
                        if let Some(db) = db {
                            let store = Store::open(&db, settings)
                                .await?
                                .shared(&db, settings)
                                .await;
                            let kept =
                                store.adopt(&adopted(&g)).await.map_err(|e| e.to_string())?;
                            if !json {
                                println!(
                                    "{}",
                                    if kept {
                                        format!("kept in {db} as a registry gene")
                                    } else {
                                        format!("{db} already has a gene for this repair; kept it")
                                    }
                                );
                            }
                        }
                        print(&g, json)?;
                        Ok(ExitCode::SUCCESS)
                    }
                    None => {
                        eprintln!("helix: no gene for {key} at or above the registry's threshold");
                        Ok(ExitCode::from(1))
                    }
                }
            }
            Cmd::List { limit } => {
                let genes = client.list(limit).await.map_err(|e| e.to_string())?;
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&genes).map_err(|e| e.to_string())?
                    );
                } else {
                    for g in &genes {
                        print(g, false)?;
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            Cmd::Verify {
                id,
                anchor,
                anchorer,
                rpc,
            } => {
                let rpc = rpc
                    .or_else(|| settings.rpc().map(str::to_owned))
                    .ok_or("no RPC: give --rpc, HELIX_RPC_URL or [chain] rpc")?;
                let id: GeneId = id.parse().map_err(|e| format!("{id}: {e}"))?;
                let g = client
                    .show(id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or(format!("the registry has no gene {id}"))?;
                let verdict = AnchorReader::new(&rpc, anchor, anchorer)
                    .verify(&g)
                    .await
                    .map_err(|e| e.to_string())?;
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&verdict).map_err(|e| e.to_string())?
                    );
                } else {
                    println!("{}", describe(&verdict, id, anchorer));
                }
                Ok(if verdict.is_valid() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                })
            }
            Cmd::Show { id } => {
                let id: GeneId = id.parse().map_err(|e| format!("{id}: {e}"))?;
                match client.show(id).await.map_err(|e| e.to_string())? {
                    Some(g) => {
                        print(&g, json)?;
                        Ok(ExitCode::SUCCESS)
                    }
                    None => {
                        eprintln!("helix: no gene {id}");
                        Ok(ExitCode::from(1))
                    }
                }
            }
        }
    })
}

/// A verdict in words, as `helix gene verify` prints it (and the
/// dashboard's gene detail shows it).
pub(crate) fn describe(v: &Verdict, id: GeneId, anchorer: alloy::primitives::Address) -> String {
    match v {
        Verdict::Valid {
            anchored_at,
            evidence,
        } => format!(
            "valid: {id} is anchored by {anchorer} as served ({evidence} transaction(s) of evidence, anchored at unix {anchored_at})"
        ),
        Verdict::NotAnchored => format!("not anchored: {anchorer} never anchored {id}"),
        Verdict::ContentMismatch { anchored, served } => format!(
            "MISMATCH: the gene as served hashes to {served}, its anchor holds {anchored}: altered since it was anchored"
        ),
        Verdict::EvidenceMismatch { anchored, served } => format!(
            "evidence differs: served {served}, anchored {anchored} (the registry's evidence changed since the anchor)"
        ),
    }
}
