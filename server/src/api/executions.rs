//! `/api/v1/executions`: search, read with card records, cancel, run again.

use super::flows::visible_flow;
use super::{ApiCaller, ApiQuery, ApiResult, Page, Problem, page_size, paged, problem, uuid_of};
use crate::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use domain::access::Permission;
use domain::engine::ExecutionId;
use domain::flows::FlowId;
use domain::store::{ExecutionFilter, ExecutionRecord, FlowSummary};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An execution as the API lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ExecutionItem {
    id: String,
    flow: String,
    flow_version: i64,
    /// `queued`, `running`, `waiting`, `paused`, `succeeded`, `failed` or `cancelled`.
    status: String,
    trigger: String,
    /// Started by Test Flow.
    test: bool,
    /// A dry run: its cards changed nothing; each card that would have changed something
    /// has a `dry_run` field in its outputs saying what.
    dry_run: bool,
    queued_at: chrono::DateTime<chrono::Utc>,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
    error: Option<String>,
    /// What started it (when one execution is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    input: Option<Value>,
    /// What it returned (when one execution is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    output: Option<Value>,
    /// What each card did (when one execution is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    cards: Option<Vec<CardRecord>>,
}

/// What one card did in an execution.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct CardRecord {
    card: u32,
    kind: String,
    /// `succeeded`, `failed` or `skipped`.
    status: String,
    attempt: u32,
    /// Kept only when the flow saves all data.
    #[schema(value_type = Option<Object>)]
    inputs: Option<Value>,
    #[schema(value_type = Option<Object>)]
    outputs: Option<Value>,
    error: Option<String>,
    started_at: chrono::DateTime<chrono::Utc>,
    finished_at: chrono::DateTime<chrono::Utc>,
}

/// An execution queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Queued {
    execution_id: String,
    status: String,
}

impl From<&ExecutionRecord> for ExecutionItem {
    fn from(e: &ExecutionRecord) -> ExecutionItem {
        ExecutionItem {
            id: e.id.to_string(),
            flow: e.flow.to_string(),
            flow_version: e.flow_version,
            status: e.status.as_str().to_string(),
            trigger: e.trigger_kind.clone(),
            test: e.test,
            dry_run: e.dry_run,
            queued_at: e.queued_at,
            started_at: e.started_at,
            finished_at: e.finished_at,
            error: e.error.clone(),
            input: None,
            output: None,
            cards: None,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ExecutionQuery {
    /// Only this flow's executions.
    #[param(value_type = Option<uuid::Uuid>)]
    flow: Option<String>,
    /// Only those in this state.
    #[param(
        value_type = Option<String>,
        pattern = "^(queued|running|waiting|paused|succeeded|failed|cancelled)$"
    )]
    status: Option<String>,
    /// Executions whose input or outputs carry a value that starts with this text, in
    /// any case (an email, a user id, the start of one).
    carried: Option<String>,
    /// Only those queued at or after this time.
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    since: Option<String>,
    /// The cursor of the next page, as a page gave it.
    #[param(value_type = Option<String>, pattern = "^-?[0-9]+_[0-9a-f]{32}$")]
    after: Option<String>,
    /// Items per page, 1 to 200 (50 by default).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// A cursor over executions: the last one's time and id.
/// The executions cursor `after` stands for; a 400 when it is not one this API gave.
fn parse_execution_cursor(
    text: &str,
) -> Result<(chrono::DateTime<chrono::Utc>, uuid::Uuid), Problem> {
    domain::store::parse_execution_cursor(text).ok_or_else(|| {
        problem(
            StatusCode::BAD_REQUEST,
            "after is not a cursor this API gave; start again without it.",
        )
    })
}

/// `GET /api/v1/executions`: newest first, as the Executions tab searches (`flow`,
/// `status`, `carried`, `since`), only those of flows the token's person may see.
#[utoipa::path(
    get,
    path = "/api/v1/executions",
    tag = "executions",
    params(ExecutionQuery),
    responses((status = 200, description = "A page of executions, newest first", body = super::Page<ExecutionItem>), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn executions(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    ApiQuery(query): ApiQuery<ExecutionQuery>,
) -> ApiResult {
    let limit = page_size(query.limit)?;
    let flow = match query.flow.as_deref().filter(|f| !f.is_empty()) {
        Some(id) => Some(visible_flow(&state, &caller, id).await?.id),
        None => None,
    };
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse().map_err(|_: String| {
                problem(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "status {s:?} is not one; use queued, running, waiting, paused, succeeded, failed or cancelled."
                    ),
                )
            })?,
        ),
        None => None,
    };
    let since = match query.since.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(domain::audit::search::parse_time(s).ok_or_else(|| {
            problem(
                StatusCode::BAD_REQUEST,
                format!(
                    "since {s:?} is not a time; write it as 2026-12-01T08:00:00Z or 2026-12-01."
                ),
            )
        })?),
        None => None,
    };
    let mut before = match query.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(parse_execution_cursor(a)?),
        None => None,
    };
    let folders: std::collections::HashMap<FlowId, Option<uuid::Uuid>> = state
        .store
        .flows()
        .await?
        .into_iter()
        .map(|f| (f.id, f.folder))
        .collect();
    let may_see = |folder: &Option<uuid::Uuid>| {
        caller
            .acting
            .rights
            .on_flow(Permission::ViewExecutions, *folder)
    };
    let seen = |e: &ExecutionRecord| folders.get(&e.flow).is_some_and(may_see);
    // Only the flows the person may see, chosen in the database.
    let visible: Vec<FlowId> = folders
        .iter()
        .filter(|(_, folder)| may_see(folder))
        .map(|(id, _)| *id)
        .collect();
    let only = (visible.len() < folders.len()).then_some(visible);
    // Pages of the store's order, keeping what the person may see, until one is full.
    let mut items = Vec::new();
    let mut more = false;
    loop {
        let batch = state
            .store
            .executions(&ExecutionFilter {
                flow,
                status,
                subject: None,
                carried: query.carried.clone().filter(|c| !c.trim().is_empty()),
                since,
                before,
                limit: 200,
                flows: only.clone(),
            })
            .await?;
        let last = batch.len() < 200;
        before = batch.last().map(|e| (e.queued_at, e.id.0));
        for execution in batch.into_iter().filter(|e| seen(e)) {
            if items.len() as i64 == limit {
                more = true;
                break;
            }
            items.push(execution);
        }
        if more || last {
            break;
        }
    }
    let next = more
        .then(|| items.last().map(domain::store::execution_cursor))
        .flatten();
    let query_pairs = [
        ("flow", query.flow.clone().unwrap_or_default()),
        ("status", query.status.clone().unwrap_or_default()),
        ("carried", query.carried.clone().unwrap_or_default()),
        ("since", query.since.clone().unwrap_or_default()),
        (
            "limit",
            query.limit.map(|l| l.to_string()).unwrap_or_default(),
        ),
    ];
    Ok(paged(
        "/api/v1/executions",
        &query_pairs,
        Page {
            items: items.iter().map(ExecutionItem::from).collect(),
            next,
        },
    ))
}

