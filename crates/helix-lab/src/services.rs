//! The lab's HTTP services, each answering in its platform's wire format:
//! JSON-RPC for the chain, MPP 402 challenges with problem+json, Privy's
//! `{"error", "code"}`, Stripe's error object, plain HTTP 429/5xx/slow.
//!
//! STAND-INS for services that cannot be reached offline (Privy, Stripe) or
//! that belong to the chain work (the MPP server verifies against the lab
//! chain). Fault injection is state the scenario arms before each run.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helix_platforms::mpp::{ChargeRequest, encode_request};
use serde_json::{Value, json};

use crate::chain::{Chain, Tx, eq};
use crate::tokens::UNIT;

/// Where MPP problem types live.
const PROBLEMS: &str = "https://paymentauth.org/problems/";

/// A paid resource of the MPP server.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Charge, base units.
    pub price: u128,
    /// Accepted TIP-20 addresses (one challenge each).
    pub currencies: Vec<String>,
    /// Who is paid.
    pub recipient: String,
    /// Chain the payment must land on.
    pub chain_id: u64,
    /// Seconds a challenge stays valid.
    pub ttl_secs: u64,
    /// Answer 500 once after taking the payment.
    pub fail_after_payment_once: bool,
    /// Answer 502 once after taking the payment, with no receipt (a
    /// gateway in front of the service failed on the way back).
    pub fail_without_receipt_once: bool,
}

#[derive(Debug, Clone)]
struct Issued {
    resource: String,
    currency: String,
    expires_at: u64,
    used: bool,
}

/// A Stripe payment intent.
#[derive(Debug, Clone)]
pub struct Intent {
    /// `pi_...`.
    pub id: String,
    /// Base units of the currency.
    pub amount: u64,
    /// Card.
    pub payment_method: String,
    /// Stripe status.
    pub status: String,
    /// The logical payment key (metadata).
    pub helix_key: String,
}

/// Everything the lab knows; scenarios arm faults here.
#[derive(Debug, Default)]
pub struct LabState {
    /// Chains by id.
    pub chains: HashMap<u64, Chain>,
    /// MPP resources by name.
    pub resources: HashMap<String, Resource>,
    challenges: HashMap<String, Issued>,
    receipts: HashMap<String, String>,
    /// Privy: largest single transfer the wallet policy allows.
    pub privy_limit: u128,
    /// Privy: gas sponsorship balance.
    pub privy_sponsor: u128,
    /// Privy: the chain the wallet is provisioned on.
    pub privy_chain: u64,
    /// Stripe intents.
    pub intents: Vec<Intent>,
    stripe_keys: HashMap<String, (String, u16, Value)>,
    /// Stripe: requests to answer with 429 before serving.
    pub stripe_rate_limited: u32,
    /// Webhook notifications received.
    pub notifications: Vec<Value>,
    /// Generic HTTP: 429s to give before serving.
    pub http_limited: u32,
    /// Generic HTTP: 503s to give before serving.
    pub http_flaky: u32,
    /// Generic HTTP: delay of the slow endpoint.
    pub http_slow_ms: u64,
    /// How long a window lasts that the agent is not told of (a limit that
    /// resets, a book makers refill), ms; set by the tuning rows.
    pub untold_window_ms: u64,
    /// Generic HTTP: the `window` endpoint answers 429, without
    /// Retry-After, until then (started by its first call).
    pub http_window_until: Option<std::time::Instant>,
    /// Makers refill the main chain's pools to this depth at this time.
    pub refill: Option<(std::time::Instant, Vec<(String, u128)>)>,
    /// Off-ramp providers that answer 503.
    pub offramps_down: HashSet<String>,
    /// Payouts made, by provider.
    pub payouts: Vec<(String, u128)>,
    /// Successful calls per generic HTTP endpoint.
    pub http_served: HashMap<String, u32>,
    /// Every request to an MPP resource, as the server saw it.
    pub mpp_seen: Vec<MppSeen>,
}

/// One request to an MPP resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MppSeen {
    /// The resource.
    pub resource: String,
    /// Its `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The challenge id of the credential it presented, if any.
    pub credential_for: Option<String>,
    /// It presented a `Payment-Receipt` instead of paying.
    pub with_receipt: bool,
}

