//! The scenario's world: a mesh relay, the stand-in agents as processes on
//! anvil, and B (the agent under test) in this process.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use helix_core::{EventSink, GeneStore, Helix, Mode};
use helix_mesh::cascade::{
    Delivered, JobRequest, JobResult, Ledger, Offer, RefundWaterfall, RerouteViaAlt, SubJob,
    Upstream, body, buy, message_id, proves,
};
use helix_mesh::failure::FailureNotice;
use helix_mesh::server::{Running, spawn};
use helix_mesh::{Mailbox, MeshClient, Relay, RelayConfig};
use helix_tempo::{Moved, SendOpts, TempoChain, Wallet};

use super::{Failing, JOB_PRICE, SERVICE, SUB_PRICE};
use crate::anvil::Anvil;
use crate::onchain::{ChainRun, token};

const RELAY_TOKEN: &str = "cascade-lab-relay-token-0123456789";

/// What the world is made of.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// NATS (JetStream) for the relay.
    pub nats: String,
    /// Redis for the relay's sessions.
    pub redis: String,
    /// How C fails.
    pub failing: Failing,
    /// Whether a second provider (C2) exists.
    pub alternative: bool,
    /// Jobs A buys.
    pub jobs: usize,
}

impl WorldConfig {
    /// The machine's services (`HELIX_NATS_URL`, `HELIX_REDIS_URL`, else
    /// the local defaults), C refunding its failures, C2 present.
    pub fn local(jobs: usize) -> Self {
        WorldConfig {
            nats: std::env::var("HELIX_NATS_URL")
                .unwrap_or_else(|_| "nats://127.0.0.1:4222".into()),
            redis: std::env::var("HELIX_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            failing: Failing::Refunds,
            alternative: true,
            jobs,
        }
    }
}

/// The running world.
pub struct World {
    _relay: Running,
    procs: Vec<Child>,
    _keys: tempfile::TempDir,
    lines: mpsc::Receiver<String>,
    /// The buyer, B, the failing provider and the alternative.
    pub a: Address,
    /// The agent under test.
    pub b: Wallet,
    /// The failing provider.
    pub c: Address,
    /// The alternative provider (also when it was not started).
    pub c2: Address,
    chain: TempoChain,
    mail: Mailbox,
    /// B's payments and receipts per job.
    pub ledger: Arc<Ledger>,
    fee_token: Address,
}

impl Drop for World {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

fn key_file(dir: &Path, name: &str, w: &Wallet) -> Result<std::path::PathBuf, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| e.to_string())?;
    writeln!(f, "{}", alloy::hex::encode(w.signer().to_bytes())).map_err(|e| e.to_string())?;
    Ok(path)
}

