//! `POST /api/v1/flows/{id}/invoke`: an API Endpoint flow called by another system, with
//! the flow's secret in `x-api-client-token` (as Okta Workflows names it) or as
//! `Authorization: Bearer`. The call is stored as an execution before anything answers;
//! a synchronous flow answers with what it returned (waiting at most 30 seconds), any
//! other with 202 and the execution's id. Past the flow's invocations per minute: 429.
//! A call with an `Idempotency-Key` header is accepted once per key: a retry after a lost
//! answer gets the first call's execution back (the key is stored with it, as its
//! deduplication key), not a second execution.
//! `POST /api/v1/executions/{id}/resume` resumes an execution waiting at a Pause card,
//! with the same secret (or an API token with `executions:write`, see `api`).

use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::engine::{ExecutionId, Status};
use domain::flows::{Binding, FlowId};
use domain::store::{Ended, ExecutionRecord, NewExecution, Watch};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The trigger a flow needs to be called this way.
pub const TRIGGER: &str = "trigger.api_endpoint";
/// How long a synchronous call waits for the flow before answering 202.
const SYNC_WAIT: Duration = Duration::from_secs(30);
/// The largest body accepted, in bytes.
const MAX_BODY: usize = 1 << 20;

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A refusal, as problem+json like the rest of `/api/v1`.
fn refuse(status: StatusCode, message: &str) -> Response {
    crate::api::problem(status, message).into_response()
}

fn token_of(headers: &HeaderMap) -> Option<String> {
    let named = headers
        .get("x-api-client-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    named
        .or(bearer)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Why a call is refused: its status and a sentence the caller can act on.
type Refusal = (StatusCode, String);

/// The flow's secret the caller sent, or the 401 that says how to send it.
fn secret_of(headers: &HeaderMap) -> Result<String, Refusal> {
    token_of(headers).ok_or_else(|| {
        (
            StatusCode::UNAUTHORIZED,
            "Send the flow's secret in the x-api-client-token header (or as Authorization: Bearer)."
                .to_string(),
        )
    })
}

/// The body as JSON (empty: null), or the 413 / 400 that says what is wrong with it.
fn json_body(body: &Bytes) -> Result<Value, Refusal> {
    if body.len() > MAX_BODY {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            "The body is larger than 1 MB.".to_string(),
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("The body is not JSON: {e}"),
        )
    })
}

/// The secret a caller sent and the id in the path; why not, when either is missing or
/// malformed (`unknown` for an id that cannot be one).
fn secret_and_id(
    headers: &HeaderMap,
    id: &str,
    unknown: &str,
) -> Result<(String, uuid::Uuid), Refusal> {
    let token = secret_of(headers)?;
    let id =
        uuid::Uuid::parse_str(id).map_err(|_| (StatusCode::UNAUTHORIZED, unknown.to_string()))?;
    Ok((token, id))
}

