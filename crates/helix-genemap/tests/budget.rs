//! The persisted budget under concurrency: many tasks, and two processes
//! sharing one database file, never reserve past the cap together.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use helix_core::*;
use helix_genemap::SqliteBudget;

const COST: u64 = 1_000;
const CAP: u64 = 20 * COST;

struct Pay {
    fixed: bool,
}

impl Repairable for Pay {
    fn view(&self) -> PaymentView {
        PaymentView {
            recipient: Some("0xbob".into()),
            amount: Some(1),
            ..Default::default()
        }
    }
    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::FeeToken { .. } => {
                self.fixed = true;
                Ok(())
            }
            other => Err(Refused::unsupported(other)),
        }
    }
}

struct Broke;
impl Adapter for Broke {
    fn name(&self) -> &'static str {
        "broke"
    }
    fn perceive(&self, s: &ErrorSignal) -> Option<Failure> {
        (s.message == "fee token empty").then(|| Failure {
            code: FailureCode::PaymentInsufficient,
            category: Category::Fee,
            severity: Severity::Medium,
            platform: Platform::Tempo,
            evidence: Evidence::Message,
            facts: Facts::default(),
        })
    }
    fn construct(&self, _: &Failure) -> Vec<Candidate> {
        vec![Candidate::new(StrategyId::SwapForFeeToken, COST, 5)]
    }
}

/// A paid repair that checks, while it holds its reservation, that the
/// database never shows more spent plus reserved than the cap.
struct PaidRepair {
    budget: Arc<SqliteBudget>,
    worst: Arc<AtomicU64>,
}

#[async_trait]
impl Strategy for PaidRepair {
    fn id(&self) -> StrategyId {
        StrategyId::SwapForFeeToken
    }
    /// It moves funds; the budget holds the most it can move.
    fn max_cost(&self) -> Option<u64> {
        Some(COST)
    }
    async fn commit(&self, _: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let (spent, reserved) = self
            .budget
            .usage()
            .map_err(|e| CommitError::Platform(e.to_string()))?;
        self.worst.fetch_max(spent + reserved, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(Committed {
            patches: vec![Patch::FeeToken {
                token: "AlphaUSD".into(),
            }],
            cost: COST,
            ..Default::default()
        })
    }
}

/// Runs `n` concurrent payments that each need a paid repair; returns
/// (repaired, refused by the budget, worst spent+reserved seen).
async fn payments(path: &std::path::Path, n: usize) -> (usize, usize, u64) {
    let budget = Arc::new(SqliteBudget::open(path, CAP).unwrap());
    let worst = Arc::new(AtomicU64::new(0));
    let helix = Helix::builder()
        .adapter(Broke)
        .strategy(PaidRepair {
            budget: budget.clone(),
            worst: worst.clone(),
        })
        .budget(budget.clone())
        .mode(Mode::Full)
        .build();
    let mut tasks = Vec::new();
    for _ in 0..n {
        let h = helix.clone();
        tasks.push(tokio::spawn(async move {
            h.run(Pay { fixed: false }, async |p: &Pay| {
                if p.fixed {
                    Ok(())
                } else {
                    Err("fee token empty".to_string())
                }
            })
            .await
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(HelixError::Budget {
                refusal: BudgetError::CapExceeded { .. },
                ..
            }) => refused += 1,
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    (ok, refused, worst.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_repairs_never_pass_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genes.db");
    let (ok, refused, worst) = payments(&path, 64).await;
    assert_eq!(
        ok,
        (CAP / COST) as usize,
        "exactly the cap's worth of repairs ran"
    );
    assert_eq!(refused, 64 - ok, "the others got the budget error");
    assert!(worst <= CAP, "spent + reserved reached {worst} > {CAP}");
    let (spent, reserved) = SqliteBudget::open(&path, CAP).unwrap().usage().unwrap();
    assert_eq!((spent, reserved), (CAP, 0));
}

const CHILD: &str = "HELIX_BUDGET_CHILD_DB";

/// Run by the child process (see the test below); a no-op otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process_payments() {
    let Ok(path) = std::env::var(CHILD) else {
        return;
    };
    let (ok, refused, worst) = payments(std::path::Path::new(&path), 32).await;
    println!("CHILD ok={ok} refused={refused} worst={worst}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_one_database_never_pass_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genes.db");
    drop(SqliteBudget::open(&path, CAP).unwrap());
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_payments", "--nocapture"])
        .env(CHILD, &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (ok, _refused, worst) = payments(&path, 32).await;
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("CHILD "))
        .unwrap_or_else(|| panic!("child said: {text}"));
    let child_ok: usize = line.split(['=', ' ']).nth(2).unwrap().parse().unwrap();
    assert_eq!(
        ok + child_ok,
        (CAP / COST) as usize,
        "parent {ok} + child {child_ok}"
    );
    assert!(worst <= CAP);
    let (spent, reserved) = SqliteBudget::open(&path, CAP).unwrap().usage().unwrap();
    assert_eq!(spent + reserved, CAP);
}

/// A process that died holding reservations leaves them open; the next
/// reservation expires them: a repair that could move funds is booked in
/// full, one that could not is released.
#[tokio::test]
async fn reservations_a_dead_process_left_open_expire() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genes.db");
    let dead = SqliteBudget::open(&path, CAP).unwrap();
    let _moving = dead.reserve_for(200, true).await.unwrap();
    let _waiting = dead.reserve_for(100, false).await.unwrap();
    assert_eq!(dead.usage().unwrap(), (0, 300));
    drop(dead);
    let live = SqliteBudget::open(&path, CAP)
        .unwrap()
        .stale_after(Duration::from_millis(1));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let r = live.reserve_for(10, false).await.unwrap();
    assert_eq!(live.usage().unwrap(), (200, 10));
    live.settle(r, 0).await.unwrap();
    assert_eq!(live.usage().unwrap(), (200, 0));
}
