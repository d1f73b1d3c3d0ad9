//! Steps on a Tempo chain. A payment goes out as `transferWithMemo` with
//! the hash of its idempotency key, through `Helix::run` with the agent's
//! executors, Gene Map and budget. Before it is sent, the chain is asked
//! whether a transfer with that memo already left the account: Temporal may
//! run an activity again (a worker killed mid-payment, a lost answer), and
//! the chain is the one record that cannot be behind.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use helix_core::Helix;
use helix_tempo::{Address, ChainError, TempoChain, Tip20Payment, Wallet, memo_of, pay};

use crate::actions::{ActionError, Actions, StepResult, payment_key};
use crate::amount;
use crate::validate::{Op, Step};

/// Changes a payment before it is first tried (the lab injects faults
/// here: an empty fee token, a stale nonce).
pub type Prepare = Arc<dyn Fn(&str, &mut Tip20Payment) + Send + Sync>;

/// How long a send still in the node's pool is waited for before a step
/// gives up its attempt (and Temporal tries again later).
const PENDING_WAIT: Duration = Duration::from_secs(20);

/// An agent's account on one Tempo chain.
pub struct TempoActions {
    helix: Helix,
    wallet: Wallet,
    rpc: String,
    chain_id: u64,
    tokens: BTreeMap<String, Address>,
    fee_token: Option<Address>,
    // One nonce sequence per account: its payments are sent one at a time.
    sending: tokio::sync::Mutex<()>,
    prepare: Option<Prepare>,
}

impl std::fmt::Debug for TempoActions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempoActions")
            .field("payer", &self.wallet.address())
            .field("rpc", &self.rpc)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

fn chain_error(e: ChainError) -> ActionError {
    ActionError::Retryable(e.to_string())
}

impl TempoActions {
    /// Pays from `wallet` through `helix` (built with the agent's executors,
    /// Gene Map and budget), naming currencies as `tokens` does.
    pub fn new(
        helix: Helix,
        wallet: Wallet,
        rpc: &str,
        chain_id: u64,
        tokens: BTreeMap<String, Address>,
    ) -> Self {
        TempoActions {
            helix,
            wallet,
            rpc: rpc.to_owned(),
            chain_id,
            tokens,
            fee_token: None,
            sending: tokio::sync::Mutex::new(()),
            prepare: None,
        }
    }

    /// Pays fees in `token` (else the chain's default).
    pub fn with_fee_token(mut self, token: Address) -> Self {
        self.fee_token = Some(token);
        self
    }

    /// Calls `prepare` on each payment before it is first tried.
    pub fn with_prepare(mut self, prepare: Prepare) -> Self {
        self.prepare = Some(prepare);
        self
    }

    fn token(&self, name: &str) -> Result<Address, ActionError> {
        self.tokens
            .get(name)
            .copied()
            .ok_or_else(|| ActionError::Final(format!("no token is configured for {name}")))
    }

    fn chain(&self) -> Result<TempoChain, ActionError> {
        TempoChain::connect(&self.rpc, &self.wallet).map_err(chain_error)
    }

