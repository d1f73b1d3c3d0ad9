//! Tempo scenarios on a real chain: two anvils in tempo mode (chain ids
//! 31337 and 42431), StablecoinDEX liquidity, a test issuer. Used by the
//! demo and the tests; each run checks balances, nonces and receipts.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use helix_core::{EventSink, GeneStore, Helix, IntoSignal, Mode, Repairable, Report};
use helix_tempo::{
    Address, BatchCall, ChainError, DexOrder, SendOpts, TempoChain, Tip20Batch, Tip20Payment,
    Wallet, pay, pay_batch, swap_order,
};

use crate::anvil::{Anvil, DEV_KEY_0, provide_liquidity};
use crate::issuer::{blacklist, issue, pause};
use crate::maker::Maker;
use crate::mpp_server::MppServer;
use crate::runner::Runner;
use helix_platforms::kit::Agent;
use helix_platforms::mpp::{MppGet, get_paid};

/// The rows the demo runs on a real chain. Row 4 also runs here (see
/// `ChainLab::run` and the tests), but on anvil a stale 0x76 nonce is
/// accepted and never mined, so the failure is outcome-unknown (repaired by
/// reconcile) rather than the node's "nonce too low" that teaches the nonce
/// gene Privy's row 15 inherits; the demo keeps row 4 on the lab chain.
pub const ROWS: &[u8] = &[1, 2, 3, 5, 6, 7, 8, 11, 12, 13];

const UNIT: u128 = 1_000_000;

/// A TIP-20 predeployed on Tempo (`0x20c0…0n`).
pub fn token(n: u8) -> Address {
    let mut a = [0u8; 20];
    a[0] = 0x20;
    a[1] = 0xc0;
    a[19] = n;
    Address::new(a)
}

/// AlphaUSD, BetaUSD, ThetaUSD, pathUSD.
pub fn stablecoins() -> Vec<Address> {
    vec![token(1), token(2), token(3), token(0)]
}

/// The challenge a resource offers to an unpaid request, as an agent caches
/// it (the `WWW-Authenticate` value).
pub async fn cached_challenge(url: &str) -> Result<String, ChainError> {
    let resp = reqwest::get(url)
        .await
        .map_err(|e| ChainError::Transport(e.to_string()))?;
    resp.headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| ChainError::Transport(format!("{url} offered no challenge")))
}

/// A fresh agent holding `amount` of `token`, sent by `funder`.
pub async fn funded_agent(
    funder: &TempoChain,
    token: Address,
    amount: u128,
) -> Result<Wallet, ChainError> {
    let agent = Wallet::random();
    funder
        .transfer(token, agent.address(), amount, SendOpts::default())
        .await?;
    Ok(agent)
}

/// What a paying agent runs on `rpc` (`helix pay` wires the same kit):
/// the builtin adapters, the agent's probes and executors, in `mode`.
pub fn agent_helix(
    rpc: &str,
    other_rpcs: Vec<String>,
    agent: &Wallet,
    store: Arc<dyn GeneStore>,
    sink: Arc<dyn EventSink>,
    mode: Mode,
) -> Helix {
    let http = reqwest::Client::new();
    let kit = Agent {
        rpc: rpc.to_owned(),
        other_rpcs,
        wallet: agent.clone(),
        stablecoins: stablecoins(),
        reserve: None,
    };
    kit.helix_builder(&http)
        .store(store)
        .sink(sink)
        .mode(mode)
        .build()
}

/// Two running chains with liquidity, and a funded dev account.
pub struct ChainLab {
    /// Chain 31337: where the agents pay.
    pub main: Anvil,
    /// Chain 42431: the right chain for row 13.
    pub other: Anvil,
    /// Dev account 0 on `main`.
    pub funder: TempoChain,
    /// Dev account 0 on `other`.
    pub other_funder: TempoChain,
    /// Who is paid.
    pub merchant: Address,
    /// The agent's key for every row; a new random key per row when unset.
    pub agent_key: Option<Wallet>,
    /// The agent's mode (`full` unless set).
    pub mode: Mode,
}