/// Shared lab state.
pub type Shared = Arc<Mutex<LabState>>;

/// Locks the state; a poisoned lock (a panicked handler) is taken over, since
/// the lab must keep answering for the remaining rows.
pub fn lock(s: &Shared) -> MutexGuard<'_, LabState> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The router of every lab service.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/chain/{id}/rpc", post(rpc))
        .route("/mpp/{name}", get(mpp))
        .route("/offramp/{name}/payout", post(offramp))
        .route("/http/{name}", get(http))
        .route("/privy/v1/wallets/{id}/rpc", post(privy))
        .route("/stripe/v1/payment_intents", post(stripe_create))
        .route("/stripe/v1/payment_intents/search", get(stripe_search))
        .route("/stripe/v1/payment_intents/{id}", get(stripe_get))
        .route(
            "/stripe/v1/payment_intents/{id}/confirm",
            post(stripe_confirm),
        )
        .route("/lab/notify", post(notify))
        .with_state(state)
}

async fn rpc(State(s): State<Shared>, Path(id): Path<u64>, body: Bytes) -> Response {
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Json(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": format!("parse error: {e}")}}))
                .into_response();
        }
    };
    let rid = req.get("id").cloned().unwrap_or(Value::Null);
    let method = req.get("method").and_then(Value::as_str).unwrap_or("");
    let params = req.get("params").cloned().unwrap_or(json!([]));
    let mut st = lock(&s);
    if id == crate::scenarios::MAIN_CHAIN
        && let Some((at, depths)) = st
            .refill
            .take_if(|(at, _)| *at <= std::time::Instant::now())
    {
        let _ = at;
        if let Some(c) = st.chains.get_mut(&id) {
            for (token, depth) in depths {
                c.set_reserve(&token, depth);
            }
        }
    }
    let Some(chain) = st.chains.get_mut(&id) else {
        return (StatusCode::NOT_FOUND, "no such chain").into_response();
    };
    let out = match chain.rpc(method, &params) {
        Ok(r) => json!({"jsonrpc": "2.0", "id": rid, "result": r}),
        Err(e) => json!({"jsonrpc": "2.0", "id": rid, "error": e.to_json()}),
    };
    Json(out).into_response()
}

fn problem(code: &str, status: StatusCode, detail: impl Into<String>) -> Response {
    let body = json!({"type": format!("{PROBLEMS}{code}"), "title": code, "status": status.as_u16(), "detail": detail.into()});
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// The credential a lab payer presents: the challenge id and the signed transfer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Credential {
    /// Challenge id.
    pub id: String,
    /// The transfer, signed (the lab trusts the `from` field).
    pub tx: Tx,
}

