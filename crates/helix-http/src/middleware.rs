//! A reqwest-middleware layer: any reqwest client becomes self-healing.
//!
//! ```no_run
//! # async fn f(helix: helix_core::Helix) -> Result<(), reqwest_middleware::Error> {
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(helix_http::HelixMiddleware::new(helix))
//!     .build();
//! let resp = client.get("https://api.example.com/paid").send().await?;
//! # Ok(()) }
//! ```
//!
//! Each request is run through the PCEC loop: an error status or a transport
//! error is classified and repaired (backoff honouring Retry-After, another
//! endpoint, a longer deadline ...) and the request is sent again. Requests
//! whose body cannot be cloned (streams) pass through untouched. When Helix
//! cannot repair, the caller gets the last response (or error) unchanged.
//!
//! A request that is not safe to repeat (any method but GET, HEAD, OPTIONS),
//! or that carries a payment credential (`Authorization: Payment`, which MPP
//! sends on a GET), and has no `Idempotency-Key` is given one before its
//! first attempt, so every retry of that logical request carries the same
//! key and the server can tell a retry from a new payment. A key the caller
//! set is kept.
//!
//! Such a request is never moved to another origin (the key means nothing
//! there), and once it may have reached the server (a timeout or a dropped
//! connection after sending; for a credential, any failure) its outcome is
//! unknown: Helix does not resend it unless something proves it was not
//! taken.

use std::time::Duration;

use async_trait::async_trait;
use helix_core::{ErrorSignal, Helix, IntoSignal, Patch, PaymentView, Refused, Repairable};
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::signal::signal_of_reqwest;

/// The middleware; see the module docs.
#[derive(Debug, Clone)]
pub struct HelixMiddleware {
    helix: Helix,
}

impl HelixMiddleware {
    /// Wraps every request in `helix`.
    pub fn new(helix: Helix) -> Self {
        HelixMiddleware { helix }
    }
}

/// The request as Helix sees it.
struct Call {
    req: Request,
}

/// Whether the request carries a payment credential.
fn credentialed(req: &Request) -> bool {
    req.headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 8 && v[..8].eq_ignore_ascii_case("payment "))
}