/// The execution `id` and its flow, if the token's person may see them.
async fn visible_execution(
    state: &AppState,
    caller: &ApiCaller,
    id: &str,
) -> Result<(ExecutionRecord, FlowSummary), Problem> {
    let missing = || {
        problem(
            StatusCode::NOT_FOUND,
            "There is no such execution, or it is not yours to see.",
        )
    };
    let id = uuid_of(id, "execution").map_err(|_| missing())?;
    let execution = state
        .store
        .execution(ExecutionId(id))
        .await?
        .ok_or_else(missing)?;
    match state.store.flow_summary(execution.flow).await? {
        Some(flow)
            if caller
                .acting
                .rights
                .on_flow(Permission::ViewExecutions, flow.folder) =>
        {
            Ok((execution, flow))
        }
        _ => Err(missing()),
    }
}

/// `GET /api/v1/executions/{id}`: the execution, its input and output, and what each
/// card did.
#[utoipa::path(
    get,
    path = "/api/v1/executions/{id}",
    tag = "executions",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The execution with its input, output and card records", body = ExecutionItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn execution(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let (execution, _) = visible_execution(&state, &caller, &id).await?;
    let steps = state.store.execution_steps(execution.id).await?;
    let item = ExecutionItem {
        input: Some(execution.input.clone()),
        output: Some(execution.output.clone().unwrap_or(Value::Null)),
        cards: Some(
            steps
                .iter()
                .map(|s| CardRecord {
                    card: s.card_id,
                    kind: s.card_kind.clone(),
                    status: s.status.clone(),
                    attempt: s.attempt,
                    inputs: s.inputs.clone(),
                    outputs: s.outputs.clone(),
                    error: s.error.clone(),
                    started_at: s.started_at,
                    finished_at: s.finished_at,
                })
                .collect(),
        ),
        ..ExecutionItem::from(&execution)
    };
    Ok(Json(item).into_response())
}

/// `POST /api/v1/executions/{id}/cancel`: cancels a queued, running or waiting
/// execution; 409 when it had already ended.
#[utoipa::path(
    post,
    path = "/api/v1/executions/{id}/cancel",
    tag = "executions",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The execution, cancelled", body = ExecutionItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn cancel(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let (execution, flow) = visible_execution(&state, &caller, &id).await?;
    domain::actions::executions::cancel(&state.store, &caller.acting, &execution, &flow).await?;
    let execution = state
        .store
        .execution(execution.id)
        .await?
        .unwrap_or(execution);
    Ok(Json(ExecutionItem::from(&execution)).into_response())
}

/// `POST /api/v1/executions/{id}/rerun`: runs the execution's flow again with the same
/// input (its current version), acting for the flow's owner.
#[utoipa::path(
    post,
    path = "/api/v1/executions/{id}/rerun",
    tag = "executions",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 201, description = "The new execution, queued", body = Queued), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn rerun(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let (execution, flow) = visible_execution(&state, &caller, &id).await?;
    let again =
        domain::actions::executions::rerun(&state.store, &caller.acting, &execution, &flow).await?;
    Ok((
        StatusCode::CREATED,
        Json(Queued {
            execution_id: again.to_string(),
            status: "queued".into(),
        }),
    )
        .into_response())
}

/// Resumes the execution `id` for `caller` (see `super::resume_with_token`).
pub(super) async fn resume(
    state: &AppState,
    caller: &ApiCaller,
    id: &str,
    input: Value,
) -> ApiResult {
    let (execution, flow) = visible_execution(state, caller, id).await?;
    domain::actions::executions::resume(&state.store, &caller.acting, &execution, &flow, input)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Queued {
            execution_id: execution.id.to_string(),
            status: "queued".into(),
        }),
    )
        .into_response())
}

/// The resume route as documentation: it is served by `invoke::resume`, which takes an
/// API token (`executions:write`) or the flow's secret.
#[utoipa::path(
    post,
    path = "/api/v1/executions/{id}/resume",
    tag = "executions",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    request_body(content = Object, description = "The Pause card's `input`"),
    responses(
        (status = 202, description = "Resumed: queued to go on", body = Queued),
        (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"),
    )
)]
#[allow(dead_code)]
pub(super) async fn resume_doc() {}