async fn mpp(State(s): State<Shared>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let mut st = lock(&s);
    let Some(res) = st.resources.get(&name).cloned() else {
        return (StatusCode::NOT_FOUND, "no such resource").into_response();
    };
    let text = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let seen = MppSeen {
        resource: name.clone(),
        idempotency_key: text("idempotency-key").map(str::to_owned),
        credential_for: text("authorization")
            .and_then(|a| a.strip_prefix("Payment "))
            .and_then(|c| URL_SAFE_NO_PAD.decode(c.trim()).ok())
            .and_then(|b| serde_json::from_slice::<Credential>(&b).ok())
            .map(|c| c.id),
        with_receipt: text("payment-receipt").is_some(),
    };
    st.mpp_seen.push(seen);
    if let Some(r) = headers.get("payment-receipt").and_then(|v| v.to_str().ok()) {
        return if st.receipts.get(r) == Some(&name) {
            let mut resp =
                Json(json!({"data": format!("{name} content"), "receipt": r})).into_response();
            if let Ok(v) = HeaderValue::from_str(r) {
                resp.headers_mut().insert("payment-receipt", v);
            }
            resp
        } else {
            problem(
                "verification-failed",
                StatusCode::PAYMENT_REQUIRED,
                "unknown receipt",
            )
        };
    }
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return challenge(&mut st, &name, &res);
    };
    let Some(cred) = auth
        .strip_prefix("Payment ")
        .and_then(|c| URL_SAFE_NO_PAD.decode(c.trim()).ok())
        .and_then(|b| serde_json::from_slice::<Credential>(&b).ok())
    else {
        return problem(
            "malformed-credential",
            StatusCode::PAYMENT_REQUIRED,
            "credential is not base64url JSON",
        );
    };
    let Some(issued) = st.challenges.get(&cred.id).cloned() else {
        return problem(
            "invalid-challenge",
            StatusCode::PAYMENT_REQUIRED,
            format!("unknown challenge id {}", cred.id),
        );
    };
    if issued.resource != name {
        return problem(
            "invalid-challenge",
            StatusCode::PAYMENT_REQUIRED,
            "challenge was issued for another resource",
        );
    }
    if issued.used {
        return problem(
            "invalid-challenge",
            StatusCode::PAYMENT_REQUIRED,
            "challenge already used (replay)",
        );
    }
    if now_secs() >= issued.expires_at {
        return problem(
            "invalid-challenge",
            StatusCode::PAYMENT_REQUIRED,
            format!("Challenge expired at unix time {}", issued.expires_at),
        );
    }
    if !eq(&cred.tx.token, &issued.currency) {
        return problem(
            "method-unsupported",
            StatusCode::PAYMENT_REQUIRED,
            "credential pays in another currency than its challenge",
        );
    }
    if !eq(&cred.tx.to, &res.recipient)
        || cred.tx.amount != res.price
        || cred.tx.chain_id != res.chain_id
    {
        return problem(
            "verification-failed",
            StatusCode::PAYMENT_REQUIRED,
            "transaction does not match the challenge",
        );
    }
    let Some(chain) = st.chains.get_mut(&res.chain_id) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
    };
    let hash = match chain.send(cred.tx.clone()) {
        Ok(h) => h,
        // As pympp does: a transfer that fails on chain is a bare 500; on a
        // chain it was mined and reverted, so its receipt says so.
        Err(e) => {
            chain.record_failed(&cred.tx);
            tracing::info!(target: "helix_lab::mpp", err = %e.message, "payment transaction failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
        }
    };
    if let Some(i) = st.challenges.get_mut(&cred.id) {
        i.used = true;
    }
    if let Some(r) = st.resources.get_mut(&name)
        && r.fail_without_receipt_once
    {
        r.fail_without_receipt_once = false;
        return (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response();
    }
    let receipt = URL_SAFE_NO_PAD.encode(
        json!({"status": "success", "method": "tempo", "reference": hash, "challengeId": cred.id})
            .to_string(),
    );
    st.receipts.insert(receipt.clone(), name.clone());
    let mut resp = if res.fail_after_payment_once {
        if let Some(r) = st.resources.get_mut(&name) {
            r.fail_after_payment_once = false;
        }
        (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
    } else {
        Json(json!({"data": format!("{name} content"), "tx": hash})).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&receipt) {
        resp.headers_mut().insert("payment-receipt", v);
    }
    resp
}

fn challenge(st: &mut LabState, name: &str, res: &Resource) -> Response {
    let mut resp = problem(
        "payment-required",
        StatusCode::PAYMENT_REQUIRED,
        "payment required",
    );
    for c in &res.currencies {
        let id = format!("{:016x}", rand::random::<u64>());
        let request = encode_request(&ChargeRequest {
            amount: res.price.to_string(),
            currency: c.clone(),
            recipient: res.recipient.clone(),
            chain_id: None,
            method_details: Some(helix_platforms::mpp::MethodDetails {
                chain_id: Some(res.chain_id),
            }),
        });
        let expires_at = now_secs() + res.ttl_secs;
        st.challenges.insert(
            id.clone(),
            Issued {
                resource: name.into(),
                currency: c.clone(),
                expires_at,
                used: false,
            },
        );
        let expires = iso8601(expires_at);
        let h = format!(
            r#"Payment id="{id}", realm="helix-lab", method="tempo", intent="charge", request="{request}", expires="{expires}""#
        );
        if let Ok(v) = HeaderValue::from_str(&h) {
            resp.headers_mut().append(header::WWW_AUTHENTICATE, v);
        }
    }
    resp
}

/// Unix seconds as the RFC 3339 timestamp MPP's `expires` carries.
fn iso8601(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl LabState {
    /// Issues a challenge that has already expired (a client holding a stale one).
    pub fn stale_challenge(&mut self, name: &str) -> Option<String> {
        let res = self.resources.get(name)?.clone();
        let resp = challenge(self, name, &res);
        let h = resp
            .headers()
            .get(header::WWW_AUTHENTICATE)?
            .to_str()
            .ok()?
            .to_owned();
        let c = helix_platforms::mpp::parse_challenge(&h).ok()?;
        let past = now_secs().saturating_sub(60);
        self.challenges.get_mut(&c.id)?.expires_at = past;
        // What the agent holds says when it expired, as a real one would.
        let old = format!("expires=\"{}\"", c.expires?);
        Some(h.replace(&old, &format!("expires=\"{}\"", iso8601(past))))
    }

    /// A first attempt under `key` that was declined, with other parameters
    /// (a card since replaced): the key now conflicts, and provably failed.
    pub fn seed_failed_attempt(&mut self, key: &str) {
        let id = format!("pi_{:012x}", rand::random::<u64>() >> 16);
        let intent = Intent {
            id,
            amount: 2_000,
            payment_method: "pm_card_chargeDeclined".into(),
            status: "requires_payment_method".into(),
            helix_key: key.into(),
        };
        let (code, body) = stripe_error(
            StatusCode::PAYMENT_REQUIRED,
            json!({"type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined.", "payment_intent": intent_json(&intent)}),
        );
        self.stripe_keys.insert(
            key.into(),
            (
                "seeded: payment_method=pm_card_chargeDeclined".into(),
                code,
                body,
            ),
        );
        self.intents.push(intent);
    }

    /// Transfers to `to` that landed on chain `chain`.
    pub fn transfers_to(&self, chain: u64, to: &str) -> Vec<crate::chain::Landed> {
        self.chains
            .get(&chain)
            .map(|c| {
                c.landed
                    .iter()
                    .filter(|l| eq(&l.tx.to, to))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn offramp(
    State(s): State<Shared>,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut st = lock(&s);
    if st.offramps_down.contains(&name) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"message": format!("payout failed: off-ramp provider {name} is unavailable")}))).into_response();
    }
    let amount = body
        .get("amount")
        .and_then(Value::as_str)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    st.payouts.push((name.clone(), amount));
    Json(json!({"status": "paid_out", "provider": name})).into_response()
}

async fn http(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    let delay = {
        let mut st = lock(&s);
        match name.as_str() {
            "limited" if st.http_limited > 0 => {
                st.http_limited -= 1;
                let mut r = (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return r;
            }
            "window" => {
                let now = std::time::Instant::now();
                let window = Duration::from_millis(st.untold_window_ms);
                let until = *st.http_window_until.get_or_insert(now + window);
                if now < until {
                    return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
                }
                0
            }
            "flaky" if st.http_flaky > 0 => {
                st.http_flaky -= 1;
                return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
            }
            "slow" => st.http_slow_ms,
            _ => 0,
        }
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    *lock(&s).http_served.entry(name.clone()).or_default() += 1;
    Json(json!({"ok": true, "endpoint": name})).into_response()
}

fn privy_error(status: StatusCode, msg: String, code: &str) -> Response {
    (status, Json(json!({"error": msg, "code": code}))).into_response()
}

async fn privy(
    State(s): State<Shared>,
    Path(wallet): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut st = lock(&s);
    let caip2 = body.get("caip2").and_then(Value::as_str).unwrap_or("");
    let want = format!("eip155:{}", st.privy_chain);
    if caip2 != want {
        return privy_error(
            StatusCode::BAD_REQUEST,
            format!(
                "Privy wallet {wallet} is provisioned on Tempo (chainId: {}) but transaction targets {caip2}. Cannot sign for mismatched chain",
                st.privy_chain
            ),
            "invalid_data",
        );
    }
    let t = body
        .pointer("/params/transaction")
        .cloned()
        .unwrap_or(Value::Null);
    let s_of = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(from), Some(to), Some(token), Some(value)) = (
        s_of("from"),
        s_of("to"),
        s_of("token"),
        s_of("value").and_then(|v| v.parse::<u128>().ok()),
    ) else {
        return privy_error(
            StatusCode::BAD_REQUEST,
            "Invalid transaction: from, to, token and value are required".into(),
            "invalid_data",
        );
    };
    if value > st.privy_limit {
        return privy_error(
            StatusCode::FORBIDDEN,
            format!(
                "Privy policy engine rejected transaction: AMOUNT_EXCEEDS_LIMIT. Policy \"max_transfer_{limit}\" limits single transfer to {limit} USDC. Requested: {req} USDC",
                limit = st.privy_limit / UNIT,
                req = value / UNIT
            ),
            "policy_violation",
        );
    }
    let chain_id = st.privy_chain;
    let Some(chain) = st.chains.get(&chain_id) else {
        return privy_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "chain unavailable".into(),
            "internal_error",
        );
    };
    let chain_nonce = chain.nonce(&from);
    if let Some(n) = t.get("nonce").and_then(Value::as_u64)
        && n != chain_nonce
    {
        return privy_error(
            StatusCode::BAD_REQUEST,
            format!(
                "Transaction nonce mismatch: wallet internal nonce={n} but chain nonce={chain_nonce}. Two pending transactions may be stuck in mempool"
            ),
            "invalid_data",
        );
    }
    let fee_token = s_of("fee_token");
    if fee_token.is_none() && st.privy_sponsor == 0 {
        return privy_error(
            StatusCode::BAD_REQUEST,
            "Privy automated gas sponsorship balance depleted. Sponsor wallet 0x1234...5678 has 0 USDC. Cannot pay gas for agent transaction".into(),
            "insufficient_funds",
        );
    }
    let sponsored = fee_token.is_none();
    let tx = Tx {
        from: from.clone(),
        to,
        token: token.clone(),
        amount: value,
        nonce: chain_nonce,
        fee_token: fee_token.unwrap_or_else(|| token.clone()),
        chain_id,
        valid_before: None,
    };
    let Some(chain) = st.chains.get_mut(&chain_id) else {
        return privy_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "chain unavailable".into(),
            "internal_error",
        );
    };
    if sponsored {
        // The sponsor pays the fee: credit it to the sender first.
        let b = chain.balance(&tx.fee_token, &from);
        chain.set_balance(&tx.fee_token, &from, b + crate::tokens::FEE);
    }
    match chain.send(tx) {
        Ok(hash) => {
            if sponsored {
                st.privy_sponsor = st.privy_sponsor.saturating_sub(crate::tokens::FEE);
            }
            Json(json!({"method": "eth_sendTransaction", "data": {"hash": hash, "caip2": caip2}}))
                .into_response()
        }
        Err(e) => privy_error(StatusCode::BAD_REQUEST, e.message, "transaction_failed"),
    }
}

fn stripe_error(status: StatusCode, err: Value) -> (u16, Value) {
    (status.as_u16(), json!({ "error": err }))
}

fn intent_json(i: &Intent) -> Value {
    json!({"id": i.id, "object": "payment_intent", "amount": i.amount, "currency": "usd",
           "payment_method": i.payment_method, "status": i.status, "metadata": {"helix_key": i.helix_key}})
}

async fn stripe_create(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let mut st = lock(&s);
    if st.stripe_rate_limited > 0 {
        st.stripe_rate_limited -= 1;
        let (code, body) = stripe_error(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"type": "rate_limit_error", "message": "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests."}),
        );
        return (
            StatusCode::from_u16(code).unwrap_or(StatusCode::TOO_MANY_REQUESTS),
            Json(body),
        )
            .into_response();
    }
    let mut fields: Vec<_> = f.iter().collect();
    fields.sort();
    let fingerprint = format!("{fields:?}");
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(k) = &key
        && let Some((fp, code, body)) = st.stripe_keys.get(k)
    {
        let (code, body) = if *fp == fingerprint {
            (*code, body.clone())
        } else {
            stripe_error(
                StatusCode::BAD_REQUEST,
                json!({"type": "idempotency_error", "message": format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{k}' if you meant to execute a different request.")}),
            )
        };
        return (
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
            Json(body),
        )
            .into_response();
    }
    let (code, body) = create_intent(&mut st, &f);
    if let Some(k) = key {
        st.stripe_keys.insert(k, (fingerprint, code, body.clone()));
    }
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
        Json(body),
    )
        .into_response()
}

