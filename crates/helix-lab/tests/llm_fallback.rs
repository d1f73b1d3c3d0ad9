//! The LLM fallback against local stand-ins of Anthropic's and OpenAI's
//! APIs: failover, retries, strict answers, and a gene with llm provenance
//! in a real SQLite Gene Map that answers the next time without an LLM.

use std::sync::Arc;
use std::time::{Duration, Instant};

use helix_core::{
    Category, FailureCode, GeneSource, GeneStore, Helix, HelixError, Mode, Patch, PaymentView,
    Refused, Repairable, StrategyId,
};
use helix_genemap::SqliteGeneStore;
use helix_lab::llm::{Api, LlmStandIn, Reply};
use helix_llm::{ApiKey, LlmConfig, LlmDiagnoser, ProviderConfig};
use helix_platforms::http::executors::Backoff;

const GOOD: &str = r#"{"code":"rate-limited","category":"throttle","strategies":["backoff"]}"#;

const PROVIDER_TIMEOUT: Duration = Duration::from_secs(1);

fn provider(base: &str, key: &str, model: &str) -> ProviderConfig {
    ProviderConfig {
        base_url: base.to_string(),
        api_key: ApiKey::new(key),
        model: model.to_string(),
        // Long enough that a stand-in answering on a loaded machine is
        // not taken for a hang (which would change the request counts).
        timeout: PROVIDER_TIMEOUT,
        max_tokens: 256,
    }
}

fn config(anthropic: &LlmStandIn, openai: &LlmStandIn) -> LlmConfig {
    LlmConfig {
        anthropic: Some(provider(anthropic.base_url(), "ak-lab", "claude-lab")),
        openai: Some(provider(openai.base_url(), "sk-lab", "gpt-lab")),
    }
}

async fn stand_ins(a: Reply, o: Reply) -> (LlmStandIn, LlmStandIn) {
    (
        LlmStandIn::start(Api::Anthropic, "ak-lab", a)
            .await
            .unwrap(),
        LlmStandIn::start(Api::OpenAi, "sk-lab", o).await.unwrap(),
    )
}

/// A vault that refuses payments, in words no adapter knows, until its
/// cooling period (measured from the first attempt) is over.
struct Vault {
    opened: Instant,
    cooling: Duration,
}

impl Vault {
    fn new() -> Self {
        Vault {
            opened: Instant::now(),
            cooling: Duration::from_millis(150),
        }
    }

    async fn pay(&self) -> Result<&'static str, String> {
        let left = self.cooling.saturating_sub(self.opened.elapsed());
        if left.is_zero() {
            Ok("paid")
        } else {
            Err(format!(
                "vault 7 sealed: cooling period active for {} ms more",
                left.as_millis()
            ))
        }
    }
}

/// The payment to the vault: nothing about it may change.
struct Deposit;

impl Repairable for Deposit {
    fn view(&self) -> PaymentView {
        PaymentView {
            recipient: Some("0x00000000000000000000000000000000000000a7".into()),
            amount: Some(250_000),
            ..Default::default()
        }
    }
    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        Err(Refused::unsupported(p))
    }
}

fn helix(cfg: &LlmConfig, store: Arc<SqliteGeneStore>) -> Helix {
    let llm = LlmDiagnoser::from_config(cfg).unwrap();
    Helix::builder()
        .adapter(helix_platforms::builtin())
        .diagnoser(Arc::new(llm))
        .strategy(Backoff {
            default_wait: Duration::from_millis(250),
            max_wait: Duration::from_secs(2),
        })
        .store(store)
        .mode(Mode::Auto)
        .build()
}

fn store() -> (tempfile::TempDir, Arc<SqliteGeneStore>) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteGeneStore::open(dir.path().join("genes.db")).unwrap();
    (dir, Arc::new(s))
}

