//! An agent paying a paid HTTP resource with Tempo's own `mpp` client
//! (`PaymentMiddleware` over `TempoProvider`), as Helix sees it: the
//! request names the currency the agent pays in, and can carry a fresh
//! challenge or the receipt of a payment already made.

use helix_core::{ErrorSignal, Patch, PaymentView, Refused, Repairable};
use helix_http::HttpFailure;
use helix_tempo::{Address, Wallet, signal_from_text};
use mpp::client::{PaymentMiddleware, TempoProvider};

/// A paid GET.
#[derive(Debug, Clone)]
pub struct MppGet {
    /// The resource.
    pub url: String,
    /// The chain's RPC endpoint (the client signs and estimates there).
    pub rpc: String,
    /// The chain the challenge must name.
    pub chain_id: u64,
    /// Who pays.
    pub payer: Address,
    /// Who is paid (checked by the invariants, never changed).
    pub recipient: Address,
    /// Base units charged.
    pub amount: u128,
    /// The only currency the client will pay in.
    pub currency: Address,
    /// A fresh challenge a repair fetched (the client fetches its own; this
    /// records that one was issued).
    pub challenge: Option<String>,
    /// The receipt of a payment already made: re-fetch with it, pay nothing.
    pub receipt: Option<String>,
}

impl Repairable for MppGet {
    fn view(&self) -> PaymentView {
        PaymentView {
            payer: Some(self.payer.to_string()),
            recipient: Some(self.recipient.to_string()),
            amount: Some(self.amount),
            currency: Some(self.currency.to_string()),
            endpoint: Some(self.url.clone()),
            chain_id: Some(self.chain_id),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::Currency { currency } => {
                self.currency = currency.parse().map_err(|_| Refused {
                    patch: p.kind(),
                    reason: format!("not an address: {currency}"),
                })?
            }
            Patch::Challenge { challenge } => self.challenge = Some(challenge.clone()),
            Patch::Receipt { receipt } => self.receipt = Some(receipt.clone()),
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

/// Fetches the resource, paying with `agent` through the mpp client when
/// no receipt is held. Returns the `Payment-Receipt`.
pub async fn get_paid(agent: &Wallet, r: &MppGet) -> Result<String, HttpFailure> {
    let plain = reqwest::Client::new();
    let resp = if let Some(receipt) = &r.receipt {
        plain
            .get(&r.url)
            .header(mpp::PAYMENT_RECEIPT_HEADER, receipt)
            .send()
            .await
            .map_err(HttpFailure::from)?
    } else {
        let provider = TempoProvider::new(agent.signer(), &r.rpc)
            .map_err(|e| HttpFailure::from_signal(signal_from_text(&e.to_string())))?
            .with_expected_chain_id(r.chain_id)
            .with_currencies([r.currency.to_string()]);
        let client = reqwest_middleware::ClientBuilder::new(plain)
            .with(PaymentMiddleware::new(provider))
            .build();
        client
            .get(&r.url)
            .header("accept-payment", "tempo/charge")
            .send()
            .await
            .map_err(|e| {
                // The mpp client's errors come as text; the node's code is
                // recovered from it.
                HttpFailure::from_signal(signal_from_text(&helix_http::signal::error_chain(&e)))
            })?
    };
    if !resp.status().is_success() {
        return Err(helix_http::failure_from_response(resp).await);
    }
    resp.headers()
        .get(mpp::PAYMENT_RECEIPT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            HttpFailure::from_signal(ErrorSignal::message("200 without a Payment-Receipt"))
        })
}
