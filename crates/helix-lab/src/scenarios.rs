//! Every scenario of SCENARIOS.md as a lab run: arm the fault, run the
//! agent's operation through Helix, check the ground truth in the lab.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use helix_core::{Helix, Platform, Report};

use crate::Lab;
use crate::agent::{
    self, BatchCall, BatchPayment, HttpCall, MppPayment, Payout, PrivyTransfer, StripeCharge,
    SwapOrder,
};
use crate::chain::{Tx, eq};
use crate::runner::Runner;
use crate::services::{Intent, Resource};
use crate::tokens::{AGENT, ALPHA, BETA, MERCHANT, PATH_USD, PRIVY_WALLET, THETA, UNIT, symbol};

/// Chain id of the lab's main chain (Tempo testnet's id).
pub const MAIN_CHAIN: u64 = 42431;
/// Chain id of the lab's second chain, where no TIP-20 exists.
pub const OTHER_CHAIN: u64 = 31337;

/// One row of SCENARIOS.md.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Row number.
    pub row: u8,
    /// Platform.
    pub platform: Platform,
    /// What fails.
    pub title: &'static str,
    /// Set when the row cannot run yet, with the reason.
    pub waiting: Option<&'static str>,
}

const fn row(row: u8, platform: Platform, title: &'static str) -> Scenario {
    Scenario {
        row,
        platform,
        title,
        waiting: None,
    }
}

/// Rows beyond SCENARIOS.md that the bench runs and the demo does not: a
/// world that behaves badly with the money.
pub const HOSTILE: &[Scenario] = &[row(
    26,
    Platform::Tempo,
    "the service settled the payment, then answered 502 without a receipt",
)];

/// Rows for tuning (`helix-lab evolve`): a cause that passes by itself
/// after a window the agent is not told of
/// ([`LabState::untold_window_ms`](crate::services::LabState)), so how long
/// the repair waits decides whether it works and what it costs.
pub const TUNING: &[Scenario] = &[
    row(
        27,
        Platform::Tempo,
        "DEX slippage on a thin book that makers refill after a while",
    ),
    row(
        28,
        Platform::Http,
        "429 without Retry-After from a limit that resets after a while",
    ),
];

/// Every scenario, in order.
pub const SCENARIOS: &[Scenario] = &[
    row(
        1,
        Platform::Tempo,
        "insufficient balance in the charged stablecoin",
    ),
    row(2, Platform::Tempo, "MPP challenge expired"),
    row(
        3,
        Platform::Tempo,
        "service requires a currency the agent lacks",
    ),
    row(4, Platform::Tempo, "stale nonce"),
    row(5, Platform::Tempo, "batch transaction reverted"),
    row(
        6,
        Platform::Tempo,
        "service failed after payment was accepted",
    ),
    row(7, Platform::Tempo, "DEX slippage"),
    row(8, Platform::Tempo, "TIP-403 compliance block"),
    Scenario {
        row: 9,
        platform: Platform::Tempo,
        title: "cascade failure across agents A->B->C",
        // The demo runs it on anvil with agent processes on the mesh
        // (`helix_lab::cascade`); the lab chain has no agents to cascade.
        waiting: Some(
            "runs only on anvil, with agent processes on the mesh (NATS, Redis): the demo runs it there",
        ),
    },
    row(10, Platform::Tempo, "off-ramp failed"),
    row(11, Platform::Tempo, "token paused mid-transfer"),
    row(12, Platform::Tempo, "fee token exhausted"),
    row(13, Platform::Tempo, "network mismatch"),
    row(14, Platform::Privy, "policy spending limit"),
    row(15, Platform::Privy, "nonce desync"),
    row(16, Platform::Privy, "gas sponsor exhausted"),
    row(17, Platform::Privy, "cross-chain mismatch"),
    row(18, Platform::Http, "429 rate limited"),
    row(19, Platform::Http, "5xx server error"),
    row(20, Platform::Http, "timeout"),
    row(21, Platform::Stripe, "card declined"),
    row(22, Platform::Stripe, "expired card"),
    row(23, Platform::Stripe, "rate limited"),
    row(
        24,
        Platform::Stripe,
        "idempotency key reused with other parameters",
    ),
    row(25, Platform::Stripe, "3-D Secure authentication required"),
];

