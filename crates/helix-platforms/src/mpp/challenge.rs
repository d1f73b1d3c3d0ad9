//! MPP challenges: `WWW-Authenticate: Payment id="..", realm="..",
//! method="tempo", intent="charge", request="<base64url JSON>", expires=".."`,
//! several per answer when a server offers several currencies. The header
//! grammar is the `mpp` crate's (its parser); this file reads the charge a
//! challenge asks for and checks it against the deal the payment agreed to.

use helix_core::{CommitError, PaymentView};
use mpp::protocol::core::{
    PaymentChallenge, parse_www_authenticate, parse_www_authenticate_all_bytes,
};
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
    /// No challenge was offered.
    #[error("no Payment challenge offered")]
    Missing,
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

/// The longest header read (a bound on what a server can make us parse).
const MAX_HEADER: usize = 16 * 1024;

/// Parses one `WWW-Authenticate` value holding a Payment challenge.
pub fn parse_challenge(header: &str) -> Result<Challenge, ChallengeError> {
    let header = header.trim();
    if header.len() > MAX_HEADER {
        return Err(ChallengeError::Malformed(
            "header longer than 16 KiB".into(),
        ));
    }
    if !header
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("payment "))
    {
        return Err(ChallengeError::NotPayment);
    }
    let c = parse_www_authenticate(header).map_err(|e| ChallengeError::Malformed(e.to_string()))?;
    read(c, header.to_owned())
}

/// Every Payment challenge an answer's `WWW-Authenticate` headers carry
/// (one per field, or several in one field), each read or with why it could
/// not be.
pub fn offered(headers: &http::HeaderMap) -> Vec<Result<Challenge, ChallengeError>> {
    let fields: Vec<&[u8]> = headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .map(http::HeaderValue::as_bytes)
        .filter(|v| v.len() <= MAX_HEADER)
        .collect();
    parse_www_authenticate_all_bytes(fields)
        .into_iter()
        .map(|parsed| {
            let c = parsed.map_err(|e| ChallengeError::Malformed(e.to_string()))?;
            let raw = c
                .to_header()
                .map_err(|e| ChallengeError::Malformed(e.to_string()))?;
            read(c, raw)
        })
        .collect()
}

/// The charge a parsed challenge asks for.
fn read(c: PaymentChallenge, raw: String) -> Result<Challenge, ChallengeError> {
    let request: ChargeRequest = c
        .request
        .decode()
        .map_err(|e| ChallengeError::BadRequest(e.to_string()))?;
    request.amount_units()?;
    Ok(Challenge {
        id: c.id,
        realm: c.realm,
        method: c.method.as_str().to_owned(),
        intent: c.intent.as_str().to_owned(),
        request,
        expires: c.expires,
        raw,
    })
}

/// Encodes a charge request as the `request` auth-param.
pub fn encode_request(r: &ChargeRequest) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(r).unwrap_or_default())
}

/// A renewed challenge must charge what the payment agreed to: the same
/// recipient, no more, on the same chain. A server that changes any of
/// them stops the run; the agent never pays a new deal it did not make.
pub fn same_charge(agreed: &PaymentView, fresh: &Challenge) -> Result<(), CommitError> {
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

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
            r#"Payment id="c1", realm="lab", method="tempo", intent="charge", request="{}", expires="2026-12-01T12:00:00Z""#,
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
            (r#"Payment id="c1", method="tempo""#.to_string(), "missing 'realm'"),
            (r#"Payment id="c1", realm="r", method="tempo", intent="charge""#.to_string(), "missing 'request'"),
            (r#"Payment id="c1", realm="r", method="tempo", intent="charge", request="!!!""#.to_string(), "base64url"),
            (format!(r#"Payment id="c1", realm="r", method="tempo", intent="charge", request="{}""#, URL_SAFE_NO_PAD.encode(b"{}")), "not valid"),
            (
                format!(
                    r#"Payment id="c1", realm="r", method="tempo", intent="charge", request="{}""#,
                    URL_SAFE_NO_PAD.encode(br#"{"amount":"-5","currency":"x","recipient":"y"}"#)
                ),
                "amount",
            ),
            (
                format!(
                    r#"Payment id="c1", realm="r", method="tempo", intent="charge", request="{}""#,
                    URL_SAFE_NO_PAD.encode(br#"{"amount":"999999999999999999999999999999999999999999","currency":"x","recipient":"y"}"#)
                ),
                "amount",
            ),
            ("Payment , , =".to_string(), "missing 'id'"),
            (format!("Payment id=\"{}\"", "x".repeat(20_000)), "16 KiB"),
            (format!(r#"Payment id="c1", realm="r", intent="charge", request="{ok_req}""#), "missing 'method'"),
        ];
        for (h, want) in cases {
            let e = parse_challenge(&h).unwrap_err().to_string();
            assert!(
                e.to_lowercase().contains(&want.to_lowercase()),
                "{h:.60} -> {e}"
            );
        }
    }
}
