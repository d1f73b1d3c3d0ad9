//! Publishing every PCEC event to NATS JetStream, on subjects by stage and
//! failure code (`{prefix}.{stage}.{code}`, e.g.
//! `helix.events.commit.payment-insufficient`), into a stream created if
//! missing. Each publish waits for JetStream's acknowledgement.
//!
//! NATS down: events go to a JSON-lines file on disk, bounded to
//! `max_buffered` lines; past that the oldest lines are dropped and
//! counted. The file is only appended to while it has room, and trimmed in
//! one rewrite once it is a tenth over the bound, so an outage costs one
//! append an event, not a rewrite. The writer retries the connection every second and publishes
//! the file, oldest first, before anything new. `emit` never waits: events
//! reach the writer through a bounded queue (overflow dropped and counted).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, Context};
use helix_core::{Event, EventKind, EventSink};
use tokio::sync::{mpsc, oneshot};

const QUEUE: usize = 4096;
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Where and how to publish.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// `nats://host:port`.
    pub url: String,
    /// JetStream stream name.
    pub stream: String,
    /// Subject prefix; the stream holds `{prefix}.>`.
    pub prefix: String,
    /// The on-disk buffer.
    pub buffer: PathBuf,
    /// Lines the buffer keeps (it is trimmed back to this once a tenth over).
    pub max_buffered: usize,
}

impl NatsConfig {
    /// Defaults: stream `HELIX_EVENTS`, subjects `helix.events.>`, 10,000 lines.
    pub fn new(url: &str, buffer: impl Into<PathBuf>) -> Self {
        NatsConfig {
            url: url.to_owned(),
            stream: "HELIX_EVENTS".into(),
            prefix: "helix.events".into(),
            buffer: buffer.into(),
            max_buffered: 10_000,
        }
    }
}

enum Msg {
    Event(Box<Event>),
    Flush(oneshot::Sender<()>),
}

#[derive(Default)]
struct Counters {
    queue_dropped: AtomicU64,
    buffer_dropped: AtomicU64,
    published: AtomicU64,
}

/// A running publisher; stops when dropped.
pub struct NatsPublisher {
    tx: mpsc::Sender<Msg>,
    counters: Arc<Counters>,
    buffer: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for NatsPublisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for NatsPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsPublisher")
            .field("buffer", &self.buffer)
            .finish_non_exhaustive()
    }
}

impl NatsPublisher {
    /// Starts the writer (it connects on its own; NATS may be down).
    pub fn start(config: NatsConfig) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let buffer = config.buffer.clone();
        let pending = count_lines(&config.buffer);
        let writer = Writer {
            pending,
            config,
            js: None,
            next_try: Instant::now(),
            codes: HashMap::new(),
            counters: counters.clone(),
        };
        let task = tokio::spawn(writer.run(rx));
        NatsPublisher {
            tx,
            counters,
            buffer,
            task,
        }
    }

    /// Waits until every event emitted so far is published or buffered.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Events waiting on disk.
    pub fn buffered(&self) -> usize {
        count_lines(&self.buffer)
    }

    /// Oldest buffered events dropped because the buffer was full.
    pub fn buffer_dropped(&self) -> u64 {
        self.counters.buffer_dropped.load(Ordering::Relaxed)
    }

    /// Events dropped because the queue to the writer was full.
    pub fn queue_dropped(&self) -> u64 {
        self.counters.queue_dropped.load(Ordering::Relaxed)
    }

    /// Events JetStream acknowledged.
    pub fn published(&self) -> u64 {
        self.counters.published.load(Ordering::Relaxed)
    }
}