/// What one run of a row did.
#[derive(Debug, Clone)]
pub struct RowRun {
    /// The run's report.
    pub report: Report,
    /// The payment succeeded and the lab's ground truth agrees.
    pub ok: bool,
    /// What was checked, or why it failed.
    pub detail: String,
    /// Wall time, ms.
    pub ms: u64,
    /// The payee was paid more than once for this one payment (ground
    /// truth from the lab's ledger, intents or payouts).
    pub double_paid: bool,
}

fn done(report: Report, t: Instant, check: Result<String, String>) -> RowRun {
    let ms = t.elapsed().as_millis() as u64;
    match check {
        Ok(detail) => RowRun {
            report,
            ok: true,
            detail,
            ms,
            double_paid: false,
        },
        Err(detail) => RowRun {
            report,
            ok: false,
            detail,
            ms,
            double_paid: false,
        },
    }
}

fn outcome<T>(r: &Result<T, String>) -> Result<(), String> {
    r.as_ref().map(|_| ()).map_err(Clone::clone)
}

fn mpp(lab: &Lab, resource: &str, currency: &str, fee_token: &str) -> MppPayment {
    MppPayment {
        resource: lab.url(&format!("/mpp/{resource}")),
        rpc: lab.rpc(MAIN_CHAIN),
        payer: AGENT.into(),
        recipient: MERCHANT.into(),
        amount: UNIT / 2,
        currency: currency.into(),
        fee_token: fee_token.into(),
        chain_id: MAIN_CHAIN,
        nonce: None,
        challenge: None,
        receipt: None,
        idempotency_key: format!("mpp-{resource}-{:x}", rand::random::<u32>()),
    }
}

fn resource(lab: &Lab, name: &str, currencies: &[&str]) {
    lab.state().resources.insert(
        name.into(),
        Resource {
            price: UNIT / 2,
            currencies: currencies.iter().map(|c| c.to_string()).collect(),
            recipient: MERCHANT.into(),
            chain_id: MAIN_CHAIN,
            ttl_secs: 300,
            fail_after_payment_once: false,
            fail_without_receipt_once: false,
        },
    );
}

/// Gives `who` exactly these balances on the main chain (others zero) and
/// clears every fault of the chain.
fn fund(lab: &Lab, who: &str, balances: &[(&str, u128)]) {
    let mut st = lab.state();
    if let Some(c) = st.chains.get_mut(&MAIN_CHAIN) {
        for t in [PATH_USD, ALPHA, BETA, THETA] {
            c.set_balance(t, who, 0);
        }
        for (t, v) in balances {
            c.set_balance(t, who, *v);
        }
        c.paused.clear();
        c.blocked.clear();
        for t in [PATH_USD, ALPHA, BETA, THETA] {
            c.set_reserve(t, crate::tokens::PEG_RESERVE);
        }
    }
}

/// Transfers that reached the merchant during one MPP payment.
type Landed = [crate::chain::Landed];

/// Pays an MPP resource through `run`; `judge` reads the result against the
/// transfers that reached the merchant meanwhile.
async fn run_mpp_judged(
    lab: &Lab,
    run: &Runner<'_>,
    mut req: MppPayment,
    judge: impl FnOnce(
        &Result<crate::agent::Paid, String>,
        &Landed,
        &MppPayment,
    ) -> Result<String, String>,
) -> RowRun {
    let t = Instant::now();
    let before = lab.state().transfers_to(MAIN_CHAIN, MERCHANT).len();
    let http = lab.http.clone();
    let (res, report) = run
        .run_mut(&mut req, async |r: &MppPayment| {
            agent::pay_mpp(&http, r).await
        })
        .await;
    let landed = lab.state().transfers_to(MAIN_CHAIN, MERCHANT);
    let new = &landed[before.min(landed.len())..];
    let check = judge(&res, new, &req);
    RowRun {
        double_paid: new.len() > 1,
        ..done(report, t, check)
    }
}

/// The payment was made once and served.
async fn run_mpp(lab: &Lab, run: &Runner<'_>, req: MppPayment) -> RowRun {
    run_mpp_judged(lab, run, req, |res, new, req| {
        outcome(res).and_then(|_| match new {
            [one] if one.tx.amount == req.amount && eq(&one.tx.from, &req.payer) => Ok(format!(
                "merchant received {} {} once (tx {})",
                one.tx.amount as f64 / UNIT as f64,
                symbol(&one.tx.token),
                &one.hash[..10]
            )),
            other => Err(format!(
                "expected one transfer of {} to the merchant, saw {}",
                req.amount,
                other.len()
            )),
        })
    })
    .await
}

