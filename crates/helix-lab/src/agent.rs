//! What a paying agent does, as requests Helix can patch and operations
//! that call the lab's services over HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helix_core::{ErrorSignal, IntoSignal, Patch, PaymentView, Platform, Refused, Repairable};
use helix_http::rpc::{self, RpcError};
use helix_http::{HttpFailure, failure_from_response};
use helix_platforms::mpp::parse_challenge;
use serde_json::{Value, json};

use crate::chain::Tx;
use crate::services::Credential;

fn fail(p: Platform, msg: impl Into<String>) -> HttpFailure {
    HttpFailure::from_signal(ErrorSignal::message(msg.into()).with_platform(p))
}

fn rpc_fail(p: Platform, e: RpcError) -> HttpFailure {
    HttpFailure::from_signal(e.to_signal().with_platform(p))
}

fn digest(parts: &[&str]) -> u64 {
    // A stable digest of the payment's identity for the invariant check.
    let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    helix_core::fnv::Fnv1a::of_parts(&parts, 0)
}

/// An MPP payment for a resource (tempo/charge).
#[derive(Debug, Clone)]
pub struct MppPayment {
    /// The paid resource.
    pub resource: String,
    /// RPC endpoint of the chain the agent signs for.
    pub rpc: String,
    /// The agent.
    pub payer: String,
    /// Who the agent expects to pay; a challenge naming anyone else is refused.
    pub recipient: String,
    /// Base units.
    pub amount: u128,
    /// The TIP-20 the agent pays in.
    pub currency: String,
    /// The TIP-20 the fee is paid in.
    pub fee_token: String,
    /// Chain the payment is for.
    pub chain_id: u64,
    /// An explicit nonce (else the pending nonce is read).
    pub nonce: Option<u64>,
    /// A challenge already held.
    pub challenge: Option<String>,
    /// A receipt for a payment already made.
    pub receipt: Option<String>,
    /// One key for this logical payment.
    pub idempotency_key: String,
}

