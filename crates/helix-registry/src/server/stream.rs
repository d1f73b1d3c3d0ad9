//! `GET /v1/stream`: accepted genes over a WebSocket, for agents that
//! cannot reach NATS. Optionally only some keys (`?keys=code/category,...`).
//! A client too slow to keep up misses genes rather than holding memory;
//! it is told how many, and pulls what it needs.

use std::collections::HashSet;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use helix_core::GeneKey;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::AppState;

#[derive(Debug, Deserialize)]
pub(crate) struct StreamQuery {
    keys: Option<String>,
}

fn parse_keys(s: &str) -> Option<HashSet<GeneKey>> {
    s.split(',')
        .filter(|k| !k.is_empty())
        .map(|k| {
            let (code, category) = k.split_once('/')?;
            Some(GeneKey {
                code: code.parse().ok()?,
                category: category.parse().ok()?,
            })
        })
        .collect()
}

pub(crate) async fn stream(
    State(s): State<AppState>,
    Query(q): Query<StreamQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let keys = match q.keys.as_deref().map(parse_keys) {
        Some(None) => {
            return axum::response::IntoResponse::into_response((
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({
                    "error": "keys is a comma-separated list of code/category",
                    "reason": "malformed",
                })),
            ));
        }
        Some(Some(k)) if !k.is_empty() => Some(k),
        _ => None,
    };
    ws.max_message_size(4096)
        .on_upgrade(move |socket| feed(socket, s, keys))
}

async fn feed(mut socket: WebSocket, s: AppState, keys: Option<HashSet<GeneKey>>) {
    let metrics = s.registry.metrics().clone();
    // Counted once subscribed: a client that sees itself counted misses no
    // broadcast.
    let mut rx = s.registry.broadcast().subscribe();
    metrics.ws(1);
    loop {
        tokio::select! {
            got = rx.recv() => match got {
                Ok(g) => {
                    if keys.as_ref().is_some_and(|k| !k.contains(&g.key())) {
                        continue;
                    }
                    let Ok(text) = serde_json::to_string(&*g) else { continue };
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    let note = serde_json::json!({"lagged": n}).to_string();
                    if socket.send(Message::Text(note.into())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    metrics.ws(-1);
}
