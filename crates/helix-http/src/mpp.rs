//! MPP (HTTP 402 "Payment" authentication): challenge parsing and the repairs
//! that renew a challenge or present a receipt instead of paying again.
//!
//! A challenge travels as `WWW-Authenticate: Payment id="..", realm="..",
//! method="tempo", intent="charge", request="<base64url JSON>", expires=".."`;
//! a server may send several (one per currency).

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helix_core::{CommitCtx, CommitError, Committed, ErrorSignal, Patch, Strategy, StrategyId};
use serde::{Deserialize, Serialize};

/// Why a challenge header could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// Not a `Payment` challenge.
    #[error("not a Payment challenge")]
    NotPayment,
    /// The auth-params did not parse.
    #[error("malformed WWW-Authenticate: {0}")]
    Malformed(String),
    /// A required parameter is missing.
    #[error("challenge lacks `{0}`")]
    Missing(&'static str),
    /// The `request` parameter is not base64url JSON of the expected shape.
    #[error("challenge request is not valid: {0}")]
    BadRequest(String),
}

/// The charge a challenge asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeRequest {
    /// Base units, decimal string.
    pub amount: String,
    /// Token address.
    pub currency: String,
    /// Who is paid.
    pub recipient: String,
    /// Chain the payment must land on (servers may send it at the top level
    /// or, as pympp does, under `methodDetails`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    /// Method-specific details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_details: Option<MethodDetails>,
}

/// `methodDetails` of a tempo/charge request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodDetails {
    /// Chain id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
}

impl ChargeRequest {
    /// The chain id, wherever the server put it.
    pub fn chain(&self) -> Option<u64> {
        self.chain_id
            .or_else(|| self.method_details.as_ref().and_then(|m| m.chain_id))
    }

    /// The amount as a number; refuses negative, fractional or overflowing text.
    pub fn amount_units(&self) -> Result<u128, ChallengeError> {
        self.amount
            .parse::<u128>()
            .map_err(|e| ChallengeError::BadRequest(format!("amount `{}`: {e}", self.amount)))
    }
}

/// One parsed challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Server-issued id (bound to the request by the server).
    pub id: String,
    /// Protection space.
    pub realm: String,
    /// Payment method, e.g. `tempo`.
    pub method: String,
    /// Intent, e.g. `charge`.
    pub intent: String,
    /// The decoded charge.
    pub request: ChargeRequest,
    /// Expiry as the server wrote it.
    pub expires: Option<String>,
    /// The header value this came from (to present it back unchanged).
    pub raw: String,
}

/// Splits `a="x", b=y` into pairs; quoted strings may hold commas and `\"`.
fn auth_params(s: &str) -> Result<Vec<(String, String)>, ChallengeError> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|(_, c)| c.is_whitespace() || *c == ',')
        {
            chars.next();
        }
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c == '=' {
                break;
            }
            if c == ',' {
                return Err(ChallengeError::Malformed(format!(
                    "parameter without value near `{}`",
                    &s[start..i]
                )));
            }
            end = i + c.len_utf8();
            chars.next();
        }
        let name = s[start..end].trim().to_ascii_lowercase();
        if chars.next().is_none() || name.is_empty() {
            return Err(ChallengeError::Malformed(format!(
                "dangling `{}`",
                &s[start..]
            )));
        }
        let mut value = String::new();
        if chars.peek().is_some_and(|(_, c)| *c == '"') {
            chars.next();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(ChallengeError::Malformed(format!(
                    "unterminated quote in `{name}`"
                )));
            }
        } else {
            while let Some(&(_, c)) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((name, value));
    }
    Ok(out)
}

/// Parses one `WWW-Authenticate` value holding a Payment challenge.
pub fn parse_challenge(header: &str) -> Result<Challenge, ChallengeError> {
    let header = header.trim();
    if header.len() > 16 * 1024 {
        return Err(ChallengeError::Malformed(
            "header longer than 16 KiB".into(),
        ));
    }
    let rest = header
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("payment "))
        .map(|_| &header[8..])
        .ok_or(ChallengeError::NotPayment)?;
    let params = auth_params(rest)?;
    let get = |k: &'static str| -> Result<String, ChallengeError> {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .ok_or(ChallengeError::Missing(k))
    };
    let encoded = get("request")?;
    let json = URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|e| ChallengeError::BadRequest(format!("base64url: {e}")))?;
    let request: ChargeRequest =
        serde_json::from_slice(&json).map_err(|e| ChallengeError::BadRequest(e.to_string()))?;
    request.amount_units()?;
    Ok(Challenge {
        id: get("id")?,
        realm: get("realm").unwrap_or_default(),
        method: get("method")?,
        intent: get("intent")?,
        request,
        expires: get("expires").ok(),
        raw: header.to_owned(),
    })
}