/// What one on-chain row run did.
#[derive(Debug)]
pub struct ChainRun {
    /// The run's report.
    pub report: Report,
    /// Paid as asked, checked on chain.
    pub ok: bool,
    /// What was checked, or what went wrong.
    pub detail: String,
    /// Every transaction the run sent (repairs, then the payment).
    pub tx_hashes: Vec<String>,
    /// Every transaction has a successful receipt.
    pub receipts_ok: bool,
    /// Wall time, ms.
    pub ms: u64,
    /// The recipient received more than the one payment (read on chain).
    pub double_paid: bool,
}

/// Every transaction a run sent (its repairs', then the operation's) and
/// whether each has a successful receipt.
async fn receipts(
    on: &TempoChain,
    report: &Report,
    paid: Vec<String>,
) -> Result<(Vec<String>, bool), ChainError> {
    let mut tx_hashes: Vec<String> = report
        .repairs
        .iter()
        .flat_map(|r| r.tx_hashes.clone())
        .collect();
    tx_hashes.extend(paid);
    let mut ok = true;
    for h in &tx_hashes {
        let hash = h
            .parse()
            .map_err(|_| ChainError::Transport(format!("bad hash {h}")))?;
        ok &= on.receipt_ok(hash).await?;
    }
    Ok((tx_hashes, ok))
}

/// Where and what a run's ground truth is read.
struct Seen<'a> {
    on: &'a TempoChain,
    chain_id: u64,
    token: Address,
    before: u128,
    t: Instant,
}

/// How a chain row's payment is attempted (see [`crate::runner::Runner`]).
pub enum Attempt {
    /// Once.
    Once,
    /// The same request again, up to `attempts` calls in all.
    Blind {
        /// Calls in all.
        attempts: u32,
    },
    /// Through Helix with this Gene Map and event sink.
    Helix {
        /// Gene Map.
        store: Arc<dyn GeneStore>,
        /// Events.
        sink: Arc<dyn EventSink>,
    },
}

/// An anvil chain with AlphaUSD and BetaUSD books at par (1,000 tokens a
/// side) and a client of the funded dev account 0: what every DEX test
/// starts from.
pub async fn stablecoin_chain() -> std::io::Result<(Anvil, TempoChain)> {
    let chain = Anvil::start(None).await?;
    provide_liquidity(&chain, &[token(1), token(2)], 1_000 * UNIT)
        .await
        .map_err(std::io::Error::other)?;
    let funder = chain.client(DEV_KEY_0).map_err(std::io::Error::other)?;
    Ok((chain, funder))
}

impl ChainLab {
    /// Starts both chains and opens AlphaUSD and BetaUSD books.
    pub async fn start() -> std::io::Result<ChainLab> {
        let (main, funder) = stablecoin_chain().await?;
        let other = Anvil::start(Some(42431)).await?;
        let other_funder = other.client(DEV_KEY_0).map_err(std::io::Error::other)?;
        Ok(ChainLab {
            main,
            other,
            funder,
            other_funder,
            merchant: Wallet::random().address(),
            agent_key: None,
            mode: Mode::Full,
        })
    }

    /// The chains another process started (and gave liquidity), for a
    /// second agent process on the same chain.
    pub fn attach(main: Anvil, other: Anvil) -> Result<ChainLab, ChainError> {
        let funder = TempoChain::connect(&main.url, &Wallet::from_hex(DEV_KEY_0)?)?;
        let other_funder = TempoChain::connect(&other.url, &Wallet::from_hex(DEV_KEY_0)?)?;
        Ok(ChainLab {
            main,
            other,
            funder,
            other_funder,
            merchant: Wallet::random().address(),
            agent_key: None,
            mode: Mode::Full,
        })
    }

    async fn agent(
        &self,
        on: &TempoChain,
        tokens: &[(Address, u128)],
    ) -> Result<Wallet, ChainError> {
        let w = self.agent_key.clone().unwrap_or_else(Wallet::random);
        for (t, v) in tokens {
            on.transfer(*t, w.address(), *v, SendOpts::default())
                .await?;
        }
        Ok(w)
    }

    fn helix(&self, agent: &Wallet, store: Arc<dyn GeneStore>, sink: Arc<dyn EventSink>) -> Helix {
        agent_helix(
            &self.main.url,
            vec![self.other.url.clone()],
            agent,
            store,
            sink,
            self.mode,
        )
    }

