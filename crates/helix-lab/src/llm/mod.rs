//! STAND-INS for the LLM APIs, which cannot be reached from these machines:
//! local HTTP servers that speak Anthropic's Messages API and OpenAI's Chat
//! Completions API as the real ones do (paths, auth headers, answer and
//! error bodies, Retry-After), with the answer or fault scripted per
//! request. They do not think: the test scripts what "the model" says.

mod anthropic;
mod openai;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// What the stand-in does with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200 with this text as the model's answer.
    Text(String),
    /// The API's own error answer for this status (401, 429, 500, 529 ...).
    Error(u16),
    /// No answer until the client gives up.
    Hang,
    /// 200 whose body is not the API's answer shape.
    Garbage,
}

/// Which API a stand-in speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `POST /v1/messages`, `x-api-key`, `anthropic-version`.
    Anthropic,
    /// `POST /v1/chat/completions`, `Authorization: Bearer`.
    OpenAi,
}

#[derive(Debug)]
struct State {
    key: String,
    script: VecDeque<Reply>,
    default: Reply,
    requests: Vec<Value>,
}

type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running stand-in on a loopback port; stops when dropped.
pub struct LlmStandIn {
    base: String,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for LlmStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl LlmStandIn {
    /// Starts a stand-in of `api` accepting only `key`; it answers
    /// `default` unless a scripted reply is queued.
    pub async fn start(api: Api, key: &str, default: Reply) -> std::io::Result<Self> {
        let state: Shared = Arc::new(Mutex::new(State {
            key: key.to_string(),
            script: VecDeque::new(),
            default,
            requests: Vec::new(),
        }));
        let app = match api {
            Api::Anthropic => anthropic::router(),
            Api::OpenAi => openai::router(),
        }
        .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(target: "helix_lab", %e, "LLM stand-in stopped");
            }
        });
        // The SDK conventions: Anthropic's base has no /v1, OpenAI's has.
        let base = match api {
            Api::Anthropic => format!("http://{addr}"),
            Api::OpenAi => format!("http://{addr}/v1"),
        };
        Ok(LlmStandIn {
            base,
            state,
            server,
        })
    }

    /// The base URL to configure the client with.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Queues replies for the next requests, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.state).script.extend(replies);
    }

    /// Request bodies received so far (authenticated or not).
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.state).requests.clone()
    }

    /// Stops serving: connections are refused from now on.
    pub fn stop(&self) {
        self.server.abort();
    }
}

/// Records the request, checks its key (`None`: refused, answer 401), and
/// takes the next reply.
fn next(state: &Shared, key: Option<&str>, body: &[u8]) -> Option<Reply> {
    let mut st = lock(state);
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    st.requests.push(json);
    if key != Some(st.key.as_str()) {
        return None;
    }
    Some(st.script.pop_front().unwrap_or_else(|| st.default.clone()))
}

/// Whether `key` is the one the stand-in accepts (nothing recorded).
fn key_ok(state: &Shared, key: Option<&str>) -> bool {
    key == Some(lock(state).key.as_str())
}

/// The API's own error answer.
fn error(api: Api, status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    if status == 429 {
        headers.insert("retry-after", axum::http::HeaderValue::from_static("1"));
    }
    let body = match api {
        Api::Anthropic => anthropic::error_body(status),
        Api::OpenAi => openai::error_body(status),
    };
    (code, headers, axum::Json(body)).into_response()
}

/// The model's answer text, or the response a scripted fault calls for.
async fn text_or_fault(api: Api, reply: Reply) -> Result<String, Box<Response>> {
    let fault = match reply {
        Reply::Text(t) => return Ok(t),
        Reply::Error(s) => error(api, s),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Reply::Garbage => (
            StatusCode::OK,
            [("content-type", "application/json")],
            "{\"result\": \"ok\", \"data\": [1, 2",
        )
            .into_response(),
    };
    Err(Box::new(fault))
}

/// The model the last request named, echoed as the APIs do.
fn requested_model(state: &Shared) -> Value {
    lock(state)
        .requests
        .last()
        .and_then(|b| b.get("model").cloned())
        .unwrap_or(Value::Null)
}
