//! Probes: facts the error alone does not give, read from the resource
//! before perception (a plain GET, nothing paid).

use async_trait::async_trait;
use helix_core::ErrorSignal;

use crate::mpp::challenge::offered;

/// Probe: a payer refused every challenge the server offered ("no supported
/// challenge"), or the server refused the currency, and the error does not
/// say what the server accepts. Asks the resource for its challenges (a
/// plain GET, nothing paid) and records their currencies, so swap_direct
/// knows what to buy.
#[derive(Debug, Clone)]
pub struct ChallengeProbe {
    http: reqwest::Client,
}

impl ChallengeProbe {
    /// Uses this client.
    pub fn new(http: reqwest::Client) -> Self {
        ChallengeProbe { http }
    }
}

fn about_currency(s: &ErrorSignal) -> bool {
    let m = s.message.to_ascii_lowercase();
    m.contains("supported challenge")
        || m.contains("supported payment challenges")
        || s.problem_type
            .as_deref()
            .is_some_and(|t| t.ends_with("method-unsupported"))
}

#[async_trait]
impl helix_core::Probe for ChallengeProbe {
    async fn gather(&self, s: &mut ErrorSignal, req: &helix_core::PaymentView) {
        if !s.facts.accepted_currencies.is_empty() || !about_currency(s) {
            return;
        }
        let Some(url) = req.endpoint.as_deref() else {
            return;
        };
        let resp = match self.http.get(url).send().await {
            Ok(r) if r.status().as_u16() == 402 => r,
            Ok(r) => {
                tracing::debug!(target: "helix::probe", status = %r.status(), "no challenge to read");
                return;
            }
            Err(e) => {
                tracing::warn!(target: "helix::probe", %e, "challenge probe failed");
                return;
            }
        };
        for c in offered(resp.headers()).into_iter().flatten() {
            if !s
                .facts
                .accepted_currencies
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&c.request.currency))
            {
                s.facts.accepted_currencies.push(c.request.currency);
            }
        }
    }
}