    /// How `attempt` runs for `agent`; a Helix it needs is kept in `slot`.
    /// Attempts `op` on `req` as `attempt` says (Helix built for `agent`).
    async fn attempt<R, T, E, F>(
        &self,
        attempt: &Attempt,
        agent: &Wallet,
        req: &mut R,
        op: F,
    ) -> (Result<T, String>, Report)
    where
        R: Repairable,
        E: IntoSignal + std::fmt::Display,
        F: AsyncFnMut(&R) -> Result<T, E>,
    {
        let helix;
        let runner = match attempt {
            Attempt::Once => Runner::Once,
            Attempt::Blind { attempts } => Runner::Blind {
                attempts: *attempts,
            },
            Attempt::Helix { store, sink } => {
                helix = self.helix(agent, store.clone(), sink.clone());
                Runner::Helix(&helix)
            }
        };
        runner.run_mut(req, op).await
    }

    /// Arms row `n` on the chain and runs it once through Helix.
    pub async fn run(
        &self,
        n: u8,
        store: Arc<dyn GeneStore>,
        sink: Arc<dyn EventSink>,
    ) -> Result<ChainRun, ChainError> {
        self.run_with(n, &Attempt::Helix { store, sink }).await
    }

    /// Arms row `n` on the chain and attempts the payment as `attempt` says.
    pub async fn run_with(&self, n: u8, attempt: &Attempt) -> Result<ChainRun, ChainError> {
        let t = Instant::now();
        if n == 5 {
            return self.run_batch(attempt, t).await;
        }
        if matches!(n, 2 | 3 | 6) {
            return self.run_mpp(n, attempt, t).await;
        }
        if n == 7 {
            return self.run_order(attempt, t).await;
        }
        let (on, rpc_chain) = if n == 13 {
            (&self.other_funder, &self.other)
        } else {
            (&self.funder, &self.main)
        };
        let ten = 10 * UNIT;
        let (agent, token_paid, fee) = match n {
            1 => (
                self.agent(on, &[(token(2), ten)]).await?,
                token(1),
                token(1),
            ),
            8 | 11 => {
                let a = self.agent(on, &[(token(1), ten)]).await?;
                let lab_usd = issue(on, &format!("LAB{n}"), a.address(), ten).await?;
                if n == 8 {
                    blacklist(on, lab_usd, a.address()).await?;
                } else {
                    pause(on, lab_usd).await?;
                }
                (a, lab_usd, token(1))
            }
            12 => (
                self.agent(on, &[(token(1), ten)]).await?,
                token(1),
                token(2),
            ),
            _ => (
                self.agent(on, &[(token(1), ten)]).await?,
                token(1),
                token(1),
            ),
        };
        let mut req = Tip20Payment {
            rpc: self.main.url.clone(),
            chain_id: rpc_chain.chain_id,
            payer: agent.address(),
            to: self.merchant,
            token: token_paid,
            amount: UNIT / 2,
            fee_token: Some(fee),
            nonce: None,
            landed: None,
            idempotency_key: Tip20Payment::new_key(),
            memo: None,
        };
        if n == 4 {
            let me = TempoChain::connect(&self.main.url, &agent)?;
            let stale = me.nonce().await?;
            // Another process with the same key sends a transaction first.
            me.transfer(
                token(1),
                self.funder.address(),
                1,
                SendOpts {
                    nonce: None,
                    fee_token: Some(token(1)),
                },
            )
            .await?;
            req.nonce = Some(stale);
        }
        let settle_in = if n == 8 || n == 11 {
            token(1)
        } else {
            token_paid
        };
        let before = on.balance(settle_in, self.merchant).await?;
        let held_before = on.balance(token_paid, agent.address()).await?;
        let (res, report) = self
            .attempt(attempt, &agent, &mut req, async |p: &Tip20Payment| {
                pay(&agent, p).await
            })
            .await;
        let seen = Seen {
            on,
            chain_id: rpc_chain.chain_id,
            token: settle_in,
            before,
            t,
        };
        let mut run = self.conclude(seen, res, report).await?;
        // What the account says: how much of the paid token left it (the
        // payment, plus the fee when the fee was taken in it), and how many
        // transactions it sent in all.
        let me = TempoChain::connect(&rpc_chain.url, &agent)?;
        let spent = held_before.saturating_sub(on.balance(token_paid, agent.address()).await?);
        let sent = me.mined_nonce().await?;
        run.detail.push_str(&format!(
            "; the agent spent {spent} of {token_paid} and sent {sent} transaction(s)"
        ));
        Ok(run)
    }

