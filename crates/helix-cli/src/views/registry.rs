//! The joined registry: its top genes, totals and recent pushes and
//! refusals, over its public routes.

use alloy::primitives::Address;
use helix_registry::anchor::AnchorReader;
use helix_registry::wire::{RegistryGene, identity};
use serde_json::{Value, json};

use super::Reader;

/// The registry at `[registry] url`, and the anchors its genes should have
/// (`[registry] anchor` and `anchorer`, read on `[chain] rpc`).
pub struct RegistryView(Reader, Option<(AnchorReader, Address)>);

impl RegistryView {
    /// Reads `url`; checks genes against their anchors when `anchors`
    /// (rpc, GeneAnchor contract, anchorer) are given.
    pub fn new(url: &str, anchors: Option<(&str, Address, Address)>) -> Result<Self, String> {
        let anchors = anchors.map(|(rpc, contract, anchorer)| {
            (AnchorReader::new(rpc, contract, anchorer), anchorer)
        });
        Ok(RegistryView(Reader::new(url, None)?, anchors))
    }

    /// `gene` as the registry knows it (found by its identity: key,
    /// strategy, parameters) and its anchor's verdict.
    pub async fn gene(&self, gene: &helix_core::Gene) -> Result<Value, String> {
        let id = identity(
            gene.key.code,
            gene.key.category,
            gene.strategy,
            &gene.params,
        );
        let Some(served) = self.0.get_found(&format!("/v1/genes/{id}")).await? else {
            return Ok(json!({ "id": id.to_string(), "known": false }));
        };
        let g: RegistryGene =
            serde_json::from_value(served).map_err(|e| format!("the registry's gene {id}: {e}"))?;
        let anchor = match &self.1 {
            Some((reader, anchorer)) => match reader.verify(&g).await {
                Ok(v) => crate::gene::describe(&v, id, *anchorer),
                Err(e) => format!("anchor not read: {}", e.0),
            },
            None => "not checked: set [registry] anchor, anchorer and [chain] rpc".to_owned(),
        };
        Ok(json!({
            "id": id.to_string(),
            "known": true,
            "quality": g.quality,
            "verified_agents": g.verified_agents,
            "pushes": g.pushes,
            "anchor": anchor,
        }))
    }

    /// Top genes, totals, recent activity.
    pub async fn read(&self) -> Result<Value, String> {
        let (top, stats, recent) = tokio::try_join!(
            self.0.get("/v1/genes?limit=10"),
            self.0.get("/v1/stats"),
            self.0.get("/v1/recent"),
        )?;
        Ok(json!({ "url": self.0.url, "top": top, "stats": stats, "recent": recent }))
    }
}
