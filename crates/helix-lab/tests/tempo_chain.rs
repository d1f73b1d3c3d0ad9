//! Scenarios on a real Tempo chain (anvil in tempo mode, the StablecoinDEX,
//! TIP-20 transfers signed locally), through `helix_lab::onchain::ChainLab`,
//! the same code the demo runs. Each run checks the recipient's balance and
//! every receipt on chain.

use std::sync::Arc;

use helix_core::{EventKind, MemorySink, StrategyId};
use helix_genemap::SqliteGeneStore;
use helix_lab::onchain::{ChainLab, ChainRun};

async fn lab() -> ChainLab {
    ChainLab::start()
        .await
        .expect("anvil (run scripts/tools.sh)")
}

fn store() -> (tempfile::TempDir, Arc<SqliteGeneStore>) {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(SqliteGeneStore::open(dir.path().join("genes.db")).unwrap());
    (dir, s)
}

/// Runs a row and returns the run with the first error the node gave.
async fn run(lab: &ChainLab, row: u8, store: &Arc<SqliteGeneStore>) -> (ChainRun, String) {
    let sink = Arc::new(MemorySink::new());
    let r = lab.run(row, store.clone(), sink.clone()).await.unwrap();
    let first = sink
        .take()
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::CallFailed { message, .. } => Some(message),
            _ => None,
        })
        .unwrap_or_default();
    println!("row {row}: first error: {first}");
    assert!(r.ok, "row {row}: {}", r.detail);
    assert!(
        r.receipts_ok,
        "row {row}: every transaction has a successful receipt"
    );
    (r, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_01_swap_on_the_stablecoin_dex_then_pay_then_immune() {
    let lab = lab().await;
    let (_dir, store) = store();
    for pass in 0..2 {
        let (r, first) = run(&lab, 1, &store).await;
        // InsufficientBalance(0, 500000, AlphaUSD), the TIP-20's own revert.
        assert!(first.contains("0x832f98b5"), "{first}");
        assert_eq!(r.report.repaired_by(), Some(StrategyId::SwapCurrency));
        assert_eq!(
            r.tx_hashes.len(),
            3,
            "an exact approval, the swap, the payment"
        );
        assert_eq!(
            r.report.immune(),
            pass == 1,
            "the second run is answered by the gene"
        );
    }
}

/// Row 4 as anvil really behaves: a 0x76 transaction with a stale nonce is
/// accepted and never mined. Helix sees a sent payment without a receipt
/// (outcome unknown), reconciles on chain (the nonce was consumed by another
/// transaction, so the stale one can never land), resends once with the next
/// nonce, and the recipient is paid exactly once (ChainLab checks +0.50).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_04_a_stale_nonce_is_reconciled_and_paid_exactly_once() {
    let lab = lab().await;
    let (_dir, store) = store();
    let (r, first) = run(&lab, 4, &store).await;
    assert!(first.contains("no receipt"), "{first}");
    assert_eq!(r.report.repaired_by(), Some(StrategyId::Reconcile));
    assert_eq!(
        r.tx_hashes.len(),
        1,
        "reconcile sends nothing; one payment lands"
    );
    // The other process's transaction and the payment: the nonce advanced
    // by exactly one for the payment.
    assert!(
        r.detail.contains("and sent 2 transaction(s)"),
        "{}",
        r.detail
    );
}

