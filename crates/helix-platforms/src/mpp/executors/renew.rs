//! renew_session: a fresh challenge for the same deal, fetched under the
//! payment's idempotency key.

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, Patch, StrategyId};
use helix_http::signal::error_chain;

use crate::mpp::challenge::{ChallengeError, offered, same_charge};

/// renew_session: asks the resource for a fresh challenge (an unpaid request
/// answered with 402) and hands it to the request, so the stale one is never
/// presented again.
#[derive(Debug, Clone)]
pub struct RenewSession {
    http: reqwest::Client,
}

impl RenewSession {
    /// Uses this client.
    pub fn new(http: reqwest::Client) -> Self {
        RenewSession { http }
    }
}

#[async_trait]
impl Executor for RenewSession {
    fn id(&self) -> StrategyId {
        StrategyId::RenewSession
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::Endpoint]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let url = ctx
            .request
            .endpoint
            .as_deref()
            .ok_or_else(|| CommitError::NotApplicable("request names no resource".into()))?;
        let mut get = self.http.get(url);
        // The renewal belongs to the same logical payment as every other
        // request of this run: the server sees one key throughout.
        if let Some(key) = &ctx.request.idempotency_key {
            get = get.header("idempotency-key", key);
        }
        let resp = get
            .send()
            .await
            .map_err(|e| CommitError::Platform(error_chain(&e)))?;
        if resp.status().as_u16() != 402 {
            return Err(CommitError::Platform(format!(
                "expected 402 with a fresh challenge, got {}",
                resp.status()
            )));
        }
        let want = ctx.request.currency.as_deref();
        let mut last_err = ChallengeError::Missing;
        for parsed in offered(resp.headers()) {
            match parsed {
                Ok(c) if want.is_none_or(|w| w.eq_ignore_ascii_case(&c.request.currency)) => {
                    same_charge(ctx.request, &c)?;
                    return Ok(Committed {
                        patches: vec![Patch::Challenge { challenge: c.raw }],
                        ..Default::default()
                    });
                }
                Ok(_) => {
                    last_err =
                        ChallengeError::BadRequest("no challenge in the request's currency".into())
                }
                Err(e) => last_err = e,
            }
        }
        Err(CommitError::Platform(last_err.to_string()))
    }
}
