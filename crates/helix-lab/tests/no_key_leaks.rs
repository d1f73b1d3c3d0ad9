//! After a real-chain repair at TRACE logging, the agent's key appears in no
//! log line, event, error message or database row.

use std::io::Write;
use std::sync::{Arc, Mutex};

use helix_core::{Helix, MemorySink, Mode, StrategyId};
use helix_genemap::{SqliteBudget, SqliteGeneStore};
use helix_lab::onchain::{stablecoin_chain, token};
use helix_platforms::tempo::BalanceProbe;
use helix_platforms::tempo::DexSwap;
use helix_tempo::{SendOpts, Tip20Payment, Wallet, pay};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_key_appears_nowhere() {
    let logs = Capture::default();
    let sink_logs = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink_logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let key_bytes: [u8; 32] = rand::random();
    let key_hex: String = key_bytes.iter().map(|b| format!("{b:02x}")).collect();
    let agent = Wallet::from_hex(&format!("0x{key_hex}")).unwrap();

    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    funder
        .transfer(token(2), agent.address(), 10_000_000, SendOpts::default())
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("genes.db");
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(helix_platforms::builtin())
        .probe(BalanceProbe::new(reqwest::Client::new(), anvil.url.clone()))
        .strategy(DexSwap::new(
            StrategyId::SwapCurrency,
            anvil.url.clone(),
            agent.clone(),
            vec![token(1), token(2)],
        ))
        .store(Arc::new(SqliteGeneStore::open(&db).unwrap()))
        .budget(Arc::new(SqliteBudget::open(&db, 10_000_000).unwrap()))
        .sink(Arc::new(helix_core::Fanout(vec![
            sink.clone(),
            Arc::new(helix_core::TracingSink),
        ])))
        .mode(Mode::Full)
        .build();
    let mut req = Tip20Payment {
        rpc: anvil.url.clone(),
        chain_id: anvil.chain_id,
        payer: agent.address(),
        to: Wallet::random().address(),
        token: token(1),
        amount: 500_000,
        fee_token: Some(token(1)),
        nonce: None,
        landed: None,
        idempotency_key: Tip20Payment::new_key(),
        memo: None,
    };
    let (res, report) = helix
        .run_mut(&mut req, async |p: &Tip20Payment| pay(&agent, p).await)
        .await;
    res.unwrap();
    assert_eq!(report.repaired_by(), Some(StrategyId::SwapCurrency));
    // An error path too: a payment that cannot be repaired.
    let mut broke = req.clone();
    broke.amount = 1_000_000_000_000;
    broke.landed = None;
    let (err, _) = helix
        .run_mut(&mut broke, async |p: &Tip20Payment| pay(&agent, p).await)
        .await;
    let err = format!(
        "{:?} {}",
        err.as_ref().err(),
        err.as_ref()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    );

    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_lowercase();
    assert!(
        logs.contains("helix::event"),
        "TRACE logging was captured ({} bytes)",
        logs.len()
    );
    let events = serde_json::to_string(&sink.take()).unwrap().to_lowercase();
    let mut db_bytes = Vec::new();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        db_bytes.extend(std::fs::read(f.unwrap().path()).unwrap());
    }
    let db_text = String::from_utf8_lossy(&db_bytes).to_lowercase();
    let agent_debug = format!("{agent:?}").to_lowercase();
    for (name, text) in [
        ("logs", &logs),
        ("events", &events),
        ("error", &err.to_lowercase()),
        ("database", &db_text),
        ("debug", &agent_debug),
    ] {
        assert!(!text.contains(&key_hex), "the key appears in the {name}");
        assert!(
            !text.contains(&key_hex[..16]),
            "a key prefix appears in the {name}"
        );
    }
}