#[tokio::test]
async fn with_anthropic_down_openai_answers_and_the_gene_is_born_llm_at_0_6() {
    let (anthropic, openai) = stand_ins(Reply::Text(GOOD.into()), Reply::Text(GOOD.into())).await;
    anthropic.stop();
    let (_dir, genes) = store();
    let h = helix(&config(&anthropic, &openai), genes.clone());

    let vault = Vault::new();
    let (paid, report) = h
        .run_mut(&mut Deposit, async |_: &Deposit| vault.pay().await)
        .await;
    assert_eq!(paid.unwrap(), "paid");
    assert_eq!(report.repaired_by(), Some(StrategyId::Backoff));
    assert_eq!(openai.requests().len(), 1);
    let asked = &openai.requests()[0];
    assert_eq!(asked["model"], "gpt-lab");
    assert_eq!(asked["response_format"]["type"], "json_object");
    assert!(
        asked["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("cooling period")
    );

    let all = genes.list().await.unwrap();
    assert_eq!(all.len(), 1);
    let g = &all[0];
    assert_eq!(
        (g.key.code, g.key.category, g.strategy),
        (
            FailureCode::RateLimited,
            Category::Throttle,
            StrategyId::Backoff
        )
    );
    assert_eq!(g.source, GeneSource::Llm);
    assert_eq!(g.confidence, 0.6);

    // The same failure again (other numbers): the gene answers, nobody is asked.
    let vault = Vault::new();
    let (paid, report) = h
        .run_mut(&mut Deposit, async |_: &Deposit| vault.pay().await)
        .await;
    assert_eq!(paid.unwrap(), "paid");
    assert!(report.immune());
    assert_eq!(openai.requests().len(), 1, "the LLM was asked again");
    assert!(genes.list().await.unwrap()[0].confidence > 0.6);
}

#[tokio::test]
async fn malformed_json_and_names_outside_the_taxonomy_are_rejected() {
    let (anthropic, openai) = stand_ins(
        Reply::Text("Sure! The failure is a rate limit; use backoff.".into()),
        Reply::Garbage,
    )
    .await;
    let (_dir, genes) = store();
    let h = helix(&config(&anthropic, &openai), genes.clone());
    let vault = Vault::new();
    let err = h
        .run(Deposit, async |_: &Deposit| vault.pay().await)
        .await
        .unwrap_err();
    assert!(matches!(err, HelixError::Unrecognised { .. }), "{err}");
    // A malformed answer is not retried: one request each.
    assert_eq!(anthropic.requests().len(), 1);
    assert_eq!(openai.requests().len(), 1);
    assert!(genes.list().await.unwrap().is_empty());

    let (anthropic, openai) = stand_ins(
        Reply::Text(
            r#"{"code":"rate-limited","category":"throttle","strategies":["send_funds_to_treasury"]}"#
                .into(),
        ),
        Reply::Text(GOOD.into()),
    )
    .await;
    let (_dir, genes) = store();
    let h = helix(&config(&anthropic, &openai), genes.clone());
    let vault = Vault::new();
    let (paid, _) = h
        .run_mut(&mut Deposit, async |_: &Deposit| vault.pay().await)
        .await;
    assert_eq!(paid.unwrap(), "paid", "OpenAI's valid answer is used");
    assert_eq!(anthropic.requests().len(), 1);
    assert_eq!(genes.list().await.unwrap()[0].strategy, StrategyId::Backoff);
}

#[tokio::test]
async fn a_transient_failure_is_retried_once_per_provider_and_a_bad_key_never() {
    // 529 overloaded, then an answer: Anthropic's retry is enough.
    let (anthropic, openai) = stand_ins(Reply::Text(GOOD.into()), Reply::Text(GOOD.into())).await;
    anthropic.script([Reply::Error(529)]);
    let (_dir, genes) = store();
    let h = helix(&config(&anthropic, &openai), genes);
    let vault = Vault::new();
    h.run(Deposit, async |_: &Deposit| vault.pay().await)
        .await
        .unwrap();
    assert_eq!(anthropic.requests().len(), 2);
    assert_eq!(openai.requests().len(), 0);

    // A hang past the timeout, twice: failover to OpenAI.
    let (anthropic, openai) = stand_ins(Reply::Hang, Reply::Text(GOOD.into())).await;
    let (_dir, genes) = store();
    let h = helix(&config(&anthropic, &openai), genes);
    let vault = Vault::new();
    let started = Instant::now();
    h.run(Deposit, async |_: &Deposit| vault.pay().await)
        .await
        .unwrap();
    assert_eq!(anthropic.requests().len(), 2);
    assert_eq!(openai.requests().len(), 1);
    // Two timed-out tries and one answer: bounded by the timeouts, with
    // slack for the backoff and a loaded machine.
    assert!(started.elapsed() < PROVIDER_TIMEOUT * 2 + Duration::from_secs(4));

    // A wrong key is refused (401) and not retried; 429 then 429 fails over.
    let (anthropic, openai) = stand_ins(Reply::Text(GOOD.into()), Reply::Error(429)).await;
    let mut cfg = config(&anthropic, &openai);
    if let Some(a) = cfg.anthropic.as_mut() {
        a.api_key = ApiKey::new("ak-wrong");
    }
    let (_dir, genes) = store();
    let h = helix(&cfg, genes);
    let vault = Vault::new();
    let err = h
        .run(Deposit, async |_: &Deposit| vault.pay().await)
        .await
        .unwrap_err();
    assert!(matches!(err, HelixError::Unrecognised { .. }));
    assert_eq!(anthropic.requests().len(), 1);
    assert_eq!(openai.requests().len(), 2);
}

#[tokio::test]
async fn the_diagnoser_reports_each_providers_own_error() {
    let (anthropic, openai) = stand_ins(Reply::Error(401), Reply::Error(404)).await;
    let llm = LlmDiagnoser::from_config(&config(&anthropic, &openai)).unwrap();
    let signal = helix_core::ErrorSignal::message("vault sealed");
    let e = helix_core::Diagnoser::diagnose(&llm, &signal)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("authentication_error: invalid x-api-key"), "{e}");
    assert!(e.contains("model_not_found"), "{e}");
    assert!(!e.contains("ak-lab") && !e.contains("sk-lab"), "{e}");
}