impl Repairable for MppPayment {
    fn view(&self) -> PaymentView {
        PaymentView {
            payer: Some(self.payer.clone()),
            recipient: Some(self.recipient.clone()),
            amount: Some(self.amount),
            currency: Some(self.currency.clone()),
            fee_token: Some(self.fee_token.clone()),
            nonce: self.nonce,
            endpoint: Some(self.resource.clone()),
            chain_id: Some(self.chain_id),
            idempotency_key: Some(self.idempotency_key.clone()),
            calldata_digest: Some(digest(&[&self.recipient, &self.resource])),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::Nonce { nonce } => self.nonce = Some(*nonce),
            Patch::FeeToken { token } => self.fee_token = token.clone(),
            Patch::Currency { currency } => {
                self.currency = currency.clone();
                // A challenge is bound to its currency.
                self.challenge = None;
            }
            Patch::Network { rpc_url, chain_id } if *chain_id == self.chain_id => {
                self.rpc = rpc_url.clone()
            }
            Patch::Challenge { challenge } => self.challenge = Some(challenge.clone()),
            Patch::Receipt { receipt } => self.receipt = Some(receipt.clone()),
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

/// A paid answer.
#[derive(Debug, Clone)]
pub struct Paid {
    /// The server's Payment-Receipt.
    pub receipt: Option<String>,
    /// The body.
    pub body: Value,
}

async fn ok_or_fail(resp: reqwest::Response, p: Platform, sent: bool) -> Result<Paid, HttpFailure> {
    if resp.status().is_success() {
        let receipt = resp
            .headers()
            .get("payment-receipt")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.json().await.unwrap_or(Value::Null);
        return Ok(Paid { receipt, body });
    }
    let mut f = failure_from_response(resp).await.on(p);
    if sent {
        f = f.after_payment_sent();
    }
    Err(f)
}

/// Pays an MPP resource: take (or fetch) a challenge in the agent's
/// currency, check chain and payee, estimate the transfer on chain, present
/// the credential. A receipt, when held, is presented instead of paying.
pub async fn pay_mpp(http: &reqwest::Client, r: &MppPayment) -> Result<Paid, HttpFailure> {
    let t = Platform::Tempo;
    if let Some(receipt) = &r.receipt {
        let resp = http
            .get(&r.resource)
            .header("payment-receipt", receipt)
            .header("idempotency-key", &r.idempotency_key)
            .send()
            .await?;
        return ok_or_fail(resp, t, false).await;
    }
    let raw = match &r.challenge {
        Some(c) => c.clone(),
        None => {
            let resp = http
                .get(&r.resource)
                .header("idempotency-key", &r.idempotency_key)
                .send()
                .await?;
            if resp.status().as_u16() != 402 {
                return ok_or_fail(resp, t, false).await;
            }
            let parsed: Vec<_> = helix_platforms::mpp::offered(resp.headers())
                .into_iter()
                .flatten()
                .collect();
            match parsed
                .iter()
                .find(|c| c.request.currency.eq_ignore_ascii_case(&r.currency))
            {
                Some(c) => c.raw.clone(),
                None => {
                    let accepted: Vec<String> =
                        parsed.iter().map(|c| c.request.currency.clone()).collect();
                    let names: Vec<&str> =
                        accepted.iter().map(|a| crate::tokens::symbol(a)).collect();
                    let mut f = fail(
                        t,
                        format!(
                            "Unsupported currency {}: this service only accepts {}",
                            crate::tokens::symbol(&r.currency),
                            names.join(", ")
                        ),
                    );
                    f.signal.facts.accepted_currencies = accepted;
                    return Err(f);
                }
            }
        }
    };
    let ch = parse_challenge(&raw).map_err(|e| fail(t, format!("unusable challenge: {e}")))?;
    if !ch.request.recipient.eq_ignore_ascii_case(&r.recipient) {
        return Err(fail(
            t,
            format!(
                "refusing to pay {}: the agent pays {}",
                ch.request.recipient, r.recipient
            ),
        ));
    }
    let amount = ch
        .request
        .amount_units()
        .map_err(|e| fail(t, e.to_string()))?;
    if amount != r.amount {
        return Err(fail(
            t,
            format!(
                "refusing a charge of {amount}: the agent agreed to {}",
                r.amount
            ),
        ));
    }
    let want_chain = ch.request.chain().unwrap_or(r.chain_id);
    let have_chain = rpc::chain_id(http, &r.rpc)
        .await
        .map_err(|e| rpc_fail(t, e))?;
    if have_chain != want_chain {
        return Err(fail(
            t,
            format!(
                "chain id mismatch: the challenge expects chainId {want_chain} but {} serves chain {have_chain}",
                r.rpc
            ),
        ));
    }
    let nonce = match r.nonce {
        Some(n) => n,
        None => rpc::pending_nonce(http, &r.rpc, &r.payer)
            .await
            .map_err(|e| rpc_fail(t, e))?,
    };
    let tx = Tx {
        from: r.payer.clone(),
        to: ch.request.recipient.clone(),
        token: r.currency.clone(),
        amount,
        nonce,
        fee_token: r.fee_token.clone(),
        chain_id: want_chain,
        // As an MPP client signs a charge: valid for a short window, never
        // past the challenge's expiry.
        valid_before: Some(valid_before(ch.expires.as_deref())),
    };
    rpc::call(http, &r.rpc, "eth_estimateGas", json!([tx]))
        .await
        .map_err(|e| rpc_fail(t, e))?;
    let (hash, valid_before) = (tx.hash(), tx.valid_before);
    let cred = URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&Credential { id: ch.id, tx }).unwrap_or_default());
    let sent = |mut f: HttpFailure| {
        f.signal.facts.tx_hash = Some(hash.clone());
        f.signal.facts.valid_before = valid_before;
        f.after_payment_sent()
    };
    let resp = http
        .get(&r.resource)
        .header("authorization", format!("Payment {cred}"))
        .header("idempotency-key", &r.idempotency_key)
        .send()
        .await
        .map_err(|e| sent(HttpFailure::from(e)))?;
    ok_or_fail(resp, t, false).await.map_err(sent)
}

/// How long an MPP client's charge transaction stays valid.
const CHARGE_VALIDITY_SECS: u64 = 25;

/// `valid_before` of a charge: a short window, capped at the challenge's
/// expiry (RFC 3339, as MPP's `expires` is written).
fn valid_before(expires: Option<&str>) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let window = now + CHARGE_VALIDITY_SECS;
    let expiry = expires.and_then(|e| {
        time::OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339).ok()
    });
    match expiry.and_then(|t| u64::try_from(t.unix_timestamp()).ok()) {
        Some(e) => window.min(e.saturating_add(1)),
        None => window,
    }
}

