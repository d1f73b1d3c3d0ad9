//! An agent paying a paid HTTP resource with Tempo's own `mpp` client
//! (`TempoProvider` signs the credential), as Helix sees it: the request
//! names the currency the agent pays in and the charge it agreed to, and can
//! carry a challenge it holds (one it cached, or a fresh one a repair
//! fetched) or the receipt of a payment already made. Every challenge is
//! checked against the agreed recipient, amount and chain before it is
//! paid, and one credential is presented per call: whether another is safe
//! is Helix's call.

use helix_core::{ErrorSignal, Patch, PaymentView, Refused, Repairable};
use helix_http::HttpFailure;
use helix_tempo::{Address, Wallet, signal_from_text};
use mpp::client::{PaymentProvider, TempoProvider};

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
    /// A challenge the agent holds (`WWW-Authenticate` value): paid as it
    /// is. `None`: the client asks the resource for one.
    pub challenge: Option<String>,
    /// The receipt of a payment already made: re-fetch with it, pay nothing.
    pub receipt: Option<String>,
    /// One key for this logical payment, sent with every request for it.
    pub idempotency_key: String,
}

impl MppGet {
    /// A new logical payment of `amount` of `currency` to `recipient` for
    /// the resource at `url`, on the chain behind `rpc`.
    pub fn new(
        url: impl Into<String>,
        rpc: impl Into<String>,
        chain_id: u64,
        payer: Address,
        recipient: Address,
        amount: u128,
        currency: Address,
    ) -> Self {
        MppGet {
            url: url.into(),
            rpc: rpc.into(),
            chain_id,
            payer,
            recipient,
            amount,
            currency,
            challenge: None,
            receipt: None,
            idempotency_key: format!("helix-{:032x}", rand::random::<u128>()),
        }
    }
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
            idempotency_key: Some(self.idempotency_key.clone()),
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

/// The transaction a credential carries: its hash and, for an
/// expiring-nonce transaction, the time after which it can never land.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCharge {
    /// Transaction hash.
    pub hash: String,
    /// `valid_before`, unix seconds.
    pub valid_before: Option<u64>,
}

/// What a credential commits the agent to on chain.
pub fn sent_charge(credential: &mpp::PaymentCredential) -> Option<SentCharge> {
    use alloy::eips::Decodable2718;
    use mpp::protocol::core::PayloadType;
    let payload = credential.charge_payload().ok()?;
    match payload.payload_type() {
        PayloadType::Hash => Some(SentCharge {
            hash: payload.data().to_owned(),
            valid_before: None,
        }),
        PayloadType::Transaction => {
            let raw = alloy::primitives::hex::decode(payload.data()).ok()?;
            let env =
                tempo_alloy::primitives::TempoTxEnvelope::decode_2718(&mut raw.as_slice()).ok()?;
            Some(SentCharge {
                hash: alloy::primitives::keccak256(&raw).to_string(),
                valid_before: env.valid_before(),
            })
        }
        PayloadType::Proof => None,
    }
}

/// Asks the resource for its challenges (an unpaid GET), takes the one in
/// the agent's currency, and pays it as [`present`] does: checked against
/// the agreed recipient, amount and chain first. A resource that answers
/// without a 402 is returned as it is (nothing to pay).
async fn fetch_and_pay(
    provider: TempoProvider,
    plain: reqwest::Client,
    r: &MppGet,
) -> Result<reqwest::Response, HttpFailure> {
    let resp = plain
        .get(&r.url)
        .header("accept-payment", "tempo/charge")
        .header("idempotency-key", &r.idempotency_key)
        .send()
        .await
        .map_err(HttpFailure::from)?;
    if resp.status().as_u16() != 402 {
        return Ok(resp);
    }
    let offered: Vec<crate::mpp::challenge::Challenge> =
        crate::mpp::challenge::offered(resp.headers())
            .into_iter()
            .flatten()
            .filter(|c| c.method == "tempo" && c.intent == "charge")
            .collect();
    let ours = r.currency.to_string();
    match offered
        .iter()
        .find(|c| c.request.currency.eq_ignore_ascii_case(&ours))
    {
        Some(c) => present(&provider, &plain, r, &c.raw).await,
        None => {
            // The words Tempo's own client uses for the same refusal.
            let accepted: Vec<String> =
                offered.iter().map(|c| c.request.currency.clone()).collect();
            let mut f = refused(format!(
                "no supported challenge: provider rejected all supported payment challenges \
                 (the agent pays in {ours}; the service accepts {})",
                accepted.join(", ")
            ));
            f.signal.facts.accepted_currencies = accepted;
            Err(f)
        }
    }
}