/// Row 26: the service took the payment and failed without a receipt, so
/// the agent cannot be served. The right end is the merchant paid exactly
/// once and the caller told which transaction paid it; a run that pays
/// again, or ends without naming the payment, is not.
async fn run_paid_not_served(lab: &Lab, run: &Runner<'_>, req: MppPayment) -> RowRun {
    run_mpp_judged(lab, run, req, |res, new, _| match (new, res) {
        ([one], Err(e)) if e.contains(&one.hash) => Ok(format!(
            "paid once (tx {}), not served; the caller was told which transaction paid",
            &one.hash[..10]
        )),
        ([_], Err(e)) => Err(format!("paid once, but the caller was not told: {e}")),
        ([_], Ok(_)) => Err("served without a receipt?".into()),
        (other, _) => Err(format!("{} transfers to the merchant", other.len())),
    })
    .await
}

async fn run_privy(lab: &Lab, run: &Runner<'_>, mut req: PrivyTransfer) -> RowRun {
    let t = Instant::now();
    let before = lab
        .state()
        .chains
        .get(&MAIN_CHAIN)
        .map_or(0, |c| c.balance(&req.token, &req.to));
    let http = lab.http.clone();
    let (res, report) = run
        .run_mut(&mut req, async |r: &PrivyTransfer| {
            agent::privy_send(&http, r).await
        })
        .await;
    let after = lab
        .state()
        .chains
        .get(&MAIN_CHAIN)
        .map_or(0, |c| c.balance(&req.token, &req.to));
    let check = outcome(&res).and_then(|_| {
        if after - before == req.amount {
            Ok(format!(
                "recipient received exactly {} in {} part(s)",
                req.amount / UNIT,
                req.parts
            ))
        } else {
            Err(format!(
                "recipient received {} instead of {}",
                after - before,
                req.amount
            ))
        }
    });
    RowRun {
        double_paid: after.saturating_sub(before) > req.amount,
        ..done(report, t, check)
    }
}

/// Row 7's swap of 100 ThetaUSD into AlphaUSD on a book too thin for it
/// within 50 bps; with `refill_ms`, makers deepen the book that long after
/// the first try (row 27).
async fn thin_book_swap(lab: &Lab, run: &Runner<'_>, refill_ms: Option<u64>) -> RowRun {
    fund(lab, AGENT, &[(THETA, 200 * UNIT)]);
    if let Some(c) = lab.state().chains.get_mut(&MAIN_CHAIN) {
        c.set_reserve(THETA, 2_000 * UNIT);
        c.set_reserve(ALPHA, 2_000 * UNIT);
    }
    if let Some(ms) = refill_ms {
        let deep = 2_000_000 * UNIT;
        lab.state().refill = Some((
            Instant::now() + std::time::Duration::from_millis(ms),
            vec![(THETA.to_owned(), deep), (ALPHA.to_owned(), deep)],
        ));
    }
    let alpha = |lab: &Lab| {
        lab.state()
            .chains
            .get(&MAIN_CHAIN)
            .map_or(0, |c| c.balance(ALPHA, AGENT))
    };
    // What this run bought, not what earlier runs left (the bench runs
    // the row many times on one lab).
    let before = alpha(lab);
    let t = Instant::now();
    let mut req = SwapOrder {
        rpc: lab.rpc(MAIN_CHAIN),
        payer: AGENT.into(),
        token_in: THETA.into(),
        token_out: ALPHA.into(),
        amount_in: 100 * UNIT,
        max_slippage_bps: 50,
        parts: 1,
        filled: Arc::new(Mutex::new(0)),
    };
    let http = lab.http.clone();
    let (res, report) = run
        .run_mut(&mut req, async |o: &SwapOrder| agent::swap(&http, o).await)
        .await;
    let got = alpha(lab).saturating_sub(before);
    let floor = helix_tempo::min_out(req.amount_in, 50);
    let check = outcome(&res).and_then(|_| {
        if got >= floor {
            Ok(format!(
                "bought {:.2} AlphaUSD for 100 ThetaUSD in {} parts (bound {:.2})",
                got as f64 / UNIT as f64,
                req.parts,
                floor as f64 / UNIT as f64
            ))
        } else {
            Err(format!("bought {got}, below the bound {floor}"))
        }
    });
    done(report, t, check)
}

