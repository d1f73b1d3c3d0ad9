//! The stand-in agents: a provider that sells a service over the mesh (and
//! may fail at it), and a buyer that buys jobs from a seller.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use helix_mesh::Mailbox;
use helix_mesh::cascade::{
    JobRequest, JobResult, Offer, Quote, QuoteRequest, RefundRequest, Refunded, body, message_id,
    proves, read, tell,
};
use helix_mesh::failure::FailureNotice;
use helix_tempo::{Moved, SendOpts, TempoChain};
use serde_json::json;

/// How a provider fails a paid job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Failing {
    /// It does the work.
    Never,
    /// It refunds the payment and says why (an honest failure).
    Refunds,
    /// It says why and keeps the money (refund only when asked: never).
    Keeps,
}

const FOREVER: Duration = Duration::from_secs(24 * 3600);

/// Serves `service` at `price` of `token` until the process ends.
pub async fn provider(
    mail: Mailbox,
    chain: TempoChain,
    service: String,
    price: u128,
    token: Address,
    fee_token: Option<Address>,
    failing: Failing,
) -> Result<(), String> {
    let me = mail.address();
    // paid tx -> refund tx: a payment is refunded at most once.
    let mut refunds: HashMap<B256, B256> = HashMap::new();
    // paid tx -> (payer, amount) of jobs taken and failed.
    let mut failed: HashMap<B256, (Address, u128)> = HashMap::new();
    let mut used: Vec<B256> = Vec::new();
    let opts = SendOpts {
        nonce: None,
        fee_token,
    };
    loop {
        let Some(m) = mail
            .wait(FOREVER, |m| {
                matches!(
                    m.body["kind"].as_str(),
                    Some("quote_request" | "job" | "refund_request")
                )
            })
            .await
        else {
            continue;
        };
        if let Some(q) = read::<QuoteRequest>(&m.body) {
            if q.service == service {
                let quote = Quote {
                    job: q.job.clone(),
                    service: service.clone(),
                    price,
                    token,
                };
                tell(&mail, m.from, &q.job, "quote", body(&quote)).await;
            }
            continue;
        }
        if let Some(r) = read::<RefundRequest>(&m.body) {
            let refund = match (refunds.get(&r.paid_tx), failed.get(&r.paid_tx)) {
                (Some(done), _) => Some(*done),
                (None, Some(&(payer, amount))) if failing != Failing::Keeps && payer == m.from => {
                    let tx = chain
                        .transfer(token, payer, amount, opts)
                        .await
                        .map_err(|e| e.to_string())?;
                    refunds.insert(r.paid_tx, tx);
                    Some(tx)
                }
                _ => None,
            };
            if let Some(tx) = refund {
                let said = Refunded {
                    job: r.job.clone(),
                    paid_tx: r.paid_tx,
                    refund_tx: tx,
                };
                tell(&mail, m.from, &r.job, "refunded", body(&said)).await;
            }
            continue;
        }
        let Some(job) = read::<JobRequest>(&m.body) else {
            continue;
        };
        let paid = Moved {
            token,
            from: m.from,
            to: me,
            amount: job.amount,
        };
        let proven = !used.contains(&job.paid_tx)
            && job.token == token
            && job.amount >= price
            && proves(&chain, job.paid_tx, paid).await.unwrap_or(false);
        if !proven {
            let notice = FailureNotice {
                job: job.job.clone(),
                agent: me,
                cause: format!("payment {} not found on chain", job.paid_tx),
                status: Some(402),
                refund_tx: None,
            };
            tell(&mail, m.from, &job.job, "failure", notice.body()).await;
            continue;
        }
        used.push(job.paid_tx);
        if failing == Failing::Never {
            let done = JobResult {
                job: job.job.clone(),
                output: format!("{service}({}) by {me}", job.job),
            };
            tell(&mail, m.from, &job.job, "result", body(&done)).await;
            continue;
        }
        failed.insert(job.paid_tx, (m.from, job.amount));
        let refund_tx = if failing == Failing::Refunds {
            let tx = chain
                .transfer(token, m.from, job.amount, opts)
                .await
                .map_err(|e| e.to_string())?;
            refunds.insert(job.paid_tx, tx);
            Some(tx)
        } else {
            None
        };
        let notice = FailureNotice {
            job: job.job.clone(),
            agent: me,
            cause: format!("{service} failed: GPU pool answered 503 Service Unavailable"),
            status: Some(503),
            refund_tx,
        };
        tell(&mail, m.from, &job.job, "failure", notice.body()).await;
    }
}

/// Buys `jobs` jobs from `seller`, one per offer it makes, and prints one
/// JSON line per job: what was paid and how it ended.
pub async fn buyer(
    mail: Mailbox,
    chain: TempoChain,
    seller: Address,
    jobs: usize,
    fee_token: Option<Address>,
) -> Result<(), String> {
    for n in 0..jobs {
        let offer = mail
            .wait(FOREVER, |m| m.from == seller && m.body["kind"] == "offer")
            .await
            .and_then(|m| read::<Offer>(&m.body))
            .ok_or("no offer")?;
        let job = format!("job-{n}-{:08x}", rand::random::<u32>());
        let opts = SendOpts {
            nonce: None,
            fee_token,
        };
        let paid_tx = chain
            .transfer(offer.token, seller, offer.price, opts)
            .await
            .map_err(|e| e.to_string())?;
        let request = JobRequest {
            job: job.clone(),
            service: offer.service.clone(),
            paid_tx,
            amount: offer.price,
            token: offer.token,
        };
        mail.send(seller, &message_id(&format!("{job}:job")), body(&request))
            .await
            .map_err(|e| e.to_string())?;
        let answer = mail
            .wait(Duration::from_secs(120), |m| {
                m.from == seller
                    && m.body["job"].as_str() == Some(&job)
                    && matches!(m.body["kind"].as_str(), Some("result" | "failure"))
            })
            .await;
        let line = match answer {
            Some(m) if m.body["kind"] == "result" => {
                json!({"job": job, "paid_tx": paid_tx, "outcome": "result", "output": m.body["output"]})
            }
            Some(m) => match FailureNotice::read(m.from, &m.body) {
                Some(n) => {
                    json!({"job": job, "paid_tx": paid_tx, "outcome": "failure", "cause": n.cause, "refund_tx": n.refund_tx})
                }
                None => json!({"job": job, "paid_tx": paid_tx, "outcome": "unreadable"}),
            },
            None => json!({"job": job, "paid_tx": paid_tx, "outcome": "silence"}),
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    Ok(())
}