fn unsafe_method(req: &Request) -> bool {
    use http::Method;
    !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A request whose repetition could pay twice: the server must be able to
/// tell a retry from a new payment.
fn keyed(req: &Request) -> bool {
    unsafe_method(req) || credentialed(req)
}

impl Repairable for Call {
    fn view(&self) -> PaymentView {
        PaymentView {
            endpoint: Some(self.req.url().to_string()),
            idempotency_key: self
                .req
                .headers()
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            deadline_ms: self.req.timeout().map(|d| d.as_millis() as u64),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::Endpoint { .. } if keyed(&self.req) => {
                return Err(Refused {
                    patch: p.kind(),
                    reason: "a payment request stays with the origin that saw its key".into(),
                });
            }
            Patch::Endpoint { url } => {
                let new = reqwest::Url::parse(url).map_err(|e| Refused {
                    patch: p.kind(),
                    reason: e.to_string(),
                })?;
                // Same path and query on another origin.
                let u = self.req.url_mut();
                let ok = u.set_scheme(new.scheme()).is_ok()
                    && u.set_host(new.host_str()).is_ok()
                    && u.set_port(new.port()).is_ok();
                if !ok {
                    return Err(Refused {
                        patch: p.kind(),
                        reason: format!("cannot move the request to {url}"),
                    });
                }
            }
            Patch::Deadline { ms } => *self.req.timeout_mut() = Some(Duration::from_millis(*ms)),
            Patch::IdempotencyKey { key } => {
                let v = http::HeaderValue::from_str(key).map_err(|e| Refused {
                    patch: p.kind(),
                    reason: e.to_string(),
                })?;
                self.req.headers_mut().insert("idempotency-key", v);
            }
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

/// One failed send: either a response we keep whole, or a transport error.
enum Failed {
    Status {
        signal: Box<ErrorSignal>,
        response: Box<http::Response<Vec<u8>>>,
    },
    Transport {
        error: reqwest_middleware::Error,
        /// The request may have reached the server.
        sent: bool,
    },
    NotCloneable,
}

impl IntoSignal for Failed {
    fn to_signal(&self) -> ErrorSignal {
        match self {
            Failed::Status { signal, .. } => (**signal).clone(),
            Failed::Transport { error, sent } => {
                let mut s = match error {
                    reqwest_middleware::Error::Reqwest(e) => signal_of_reqwest(e),
                    e => ErrorSignal::message(e.to_string()),
                };
                s.facts.payment_sent = *sent;
                s
            }
            Failed::NotCloneable => ErrorSignal::message("request body cannot be cloned"),
        }
    }
}

async fn keep(resp: Response, credentialed: bool) -> Failed {
    let status = resp.status();
    let version = resp.version();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    let mut signal = ErrorSignal::from_http(
        status.as_u16(),
        |n| headers.get(n).and_then(|v| v.to_str().ok()),
        &body,
    );
    // A credential was presented: whatever the answer, it may have been taken.
    signal.facts.payment_sent = credentialed;
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    Failed::Status {
        signal: Box::new(signal),
        response: Box::new(response),
    }
}

#[async_trait]
impl Middleware for HelixMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if req.try_clone().is_none() {
            return next.run(req, extensions).await;
        }
        let mut req = req;
        ensure_idempotency_key(&mut req);
        let mut call = Call { req };
        // The repair loop owns only a sender; `next` (which borrows the
        // client) runs in a sibling future of this task. Async closures that
        // capture borrows cannot yet be proven Send, this shape can.
        type Reply = tokio::sync::oneshot::Sender<reqwest_middleware::Result<Response>>;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(Request, Reply)>(1);
        let heal = self.helix.run_mut(&mut call, move |c: &Call| {
            let attempt = c.req.try_clone();
            let (may_pay, credential) = (keyed(&c.req), credentialed(&c.req));
            let tx = tx.clone();
            async move {
                let attempt = attempt.ok_or(Failed::NotCloneable)?;
                let (reply, answer) = tokio::sync::oneshot::channel();
                tx.send((attempt, reply))
                    .await
                    .map_err(|_| Failed::NotCloneable)?;
                match answer.await {
                    Ok(Ok(resp)) if resp.status().as_u16() >= 400 => {
                        Err(keep(resp, credential).await)
                    }
                    Ok(Ok(resp)) => Ok(resp),
                    Ok(Err(error)) => {
                        // A timeout or a dropped connection may come after
                        // the body left; a refused connection sent nothing.
                        let left = match &error {
                            reqwest_middleware::Error::Reqwest(e) => !e.is_connect(),
                            _ => true,
                        };
                        Err(Failed::Transport {
                            error,
                            sent: may_pay && left,
                        })
                    }
                    Err(_) => Err(Failed::NotCloneable),
                }
            }
        });
        let serve = async {
            while let Some((attempt, reply)) = rx.recv().await {
                let _ = reply.send(next.clone().run(attempt, extensions).await);
            }
        };
        let ((result, _report), ()) = tokio::join!(heal, serve);
        match result {
            Ok(resp) => Ok(resp),
            Err(e) => match e.into_error() {
                Failed::Status { response, .. } => Ok(Response::from(*response)),
                Failed::Transport { error, .. } => Err(error),
                Failed::NotCloneable => Err(reqwest_middleware::Error::middleware(
                    std::io::Error::other("request body cannot be cloned"),
                )),
            },
        }
    }
}

fn ensure_idempotency_key(req: &mut Request) {
    if !keyed(req) || req.headers().contains_key("idempotency-key") {
        return;
    }
    let key = format!("helix-{:032x}", rand::random::<u128>());
    if let Ok(v) = http::HeaderValue::from_str(&key) {
        req.headers_mut().insert("idempotency-key", v);
    }
}