impl World {
    /// Starts the relay and the agents on `chain` (funded from its dev
    /// account), the stand-ins as `exe cascade-agent` processes.
    pub async fn start(
        chain: &Anvil,
        funder: &TempoChain,
        exe: &Path,
        cfg: &WorldConfig,
    ) -> Result<World, String> {
        let relay = Relay::connect(RelayConfig::new("cascade"), &cfg.nats, Some(&cfg.redis))
            .await
            .map_err(|e| {
                format!("the mesh relay needs NATS and Redis (scripts/services.sh): {e}")
            })?;
        let relay = spawn(relay, RELAY_TOKEN, "127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let (a, b, c, c2) = (
            Wallet::random(),
            Wallet::random(),
            Wallet::random(),
            Wallet::random(),
        );
        let (alpha, beta) = (token(1), token(2));
        let fund = |to: Address, t: Address, v: u128| async move {
            funder
                .transfer(t, to, v, SendOpts::default())
                .await
                .map_err(|e| e.to_string())
        };
        for w in [&a, &b, &c, &c2] {
            fund(w.address(), beta, 10 * JOB_PRICE).await?;
        }
        fund(a.address(), alpha, 10 * JOB_PRICE).await?;
        let keys = tempfile::tempdir().map_err(|e| e.to_string())?;
        let url = relay.connect_url();
        let spawn_agent = |args: Vec<String>| -> Result<Child, String> {
            Command::new(exe)
                .arg("cascade-agent")
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("{}: {e}", exe.display()))
        };
        let common = |role: &str, key: &Path| {
            vec![
                "--role".to_string(),
                role.into(),
                "--key-file".into(),
                key.display().to_string(),
                "--mesh".into(),
                url.clone(),
                "--rpc".into(),
                chain.url.clone(),
                "--token".into(),
                alpha.to_string(),
                "--fee-token".into(),
                beta.to_string(),
            ]
        };
        let mut procs = Vec::new();
        let mut args = common("provider", &key_file(keys.path(), "c", &c)?);
        args.extend([
            "--failing".into(),
            failing_arg(cfg.failing).into(),
            "--price".into(),
            SUB_PRICE.to_string(),
        ]);
        procs.push(spawn_agent(args)?);
        if cfg.alternative {
            let mut args = common("provider", &key_file(keys.path(), "c2", &c2)?);
            args.extend([
                "--failing".into(),
                "never".into(),
                "--price".into(),
                SUB_PRICE.to_string(),
            ]);
            procs.push(spawn_agent(args)?);
        }
        let mut args = common("buyer", &key_file(keys.path(), "a", &a)?);
        args.extend([
            "--seller".into(),
            b.address().to_string(),
            "--jobs".into(),
            cfg.jobs.to_string(),
        ]);
        let mut buyer = spawn_agent(args)?;
        let out = buyer.stdout.take().ok_or("the buyer has no stdout")?;
        procs.push(buyer);
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let client = MeshClient::connect(&url, &b.signer())
            .await
            .map_err(|e| e.to_string())?;
        let mail = Mailbox::new(client).map_err(|e| e.to_string())?;
        let chain_b = TempoChain::connect(&chain.url, &b).map_err(|e| e.to_string())?;
        // B's ledger is journaled, as an agent that must survive a crash
        // would keep it.
        let ledger = Ledger::open(keys.path().join("b-ledger.jsonl")).map_err(|e| e.to_string())?;
        Ok(World {
            _relay: relay,
            procs,
            _keys: keys,
            lines,
            a: a.address(),
            c: c.address(),
            c2: c2.address(),
            b,
            chain: chain_b,
            mail,
            ledger: Arc::new(ledger),
            fee_token: beta,
        })
    }

    /// B's Helix: the mesh's repairs, the given Gene Map and events.
    pub fn helix(&self, store: Arc<dyn GeneStore>, sink: Arc<dyn EventSink>) -> Helix {
        let reroute = RerouteViaAlt::new(
            self.mail.clone(),
            self.chain.clone(),
            self.ledger.clone(),
            vec![self.c, self.c2],
        );
        let waterfall = RefundWaterfall::new(
            self.mail.clone(),
            self.chain.clone(),
            self.ledger.clone(),
            Some(self.fee_token),
        );
        Helix::builder()
            .adapter(helix_platforms::builtin())
            .strategies([
                Arc::new(reroute) as Arc<dyn helix_core::Executor>,
                Arc::new(waterfall),
            ])
            .store(store)
            .sink(sink)
            .mode(Mode::Full)
            .build()
    }

    async fn balances(&self) -> Result<[u128; 4], String> {
        let mut out = [0; 4];
        for (i, who) in [self.a, self.b.address(), self.c, self.c2]
            .iter()
            .enumerate()
        {
            out[i] = self
                .chain
                .balance(token(1), *who)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(out)
    }

    /// One job: B offers, A pays and asks, B buys the rendering from C
    /// through `helix`, and delivers (or refunds); then the ground truth.
    pub async fn pass(&self, helix: &Helix) -> Result<ChainRun, String> {
        let t = Instant::now();
        let alpha = token(1);
        let before = self.balances().await?;
        let offer = Offer {
            service: SERVICE.into(),
            price: JOB_PRICE,
            token: alpha,
        };
        self.mail
            .send(
                self.a,
                &format!("offer-{:08x}", rand::random::<u32>()),
                body(&offer),
            )
            .await
            .map_err(|e| e.to_string())?;
        let a = self.a;
        let m = self
            .mail
            .wait(Duration::from_secs(60), |m| {
                m.from == a && m.body["kind"] == "job"
            })
            .await
            .ok_or("A sent no job")?;
        let job: JobRequest = serde_json::from_value(m.body).map_err(|e| e.to_string())?;
        let paid = Moved {
            token: alpha,
            from: a,
            to: self.b.address(),
            amount: JOB_PRICE,
        };
        if !(job.amount == JOB_PRICE
            && proves(&self.chain, job.paid_tx, paid)
                .await
                .map_err(|e| e.to_string())?)
        {
            return Err(format!("A's payment {} is not on chain", job.paid_tx));
        }
        self.ledger.took(
            &job.job,
            Upstream {
                payer: a,
                token: alpha,
                amount: JOB_PRICE,
                paid_tx: job.paid_tx,
                refund_tx: None,
            },
        );
        let mut req = SubJob {
            job: job.job.clone(),
            service: SERVICE.into(),
            provider: self.c,
            token: alpha,
            amount: SUB_PRICE,
            fee_token: Some(self.fee_token),
            refunded: None,
        };
        let (res, report) = helix
            .run_mut(&mut req, async |r: &SubJob| {
                buy(
                    &self.mail,
                    &self.chain,
                    &self.ledger,
                    r,
                    Duration::from_secs(15),
                )
                .await
            })
            .await;
        match &res {
            Ok(Delivered::Output { output, .. }) => {
                let done = JobResult {
                    job: job.job.clone(),
                    output: output.clone(),
                };
                self.mail
                    .send(a, &message_id(&format!("{}:result", job.job)), body(&done))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            // The waterfall told A already.
            Ok(Delivered::Refunded(_)) => {}
            Err(e) => {
                let notice = FailureNotice {
                    job: job.job.clone(),
                    agent: self.b.address(),
                    cause: e.to_string(),
                    status: None,
                    refund_tx: None,
                };
                self.mail
                    .send(
                        a,
                        &message_id(&format!("{}:failure", job.job)),
                        notice.body(),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        let told = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| "A printed nothing about its job".to_string())?;
        let told: serde_json::Value =
            serde_json::from_str(&told).map_err(|e| format!("{e}: {told}"))?;
        let after = self.balances().await?;
        let delta = |i: usize| after[i] as i128 - before[i] as i128;
        let (da, db, dc, dc2) = (delta(0), delta(1), delta(2), delta(3));
        let (p, s) = (JOB_PRICE as i128, SUB_PRICE as i128);
        let (ok, what) = match &res {
            Ok(Delivered::Output { provider, output }) => (
                told["outcome"] == "result"
                    && told["output"] == output.as_str()
                    && (da, db, dc, dc2)
                        == if *provider == self.c2 {
                            (-p, p - s, 0, s)
                        } else {
                            (-p, p - s, s, 0)
                        },
                format!("A paid {} once and got {output:?}", p),
            ),
            Ok(Delivered::Refunded(tx)) => (
                told["outcome"] == "failure"
                    && told["refund_tx"] == tx.to_string()
                    && (da, db, dc, dc2) == (0, 0, 0, 0),
                format!("refunded down the chain: C refunded B, B refunded A ({tx})"),
            ),
            Err(e) => (false, format!("not delivered: {e}")),
        };
        let detail = format!(
            "{what}; AlphaUSD moved A {da:+}, B {db:+}, C {dc:+}, C2 {dc2:+} (A says {})",
            told["outcome"]
        );
        let mut tx_hashes = vec![job.paid_tx.to_string()];
        for leg in self.ledger.legs(&job.job) {
            tx_hashes.push(leg.paid_tx.to_string());
            tx_hashes.extend(leg.refund_tx.map(|h| h.to_string()));
        }
        if let Some(h) = self.ledger.upstream(&job.job).and_then(|u| u.refund_tx) {
            tx_hashes.push(h.to_string());
        }
        let mut receipts_ok = true;
        for h in &tx_hashes {
            let ok = match h.parse() {
                Ok(h) => self.chain.receipt_ok(h).await.unwrap_or(false),
                Err(_) => false,
            };
            receipts_ok &= ok;
        }
        Ok(ChainRun {
            report,
            ok: ok && receipts_ok,
            detail,
            tx_hashes,
            receipts_ok,
            ms: t.elapsed().as_millis() as u64,
            double_paid: dc > 0 && dc2 > 0 || da < -p,
        })
    }
}

fn failing_arg(f: Failing) -> &'static str {
    match f {
        Failing::Never => "never",
        Failing::Refunds => "refunds",
        Failing::Keeps => "keeps",
    }
}