/// A Tempo 0x76-style batch: calls executed in order, the payment among them.
#[derive(Debug, Clone)]
pub struct BatchPayment {
    /// RPC endpoint.
    pub rpc: String,
    /// Sender.
    pub payer: String,
    /// Calls: the transfer and data of each.
    pub calls: Vec<BatchCall>,
}

/// One call of a batch.
#[derive(Debug, Clone)]
pub struct BatchCall {
    /// The transfer this call makes.
    pub tx: Tx,
    /// Call data (the lab reverts on `0xdead`).
    pub data: String,
    /// This call is the caller's payment: it may never be dropped.
    pub is_payment: bool,
}

impl BatchPayment {
    fn payment(&self) -> Option<&BatchCall> {
        self.calls.iter().find(|c| c.is_payment)
    }
}

impl Repairable for BatchPayment {
    fn view(&self) -> PaymentView {
        let p = self.payment();
        PaymentView {
            payer: Some(self.payer.clone()),
            recipient: p.map(|c| c.tx.to.clone()),
            amount: p.map(|c| c.tx.amount),
            currency: p.map(|c| c.tx.token.clone()),
            calldata_digest: p.map(|c| digest(&[&c.tx.to, &c.data, &c.tx.token])),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::DropCall { index } => match self.calls.get(*index) {
                Some(c) if c.is_payment => Err(Refused {
                    patch: p.kind(),
                    reason: "that call is the payment".into(),
                }),
                Some(_) => {
                    self.calls.remove(*index);
                    Ok(())
                }
                None => Err(Refused {
                    patch: p.kind(),
                    reason: format!("no call {index}"),
                }),
            },
            other => Err(Refused::unsupported(other)),
        }
    }
}

