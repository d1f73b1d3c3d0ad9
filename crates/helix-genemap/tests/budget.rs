//! The persisted budget under concurrency, in SQLite and in PostgreSQL:
//! many tasks, and two processes started together on one database, never
//! reserve past the cap together.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use helix_core::*;
use helix_genemap::{PostgresBudget, SqliteBudget};

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
/// store never shows more spent plus reserved than the cap.
struct PaidRepair {
    budget: Arc<dyn Budget>,
    worst: Arc<AtomicU64>,
}

#[async_trait]
impl Executor for PaidRepair {
    fn id(&self) -> StrategyId {
        StrategyId::SwapForFeeToken
    }
    /// It moves funds; the budget holds the most it can move.
    fn max_cost(&self) -> Option<u64> {
        Some(COST)
    }
    async fn commit(&self, _: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let s = self
            .budget
            .status()
            .await
            .map_err(|e| CommitError::Platform(e.to_string()))?;
        self.worst.fetch_max(s.spent + s.reserved, Ordering::SeqCst);
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

/// The claim here is the cap under contention, not speed: dozens of
/// reservations queue on one lock, each a synced commit, and on a slow disk
/// the last would pass the default bounds (and be refused as unavailable).
const PATIENT: Duration = Duration::from_secs(30);

/// Runs `n` concurrent payments that each need a paid repair; returns
/// (repaired, refused by the budget, worst spent+reserved seen).
async fn payments(budget: Arc<dyn Budget>, n: usize) -> (usize, usize, u64) {
    let worst = Arc::new(AtomicU64::new(0));
    let helix = Helix::builder()
        .adapter(Broke)
        .strategy(PaidRepair {
            budget: budget.clone(),
            worst: worst.clone(),
        })
        .budget(budget.clone())
        .policy(Policy {
            store_timeout: PATIENT,
            ..Policy::default()
        })
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

/// Where a test's budget lives: `sqlite:<path>` or a PostgreSQL URL.
async fn open(at: &str, cap: u64) -> Arc<dyn Budget> {
    match at.strip_prefix("sqlite:") {
        Some(path) => Arc::new(SqliteBudget::open(path, cap).unwrap()),
        None => Arc::new(
            PostgresBudget::connect(at, cap)
                .await
                .unwrap()
                .answer_within(PATIENT),
        ),
    }
}

async fn usage(at: &str, cap: u64) -> (u64, u64) {
    let s = open(at, cap).await.status().await.unwrap();
    (s.spent, s.reserved)
}

/// A fresh PostgreSQL schema (`HELIX_TEST_POSTGRES`, default the
/// machine's): its URL, and a guard that drops it.
struct Schema {
    admin: tokio_postgres::Client,
    name: String,
    url: String,
}

impl Schema {
    async fn new(tag: &str) -> Schema {
        let base = std::env::var("HELIX_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("helix_budget_{tag}_{}", std::process::id());
        let (admin, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL (scripts/services.sh starts it)");
        tokio::spawn(conn);
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .await
            .unwrap();
        let url = format!("{base}?options=-c%20search_path%3D{name}");
        Schema { admin, name, url }
    }

    async fn drop(self) {
        self.admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
            .await
            .unwrap();
    }
}

async fn sixty_four_at_once(at: &str) {
    let (ok, refused, worst) = payments(open(at, CAP).await, 64).await;
    assert_eq!(
        ok,
        (CAP / COST) as usize,
        "exactly the cap's worth of repairs ran"
    );
    assert_eq!(refused, 64 - ok, "the others got the budget error");
    assert!(worst <= CAP, "spent + reserved reached {worst} > {CAP}");
    assert_eq!(usage(at, CAP).await, (CAP, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_repairs_never_pass_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    sixty_four_at_once(&format!("sqlite:{}", dir.path().join("genes.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_repairs_never_pass_the_cap_in_postgres() {
    let schema = Schema::new("tasks").await;
    sixty_four_at_once(&schema.url).await;
    schema.drop().await;
}

const CHILD: &str = "HELIX_BUDGET_CHILD_AT";
const BARRIER: &str = "HELIX_BUDGET_BARRIER";

/// Per process in the two-process race; the cap lets neither process take
/// it all alone, so both must reserve, and the sum must stop at the cap.
const EACH: usize = 32;
const RACE_CAP: u64 = 40 * COST;

/// Says `me` is ready, then waits for `other`: the two processes start
/// paying together.
async fn barrier(dir: &str, me: &str, other: &str) {
    std::fs::write(std::path::Path::new(dir).join(me), b"").unwrap();
    let theirs = std::path::Path::new(dir).join(other);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !theirs.exists() {
        assert!(std::time::Instant::now() < deadline, "{other} never came");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Run by the child process (see `race` below); a no-op otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process_payments() {
    let (Ok(at), Ok(dir)) = (std::env::var(CHILD), std::env::var(BARRIER)) else {
        return;
    };
    let budget = open(&at, RACE_CAP).await;
    barrier(&dir, "child", "parent").await;
    let (ok, refused, worst) = payments(budget, EACH).await;
    println!("CHILD ok={ok} refused={refused} worst={worst}");
}

/// `child_process_payments` as the test harness names it (its module
/// path inside the suite binary).
fn child_test_name() -> String {
    match module_path!().split_once("::") {
        Some((_, m)) => format!("{m}::child_process_payments"),
        None => "child_process_payments".into(),
    }
}

/// Two processes share the budget at `at` and pay at once.
async fn race(at: &str) {
    drop(open(at, RACE_CAP).await);
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &child_test_name(), "--nocapture"])
        .env(CHILD, at)
        .env(BARRIER, dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let budget = open(at, RACE_CAP).await;
    barrier(&dir.path().display().to_string(), "parent", "child").await;
    let (ok, refused, worst) = payments(budget, EACH).await;
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("CHILD "))
        .unwrap_or_else(|| panic!("child said: {text}"));
    let field = |n: usize| -> u64 { line.split(['=', ' ']).nth(n).unwrap().parse().unwrap() };
    let (child_ok, child_refused, child_worst) = (field(2) as usize, field(4) as usize, field(6));
    assert_eq!(child_ok + child_refused, EACH, "the child paid: {line}");
    assert_eq!(ok + refused, EACH);
    assert!(
        ok > 0 && child_ok > 0,
        "both processes reserved: parent {ok}, child {child_ok}"
    );
    assert_eq!(
        ok + child_ok,
        (RACE_CAP / COST) as usize,
        "parent {ok} + child {child_ok}"
    );
    assert!(
        worst.max(child_worst) <= RACE_CAP,
        "spent + reserved reached {}",
        worst.max(child_worst)
    );
    assert_eq!(usage(at, RACE_CAP).await, (RACE_CAP, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_one_database_never_pass_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    race(&format!("sqlite:{}", dir.path().join("genes.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_postgres_never_pass_the_cap() {
    let schema = Schema::new("race").await;
    race(&schema.url).await;
    schema.drop().await;
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

#[tokio::test]
async fn reservations_a_dead_process_left_open_expire_in_postgres() {
    let schema = Schema::new("stale").await;
    let dead = PostgresBudget::connect(&schema.url, CAP).await.unwrap();
    let _moving = dead.reserve_for(200, true).await.unwrap();
    let _waiting = dead.reserve_for(100, false).await.unwrap();
    assert_eq!(dead.usage().await.unwrap(), (0, 300));
    drop(dead);
    let live = PostgresBudget::connect(&schema.url, CAP)
        .await
        .unwrap()
        .stale_after(Duration::from_millis(1));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let r = live.reserve_for(10, false).await.unwrap();
    assert_eq!(live.usage().await.unwrap(), (200, 10));
    live.settle(r.clone(), 0).await.unwrap();
    assert!(live.settle(r, 0).await.is_err(), "settled once");
    assert_eq!(live.usage().await.unwrap(), (200, 0));
    schema.drop().await;
}
