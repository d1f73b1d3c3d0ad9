//! A TCP forwarder that can play a dead or a hung server. Closed: every
//! open connection is cut and new ones are accepted and dropped at once.
//! Stalled (a black hole): connections stay open, new ones are accepted,
//! and nothing is forwarded either way, as with a database that took the
//! connection and stopped answering. Put in front of PostgreSQL, Redis or
//! NATS, it takes the service away from one client without touching the
//! service other tests share.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Open,
    Closed,
    Stalled,
}

/// A running gate; stops when dropped.
pub struct TcpGate {
    /// Where clients connect.
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    task: JoinHandle<()>,
}

impl Drop for TcpGate {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

/// Copies `from` to `to`, holding whatever it has while the gate stalls.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if mode.wait_for(|m| *m != Mode::Stalled).await.is_err() {
            return;
        }
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = mode.changed() => continue,
        };
        if mode.wait_for(|m| *m != Mode::Stalled).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl TcpGate {
    /// Forwards a free local port to `upstream` (open).
    pub async fn start(upstream: SocketAddr) -> std::io::Result<TcpGate> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (mode, _) = watch::channel(Mode::Open);
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (m, l) = (mode.clone(), links.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let now = *m.borrow();
                if now == Mode::Closed {
                    continue; // dropped: the connection closes at once
                }
                let rx = m.subscribe();
                let link = tokio::spawn(async move {
                    let mut rx2 = rx.clone();
                    // A connection made while stalled is held unanswered
                    // and reaches the server only once the gate opens.
                    if rx2.wait_for(|m| *m == Mode::Open).await.is_err() {
                        return;
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(pump(cr, sw, rx.clone()), pump(sr, cw, rx));
                });
                if let Ok(mut v) = l.lock() {
                    v.retain(|h| !h.is_finished());
                    v.push(link);
                }
            }
        });
        Ok(TcpGate {
            addr,
            mode,
            links,
            task,
        })
    }

    fn cut(&self) {
        if let Ok(mut v) = self.links.lock() {
            for h in v.drain(..) {
                h.abort();
            }
        }
    }

    /// The service is gone: open connections are cut, new ones refused.
    pub fn close(&self) {
        self.mode.send_replace(Mode::Closed);
        self.cut();
    }

    /// The service hangs: connections are accepted and kept, nothing is
    /// answered.
    pub fn stall(&self) {
        self.mode.send_replace(Mode::Stalled);
    }

    /// The service is back (held bytes are delivered on connections that
    /// are still open).
    pub fn open(&self) {
        self.mode.send_replace(Mode::Open);
    }
}
