//! switch_network moves a payment only to an endpoint serving the chain
//! the payment itself names: a chain id in the error text (which a hostile
//! server or proxy writes) never chooses where the agent signs.

use helix_core::{
    Category, CommitCtx, CommitError, ErrorSignal, Evidence, Executor, Facts, Failure, FailureCode,
    Mode, Patch, PaymentView, Platform, Severity,
};
use helix_lab::Lab;
use helix_lab::scenarios::{MAIN_CHAIN, OTHER_CHAIN};
use helix_platforms::tempo::SwitchNetwork;

#[tokio::test]
async fn the_payments_chain_decides_never_the_error_text() {
    let lab = Lab::start().await.unwrap();
    let switch = SwitchNetwork::new(
        reqwest::Client::new(),
        vec![lab.rpc(OTHER_CHAIN), lab.rpc(MAIN_CHAIN)],
    );
    // The error claims the payment targets the other chain.
    let failure = Failure {
        code: FailureCode::TokenUninitialized,
        category: Category::Network,
        severity: Severity::Medium,
        platform: Platform::Tempo,
        evidence: Evidence::Message,
        facts: Facts {
            expected_chain_id: Some(OTHER_CHAIN),
            ..Default::default()
        },
    };
    let signal = ErrorSignal::message(format!("wrong network: expected chainId {OTHER_CHAIN}"));
    let named = PaymentView {
        chain_id: Some(MAIN_CHAIN),
        ..Default::default()
    };
    let ctx = |request| CommitCtx {
        failure: &failure,
        signal: &signal,
        request,
        params: &serde_json::Value::Null,
        mode: Mode::Auto,
        repairs_so_far: 0,
        max_cost: 0,
    };
    let done = switch.commit(&ctx(&named)).await.unwrap();
    assert_eq!(
        done.patches,
        vec![Patch::Network {
            rpc_url: lab.rpc(MAIN_CHAIN),
            chain_id: MAIN_CHAIN
        }]
    );
    // A payment that names no chain is not moved at all.
    let unnamed = PaymentView::default();
    assert!(matches!(
        switch.commit(&ctx(&unnamed)).await,
        Err(CommitError::NotApplicable(_))
    ));
}