/// Every Payment challenge an answer's `WWW-Authenticate` headers carry,
/// each parsed or with why it could not be.
pub fn offered(headers: &http::HeaderMap) -> Vec<Result<Challenge, ChallengeError>> {
    headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| {
            v.to_str()
                .map_err(|e| ChallengeError::Malformed(e.to_string()))
                .and_then(parse_challenge)
        })
        .collect()
}

/// Encodes a charge request as the `request` auth-param.
pub fn encode_request(r: &ChargeRequest) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(r).unwrap_or_default())
}

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
impl Strategy for RenewSession {
    fn id(&self) -> StrategyId {
        StrategyId::RenewSession
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
            .map_err(|e| CommitError::Platform(crate::signal::error_chain(&e)))?;
        if resp.status().as_u16() != 402 {
            return Err(CommitError::Platform(format!(
                "expected 402 with a fresh challenge, got {}",
                resp.status()
            )));
        }
        let want = ctx.request.currency.as_deref();
        let mut last_err = ChallengeError::Missing("WWW-Authenticate");
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

/// A renewed challenge must charge what the payment agreed to: the same
/// recipient, no more, on the same chain. A server that changes any of
/// them stops the run; the agent never pays a new deal it did not make.
pub fn same_charge(agreed: &helix_core::PaymentView, fresh: &Challenge) -> Result<(), CommitError> {
    let r = &fresh.request;
    if let Some(to) = &agreed.recipient
        && !to.eq_ignore_ascii_case(&r.recipient)
    {
        return Err(CommitError::Unsafe(format!(
            "the renewed challenge pays {} instead of {to}",
            r.recipient
        )));
    }
    let amount = r
        .amount_units()
        .map_err(|e| CommitError::Platform(e.to_string()))?;
    if let Some(max) = agreed.amount
        && amount > max
    {
        return Err(CommitError::Unsafe(format!(
            "the renewed challenge charges {amount}, more than the agreed {max}"
        )));
    }
    if let (Some(want), Some(have)) = (agreed.chain_id, r.chain())
        && want != have
    {
        return Err(CommitError::Unsafe(format!(
            "the renewed challenge is for chain {have}, the payment for chain {want}"
        )));
    }
    Ok(())
}

/// retry_with_receipt: the server took the payment and then failed; the retry
/// presents the server's receipt and pays nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryWithReceipt;

#[async_trait]
impl Strategy for RetryWithReceipt {
    fn id(&self) -> StrategyId {
        StrategyId::RetryWithReceipt
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let receipt = ctx
            .failure
            .facts
            .payment_receipt
            .clone()
            .or_else(|| ctx.signal.facts.payment_receipt.clone())
            .ok_or_else(|| CommitError::NotApplicable("the server issued no receipt".into()))?;
        Ok(Committed {
            patches: vec![Patch::Receipt { receipt }],
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> ChargeRequest {
        ChargeRequest {
            amount: "500000".into(),
            currency: "0x20c0000000000000000000000000000000000001".into(),
            recipient: "0x00000000000000000000000000000000000000aa".into(),
            chain_id: Some(42431),
            method_details: None,
        }
    }

    #[test]
    fn a_pympp_challenge_parses_with_its_nested_chain_id() {
        // As pympp 0.16 sends it (scope and opaque included).
        let h = r#"Payment id="IYmNMzEvCif2-70XmWvt9UWooRv4HkGn4_Y2xpVEmbc", realm="helix-lab-pympp", method="tempo", intent="charge", request="eyJfbXBweF9zY29wZSI6eyJodHRwX21ldGhvZCI6IkdFVCIsInJlc291cmNlIjoiL3BhaWQiLCJyb3V0ZSI6Ii9wYWlkIn0sImFtb3VudCI6IjUwMDAwMCIsImN1cnJlbmN5IjoiMHgyMGMwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwibWV0aG9kRGV0YWlscyI6eyJjaGFpbklkIjozMTMzN30sInJlY2lwaWVudCI6IjB4MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwY2FmZSJ9", expires="2026-11-25T04:42:18.226349Z", opaque="eyJfbXBwX25vbmNlIjoiN2FmNzcyYjZkMzdhMjRmNmUxMWQwZWEzZTAzNDBjMzFkZGE2NDE5OGQzZWUyOWExMmRmZGM1OTNmNjFkN2IyZiJ9""#;
        let c = parse_challenge(h).unwrap();
        assert_eq!(c.request.amount_units().unwrap(), 500_000);
        assert_eq!(c.request.chain(), Some(31337));
        assert_eq!(
            c.request.recipient,
            "0x000000000000000000000000000000000000cafe"
        );
        assert_eq!(c.expires.as_deref(), Some("2026-11-25T04:42:18.226349Z"));
    }

    #[test]
    fn a_renewed_challenge_must_charge_the_agreed_deal() {
        let agreed = helix_core::PaymentView {
            recipient: Some(req().recipient.to_uppercase().replace("0X", "0x")),
            amount: Some(500_000),
            chain_id: Some(42431),
            ..Default::default()
        };
        let challenge = |r: ChargeRequest| {
            parse_challenge(&format!(
                r#"Payment id="c", realm="r", method="tempo", intent="charge", request="{}""#,
                encode_request(&r)
            ))
            .unwrap()
        };
        assert_eq!(same_charge(&agreed, &challenge(req())), Ok(()));
        let cases = [
            ChargeRequest {
                recipient: "0x00000000000000000000000000000000000000bb".into(),
                ..req()
            },
            ChargeRequest {
                amount: "500001".into(),
                ..req()
            },
            ChargeRequest {
                chain_id: Some(1),
                ..req()
            },
        ];
        for c in cases {
            assert!(
                matches!(
                    same_charge(&agreed, &challenge(c.clone())),
                    Err(CommitError::Unsafe(_))
                ),
                "{c:?}"
            );
        }
    }

    #[test]
    fn a_well_formed_challenge_parses() {
        let h = format!(
            r#"Payment id="c1", realm="lab", method="tempo", intent="charge", request="{}", expires="1700000000""#,
            encode_request(&req())
        );
        let c = parse_challenge(&h).unwrap();
        assert_eq!(c.id, "c1");
        assert_eq!(c.request, req());
        assert_eq!(c.request.amount_units().unwrap(), 500_000);
        assert_eq!(c.raw, h);
    }

    #[test]
    fn malformed_challenges_are_clear_errors() {
        let ok_req = encode_request(&req());
        let cases = [
            ("Bearer realm=x".to_string(), "not a Payment"),
            (r#"Payment id="c1"#.to_string(), "unterminated"),
            (r#"Payment id="c1", method="tempo""#.to_string(), "lacks `request`"),
            (r#"Payment id="c1", method="tempo", intent="charge", request="!!!""#.to_string(), "base64url"),
            (format!(r#"Payment id="c1", method="tempo", intent="charge", request="{}""#, URL_SAFE_NO_PAD.encode(b"{}")), "not valid"),
            (
                format!(
                    r#"Payment id="c1", method="tempo", intent="charge", request="{}""#,
                    URL_SAFE_NO_PAD.encode(br#"{"amount":"-5","currency":"x","recipient":"y"}"#)
                ),
                "amount",
            ),
            (
                format!(
                    r#"Payment id="c1", method="tempo", intent="charge", request="{}""#,
                    URL_SAFE_NO_PAD.encode(br#"{"amount":"999999999999999999999999999999999999999999","currency":"x","recipient":"y"}"#)
                ),
                "amount",
            ),
            ("Payment , , =".to_string(), "dangling"),
            (format!("Payment id=\"{}\"", "x".repeat(20_000)), "16 KiB"),
            (format!(r#"Payment id="c1", intent="charge", request="{ok_req}""#), "lacks `method`"),
        ];
        for (h, want) in cases {
            let e = parse_challenge(&h).unwrap_err().to_string();
            assert!(e.contains(want), "{h:.60} -> {e}");
        }
    }
}

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