pub async fn invoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const UNKNOWN: &str = "The secret is not this flow's, or there is no such flow.";
    let unknown = || refuse(StatusCode::UNAUTHORIZED, UNKNOWN);
    let (token, id) = match secret_and_id(&headers, &id, UNKNOWN) {
        Ok(both) => both,
        Err((status, why)) => return refuse(status, &why),
    };
    let flow = match state.store.flow_for_invoke_token(FlowId(id), &token).await {
        Ok(Some(flow)) => flow,
        Ok(None) => return unknown(),
        Err(err) => {
            tracing::error!(error = %err, "could not read a flow for its API endpoint");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "idflow cannot reach its database; try again shortly.",
            );
        }
    };
    if flow.trigger_kind != TRIGGER {
        return refuse(
            StatusCode::CONFLICT,
            "This flow is not started by an API Endpoint trigger.",
        );
    }
    if !flow.enabled {
        return refuse(
            StatusCode::CONFLICT,
            "This flow is off; turn it on to call it.",
        );
    }
    let payload = match json_body(&body) {
        Ok(payload) => payload,
        Err((status, why)) => return refuse(status, &why),
    };
    let Ok(Some(definition)) = state.store.flow_definition(flow.id, flow.version).await else {
        return unavailable();
    };
    let synchronous = matches!(
        definition.trigger.options.get("synchronous"),
        Some(Binding::Literal {
            value: Value::Bool(true)
        })
    );
    let idempotency = match idempotency_key(&headers) {
        Ok(key) => key.map(|key| format!("idempotency:{key}")),
        Err((status, why)) => return refuse(status, &why),
    };
    // A call again with a key already used: the first call's execution, not a second.
    if let Some(key) = &idempotency {
        match state.store.execution_by_dedupe_key(flow.id, key).await {
            Ok(Some(earlier)) => return replay(&state, earlier, &payload, synchronous).await,
            Ok(None) => {}
            Err(_) => return unavailable(),
        }
    }
    let settings = &definition.settings;
    if let Some(limit) = settings.max_per_minute {
        let since = chrono::Utc::now() - chrono::Duration::minutes(1);
        match state.store.executions_since(flow.id, since).await {
            Ok(n) if n >= i64::from(limit) => {
                let mut response = refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("This flow takes at most {limit} calls a minute; try again shortly."),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
                return response;
            }
            Ok(_) => {}
            Err(_) => return unavailable(),
        }
    }
    let input = json!({ "body": payload, "query": query, "headers": {} });
    let new = NewExecution {
        acting_for: flow.owner,
        dedupe_key: idempotency.clone(),
        ..NewExecution::new(flow.id, flow.version, TRIGGER, input)
    };
    // Watching before it is queued: this process's engine may end it at once.
    let execution = ExecutionId::new();
    let watch = synchronous.then(|| state.store.signals().watch(execution));
    // Run here at once only when nothing else must be checked first: limits, or a key
    // that must be stored with the execution before it runs.
    let limited = settings.max_concurrent.is_some()
        || settings.max_per_minute.is_some()
        || idempotency.is_some();
    if let (Some(runner), Some(watch), false) = (&state.inline, &watch, limited) {
        let answer = run_here(&state, runner.clone(), execution, new, watch).await;
        state.store.signals().forget(execution);
        return answer;
    }
    let accepted = state.store.enqueue_execution_as(execution, &new).await;
    let answer = match (accepted, watch) {
        (Ok(Some(_)), Some(watch)) => wait_for(&state, execution, &watch).await,
        (Ok(Some(_)), None) => queued(execution),
        // Not accepted although stored fine: a call with the same key came first.
        (Ok(None), _) if idempotency.is_some() => {
            let key = idempotency.as_deref().unwrap_or_default();
            match state.store.execution_by_dedupe_key(flow.id, key).await {
                Ok(Some(earlier)) => replay(&state, earlier, &payload, synchronous).await,
                _ => unavailable(),
            }
        }
        _ => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "idflow could not accept the call; try again shortly.",
        ),
    };
    if synchronous {
        state.store.signals().forget(execution);
    }
    answer
}

fn unavailable() -> Response {
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "idflow cannot reach its database; try again shortly.",
    )
}

/// The longest `Idempotency-Key` accepted.
const LONGEST_IDEMPOTENCY_KEY: usize = 255;

/// The caller's `Idempotency-Key`, when it sent one: a retry with the same key gets the
/// first call's execution back instead of starting another.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        (
            StatusCode::BAD_REQUEST,
            format!(
                "The Idempotency-Key header must be 1 to {LONGEST_IDEMPOTENCY_KEY} visible ASCII characters (a UUID is a good choice)."
            ),
        )
    };
    let key = value.to_str().map_err(|_| bad())?.trim();
    if key.is_empty()
        || key.len() > LONGEST_IDEMPOTENCY_KEY
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad());
    }
    Ok(Some(key.to_string()))
}

/// The answer to a call repeated with an `Idempotency-Key` already used: the first call's
/// execution (its result, for a synchronous flow), marked `Idempotent-Replayed`; refused
/// when the body differs from the first call's, as that is a different call.
async fn replay(
    state: &AppState,
    earlier: ExecutionRecord,
    payload: &Value,
    synchronous: bool,
) -> Response {
    if earlier.input.get("body").unwrap_or(&Value::Null) != payload {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "This Idempotency-Key was used for a call with a different body; send a new key for a new call.",
        );
    }
    let mut answer = if synchronous {
        let watch = state.store.signals().watch(earlier.id);
        let answer = wait_for(state, earlier.id, &watch).await;
        state.store.signals().forget(earlier.id);
        answer
    } else {
        answer(
            StatusCode::ACCEPTED,
            json!({ "execution_id": earlier.id.to_string(), "status": earlier.status.as_str() }),
        )
    };
    answer.headers_mut().insert(
        "idempotent-replayed",
        header::HeaderValue::from_static("true"),
    );
    answer
}

/// A synchronous call to a flow without concurrency or rate limits, when this process
/// runs the engine: the execution runs here at once instead of being queued for a worker.
/// It is stored before any card that changes something runs, or with its end: either
/// way before the caller is answered. It runs in its own task, so a caller that hangs up
/// does not stop it midway.
async fn run_here(
    state: &AppState,
    runner: std::sync::Arc<domain::engine::runner::Runner>,
    execution: ExecutionId,
    new: NewExecution,
    watch: &Watch,
) -> Response {
    let record = ExecutionRecord::starting(execution, new);
    let mut run = tokio::spawn(async move { runner.run_unstored(record).await });
    let ran = match tokio::time::timeout(SYNC_WAIT, &mut run).await {
        Ok(Ok(Ok(()))) => true,
        Ok(Ok(Err(err))) => {
            tracing::warn!(execution = %execution, error = %err, "an API call's execution could not run");
            false
        }
        Ok(Err(err)) => {
            tracing::error!(execution = %execution, error = %err, "an API call's execution panicked");
            false
        }
        // Still running after 30 seconds: stored by now, or it will be as it goes on.
        Err(_) => return queued(execution),
    };
    // Ended, or stored and waiting (a Wait, a retry, helper flows): the usual answer. It
    // stopped before it was stored (the database refused): nothing was accepted.
    if ran || matches!(state.store.execution(execution).await, Ok(Some(_))) {
        return wait_for(state, execution, watch).await;
    }
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "idflow could not accept the call; try again shortly.",
    )
}

