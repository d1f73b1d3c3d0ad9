//! The dashboard: one static page, its script and style. The page holds no
//! data; its script reads the API with the bearer token the user gives.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

const PAGE: &str = include_str!("assets/dashboard.html");
const SCRIPT: &str = include_str!("assets/dashboard.js");
const STYLE: &str = include_str!("assets/dashboard.css");
/// uPlot 1.6.32 (MIT), vendored unchanged: see assets/vendor/README.md.
const CHART_SCRIPT: &str = include_str!("assets/vendor/uplot-1.6.32.min.js");
const CHART_STYLE: &str = include_str!("assets/vendor/uplot-1.6.32.min.css");

/// Only this origin's script and connections; no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/dashboard.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/dashboard.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/vendor/uplot.js",
            get(|| async { asset("text/javascript; charset=utf-8", CHART_SCRIPT) }),
        )
        .route(
            "/vendor/uplot.css",
            get(|| async { asset("text/css; charset=utf-8", CHART_STYLE) }),
        )
}