/// Marks a failure as coming after the credential left, with its
/// transaction when the credential carries one.
fn after(mut f: HttpFailure, sent: Option<&SentCharge>) -> HttpFailure {
    if let Some(sent) = sent {
        f.signal.facts.tx_hash = Some(sent.hash.clone());
        f.signal.facts.valid_before = sent.valid_before;
    }
    f.after_payment_sent()
}

fn refused(msg: String) -> HttpFailure {
    HttpFailure::from_signal(ErrorSignal::message(msg))
}

/// Pays a challenge the agent holds, as it is: the charge it names must be
/// the one agreed, then the provider signs and the credential is presented.
async fn present(
    provider: &TempoProvider,
    plain: &reqwest::Client,
    r: &MppGet,
    held: &str,
) -> Result<reqwest::Response, HttpFailure> {
    let ours = crate::mpp::challenge::parse_challenge(held)
        .map_err(|e| refused(format!("unusable challenge: {e}")))?;
    crate::mpp::challenge::same_charge(&r.view(), &ours)
        .map_err(|e| refused(format!("refusing the challenge: {e}")))?;
    let challenge = mpp::parse_www_authenticate(held)
        .map_err(|e| refused(format!("unusable challenge: {e}")))?;
    let credential = provider
        .pay(&challenge)
        .await
        .map_err(|e| HttpFailure::from_signal(signal_from_text(&e.to_string())))?;
    let sent = sent_charge(&credential);
    let auth =
        mpp::format_authorization(&credential).map_err(|e| refused(format!("credential: {e}")))?;
    match plain
        .get(&r.url)
        .header("authorization", auth)
        .header("idempotency-key", &r.idempotency_key)
        .send()
        .await
    {
        Ok(resp) if resp.status().is_success() => Ok(resp),
        Ok(resp) => Err(after(
            helix_http::failure_from_response(resp).await,
            sent.as_ref(),
        )),
        Err(e) => Err(after(HttpFailure::from(e), sent.as_ref())),
    }
}

/// Fetches the resource, paying with `agent` through the mpp client when
/// no receipt is held. Returns the `Payment-Receipt`. A failure after the
/// client presented a credential says so and names the credential's
/// transaction, so Helix reconciles it before anything is paid again.
pub async fn get_paid(agent: &Wallet, r: &MppGet) -> Result<String, HttpFailure> {
    let plain = reqwest::Client::new();
    let resp = if let Some(receipt) = &r.receipt {
        plain
            .get(&r.url)
            .header(mpp::PAYMENT_RECEIPT_HEADER, receipt)
            .header("idempotency-key", &r.idempotency_key)
            .send()
            .await
            .map_err(HttpFailure::from)?
    } else {
        let provider = TempoProvider::new(agent.signer(), &r.rpc)
            .map_err(|e| HttpFailure::from_signal(signal_from_text(&e.to_string())))?
            .with_expected_chain_id(r.chain_id)
            .with_currencies([r.currency.to_string()])
            // Never more than the agreed amount, whatever a challenge asks.
            .with_max_atomic_amount(alloy::primitives::U256::from(r.amount));
        match &r.challenge {
            Some(held) => present(&provider, &plain, r, held).await?,
            None => fetch_and_pay(provider, plain, r).await?,
        }
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