impl EventSink for NatsPublisher {
    fn emit(&self, event: &Event) {
        if self
            .tx
            .try_send(Msg::Event(Box::new(event.clone())))
            .is_err()
        {
            self.counters.queue_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn count_lines(p: &Path) -> usize {
    std::fs::read_to_string(p).map_or(0, |s| s.lines().count())
}

struct Writer {
    config: NatsConfig,
    /// Lines in the buffer file (kept here so no event has to read it).
    pending: usize,
    js: Option<Context>,
    next_try: Instant,
    /// The failure code each repair was last perceived with.
    codes: HashMap<u64, String>,
    counters: Arc<Counters>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut tick = tokio::time::interval(RETRY_EVERY);
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(Msg::Event(e)) => self.publish(&e).await,
                    Some(Msg::Flush(done)) => {
                        let _ = done.send(());
                    }
                    None => return,
                },
                _ = tick.tick() => {
                    if self.pending > 0 {
                        self.connected().await;
                    }
                }
            }
        }
    }

    fn subject(&mut self, e: &Event) -> String {
        if let EventKind::Perceived { failure, .. } = &e.kind {
            if self.codes.len() > 10_000 {
                self.codes.clear();
            }
            self.codes
                .insert(e.repair_id, failure.code.as_str().to_owned());
        }
        let code = self
            .codes
            .get(&e.repair_id)
            .cloned()
            .unwrap_or_else(|| "none".into());
        let stage = format!("{:?}", e.kind.stage()).to_lowercase();
        format!("{}.{stage}.{code}", self.config.prefix)
    }

    /// The JetStream context, connecting (and draining the buffer) when due.
    async fn connected(&mut self) -> Option<Context> {
        if let Some(js) = &self.js {
            return Some(js.clone());
        }
        if Instant::now() < self.next_try {
            return None;
        }
        self.next_try = Instant::now() + RETRY_EVERY;
        let client = match tokio::time::timeout(
            Duration::from_secs(2),
            async_nats::ConnectOptions::new()
                .max_reconnects(Some(0))
                .connect(&self.config.url),
        )
        .await
        {
            Ok(Ok(c)) => c,
            _ => return None,
        };
        let js = jetstream::new(client);
        let made = js
            .get_or_create_stream(jetstream::stream::Config {
                name: self.config.stream.clone(),
                subjects: vec![format!("{}.>", self.config.prefix)],
                ..Default::default()
            })
            .await;
        if let Err(e) = made {
            tracing::warn!(target: "helix::events", %e, "JetStream stream unavailable");
            return None;
        }
        if !self.drain(&js).await {
            return None;
        }
        self.js = Some(js.clone());
        Some(js)
    }

    async fn send(&self, js: &Context, subject: String, payload: String) -> bool {
        match js.publish(subject, payload.into()).await {
            Ok(ack) => match ack.await {
                Ok(_) => {
                    self.counters.published.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(e) => {
                    tracing::warn!(target: "helix::events", %e, "no JetStream acknowledgement");
                    false
                }
            },
            Err(e) => {
                tracing::warn!(target: "helix::events", %e, "publish failed");
                false
            }
        }
    }

    /// Publishes the disk buffer, oldest first; keeps what was not sent.
    async fn drain(&mut self, js: &Context) -> bool {
        if self.pending == 0 {
            return true;
        }
        let text = std::fs::read_to_string(&self.config.buffer).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some((subject, payload)) = line.split_once(' ') else {
                continue;
            };
            if !self.send(js, subject.to_owned(), payload.to_owned()).await {
                self.pending = lines.len() - i;
                let rest = lines[i..].join("\n") + "\n";
                if let Err(e) = std::fs::write(&self.config.buffer, rest) {
                    tracing::error!(target: "helix::events", %e, "event buffer not rewritten");
                }
                return false;
            }
        }
        if !lines.is_empty() {
            tracing::info!(target: "helix::events", published = lines.len(), "buffered events published");
            if let Err(e) = std::fs::write(&self.config.buffer, "") {
                tracing::error!(target: "helix::events", %e, "event buffer not emptied");
            }
        }
        self.pending = 0;
        true
    }

    async fn publish(&mut self, e: &Event) {
        let subject = self.subject(e);
        let Ok(payload) = serde_json::to_string(e) else {
            return;
        };
        if let Some(js) = self.connected().await {
            if self.send(&js, subject.clone(), payload.clone()).await {
                return;
            }
            self.js = None;
            self.next_try = Instant::now() + RETRY_EVERY;
        }
        self.buffer(&subject, &payload);
    }

    fn buffer(&mut self, subject: &str, payload: &str) {
        let path = &self.config.buffer;
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{subject} {payload}"));
        if let Err(e) = appended {
            tracing::error!(target: "helix::events", %e, "event lost: the buffer cannot be written");
            self.counters.buffer_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.pending += 1;
        let max = self.config.max_buffered;
        if self.pending <= max + max / 10 {
            return;
        }
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        self.pending = lines.len().min(max);
        if lines.len() > max {
            let cut = lines.len() - max;
            self.counters
                .buffer_dropped
                .fetch_add(cut as u64, Ordering::Relaxed);
            tracing::warn!(target: "helix::events", dropped = cut, "event buffer full; oldest dropped");
            let kept = lines[cut..].join("\n") + "\n";
            if let Err(e) = std::fs::write(path, kept) {
                tracing::error!(target: "helix::events", %e, "event buffer not trimmed");
            }
        }
    }
}
