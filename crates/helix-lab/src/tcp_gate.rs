//! A TCP forwarder that can be shut like a dead server: while closed,
//! every open connection is cut and new ones are accepted and dropped at
//! once. Put in front of PostgreSQL, Redis or NATS, it takes the service
//! away from one client without touching the service other tests share.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running gate; stops when dropped.
pub struct TcpGate {
    /// Where clients connect.
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    task: JoinHandle<()>,
}

impl Drop for TcpGate {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

impl TcpGate {
    /// Forwards a free local port to `upstream` (open).
    pub async fn start(upstream: SocketAddr) -> std::io::Result<TcpGate> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let open = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (o, l) = (open.clone(), links.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                if let Ok(mut v) = l.lock() {
                    v.retain(|h| !h.is_finished());
                    v.push(link);
                }
            }
        });
        Ok(TcpGate {
            addr,
            open,
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
        self.open.store(false, Ordering::SeqCst);
        self.cut();
    }

    /// The service is back.
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}
