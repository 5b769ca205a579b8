//! `/hooks/okta/{connection}`: the Event Hook an Okta connection gives its org.
//!
//! - `GET` is Okta's one-time verification: it sends `X-Okta-Verification-Challenge` and
//!   expects `{"verification": …}` back.
//! - `POST` is a delivery: `data.events`, each kept once (by its `uuid`: Okta delivers at
//!   least once, sometimes twice) before the answer, which Okta wants within 3 seconds.
//!   The engine hands them to flows afterwards, oldest published first
//!   (`domain::engine::triggers::dispatch_okta_events`).
//!
//! Both carry the header and secret configured on the connection (`Authorization` unless
//! it names another), compared in constant time. Anything else (no such connection, no
//! secret set, a wrong one) is the same 401, and stores nothing.

use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// The path of a connection's Event Hook.
pub fn path(connection: Uuid) -> String {
    format!("/hooks/okta/{connection}")
}

/// An error body as Okta's own APIs shape them, so its Event Hook page can show it.
fn refuse(status: StatusCode, summary: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errorCode": status.as_u16().to_string(), "errorSummary": summary })),
    )
        .into_response()
}

/// The database failed: Okta delivers again later.
fn unavailable(err: domain::store::StoreError) -> Response {
    tracing::error!(error = %err, "could not keep an Okta Event Hook delivery");
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "idflow cannot reach its database; Okta will deliver again.",
    )
}

fn unauthorized() -> Response {
    refuse(
        StatusCode::UNAUTHORIZED,
        "The Event Hook's authentication header is missing or wrong: it must carry the secret set on the Okta connection in idflow.",
    )
}

/// Whether `given` is `expected`, taking the same time whatever they hold.
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    a.ct_eq(&b).into()
}

/// The Okta connection `id` when the request carries its hook secret.
async fn authenticated(state: &AppState, id: &str, headers: &HeaderMap) -> Result<Uuid, Response> {
    let id = Uuid::parse_str(id).map_err(|_| unauthorized())?;
    let connection = match state.store.connection(id).await {
        Ok(Some(c)) if c.kind == domain::connections::OKTA.key => c,
        Ok(_) => return Err(unauthorized()),
        Err(err) => return Err(unavailable(err)),
    };
    let secrets = state
        .store
        .connection_secrets(id)
        .await
        .map_err(unavailable)?;
    let Some(expected) = secrets.get("hook_secret") else {
        return Err(unauthorized());
    };
    let header = match connection.settings.get("hook_header").map(String::as_str) {
        None | Some("") => "authorization",
        Some(named) => named,
    };
    let given = headers
        .get(header)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if given.is_empty() || !same_secret(given, expected.expose_secret()) {
        return Err(unauthorized());
    }
    Ok(id)
}

/// Okta's one-time verification of the hook.
pub async fn verify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = authenticated(&state, &id, &headers).await {
        return refused;
    }
    match headers
        .get("x-okta-verification-challenge")
        .and_then(|v| v.to_str().ok())
    {
        Some(challenge) if !challenge.is_empty() => {
            axum::Json(json!({ "verification": challenge })).into_response()
        }
        _ => refuse(
            StatusCode::BAD_REQUEST,
            "This is an Okta Event Hook: Okta verifies it with an X-Okta-Verification-Challenge header.",
        ),
    }
}

/// A delivery: its events kept (each once), then 200.
pub async fn deliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = match authenticated(&state, &id, &headers).await {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("The delivery is not JSON: {err}."),
            );
        }
    };
    let events = match domain::okta::delivery_events(&body) {
        Ok(events) => events,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, &format!("Not accepted: {why}.")),
    };
    match state.store.receive_okta_events(id, &events).await {
        Ok(received) => {
            metrics::counter!("idflow_okta_hook_events_total", "kind" => "new")
                .increment(received.new as u64);
            metrics::counter!("idflow_okta_hook_events_total", "kind" => "repeated")
                .increment(received.repeated as u64);
            StatusCode::OK.into_response()
        }
        Err(err) => unavailable(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("Bearer s3cret", "Bearer s3cret"));
        assert!(!same_secret("Bearer s3cre", "Bearer s3cret"));
        assert!(!same_secret("", "x"));
    }
}
