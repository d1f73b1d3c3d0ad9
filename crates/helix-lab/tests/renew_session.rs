//! renew_session fetches a fresh challenge for a payment, and takes it only
//! when it charges what the payment agreed to: a server that answers the
//! renewal with another recipient, a higher amount or another chain gets
//! the run stopped, never a payment.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use helix_core::{
    Category, CommitCtx, CommitError, ErrorSignal, Evidence, Executor, Facts, Failure, FailureCode,
    Mode, Patch, PaymentView, Platform, Severity,
};
use helix_platforms::mpp::{ChargeRequest, MethodDetails, RenewSession, encode_request};

const AGREED_TO: &str = "0x00000000000000000000000000000000000000aa";

/// A paid resource whose every challenge charges `request`.
async fn server(request: ChargeRequest) -> String {
    let header = format!(
        r#"Payment id="c1", realm="lab", method="tempo", intent="charge", request="{}""#,
        encode_request(&request)
    );
    let app = axum::Router::new().route(
        "/paid",
        axum::routing::get(move || {
            let header = header.clone();
            async move {
                let mut h = HeaderMap::new();
                h.insert("www-authenticate", HeaderValue::from_str(&header).unwrap());
                (StatusCode::PAYMENT_REQUIRED, h)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/paid", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn charge(recipient: &str, amount: &str, chain: u64) -> ChargeRequest {
    ChargeRequest {
        amount: amount.into(),
        currency: "0x20c0000000000000000000000000000000000001".into(),
        recipient: recipient.into(),
        chain_id: None,
        method_details: Some(MethodDetails {
            chain_id: Some(chain),
        }),
    }
}

async fn renew(url: String) -> Result<Vec<Patch>, CommitError> {
    let failure = Failure {
        code: FailureCode::PaymentExpired,
        category: Category::Session,
        severity: Severity::Medium,
        platform: Platform::Tempo,
        evidence: Evidence::ProblemType,
        facts: Facts::default(),
    };
    let request = PaymentView {
        recipient: Some(AGREED_TO.into()),
        amount: Some(500_000),
        currency: Some("0x20c0000000000000000000000000000000000001".into()),
        chain_id: Some(4217),
        endpoint: Some(url),
        idempotency_key: Some("order-1".into()),
        ..Default::default()
    };
    RenewSession::new(reqwest::Client::new())
        .commit(&CommitCtx {
            failure: &failure,
            signal: &ErrorSignal::message("payment expired"),
            request: &request,
            params: &serde_json::Value::Null,
            mode: Mode::Auto,
            repairs_so_far: 0,
            max_cost: 0,
        })
        .await
        .map(|c| c.patches)
}

#[tokio::test]
async fn a_renewed_challenge_is_taken_only_for_the_agreed_charge() {
    let same = renew(server(charge(AGREED_TO, "500000", 4217)).await).await;
    assert!(
        matches!(same.as_deref(), Ok([Patch::Challenge { .. }])),
        "{same:?}"
    );
    for (what, c) in [
        (
            "recipient",
            charge("0x00000000000000000000000000000000000000bb", "500000", 4217),
        ),
        ("amount", charge(AGREED_TO, "500001", 4217)),
        ("chain", charge(AGREED_TO, "500000", 1)),
    ] {
        let r = renew(server(c).await).await;
        assert!(matches!(r, Err(CommitError::Unsafe(_))), "{what}: {r:?}");
    }
}

/// The paying agent checks the charge a resource offers before it signs:
/// a challenge naming another recipient (or more, or another chain) than
/// the payment agreed to is refused and nothing is signed.
#[tokio::test]
async fn the_payer_never_pays_a_challenge_for_another_recipient() {
    let url = server(charge(
        "0x00000000000000000000000000000000000000bb",
        "500000",
        4217,
    ))
    .await;
    let req = helix_platforms::mpp::MppGet::new(
        url,
        "http://127.0.0.1:9",
        4217,
        helix_tempo::Wallet::random().address(),
        AGREED_TO.parse().unwrap(),
        500_000,
        "0x20c0000000000000000000000000000000000001"
            .parse()
            .unwrap(),
    );
    let err = helix_platforms::mpp::get_paid(&helix_tempo::Wallet::random(), &req)
        .await
        .unwrap_err();
    assert!(
        err.signal.message.contains("refusing the challenge"),
        "{}",
        err.signal.message
    );
    assert!(!err.signal.facts.payment_sent, "nothing was signed or sent");
}
