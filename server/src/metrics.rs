//! `/metrics`: what idflow is doing, in Prometheus's text format. Counters and histograms
//! are recorded where things happen (the engine, SCIM, hooks, outbound cards) through the
//! `metrics` facade; the gauges (queue depth, database pool) are read when scraped. The
//! endpoint answers only with `IDFLOW_METRICS_TOKEN` as a bearer token, or on the separate
//! `IDFLOW_METRICS_LISTEN` address (which only operators should reach).

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use std::sync::OnceLock;

/// The recorder of this process, installed at the first call.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ])
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already; /metrics shows only its own");
        }
        handle
    })
}

/// The gauges read at scrape time, then everything as text.
async fn render(state: &AppState) -> Response {
    match state.store.queue_depth().await {
        Ok(depth) => metrics::gauge!("idflow_queue_depth").set(depth as f64),
        Err(err) => tracing::warn!(error = %err, "the queue depth could not be read for /metrics"),
    }
    let (size, idle) = state.store.pool_use();
    metrics::gauge!("idflow_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("idflow_db_pool_connections", "state" => "used")
        .set(f64::from(size.saturating_sub(idle)));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}

/// `GET /metrics` on the main address: with the metrics token only.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.metrics_token else {
        return (
            StatusCode::NOT_FOUND,
            "metrics are off on this address: set IDFLOW_METRICS_TOKEN (or IDFLOW_METRICS_LISTEN)",
        )
            .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), token.expose_secret().as_bytes()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "give the metrics token as a bearer token",
        )
            .into_response();
    }
    render(&state).await
}

/// The separate metrics address: `/metrics` without a token, nothing else.
pub fn listener_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(state): State<AppState>| async move { render(&state).await }),
        )
        .with_state(state)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Counts SCIM requests by method and status, and hook deliveries (API endpoint flows'
/// invocations) by status; other requests pass untouched.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let scim = path.starts_with("/scim/v2");
    let hook = path.starts_with("/api/v1/flows/") && path.ends_with("/invoke");
    if !scim && !hook {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    if scim {
        metrics::counter!("idflow_scim_requests_total", "method" => method, "status" => status)
            .increment(1);
    } else {
        metrics::counter!("idflow_hook_deliveries_total", "status" => status).increment(1);
    }
    response
}