/// Rows 8 and 11: a token the agent holds is blocked for it (TIP-403
/// blacklist on a token issued through the factory) or paused. The transfer
/// fails with the token's own custom error; Helix pays in another stablecoin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_08_11_a_blocked_or_paused_token_is_switched_for_another() {
    let lab = lab().await;
    let (_dir, store) = store();
    for (row, selector) in [(8, "0x54cfe659"), (11, "0xab35696f")] {
        let (r, first) = run(&lab, row, &store).await;
        assert!(first.contains(selector), "row {row}: {first}");
        assert_eq!(r.report.repaired_by(), Some(StrategyId::SwitchStablecoin));
        assert_eq!(
            r.report.immune(),
            row == 11,
            "row 11 heals through row 8's gene"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_12_the_fee_is_paid_in_another_token_the_agent_holds() {
    let lab = lab().await;
    let (_dir, store) = store();
    let (r, first) = run(&lab, 12, &store).await;
    assert!(first.contains("-32003"), "{first}");
    assert_eq!(r.report.repaired_by(), Some(StrategyId::SwitchFeeToken));
    // The fee was taken in the token switched to (AlphaUSD, which the agent
    // pays in): more than the payment left that balance.
    let spent: u128 = r
        .detail
        .split("the agent spent ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", r.detail));
    assert!(
        spent > 500_000,
        "the fee came out of AlphaUSD: {}",
        r.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_13_the_endpoint_serving_the_payments_chain_is_chosen() {
    let lab = lab().await;
    let (_dir, store) = store();
    let (r, first) = run(&lab, 13, &store).await;
    assert!(first.contains("chain id mismatch"), "{first}");
    assert_eq!(r.report.repaired_by(), Some(StrategyId::SwitchNetwork));
    assert!(r.detail.contains("chain 42431"), "{}", r.detail);
}

/// Row 5: a 0x76 batch (the payment plus a transfer of a token the agent
/// does not hold). anvil refuses the whole batch without naming the call;
/// simulating each call alone names call 1; Helix drops it and the payment
/// lands alone, once; the second run is immune.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_05_the_failing_call_is_dropped_from_the_batch_and_the_rest_resubmitted() {
    let lab = lab().await;
    let (_dir, store) = store();
    for pass in 0..2 {
        let (r, first) = run(&lab, 5, &store).await;
        assert!(first.contains("batch call 1 of 2 reverted"), "{first}");
        assert_eq!(r.report.repaired_by(), Some(StrategyId::RemoveAndResubmit));
        assert_eq!(
            r.tx_hashes.len(),
            1,
            "one transaction: the resubmitted batch"
        );
        assert_eq!(r.report.immune(), pass == 1);
    }
}

/// Rows 2, 3 and 6 with both MPP ends real: a paid endpoint built on the
/// `mpp` crate's server (`helix_lab::mpp_server`, the fault armed there),
/// Tempo's `mpp` client paying, settlement on anvil. ChainLab checks the
/// merchant got +0.50 exactly once and every receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_02_03_06_against_the_mpp_crates_server() {
    let lab = lab().await;
    let (_dir, store) = store();
    for (row, first_says, strategy) in [
        (2, "expired", StrategyId::RenewSession),
        // The client refuses every offered challenge; the probe reads the
        // server's currencies, swap_direct buys AlphaUSD on the DEX.
        (3, "no supported challenge", StrategyId::SwapDirect),
        // Paid, then 500: the retry presents the receipt and pays nothing.
        (6, "Internal Server Error", StrategyId::RetryWithReceipt),
    ] {
        for pass in 0..2 {
            let (r, first) = run(&lab, row, &store).await;
            assert!(first.contains(first_says), "row {row}: {first}");
            assert_eq!(r.report.repaired_by(), Some(strategy), "row {row}");
            assert_eq!(r.report.immune(), pass == 1, "row {row} pass {pass}");
            assert!(!r.double_paid, "row {row}");
        }
    }
}

/// Row 2's control: the agent holds a challenge that expired before use.
/// Retrying the same request (presenting it again) never succeeds: the
/// repair, a fresh challenge fetched under the payment's key, is what fixes
/// it. And the server was never paid by the refused credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_02_a_client_that_does_not_renew_keeps_failing() {
    let lab = lab().await;
    let r = lab
        .run_with(2, &helix_lab::onchain::Attempt::Blind { attempts: 4 })
        .await
        .unwrap();
    assert!(
        !r.ok,
        "a blind retry of a stale challenge completed: {}",
        r.detail
    );
    assert!(!r.double_paid);
    assert!(r.detail.contains("expired"), "{}", r.detail);
}

/// Row 7: one swap of 150 of a thin-book stablecoin walks a thin book past the 50 bps bound
/// and the DEX reverts it; split_swap sells in parts, each within the
/// bound, while a maker refills the best level; the second run is immune.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_07_a_swap_beyond_the_bound_is_split_across_a_refilling_book() {
    let lab = lab().await;
    let (_dir, store) = store();
    for pass in 0..2 {
        let (r, first) = run(&lab, 7, &store).await;
        // The DEX's own revert for a min-out it cannot meet.
        assert!(first.contains("0xbb2875c3"), "{first}");
        assert!(r.detail.contains("2 part(s)"), "{}", r.detail);
        assert!(r.detail.contains("sold exactly 150"), "{}", r.detail);
        assert!(!r.double_paid, "nothing sold twice");
        assert_eq!(r.report.repaired_by(), Some(StrategyId::SplitSwap));
        assert_eq!(r.report.immune(), pass == 1);
    }
}