async fn run_http(lab: &Lab, run: &Runner<'_>, mut req: HttpCall, name: &str) -> RowRun {
    let t = Instant::now();
    let before = lab.state().http_served.get(name).copied().unwrap_or(0);
    let http = lab.http.clone();
    let (res, report) = run
        .run_mut(&mut req, async |c: &HttpCall| agent::call(&http, c).await)
        .await;
    let served = lab.state().http_served.get(name).copied().unwrap_or(0) - before;
    let check = outcome(&res).and_then(|_| {
        if served >= 1 {
            Ok(format!(
                "served after the repair ({served} successful call(s))"
            ))
        } else {
            Err("never served".into())
        }
    });
    done(report, t, check)
}

async fn run_stripe(lab: &Lab, run: &Runner<'_>, mut req: StripeCharge) -> RowRun {
    let t = Instant::now();
    let http = lab.http.clone();
    let (res, report) = run
        .run_mut(&mut req, async |c: &StripeCharge| {
            agent::stripe_charge(&http, c).await
        })
        .await;
    let st = lab.state();
    let paid: Vec<&Intent> = st
        .intents
        .iter()
        .filter(|i| i.helix_key == req.key && i.status == "succeeded")
        .collect();
    let check = outcome(&res).and_then(|_| match paid.as_slice() {
        [one] => Ok(format!(
            "one succeeded payment intent {} on {}",
            one.id, one.payment_method
        )),
        other => Err(format!(
            "expected one succeeded intent for {}, saw {}",
            req.key,
            other.len()
        )),
    });
    let double_paid = paid.len() > 1;
    RowRun {
        double_paid,
        ..done(report, t, check)
    }
}

fn stripe_charge(lab: &Lab, row: u8, pm: &str) -> StripeCharge {
    let key = format!("order-{row}-{:08x}", rand::random::<u32>());
    StripeCharge {
        base: lab.url("/stripe"),
        amount: 2_000,
        payment_method: pm.into(),
        idempotency_key: key.clone(),
        key,
        existing: None,
    }
}

fn privy_transfer(lab: &Lab, amount: u128) -> PrivyTransfer {
    PrivyTransfer {
        endpoint: lab.url("/privy/v1/wallets/wlt_helix01/rpc"),
        wallet: PRIVY_WALLET.into(),
        to: MERCHANT.into(),
        token: ALPHA.into(),
        amount,
        chain_id: MAIN_CHAIN,
        caip2: format!("eip155:{MAIN_CHAIN}"),
        nonce: None,
        fee_token: None,
        parts: 1,
        sent: Arc::new(Mutex::new(0)),
    }
}

/// Arms row `n`'s fault and runs it once through `helix`.
pub async fn run_row(lab: &Lab, helix: &Helix, n: u8) -> RowRun {
    run_row_with(lab, &Runner::Helix(helix), n).await
}

