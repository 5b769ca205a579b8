//! A local Slack-shaped server that checks each request as Slack's Web API and incoming
//! webhooks document them (methods, bearer token, JSON bodies) and keeps what arrived.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const BOT_TOKEN: &str = "xoxb-test-MARKER-41";
pub const HOOK: &str = "/services/T000/B000/hookMARKER";

/// What reached the Slack-shaped server: (where, what).
pub type Arrived = Arc<Mutex<Vec<(String, Value)>>>;

pub async fn slack() -> (String, Arrived) {
    let arrived: Arrived = Arc::default();
    fn bot(headers: &HeaderMap) -> bool {
        headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {BOT_TOKEN}"))
    }
    fn json_body(headers: &HeaderMap) -> bool {
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"))
    }
    async fn web_api(
        State(arrived): State<Arrived>,
        Path(method): Path<String>,
        headers: HeaderMap,
        body: Option<Json<Value>>,
    ) -> Json<Value> {
        if !bot(&headers) {
            return Json(json!({ "ok": false, "error": "invalid_auth" }));
        }
        if !json_body(&headers) {
            return Json(json!({ "ok": false, "error": "invalid_json" }));
        }
        let body = body.map(|Json(b)| b).unwrap_or_default();
        arrived.lock().unwrap().push((method.clone(), body.clone()));
        Json(match method.as_str() {
            "auth.test" => json!({ "ok": true, "team": "Acme", "user": "idflow" }),
            "chat.postMessage" => match (body["channel"].as_str(), body["text"].as_str()) {
                (Some("#missing"), _) => json!({ "ok": false, "error": "channel_not_found" }),
                (Some(channel), Some(_)) => {
                    json!({ "ok": true, "channel": channel, "ts": "1700000000.000100" })
                }
                _ => json!({ "ok": false, "error": "invalid_arguments" }),
            },
            "conversations.open" => match body["users"].as_str() {
                Some("U0ADA") => json!({ "ok": true, "channel": { "id": "D0ADA" } }),
                _ => json!({ "ok": false, "error": "user_not_found" }),
            },
            _ => json!({ "ok": false, "error": "unknown_method" }),
        })
    }
    async fn lookup(
        State(arrived): State<Arrived>,
        headers: HeaderMap,
        Query(q): Query<HashMap<String, String>>,
    ) -> Json<Value> {
        if !bot(&headers) {
            return Json(json!({ "ok": false, "error": "invalid_auth" }));
        }
        let email = q.get("email").cloned().unwrap_or_default();
        arrived
            .lock()
            .unwrap()
            .push(("users.lookupByEmail".into(), json!({ "email": email })));
        Json(match email.as_str() {
            "ada@example.com" => json!({ "ok": true, "user": { "id": "U0ADA" } }),
            _ => json!({ "ok": false, "error": "users_not_found" }),
        })
    }
    async fn webhook(
        State(arrived): State<Arrived>,
        Json(body): Json<Value>,
    ) -> (AxumStatus, &'static str) {
        if body
            .get("text")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return (AxumStatus::BAD_REQUEST, "no_text");
        }
        arrived.lock().unwrap().push(("webhook".into(), body));
        (AxumStatus::OK, "ok")
    }
    let app = axum::Router::new()
        .route("/api/users.lookupByEmail", get(lookup))
        .route("/api/{method}", post(web_api))
        .route(HOOK, post(webhook))
        .with_state(arrived.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), arrived)
}
