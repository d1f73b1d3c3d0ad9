//! A market maker on the real StablecoinDEX: keeps at least `depth` of bids
//! resting at one tick of a token's book, topping the level up shortly after
//! it is taken. This is what makes a thin book recover between the parts of
//! a split swap (row 7), as makers do on a live market.

use std::time::Duration;

use helix_tempo::{Address, SendOpts, TempoChain};

/// Smallest order the DEX accepts (100 tokens, 6 decimals).
const MIN_ORDER: u128 = 100_000_000;

/// A running maker; stops when dropped.
pub struct Maker {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Maker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Maker {
    /// Keeps `depth` of bids for `base` at `tick`, checking every `every`.
    /// `lp` must hold the quote token and have approved the DEX for it.
    pub fn start(lp: TempoChain, base: Address, tick: i16, depth: u128, every: Duration) -> Maker {
        let task = tokio::spawn(async move {
            loop {
                match lp.tick_liquidity(base, tick, true).await {
                    Ok(have) if have < depth => {
                        let add = (depth - have).max(MIN_ORDER);
                        if let Err(e) = lp.place(base, add, true, tick, SendOpts::default()).await {
                            tracing::warn!(target: "helix::lab", %e, "maker could not refill");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(target: "helix::lab", %e, "maker could not read the book")
                    }
                }
                tokio::time::sleep(every).await;
            }
        });
        Maker { task }
    }
}
