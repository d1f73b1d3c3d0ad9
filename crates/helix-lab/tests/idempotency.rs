//! One logical payment, one idempotency key: every request Helix makes for
//! it (challenge fetch, paid retry, retry with receipt) carries the same
//! `Idempotency-Key`, each credential is presented once and only for the
//! challenge it was made for, and the payee is paid once. Checked by the
//! lab's MPP server, which records every request it sees.

use std::sync::Arc;

use helix_core::{Helix, MemoryGeneStore, Mode, StrategyId};
use helix_lab::Lab;
use helix_lab::scenarios::run_row;

async fn lab_and_helix() -> (Lab, Helix) {
    let lab = Lab::start().await.unwrap();
    let helix = Helix::builder()
        .adapter(helix_platforms::builtin())
        .probes(lab.probes())
        .strategies(lab.strategies())
        .store(Arc::new(MemoryGeneStore::new()))
        .mode(Mode::Full)
        .build();
    (lab, helix)
}

#[tokio::test]
async fn retries_of_one_payment_share_its_key_and_never_reuse_a_credential() {
    let (lab, helix) = lab_and_helix().await;
    // Row 2: the first credential answers an expired challenge; a fresh
    // challenge is fetched and paid. Row 6: the server fails after the
    // payment; the retry presents the receipt instead of paying again.
    for (row, resource, strategy) in [
        (2, "r2", StrategyId::RenewSession),
        (6, "r6", StrategyId::RetryWithReceipt),
    ] {
        let r = run_row(&lab, &helix, row).await;
        assert!(r.ok, "row {row}: {}", r.detail);
        assert!(!r.double_paid, "row {row}");
        assert_eq!(r.report.repaired_by(), Some(strategy));

        let seen: Vec<_> = lab
            .state()
            .mpp_seen
            .iter()
            .filter(|s| s.resource == resource)
            .cloned()
            .collect();
        assert!(seen.len() >= 2, "row {row}: a retry was made: {seen:?}");
        let key = seen[0].idempotency_key.clone();
        assert!(key.is_some(), "row {row}: the key is sent");
        assert!(
            seen.iter().all(|s| s.idempotency_key == key),
            "row {row}: one key across the PCEC loop: {seen:?}"
        );
        let mut creds: Vec<_> = seen
            .iter()
            .filter_map(|s| s.credential_for.clone())
            .collect();
        let presented = creds.len();
        creds.sort();
        creds.dedup();
        assert_eq!(
            creds.len(),
            presented,
            "row {row}: no credential presented twice: {seen:?}"
        );
        if row == 6 {
            assert_eq!(presented, 1, "paid once, then the receipt");
            assert!(seen.last().is_some_and(|s| s.with_receipt));
        }
    }
}

#[tokio::test]
async fn separate_payments_get_separate_keys() {
    let (lab, helix) = lab_and_helix().await;
    run_row(&lab, &helix, 2).await;
    run_row(&lab, &helix, 2).await;
    let keys: std::collections::BTreeSet<_> = lab
        .state()
        .mpp_seen
        .iter()
        .filter_map(|s| s.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
}
