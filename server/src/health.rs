//! `/healthz` (the process answers) and `/readyz` (the database answers and every
//! migration is applied), for load balancers and orchestrators.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let readiness = state.store.readiness().await;
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if readiness.is_ready() { "ready" } else { "not ready" },
        "database": {
            "backend": state.store.kind().name(),
            "reachable": readiness.database_reachable,
            "pending_migrations": readiness.pending_migrations,
        },
    });
    (status, Json(body))
}