fn create_intent(st: &mut LabState, f: &HashMap<String, String>) -> (u16, Value) {
    let Some(amount) = f
        .get("amount")
        .and_then(|a| a.parse::<u64>().ok())
        .filter(|a| *a > 0)
    else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            json!({"type": "invalid_request_error", "code": "parameter_invalid_integer", "param": "amount", "message": "Invalid positive integer"}),
        );
    };
    let pm = f.get("payment_method").cloned().unwrap_or_default();
    let helix_key = f.get("metadata[helix_key]").cloned().unwrap_or_default();
    let id = format!("pi_{:012x}", rand::random::<u64>() >> 16);
    let (status, error) = match pm.as_str() {
        "pm_card_visa" | "pm_card_mastercard" => ("succeeded", None),
        "pm_card_chargeDeclined" => (
            "requires_payment_method",
            Some(
                json!({"type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."}),
            ),
        ),
        "pm_card_chargeDeclinedInsufficientFunds" => (
            "requires_payment_method",
            Some(
                json!({"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}),
            ),
        ),
        "pm_card_chargeDeclinedExpiredCard" => (
            "requires_payment_method",
            Some(
                json!({"type": "card_error", "code": "expired_card", "param": "exp_month", "message": "Your card has expired."}),
            ),
        ),
        "pm_card_authenticationRequired" => (
            "requires_action",
            Some(
                json!({"type": "card_error", "code": "authentication_required", "decline_code": "authentication_required", "message": "Your card was declined. This transaction requires authentication."}),
            ),
        ),
        _ => {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                json!({"type": "invalid_request_error", "code": "resource_missing", "param": "payment_method", "message": format!("No such PaymentMethod: '{pm}'")}),
            );
        }
    };
    let intent = Intent {
        id,
        amount,
        payment_method: pm,
        status: status.into(),
        helix_key,
    };
    let json_intent = intent_json(&intent);
    st.intents.push(intent);
    match error {
        None => (200, json_intent),
        Some(mut e) => {
            e["payment_intent"] = json_intent;
            stripe_error(StatusCode::PAYMENT_REQUIRED, e)
        }
    }
}