    /// Row 5: a 0x76 batch of the payment and a call that reverts (a
    /// transfer of a token the agent does not hold). The node refuses the
    /// whole batch; the per-call simulation names the failing call; Helix
    /// drops it and resubmits the payment.
    async fn run_batch(&self, attempt: &Attempt, t: Instant) -> Result<ChainRun, ChainError> {
        let on = &self.funder;
        let agent = self.agent(on, &[(token(1), 10 * UNIT)]).await?;
        let mut req = Tip20Batch {
            rpc: self.main.url.clone(),
            chain_id: self.main.chain_id,
            payer: agent.address(),
            calls: vec![
                BatchCall::transfer(token(1), self.merchant, UNIT / 2, true),
                BatchCall::transfer(token(3), Wallet::random().address(), UNIT, false),
            ],
            fee_token: Some(token(1)),
            landed: None,
        };
        let before = on.balance(token(1), self.merchant).await?;
        let (res, report) = self
            .attempt(attempt, &agent, &mut req, async |b: &Tip20Batch| {
                pay_batch(&agent, b).await
            })
            .await;
        let seen = Seen {
            on,
            chain_id: self.main.chain_id,
            token: token(1),
            before,
            t,
        };
        self.conclude(seen, res, report).await
    }

    /// Rows 2, 3 and 6: a paid endpoint built on the `mpp` crate's server
    /// ([`MppServer`], the fault armed there), paid by the `mpp` crate's
    /// client. Row 2: the challenge is issued expired; row 3: the server
    /// accepts only AlphaUSD and the agent holds BetaUSD; row 6: the server
    /// answers 500 after settling the payment.
    async fn run_mpp(&self, n: u8, attempt: &Attempt, t: Instant) -> Result<ChainRun, ChainError> {
        let on = &self.funder;
        let held = if n == 3 { token(2) } else { token(1) };
        // Always a fresh account here, even when `agent_key` is set: the mpp
        // client pays with expiring-nonce transactions (nonce key
        // U256::MAX), and anvil 1.7.1 accepts a second one from the same
        // account but never mines it (observed; the server's broadcast then
        // times out with "An internal payment error occurred.").
        let agent = Wallet::random();
        on.transfer(held, agent.address(), 10 * UNIT, SendOpts::default())
            .await?;
        let server = MppServer::start(
            &self.main.url,
            self.main.chain_id,
            &self.merchant.to_string(),
            &[token(1).to_string()],
        )
        .await
        .map_err(|e| ChainError::Transport(e.to_string()))?;
        match n {
            // The agent cached a challenge that expired before it was used
            // (fetched below): presenting it fails until a fresh one is.
            2 => server.faults.expire_next.store(true, Ordering::SeqCst),
            6 => server
                .faults
                .fail_after_payment_next
                .store(true, Ordering::SeqCst),
            _ => {}
        }
        let mut req = MppGet::new(
            format!("{}/paid", server.url),
            self.main.url.clone(),
            self.main.chain_id,
            agent.address(),
            self.merchant,
            UNIT / 2,
            held,
        );
        if n == 2 {
            req.challenge = Some(cached_challenge(&req.url).await?);
        }
        let before = on.balance(token(1), self.merchant).await?;
        let (res, report) = self
            .attempt(attempt, &agent, &mut req, async |r: &MppGet| {
                get_paid(&agent, r).await
            })
            .await;
        // The receipt names the settling transaction.
        let res = res.and_then(|receipt| {
            mpp::parse_receipt(&receipt)
                .map(|r| r.reference)
                .map_err(|e| format!("unreadable receipt: {e}"))
        });
        let seen = Seen {
            on,
            chain_id: self.main.chain_id,
            token: token(1),
            before,
            t,
        };
        self.conclude(seen, res, report).await
    }