fn queued(execution: ExecutionId) -> Response {
    answer(
        StatusCode::ACCEPTED,
        json!({ "execution_id": execution.to_string(), "status": "queued" }),
    )
}

/// The answer to a synchronous call: what the flow returned (or a Close card answered),
/// its failure, or 202 after 30 seconds. This process's engine says when it ends; an
/// execution another server runs is looked up every 250 ms.
async fn wait_for(state: &AppState, execution: ExecutionId, watch: &Watch) -> Response {
    let deadline = Instant::now() + SYNC_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ended = match watch
            .ended_within(left.min(Duration::from_millis(250)))
            .await
        {
            Some(ended) => Some(ended),
            None => match state.store.execution(execution).await {
                Ok(Some(run)) if run.status.is_final() => Some(Ended {
                    status: run.status,
                    output: run.output,
                    error: run.error,
                }),
                Ok(Some(run)) if run.progress.closed.is_some() => Some(Ended {
                    status: run.status,
                    output: run.progress.closed,
                    error: None,
                }),
                _ => None,
            },
        };
        match ended {
            // Succeeded, or a Close card answered while it goes on.
            Some(ended) if ended.status == Status::Succeeded || !ended.status.is_final() => {
                return answer(StatusCode::OK, ended.output.unwrap_or(Value::Null));
            }
            Some(ended) => {
                return answer(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({
                        "execution_id": execution.to_string(),
                        "status": ended.status.as_str(),
                        "error": ended.error,
                    }),
                );
            }
            None if Instant::now() >= deadline => return queued(execution),
            None => {}
        }
    }
}

/// `POST /api/v1/executions/{id}/resume`: resumes an execution waiting at a Pause card,
/// with the body (JSON) as the card's output `input`. The caller sends the secret of the
/// execution's flow, as for invoking it.
pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY + 1).await else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The body could not be read; send it again.",
        );
    };
    // An API token (a script with executions:write) instead of the flow's secret.
    if token_of(&parts.headers).is_some_and(|t| t.starts_with(domain::api_tokens::PREFIX)) {
        return match json_body(&body) {
            Ok(input) => crate::api::resume_with_token(&state, &parts, &id, input).await,
            Err((status, why)) => crate::api::problem(status, why).into_response(),
        };
    }
    let headers = parts.headers;
    const UNKNOWN: &str =
        "The secret is not this execution's flow's, or there is no such execution.";
    let unknown = || refuse(StatusCode::UNAUTHORIZED, UNKNOWN);
    let (token, id) = match secret_and_id(&headers, &id, UNKNOWN) {
        Ok(both) => both,
        Err((status, why)) => return refuse(status, &why),
    };
    let id = ExecutionId(id);
    let unavailable = || {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "idflow cannot reach its database; try again shortly.",
        )
    };
    let execution = match state.store.execution(id).await {
        Ok(Some(execution)) => execution,
        Ok(None) => return unknown(),
        Err(_) => return unavailable(),
    };
    match state
        .store
        .flow_for_invoke_token(execution.flow, &token)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => return unknown(),
        Err(_) => return unavailable(),
    }
    let input = match json_body(&body) {
        Ok(input) => input,
        Err((status, why)) => return refuse(status, &why),
    };
    match state.store.resume_execution(id, input).await {
        Ok(true) => {
            let entry = domain::audit::NewEntry::new(
                domain::audit::Action::ExecutionResume,
                domain::audit::Outcome::Success,
                domain::audit::Actor::System,
            )
            .target(domain::audit::Target {
                kind: "execution".into(),
                id: id.to_string(),
                display: id.to_string(),
            })
            .reason("resumed with the flow's API secret");
            if let Err(err) = state.store.append_audit(&entry).await {
                tracing::error!(error = %err, "a resume could not be written to the System Log");
            }
            answer(
                StatusCode::ACCEPTED,
                json!({ "execution_id": id.to_string(), "status": "queued" }),
            )
        }
        Ok(false) => refuse(
            StatusCode::CONFLICT,
            &format!(
                "This execution is not waiting at a Pause card (it is {}).",
                execution.status
            ),
        ),
        Err(_) => unavailable(),
    }
}