async fn stripe_search(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = lock(&s);
    let query = q.get("query").cloned().unwrap_or_default();
    let Some(k) = query
        .strip_prefix("metadata['helix_key']:'")
        .and_then(|r| r.strip_suffix('\''))
    else {
        let (code, body) = stripe_error(
            StatusCode::BAD_REQUEST,
            json!({"type": "invalid_request_error", "message": "the lab supports metadata['helix_key']:'...' queries only"}),
        );
        return (
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
            Json(body),
        )
            .into_response();
    };
    let data: Vec<Value> = st
        .intents
        .iter()
        .filter(|i| i.helix_key == k)
        .map(intent_json)
        .collect();
    Json(json!({"object": "search_result", "data": data, "has_more": false})).into_response()
}

async fn stripe_get(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let st = lock(&s);
    match st.intents.iter().find(|i| i.id == id) {
        Some(i) => Json(intent_json(i)).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "message": format!("No such payment_intent: '{id}'")}}))).into_response(),
    }
}

async fn stripe_confirm(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let mut st = lock(&s);
    let Some(i) = st.intents.iter_mut().find(|i| i.id == id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "message": format!("No such payment_intent: '{id}'")}}))).into_response();
    };
    match i.status.as_str() {
        "requires_confirmation" | "succeeded" => {
            i.status = "succeeded".into();
            Json(intent_json(i)).into_response()
        }
        other => (StatusCode::BAD_REQUEST, Json(json!({"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state", "message": format!("This PaymentIntent's status is {other}, cannot confirm")}}))).into_response(),
    }
}

/// The webhook a person receives. The lab's stand-in cardholder completes
/// 3-D Secure for the named intent when told to.
async fn notify(State(s): State<Shared>, Json(note): Json<Value>) -> Response {
    let mut st = lock(&s);
    if let Some(id) = note.get("payment_intent").and_then(Value::as_str)
        && let Some(i) = st
            .intents
            .iter_mut()
            .find(|i| i.id == id && i.status == "requires_action")
    {
        i.status = "requires_confirmation".into();
    }
    st.notifications.push(note);
    StatusCode::NO_CONTENT.into_response()
}
