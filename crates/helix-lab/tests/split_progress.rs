//! A split order never sells a part twice, on anvil: the answer to a part's
//! swap is lost (the swap is mined, the agent never hears so), the order
//! errs, and the order is run again from its journal file by a new
//! instance, as after a crash. The part in flight is reconciled on chain
//! and counted; the order sells exactly what was asked.

use std::sync::Arc;

use helix_lab::drop_proxy::DropProxy;
use helix_lab::onchain::{funded_agent, stablecoin_chain, token};
use helix_tempo::{ChainError, DexOrder, FileJournal, OrderJournal, TempoChain, swap_order};

const UNIT: u128 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_whose_answer_was_lost_is_counted_not_sold_again() {
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let agent = funded_agent(&funder, token(2), 10 * UNIT).await.unwrap();
    let proxy = DropProxy::start(&anvil.url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("order.json");
    let order = |rpc: &str| {
        let mut o = DexOrder::new(rpc, agent.address(), token(2), token(1), 2 * UNIT)
            .with_journal(Arc::new(FileJournal::new(&path)));
        o.parts = 2;
        o
    };
    let me = TempoChain::connect(&anvil.url, &agent).unwrap();
    let before = me.balance(token(2), agent.address()).await.unwrap();

    // Sends: approve (answered), then the first part's swap (answer lost).
    proxy.drop_sends_after(1, 1);
    let first = swap_order(&agent, &order(&proxy.url)).await;
    assert!(
        matches!(first, Err(ChainError::Unanswered { .. })),
        "{first:?}"
    );
    assert_eq!(proxy.dropped(), 1);
    let pending = FileJournal::new(&path).load().unwrap().pending;
    assert!(
        pending.is_some(),
        "the part was recorded before it was sent"
    );

    // A new instance (a restart) finishes the order from the journal.
    let rest = swap_order(&agent, &order(&anvil.url)).await.unwrap();
    assert_eq!(rest.len(), 1, "only the second part was sold now");
    let sold = before - me.balance(token(2), agent.address()).await.unwrap();
    // The fee is paid in the token sold: at least the order, never a part more.
    assert!(
        (2 * UNIT..2 * UNIT + UNIT / 2).contains(&sold),
        "sold exactly the order and fees: {sold}"
    );
    let progress = FileJournal::new(&path).load().unwrap();
    assert_eq!(progress.sold, 2 * UNIT);
    assert!(progress.pending.is_none());
}