    /// Row 7: a stablecoin issued for the run (quoted in pathUSD) has a thin
    /// book at par (100 tokens of bids, then bids 2 % lower) and a maker
    /// refills the par level shortly after it is taken. The agent sells 150
    /// of it for AlphaUSD with a 50 bps bound: one swap walks into the 2 %
    /// level and the DEX reverts it; split_swap sells in parts, each within
    /// the bound, the book refilling in between. A new token per run keeps
    /// every run's book the same.
    async fn run_order(&self, attempt: &Attempt, t: Instant) -> Result<ChainRun, ChainError> {
        let on = &self.funder;
        let agent = self.agent(on, &[(token(2), 10 * UNIT)]).await?;
        let sold_token = issue(on, "THIN", agent.address(), 300 * UNIT).await?;
        let lp = self.main.client(crate::anvil::DEV_KEY_1)?;
        let o = SendOpts::default();
        lp.create_pair(sold_token, o).await?;
        lp.place(sold_token, 100 * UNIT, true, 0, o).await?;
        lp.place(sold_token, 1_000 * UNIT, true, -2000, o).await?;
        let _maker = Maker::start(
            lp,
            sold_token,
            0,
            100 * UNIT,
            std::time::Duration::from_millis(100),
        );
        let mut order = DexOrder::new(
            self.main.url.clone(),
            agent.address(),
            sold_token,
            token(1),
            150 * UNIT,
        );
        order.fee_token = Some(token(2));
        let me = TempoChain::connect(&self.main.url, &agent)?;
        let before = me.balance(token(1), agent.address()).await?;
        let (res, report) = self
            .attempt(attempt, &agent, &mut order, async |o: &DexOrder| {
                swap_order(&agent, o).await
            })
            .await;
        let got = me
            .balance(token(1), agent.address())
            .await?
            .saturating_sub(before);
        let sold = 300 * UNIT - me.balance(sold_token, agent.address()).await?;
        let paid = res.as_ref().ok().cloned().unwrap_or_default();
        let (tx_hashes, receipts_ok) = receipts(on, &report, paid).await?;
        let bound = helix_tempo::min_out(order.amount_in, order.max_slippage_bps);
        let (ok, detail) = match &res {
            // Exactly the order sold (the fee is paid in another token), at
            // least the bound bought.
            Ok(_) if got >= bound && sold == order.amount_in && receipts_ok => (
                true,
                format!(
                    "sold exactly 150 THIN, bought {:.2} AlphaUSD in {} part(s), bound {:.2}",
                    got as f64 / UNIT as f64,
                    order.parts,
                    bound as f64 / UNIT as f64
                ),
            ),
            Ok(_) => (
                false,
                format!(
                    "bought {got} (bound {bound}) for {sold} sold of {}",
                    order.amount_in
                ),
            ),
            Err(e) => (false, e.clone()),
        };
        Ok(ChainRun {
            report,
            ok,
            detail,
            tx_hashes,
            receipts_ok,
            ms: t.elapsed().as_millis() as u64,
            // Selling more than ordered is this row's "paid twice".
            double_paid: sold > order.amount_in,
        })
    }

    /// Reads the ground truth after a run: the merchant's balance and every
    /// receipt.
    async fn conclude(
        &self,
        seen: Seen<'_>,
        res: Result<String, String>,
        report: Report,
    ) -> Result<ChainRun, ChainError> {
        let Seen {
            on,
            chain_id,
            token,
            before,
            t,
        } = seen;
        let after = on.balance(token, self.merchant).await?;
        let paid: Vec<String> = res.as_ref().ok().cloned().into_iter().collect();
        let (tx_hashes, receipts_ok) = receipts(on, &report, paid).await?;
        let (ok, detail) = match (&res, after.saturating_sub(before)) {
            (Ok(_), d) if d == UNIT / 2 && receipts_ok => (
                true,
                format!(
                    "recipient +0.50 on chain {chain_id}; {} receipt(s) checked",
                    tx_hashes.len()
                ),
            ),
            (Ok(_), d) => (
                false,
                format!("recipient got {d} (receipts ok: {receipts_ok})"),
            ),
            (Err(e), _) => (false, e.clone()),
        };
        let double_paid = after.saturating_sub(before) > UNIT / 2;
        Ok(ChainRun {
            report,
            ok,
            detail,
            tx_hashes,
            receipts_ok,
            ms: t.elapsed().as_millis() as u64,
            double_paid,
        })
    }
}