/// Arms row `n`'s fault and attempts the payment with `run`.
pub async fn run_row_with(lab: &Lab, run: &Runner<'_>, n: u8) -> RowRun {
    {
        let mut st = lab.state();
        st.privy_limit = 500 * UNIT;
        st.privy_sponsor = 1_000 * UNIT;
        st.privy_chain = MAIN_CHAIN;
        st.stripe_rate_limited = 0;
        st.http_limited = 0;
        st.http_flaky = 0;
        st.http_window_until = None;
        st.refill = None;
        st.offramps_down.clear();
    }
    let ten = 10 * UNIT;
    match n {
        1 => {
            resource(lab, "r1", &[ALPHA]);
            fund(lab, AGENT, &[(BETA, ten)]);
            run_mpp(lab, run, mpp(lab, "r1", ALPHA, ALPHA)).await
        }
        2 => {
            resource(lab, "r2", &[ALPHA]);
            fund(lab, AGENT, &[(ALPHA, ten)]);
            let mut req = mpp(lab, "r2", ALPHA, ALPHA);
            req.challenge = lab.state().stale_challenge("r2");
            run_mpp(lab, run, req).await
        }
        3 => {
            resource(lab, "r3", &[ALPHA]);
            fund(lab, AGENT, &[(BETA, ten)]);
            run_mpp(lab, run, mpp(lab, "r3", BETA, BETA)).await
        }
        4 => {
            resource(lab, "r4", &[ALPHA]);
            fund(lab, AGENT, &[(ALPHA, ten)]);
            let mut req = mpp(lab, "r4", ALPHA, ALPHA);
            if let Some(c) = lab.state().chains.get_mut(&MAIN_CHAIN) {
                let n = c.nonce(AGENT);
                req.nonce = Some(n);
                // Another process with the same key sent three transactions.
                c.set_nonce(AGENT, n + 3);
            }
            run_mpp(lab, run, req).await
        }
        5 => {
            fund(lab, AGENT, &[(ALPHA, ten)]);
            let t = Instant::now();
            let before = lab.state().transfers_to(MAIN_CHAIN, MERCHANT).len();
            let pay = Tx {
                from: AGENT.into(),
                to: MERCHANT.into(),
                token: ALPHA.into(),
                amount: UNIT / 2,
                nonce: 0,
                fee_token: ALPHA.into(),
                chain_id: MAIN_CHAIN,
                valid_before: None,
            };
            let approve = Tx {
                to: "0x000000000000000000000000000000000000dead".into(),
                amount: 0,
                ..pay.clone()
            };
            let mut req = BatchPayment {
                rpc: lab.rpc(MAIN_CHAIN),
                payer: AGENT.into(),
                calls: vec![
                    BatchCall {
                        tx: pay,
                        data: "0xa9059cbb".into(),
                        is_payment: true,
                    },
                    BatchCall {
                        tx: approve,
                        data: "0xdead".into(),
                        is_payment: false,
                    },
                ],
            };
            let http = lab.http.clone();
            let (res, report) = run
                .run_mut(&mut req, async |b: &BatchPayment| {
                    agent::send_batch(&http, b).await
                })
                .await;
            let landed = lab.state().transfers_to(MAIN_CHAIN, MERCHANT).len() - before;
            let check = outcome(&res).and_then(|_| {
                if landed == 1 {
                    Ok(format!(
                        "payment landed once; batch resubmitted with {} call(s)",
                        req.calls.len()
                    ))
                } else {
                    Err(format!("{landed} payments landed"))
                }
            });
            RowRun {
                double_paid: landed > 1,
                ..done(report, t, check)
            }
        }
        6 => {
            resource(lab, "r6", &[ALPHA]);
            if let Some(r) = lab.state().resources.get_mut("r6") {
                r.fail_after_payment_once = true;
            }
            fund(lab, AGENT, &[(ALPHA, ten)]);
            run_mpp(lab, run, mpp(lab, "r6", ALPHA, ALPHA)).await
        }
        7 => thin_book_swap(lab, run, None).await,
        27 => {
            let window = lab.state().untold_window_ms;
            thin_book_swap(lab, run, Some(window)).await
        }
        28 => {
            run_http(
                lab,
                run,
                HttpCall {
                    url: lab.url("/http/window"),
                    deadline_ms: 5_000,
                },
                "window",
            )
            .await
        }
        8 => {
            resource(lab, "r8", &[ALPHA, BETA]);
            fund(lab, AGENT, &[(ALPHA, ten), (BETA, ten)]);
            if let Some(c) = lab.state().chains.get_mut(&MAIN_CHAIN) {
                c.blocked
                    .insert((ALPHA.to_ascii_lowercase(), AGENT.to_ascii_lowercase()));
            }
            run_mpp(lab, run, mpp(lab, "r8", ALPHA, BETA)).await
        }
        10 => {
            lab.state().offramps_down.insert("alpha".into());
            let t = Instant::now();
            let mut req = Payout {
                endpoint: lab.url("/offramp/alpha/payout"),
                amount: 25 * UNIT,
                account: "DE89 3704 0044 0532 0130 00".into(),
            };
            let http = lab.http.clone();
            let before = lab.state().payouts.len();
            let (res, report) = run
                .run_mut(&mut req, async |p: &Payout| agent::payout(&http, p).await)
                .await;
            let st = lab.state();
            let new = &st.payouts[before.min(st.payouts.len())..];
            let check = outcome(&res).and_then(|_| match new {
                [(p, a)] if *a == 25 * UNIT => Ok(format!("paid out once through off-ramp {p}")),
                other => Err(format!("{} payouts", other.len())),
            });
            let double_paid = new.len() > 1;
            RowRun {
                double_paid,
                ..done(report, t, check)
            }
        }
        11 => {
            resource(lab, "r11", &[THETA, ALPHA]);
            fund(lab, AGENT, &[(THETA, ten), (ALPHA, ten)]);
            if let Some(c) = lab.state().chains.get_mut(&MAIN_CHAIN) {
                c.paused.insert(THETA.to_ascii_lowercase());
            }
            run_mpp(lab, run, mpp(lab, "r11", THETA, ALPHA)).await
        }
        12 => {
            resource(lab, "r12", &[ALPHA]);
            fund(lab, AGENT, &[(ALPHA, ten)]);
            run_mpp(lab, run, mpp(lab, "r12", ALPHA, BETA)).await
        }
        13 => {
            resource(lab, "r13", &[ALPHA]);
            fund(lab, AGENT, &[(ALPHA, ten)]);
            let mut req = mpp(lab, "r13", ALPHA, ALPHA);
            req.rpc = lab.rpc(OTHER_CHAIN);
            run_mpp(lab, run, req).await
        }
        14 => {
            fund(lab, PRIVY_WALLET, &[(ALPHA, 3_000 * UNIT)]);
            run_privy(lab, run, privy_transfer(lab, 2_500 * UNIT)).await
        }
        15 => {
            fund(lab, PRIVY_WALLET, &[(ALPHA, 100 * UNIT)]);
            let mut req = privy_transfer(lab, 10 * UNIT);
            if let Some(c) = lab.state().chains.get_mut(&MAIN_CHAIN) {
                let n = c.nonce(PRIVY_WALLET);
                req.nonce = Some(n + 2);
            }
            run_privy(lab, run, req).await
        }
        16 => {
            fund(lab, PRIVY_WALLET, &[(ALPHA, 100 * UNIT)]);
            lab.state().privy_sponsor = 0;
            run_privy(lab, run, privy_transfer(lab, 10 * UNIT)).await
        }
        17 => {
            fund(lab, PRIVY_WALLET, &[(ALPHA, 100 * UNIT)]);
            let mut req = privy_transfer(lab, 10 * UNIT);
            // The invoice names the lab's chain; the agent's request was
            // built for mainnet.
            req.caip2 = "eip155:1".into();
            run_privy(lab, run, req).await
        }
        18 => {
            lab.state().http_limited = 1;
            run_http(
                lab,
                run,
                HttpCall {
                    url: lab.url("/http/limited"),
                    deadline_ms: 5_000,
                },
                "limited",
            )
            .await
        }
        19 => {
            lab.state().http_flaky = 1;
            run_http(
                lab,
                run,
                HttpCall {
                    url: lab.url("/http/flaky"),
                    deadline_ms: 5_000,
                },
                "flaky",
            )
            .await
        }
        20 => {
            lab.state().http_slow_ms = 400;
            run_http(
                lab,
                run,
                HttpCall {
                    url: lab.url("/http/slow"),
                    deadline_ms: 200,
                },
                "slow",
            )
            .await
        }
        21 => run_stripe(lab, run, stripe_charge(lab, 21, "pm_card_chargeDeclined")).await,
        22 => {
            run_stripe(
                lab,
                run,
                stripe_charge(lab, 22, "pm_card_chargeDeclinedExpiredCard"),
            )
            .await
        }
        23 => {
            lab.state().stripe_rate_limited = 1;
            run_stripe(lab, run, stripe_charge(lab, 23, "pm_card_visa")).await
        }
        24 => {
            let req = stripe_charge(lab, 24, "pm_card_visa");
            lab.state().seed_failed_attempt(&req.key);
            run_stripe(lab, run, req).await
        }
        25 => {
            run_stripe(
                lab,
                run,
                stripe_charge(lab, 25, "pm_card_authenticationRequired"),
            )
            .await
        }
        26 => {
            resource(lab, "r26", &[ALPHA]);
            if let Some(r) = lab.state().resources.get_mut("r26") {
                r.fail_without_receipt_once = true;
            }
            fund(lab, AGENT, &[(ALPHA, ten)]);
            run_paid_not_served(lab, run, mpp(lab, "r26", ALPHA, ALPHA)).await
        }
        _ => RowRun {
            report: Report::default(),
            ok: false,
            detail: SCENARIOS
                .iter()
                .find(|s| s.row == n)
                .and_then(|s| s.waiting)
                .unwrap_or("no such row")
                .into(),
            ms: 0,
            double_paid: false,
        },
    }
}