/// Sends a batch.
pub async fn send_batch(
    http: &reqwest::Client,
    b: &BatchPayment,
) -> Result<Vec<String>, HttpFailure> {
    let calls: Vec<Value> = b
        .calls
        .iter()
        .map(|c| json!({"tx": c.tx, "data": c.data}))
        .collect();
    let v = rpc::call(
        http,
        &b.rpc,
        "lab_sendBatch",
        json!([{"from": b.payer, "calls": calls}]),
    )
    .await
    .map_err(|e| rpc_fail(Platform::Tempo, e))?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// Converting one stablecoin into another with a bound against par.
#[derive(Debug, Clone)]
pub struct SwapOrder {
    /// RPC endpoint.
    pub rpc: String,
    /// Who swaps.
    pub payer: String,
    /// Sold.
    pub token_in: String,
    /// Bought.
    pub token_out: String,
    /// Base units sold in total.
    pub amount_in: u128,
    /// Worst acceptable price against par, basis points.
    pub max_slippage_bps: u32,
    /// Parts the order is executed in.
    pub parts: u32,
    /// Sold so far: a retried order never sells a part twice.
    pub filled: Arc<Mutex<u128>>,
}

impl Repairable for SwapOrder {
    fn view(&self) -> PaymentView {
        PaymentView {
            payer: Some(self.payer.clone()),
            recipient: Some(self.payer.clone()),
            amount: Some(self.amount_in),
            currency: Some(self.token_in.clone()),
            buy_currency: Some(self.token_out.clone()),
            calldata_digest: Some(digest(&[&self.token_in, &self.token_out])),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::Split { parts } if *parts >= 2 => {
                self.parts = *parts;
                Ok(())
            }
            other => Err(Refused::unsupported(other)),
        }
    }
}

/// Executes the order part by part; each part carries its own min-out.
pub async fn swap(http: &reqwest::Client, o: &SwapOrder) -> Result<u128, HttpFailure> {
    let part = o.amount_in.div_ceil(u128::from(o.parts.max(1)));
    let mut out_total = 0u128;
    loop {
        let done = *o.filled.lock().unwrap_or_else(|p| p.into_inner());
        if done >= o.amount_in {
            return Ok(out_total);
        }
        let amount = part.min(o.amount_in - done);
        let min_out = helix_tempo::min_out(amount, o.max_slippage_bps);
        let v = rpc::call(
            http,
            &o.rpc,
            "lab_swap",
            json!([{"from": o.payer, "tokenIn": o.token_in, "tokenOut": o.token_out, "amountIn": amount.to_string(), "minAmountOut": min_out.to_string()}]),
        )
        .await
        .map_err(|e| rpc_fail(Platform::Tempo, e))?;
        out_total += v
            .get("amountOut")
            .and_then(Value::as_str)
            .and_then(|a| a.parse::<u128>().ok())
            .unwrap_or(0);
        *o.filled.lock().unwrap_or_else(|p| p.into_inner()) += amount;
    }
}

/// A fiat payout through an off-ramp provider.
#[derive(Debug, Clone)]
pub struct Payout {
    /// Provider endpoint.
    pub endpoint: String,
    /// Base units.
    pub amount: u128,
    /// The bank account paid.
    pub account: String,
}

impl Repairable for Payout {
    fn view(&self) -> PaymentView {
        PaymentView {
            recipient: Some(self.account.clone()),
            amount: Some(self.amount),
            endpoint: Some(self.endpoint.clone()),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::Endpoint { url } => {
                self.endpoint = url.clone();
                Ok(())
            }
            other => Err(Refused::unsupported(other)),
        }
    }
}

/// Requests the payout.
pub async fn payout(http: &reqwest::Client, p: &Payout) -> Result<Value, HttpFailure> {
    let resp = http
        .post(&p.endpoint)
        .json(&json!({"amount": p.amount.to_string(), "account": p.account}))
        .send()
        .await?;
    ok_or_fail(resp, Platform::Tempo, false)
        .await
        .map(|p| p.body)
}

/// A plain HTTP call with a deadline.
#[derive(Debug, Clone)]
pub struct HttpCall {
    /// URL.
    pub url: String,
    /// Deadline.
    pub deadline_ms: u64,
}

impl Repairable for HttpCall {
    fn view(&self) -> PaymentView {
        PaymentView {
            endpoint: Some(self.url.clone()),
            deadline_ms: Some(self.deadline_ms),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::Deadline { ms } => self.deadline_ms = *ms,
            Patch::Endpoint { url } => self.url = url.clone(),
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

/// Calls it.
pub async fn call(http: &reqwest::Client, c: &HttpCall) -> Result<Value, HttpFailure> {
    let resp = http
        .get(&c.url)
        .timeout(Duration::from_millis(c.deadline_ms))
        .send()
        .await
        .map_err(|e| HttpFailure::from(e).on(Platform::Http))?;
    ok_or_fail(resp, Platform::Http, false)
        .await
        .map(|p| p.body)
}

/// A transfer through a Privy server wallet.
#[derive(Debug, Clone)]
pub struct PrivyTransfer {
    /// `.../privy/v1/wallets/{id}/rpc`.
    pub endpoint: String,
    /// The wallet's address.
    pub wallet: String,
    /// Recipient.
    pub to: String,
    /// Token.
    pub token: String,
    /// Base units.
    pub amount: u128,
    /// The chain the payment is for (the invoice's). Never changes.
    pub chain_id: u64,
    /// CAIP-2 chain the request to Privy names (may be misconfigured).
    pub caip2: String,
    /// Explicit nonce, if the caller manages nonces.
    pub nonce: Option<u64>,
    /// Fee token; `None` asks Privy to sponsor gas.
    pub fee_token: Option<String>,
    /// Parts the transfer is split into.
    pub parts: u32,
    /// Sent so far: a retry never sends a part twice.
    pub sent: Arc<Mutex<u128>>,
}

impl Repairable for PrivyTransfer {
    fn view(&self) -> PaymentView {
        PaymentView {
            payer: Some(self.wallet.clone()),
            recipient: Some(self.to.clone()),
            amount: Some(self.amount),
            currency: Some(self.token.clone()),
            fee_token: self.fee_token.clone(),
            nonce: self.nonce,
            endpoint: Some(self.endpoint.clone()),
            chain_id: Some(self.chain_id),
            calldata_digest: Some(digest(&[&self.to, &self.token])),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::Nonce { nonce } => self.nonce = Some(*nonce),
            Patch::FeeToken { token } => self.fee_token = Some(token.clone()),
            // Only onto the payment's own chain.
            Patch::Network { chain_id, .. } if *chain_id == self.chain_id => {
                self.caip2 = format!("eip155:{chain_id}")
            }
            Patch::Split { parts } if *parts >= 2 => self.parts = *parts,
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

/// Sends the transfer (in parts when split).
pub async fn privy_send(
    http: &reqwest::Client,
    t: &PrivyTransfer,
) -> Result<Vec<String>, HttpFailure> {
    let part = t.amount.div_ceil(u128::from(t.parts.max(1)));
    let mut hashes = Vec::new();
    let mut nonce = t.nonce;
    loop {
        let done = *t.sent.lock().unwrap_or_else(|p| p.into_inner());
        if done >= t.amount {
            return Ok(hashes);
        }
        let value = part.min(t.amount - done);
        let mut tx =
            json!({"from": t.wallet, "to": t.to, "token": t.token, "value": value.to_string()});
        if let Some(n) = nonce {
            tx["nonce"] = json!(n);
        }
        if let Some(f) = &t.fee_token {
            tx["fee_token"] = json!(f);
        }
        let body = json!({"method": "eth_sendTransaction", "caip2": t.caip2, "params": {"transaction": tx}});
        let resp = http.post(&t.endpoint).json(&body).send().await?;
        let v = ok_or_fail(resp, Platform::Privy, false).await?.body;
        hashes.push(
            v.pointer("/data/hash")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        );
        *t.sent.lock().unwrap_or_else(|p| p.into_inner()) += value;
        nonce = nonce.map(|n| n + 1);
    }
}

/// A Stripe card payment (PaymentIntent created and confirmed at once).
#[derive(Debug, Clone)]
pub struct StripeCharge {
    /// `.../stripe`.
    pub base: String,
    /// Cents.
    pub amount: u64,
    /// Card.
    pub payment_method: String,
    /// The logical payment's key (metadata `helix_key`).
    pub key: String,
    /// Idempotency-Key actually sent (the logical key unless a repair chose another).
    pub idempotency_key: String,
    /// An intent that already exists: resume it instead of creating one.
    pub existing: Option<String>,
}

impl Repairable for StripeCharge {
    fn view(&self) -> PaymentView {
        PaymentView {
            recipient: Some(self.base.clone()),
            amount: Some(u128::from(self.amount)),
            payment_method: Some(self.payment_method.clone()),
            idempotency_key: Some(self.key.clone()),
            calldata_digest: Some(digest(&[&self.key])),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::PaymentMethod { id } => {
                // Another card is another charge attempt: its own key, while
                // the logical key (metadata) stays and finds every attempt.
                self.payment_method = id.clone();
                self.idempotency_key = format!("{}.{id}", self.key);
            }
            Patch::IdempotencyKey { key } => self.idempotency_key = key.clone(),
            Patch::UseExisting { id } => self.existing = Some(id.clone()),
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

/// Creates and confirms the charge, or resumes an existing intent.
pub async fn stripe_charge(http: &reqwest::Client, c: &StripeCharge) -> Result<Value, HttpFailure> {
    let s = Platform::Stripe;
    if let Some(id) = &c.existing {
        let resp = http
            .get(format!("{}/v1/payment_intents/{id}", c.base))
            .send()
            .await?;
        let intent = ok_or_fail(resp, s, false).await?.body;
        return match intent.get("status").and_then(Value::as_str) {
            Some("succeeded") => Ok(intent),
            Some("requires_confirmation") => {
                let resp = http
                    .post(format!("{}/v1/payment_intents/{id}/confirm", c.base))
                    .send()
                    .await?;
                ok_or_fail(resp, s, false).await.map(|p| p.body)
            }
            other => Err(fail(
                s,
                format!("payment intent {id} is {}", other.unwrap_or("unknown")),
            )),
        };
    }
    let form = [
        ("amount", c.amount.to_string()),
        ("currency", "usd".into()),
        ("payment_method", c.payment_method.clone()),
        ("confirm", "true".into()),
        ("off_session", "true".into()),
        ("metadata[helix_key]", c.key.clone()),
    ];
    let resp = http
        .post(format!("{}/v1/payment_intents", c.base))
        .header("idempotency-key", &c.idempotency_key)
        .form(&form)
        .send()
        .await?;
    ok_or_fail(resp, s, false).await.map(|p| p.body)
}
