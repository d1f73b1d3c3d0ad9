//! A JSON-RPC proxy in front of a real node that can lose the answer to a
//! send: the signed transaction is forwarded to the node (so it really is
//! in the pool and mined), then the client's connection is closed without
//! a response. This is the "connection dropped after broadcast" fault.
//!
//! It can also mine a block right after answering "no receipt yet": a
//! reader that then asks anything else sees a chain that moved between its
//! two reads (the race a reconciliation must survive).
//!
//! HTTP/1.1 is spoken by hand on purpose: a proxy built on a server
//! framework cannot close the socket mid-exchange, which is the point.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 4 * 1024 * 1024;

/// A running proxy; stops when dropped.
pub struct DropProxy {
    /// Where clients connect.
    pub url: String,
    armed: Arc<AtomicUsize>,
    passing: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    mine_armed: Arc<AtomicUsize>,
    mined: Arc<AtomicUsize>,
    hold: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DropProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DropProxy {
    /// Proxies to `upstream` (an `http://` JSON-RPC URL) from a free port.
    pub async fn start(upstream: &str) -> std::io::Result<DropProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let armed = Arc::new(AtomicUsize::new(0));
        let passing = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let mine_armed = Arc::new(AtomicUsize::new(0));
        let mined = Arc::new(AtomicUsize::new(0));
        let hold = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let shared = Forward {
            hold: hold.clone(),
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
            armed: armed.clone(),
            passing: passing.clone(),
            dropped: dropped.clone(),
            mine_armed: mine_armed.clone(),
            mined: mined.clone(),
        };
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let f = shared.clone();
                tokio::spawn(async move {
                    if let Err(e) = f.serve(sock).await {
                        tracing::debug!(target: "helix::lab", %e, "proxy connection ended");
                    }
                });
            }
        });
        Ok(DropProxy {
            url,
            armed,
            passing,
            dropped,
            mine_armed,
            mined,
            hold,
            task,
        })
    }

    /// The next `n` `eth_sendRawTransaction` calls reach the node and their
    /// answers are lost.
    pub fn drop_next_sends(&self, n: usize) {
        self.drop_sends_after(0, n);
    }

    /// The next `skip` sends are answered; the `n` after them reach the
    /// node and their answers are lost.
    pub fn drop_sends_after(&self, skip: usize, n: usize) {
        self.passing.store(skip, Ordering::SeqCst);
        self.armed.store(n, Ordering::SeqCst);
    }

    /// How many answers were lost so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// The next `n` times a receipt is asked for and not found, a block is
    /// mined (`evm_mine`) before that answer is returned.
    pub fn mine_after_next_receipt_misses(&self, n: usize) {
        self.mine_armed.store(n, Ordering::SeqCst);
    }

    /// A send whose answer is dropped also stays in the pool: automine is
    /// switched off on the node just before it is forwarded (and left off),
    /// so the transaction lands only when the test mines.
    pub fn hold_dropped_sends_in_pool(&self) {
        self.hold.store(true, Ordering::SeqCst);
    }

    /// How many blocks the proxy mined so far.
    pub fn mined(&self) -> usize {
        self.mined.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct Forward {
    upstream: String,
    http: reqwest::Client,
    armed: Arc<AtomicUsize>,
    passing: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    mine_armed: Arc<AtomicUsize>,
    mined: Arc<AtomicUsize>,
    hold: Arc<std::sync::atomic::AtomicBool>,
}

impl Forward {
    async fn upstream_call(&self, method: &str, params: serde_json::Value) -> std::io::Result<()> {
        self.http
            .post(&self.upstream)
            .json(
                &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
            )
            .send()
            .await
            .map_err(std::io::Error::other)?;
        Ok(())
    }

    async fn mine(&self) -> std::io::Result<()> {
        self.upstream_call("evm_mine", serde_json::json!([]))
            .await?;
        self.mined.fetch_add(1, Ordering::SeqCst);
        tracing::info!(target: "helix::lab", "receipt missing; mined a block before answering");
        Ok(())
    }

    async fn serve(&self, mut sock: TcpStream) -> std::io::Result<()> {
        let mut buf = Vec::new();
        loop {
            let Some(body) = read_request(&mut sock, &mut buf).await? else {
                return Ok(());
            };
            let is_send = memfind(&body, b"eth_sendRawTransaction");
            let is_receipt = memfind(&body, b"eth_getTransactionReceipt");
            // Decided before forwarding: a dropped send may be held in the pool.
            let drop_this = is_send && !take_one(&self.passing) && take_one(&self.armed);
            if drop_this && self.hold.load(Ordering::SeqCst) {
                self.upstream_call("evm_setAutomine", serde_json::json!([false]))
                    .await?;
            }
            let answer = self
                .http
                .post(&self.upstream)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map_err(std::io::Error::other)?;
            let status = answer.status().as_u16();
            let bytes = answer.bytes().await.map_err(std::io::Error::other)?;
            if drop_this {
                self.dropped.fetch_add(1, Ordering::SeqCst);
                tracing::info!(target: "helix::lab", "send forwarded; dropping the answer");
                return Ok(());
            }
            if is_receipt && memfind(&bytes, b"\"result\":null") && take_one(&self.mine_armed) {
                self.mine().await?;
            }
            let head = format!(
                "HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                bytes.len()
            );
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(&bytes).await?;
        }
    }
}

fn take_one(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Reads one request; `None` when the client closed the connection.
/// Leftover bytes (a pipelined next request) stay in `buf`.
async fn read_request(sock: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<Vec<u8>>> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        let mut chunk = [0u8; 8192];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if len > MAX_BODY {
        return Err(std::io::Error::other("request body too large"));
    }
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 8192];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Ok(Some(body))
}
