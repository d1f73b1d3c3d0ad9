//! Anthropic's Messages API, as a stand-in.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Api, Shared, error, key_ok, next, requested_model, text_or_fault};

pub(super) fn router() -> Router<Shared> {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/models", get(models))
}

/// The models list: free, and refused without a valid key.
async fn models(State(st): State<Shared>, headers: HeaderMap) -> Response {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if !key_ok(&st, key) {
        return error(Api::Anthropic, 401);
    }
    let data: Vec<Value> = [
        (
            "claude-haiku-4-5-20251001",
            "Claude Haiku 4.5",
            "2025-10-01T00:00:00Z",
        ),
        (
            "claude-sonnet-4-5-20250929",
            "Claude Sonnet 4.5",
            "2025-09-29T00:00:00Z",
        ),
    ]
    .iter()
    .map(
        |(id, name, at)| json!({"type": "model", "id": id, "display_name": name, "created_at": at}),
    )
    .collect();
    axum::Json(json!({
        "data": data,
        "has_more": false,
        "first_id": "claude-haiku-4-5-20251001",
        "last_id": "claude-sonnet-4-5-20250929",
    }))
    .into_response()
}

async fn messages(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    let Some(reply) = next(&st, key, &body) else {
        return error(Api::Anthropic, 401);
    };
    if headers.get("anthropic-version").is_none() {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "anthropic-version: header is required"},
                "request_id": request_id(),
            })),
        )
            .into_response();
    }
    let text = match text_or_fault(Api::Anthropic, reply).await {
        Ok(t) => t,
        Err(fault) => return *fault,
    };
    let model = requested_model(&st);
    axum::Json(json!({
        "id": format!("msg_{:024x}", rand::random::<u128>() >> 32),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 812, "output_tokens": 31},
    }))
    .into_response()
}

fn request_id() -> String {
    format!("req_{:024x}", rand::random::<u128>() >> 32)
}

pub(super) fn error_body(status: u16) -> Value {
    let (kind, message) = match status {
        400 => ("invalid_request_error", "messages: field required"),
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => ("not_found_error", "model: claude-nonexistent"),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute.",
        ),
        529 => ("overloaded_error", "Overloaded"),
        _ => ("api_error", "Internal server error"),
    };
    json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": request_id(),
    })
}