    /// Waits until nothing the account sent is still in the node's pool: a
    /// payment sent by an attempt that died is then mined (and found by its
    /// memo) or gone.
    async fn settled(&self, chain: &TempoChain) -> Result<(), ActionError> {
        let deadline = tokio::time::Instant::now() + PENDING_WAIT;
        loop {
            let (pending, mined) = (
                chain.nonce().await.map_err(chain_error)?,
                chain.mined_nonce().await.map_err(chain_error)?,
            );
            if pending <= mined {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ActionError::Retryable(format!(
                    "{} transaction(s) of the account still pending after {} s",
                    pending - mined,
                    PENDING_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn pay(
        &self,
        key: &str,
        to: &str,
        units: u128,
        currency: &str,
        since_block: u64,
    ) -> Result<StepResult, ActionError> {
        let to: Address = to
            .parse()
            .map_err(|_| ActionError::Final(format!("payee address {to} does not parse")))?;
        let token = self.token(currency)?;
        let memo = memo_of(key);
        let chain = self.chain()?;
        let _one_at_a_time = self.sending.lock().await;
        self.settled(&chain).await?;
        let found = chain
            .memo_transfers(self.wallet.address(), memo, since_block)
            .await
            .map_err(chain_error)?;
        if let Some(t) = found.first() {
            // The memo is this payment's alone: anything else under it is
            // not a payment to repeat, and is said.
            if t.to != to || t.amount != units || t.token != token || found.len() > 1 {
                return Err(ActionError::Final(format!(
                    "the chain holds {} transfer(s) with this payment's memo, the first {} of {} {} to {}; the plan says {} {currency} to {to}",
                    found.len(),
                    t.tx,
                    t.amount,
                    t.token,
                    t.to,
                    amount::format(units)
                )));
            }
            tracing::info!(target: "helix::ode", %key, tx = %t.tx, "already paid: found on chain by its memo");
            return Ok(StepResult {
                tx: Some(t.tx.to_string()),
                found_on_chain: true,
                ..StepResult::default()
            });
        }
        let mut req = Tip20Payment {
            rpc: self.rpc.clone(),
            chain_id: self.chain_id,
            payer: self.wallet.address(),
            to,
            token,
            amount: units,
            fee_token: self.fee_token,
            nonce: None,
            landed: None,
            idempotency_key: key.to_owned(),
            memo: Some(memo),
        };
        if let Some(p) = &self.prepare {
            p(key, &mut req);
        }
        // Owned into each call's future: the activity's future must be Send
        // for every lifetime, which a borrowing async closure is not.
        let wallet = self.wallet.clone();
        let call = move |p: &Tip20Payment| {
            let (w, p) = (wallet.clone(), p.clone());
            async move { pay(&w, &p).await }
        };
        let (res, report) = self.helix.run_mut(&mut req, call).await;
        let repairs: Vec<String> = report
            .repairs
            .iter()
            .map(|r| r.strategy.to_string())
            .collect();
        let immune = !report.repairs.is_empty() && report.repairs.iter().all(|r| r.immune);
        let repair_txs = report
            .repairs
            .iter()
            .flat_map(|r| r.tx_hashes.clone())
            .collect();
        match res {
            Ok(tx) => Ok(StepResult {
                tx: Some(tx),
                found_on_chain: false,
                repairs,
                immune,
                repair_txs,
                detail: String::new(),
            }),
            // A send whose outcome is unknown is settled by the next
            // attempt, which finds it by its memo or sends it.
            Err(e) => Err(ActionError::Retryable(format!(
                "payment not made: {e} (repairs tried: {})",
                if repairs.is_empty() {
                    "none".to_owned()
                } else {
                    repairs.join(", ")
                }
            ))),
        }
    }
}

#[async_trait]
impl Actions for TempoActions {
    async fn begin(&self) -> Result<u64, ActionError> {
        self.chain()?.block_number().await.map_err(chain_error)
    }

    async fn run(
        &self,
        objective: &str,
        step: &Step,
        since_block: u64,
    ) -> Result<StepResult, ActionError> {
        match &step.op {
            Op::Pay {
                to,
                amount,
                currency,
                ..
            } => {
                self.pay(
                    &payment_key(objective, &step.id),
                    to,
                    *amount,
                    currency,
                    since_block,
                )
                .await
            }
            Op::CheckBalance {
                currency,
                at_least,
            } => {
                let token = self.token(currency)?;
                let have = self
                    .chain()?
                    .balance(token, self.wallet.address())
                    .await
                    .map_err(chain_error)?;
                if have < *at_least {
                    return Err(ActionError::Final(format!(
                        "the agent holds {} {currency}, the plan needs at least {}",
                        amount::format(have),
                        amount::format(*at_least)
                    )));
                }
                Ok(StepResult {
                    detail: format!("holds {} {currency}", amount::format(have)),
                    ..StepResult::default()
                })
            }
            Op::Notify { message } => {
                tracing::info!(target: "helix::ode", %objective, step = %step.id, %message, "notify");
                Ok(StepResult {
                    detail: message.clone(),
                    ..StepResult::default()
                })
            }
            Op::Swap { .. } => Err(ActionError::Final(
                "swap steps are not run by this worker yet: a payment whose currency runs short is repaired by Helix's swap".into(),
            )),
            Op::WaitUntil { .. } => Err(ActionError::Final(
                "wait_until is waited out by the workflow, not run as an action".into(),
            )),
        }
    }
}
