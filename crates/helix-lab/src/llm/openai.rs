//! OpenAI's Chat Completions API, as a stand-in.

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
        .route("/v1/chat/completions", post(completions))
        .route("/v1/models", get(models))
}

/// The models list: free, and refused without a valid key.
async fn models(State(st): State<Shared>, headers: HeaderMap) -> Response {
    if !key_ok(&st, bearer(&headers)) {
        return error(Api::OpenAi, 401);
    }
    let data: Vec<Value> = [("gpt-4o-mini", 1_721_172_741u64), ("gpt-4o", 1_715_367_049)]
        .iter()
        .map(|(id, created)| json!({"id": id, "object": "model", "created": created, "owned_by": "system"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

async fn completions(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(reply) = next(&st, bearer(&headers), &body) else {
        return error(Api::OpenAi, 401);
    };
    let text = match text_or_fault(Api::OpenAi, reply).await {
        Ok(t) => t,
        Err(fault) => return *fault,
    };
    let model = requested_model(&st);
    axum::Json(json!({
        "id": format!("chatcmpl-{:024x}", rand::random::<u128>() >> 32),
        "object": "chat.completion",
        "created": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": null},
            "logprobs": null,
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 790, "completion_tokens": 29, "total_tokens": 819},
    }))
    .into_response()
}

pub(super) fn error_body(status: u16) -> Value {
    let (message, kind, code): (&str, &str, Value) = match status {
        401 => (
            "Incorrect API key provided: sk-lab****. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            json!("invalid_api_key"),
        ),
        404 => (
            "The model `gpt-nonexistent` does not exist or you do not have access to it.",
            "invalid_request_error",
            json!("model_not_found"),
        ),
        429 => (
            "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.",
            "requests",
            json!("rate_limit_exceeded"),
        ),
        503 => (
            "The engine is currently overloaded, please try again later",
            "server_error",
            Value::Null,
        ),
        400 => (
            "Invalid value for 'response_format'.",
            "invalid_request_error",
            Value::Null,
        ),
        _ => (
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            Value::Null,
        ),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}
