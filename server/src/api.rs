//! The REST API, `/api/v1`, for scripts and other systems, with API tokens
//! (`Authorization: Bearer idf_api_…`).
//!
//! Every route is in [`ROUTES`] with the scope and the permission it needs; one layer
//! ([`authorize`]) finds the route, checks the token, its scope and its rights, and hands
//! the handler an [`ApiCaller`]. Handlers call the domain's actions with the token's
//! `Acting`, so the API can never do what the console would refuse; a thing in a folder
//! the token's person may not see does not exist (404). Errors are
//! `application/problem+json` with a sentence the caller can act on. Lists page by
//! cursor: `next` in the body (and a `Link: rel="next"` header) gives the next page.

use crate::AppState;
use axum::Json;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::access::Permission;
use domain::actions::{Acting, ActionError};
use domain::api_tokens::{ApiToken, Area, Scope};
use domain::engine::ExecutionId;
use domain::flows::FlowId;
use domain::store::{ExecutionFilter, ExecutionRecord, FlowSummary, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One route of the REST API and what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// The path as the router matches it (`{id}` for a variable segment).
    pub path: &'static str,
    /// The scope the token must hold; `None`: any live token.
    pub scope: Option<Scope>,
    /// The permission the token's rights must hold (somewhere; on the thing's folder is
    /// checked by the handler and the action).
    pub permission: Option<Permission>,
}

const fn route(
    method: &'static str,
    path: &'static str,
    scope: Option<Scope>,
    permission: Option<Permission>,
) -> Route {
    Route {
        method,
        path,
        scope,
        permission,
    }
}

const fn read(area: Area) -> Option<Scope> {
    Some(Scope {
        area,
        level: domain::api_tokens::Level::Read,
    })
}

const fn write(area: Area) -> Option<Scope> {
    Some(Scope {
        area,
        level: domain::api_tokens::Level::Write,
    })
}

/// Every route of the REST API with the scope and permission it needs.
pub const ROUTES: &[Route] = &[
    route("GET", "/api/v1/me", None, None),
    route(
        "GET",
        "/api/v1/logs",
        read(Area::Logs),
        Some(Permission::ViewSystemLog),
    ),
    route(
        "GET",
        "/api/v1/flows",
        read(Area::Flows),
        Some(Permission::ViewFlows),
    ),
    route(
        "GET",
        "/api/v1/flows/{id}",
        read(Area::Flows),
        Some(Permission::ViewFlows),
    ),
    route(
        "POST",
        "/api/v1/flows/{id}/enable",
        write(Area::Flows),
        Some(Permission::EditFlows),
    ),
    route(
        "POST",
        "/api/v1/flows/{id}/disable",
        write(Area::Flows),
        Some(Permission::EditFlows),
    ),
    route(
        "GET",
        "/api/v1/executions",
        read(Area::Executions),
        Some(Permission::ViewExecutions),
    ),
    route(
        "GET",
        "/api/v1/executions/{id}",
        read(Area::Executions),
        Some(Permission::ViewExecutions),
    ),
    route(
        "POST",
        "/api/v1/executions/{id}/cancel",
        write(Area::Executions),
        Some(Permission::RunFlows),
    ),
];

/// The router of the REST API, with its authorization layer.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/logs", get(logs))
        .route("/api/v1/flows", get(flows))
        .route("/api/v1/flows/{id}", get(flow))
        .route("/api/v1/flows/{id}/enable", post(enable))
        .route("/api/v1/flows/{id}/disable", post(disable))
        .route("/api/v1/executions", get(executions))
        .route("/api/v1/executions/{id}", get(execution))
        .route("/api/v1/executions/{id}/cancel", post(cancel))
}

/// A refusal or failure as `application/problem+json` (RFC 9457).
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub detail: String,
}

pub fn problem(status: StatusCode, detail: impl Into<String>) -> Problem {
    Problem {
        status,
        detail: detail.into(),
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"idflow\""),
            );
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Problem {
        tracing::error!(error = %err, "a REST API request could not reach the store");
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "idflow cannot reach its database; try again shortly.",
        )
    }
}

impl From<ActionError> for Problem {
    fn from(err: ActionError) -> Problem {
        match err {
            ActionError::Refused(refusal) if refusal.code == "not-allowed" => {
                problem(StatusCode::FORBIDDEN, capitalised(&refusal.reason))
            }
            ActionError::Refused(refusal) => {
                problem(StatusCode::CONFLICT, capitalised(&refusal.reason))
            }
            ActionError::NotFound { detail, .. } => {
                problem(StatusCode::NOT_FOUND, capitalised(&detail))
            }
            ActionError::Store(err) => err.into(),
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    let first = chars.next().map(|c| c.to_uppercase().to_string());
    let mut out = first.unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

type ApiResult = Result<Response, Problem>;

/// Who called, as [`authorize`] found them: the token and who it acts as.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub token: ApiToken,
    pub acting: Acting,
}

/// The layer in front of every REST API route: the route's entry in [`ROUTES`], the
/// bearer token (live), its scope, the person behind it (still active, still holding
/// what the token needs) and the route's permission. Refusals are problem+json: 401
/// without a live token, 403 outside its scope or rights.
pub async fn authorize(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let asked = Asked::of(&state, &request);
    match caller_of(&state, asked).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refused) => refused.into_response(),
    }
}

/// What [`authorize`] reads off a request.
struct Asked {
    matched: String,
    method: String,
    bearer: Option<String>,
    address: Option<String>,
    request_id: Option<String>,
}

impl Asked {
    fn of(state: &AppState, request: &Request) -> Asked {
        let method = if request.method() == Method::HEAD {
            "GET".to_string()
        } else {
            request.method().as_str().to_string()
        };
        Asked {
            matched: request
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            method,
            bearer: request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            address: crate::request::client_address(
                state,
                request.headers(),
                crate::request::peer_in(request.extensions()),
            ),
            request_id: crate::request::request_id(request.headers()),
        }
    }
}

async fn caller_of(state: &AppState, asked: Asked) -> Result<ApiCaller, Problem> {
    let (matched, method) = (asked.matched.as_str(), asked.method.as_str());
    let route = ROUTES
        .iter()
        .find(|r| r.path == matched && r.method == method)
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, "There is no such API route."))?;
    let secret = asked.bearer.as_deref().ok_or_else(|| {
            problem(
                StatusCode::UNAUTHORIZED,
                "Send an API token as Authorization: Bearer idf_api_… (make one in Settings → API tokens).",
            )
        })?;
    let token = state
        .store
        .authenticate_api_token(secret)
        .await?
        .ok_or_else(|| {
            problem(
                StatusCode::UNAUTHORIZED,
                "The API token is unknown, revoked or expired.",
            )
        })?;
    if let Some(scope) = route.scope
        && !token.allows(scope)
    {
        return Err(problem(
            StatusCode::FORBIDDEN,
            format!(
                "The token lacks the {} scope this needs; make a token with it.",
                scope.name()
            ),
        ));
    }
    let acting = domain::actions::api_tokens::acting_for(
        &state.store,
        &token,
        asked.address,
        asked.request_id,
    )
    .await
    .map_err(|err| match err {
        ActionError::Refused(refusal) => {
            problem(StatusCode::UNAUTHORIZED, capitalised(&refusal.reason))
        }
        other => other.into(),
    })?;
    if let Some(permission) = route.permission
        && !acting.rights.allows(permission)
    {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "The person behind this token may not do this, so neither may the token.",
        ));
    }
    Ok(ApiCaller { token, acting })
}

/// A page of a list: its items, and the cursor of the next page when there is one.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// `page` as JSON, with `Link: <path?…&after=next>; rel="next"` when there is more.
fn paged<T: Serialize>(path: &str, query: &[(&str, String)], page: Page<T>) -> Response {
    let link = page.next.as_ref().map(|next| {
        let mut pairs: Vec<String> = query
            .iter()
            .filter(|(k, v)| *k != "after" && !v.is_empty())
            .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
            .collect();
        pairs.push(format!("after={}", urlencoding::encode(next)));
        format!("<{path}?{}>; rel=\"next\"", pairs.join("&"))
    });
    let mut response = Json(page).into_response();
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// A page size from `limit`: 1 to 200, 50 unless asked.
fn page_size(limit: Option<i64>) -> Result<i64, Problem> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(problem(
            StatusCode::BAD_REQUEST,
            "limit must be between 1 and 200.",
        )),
    }
}

fn uuid_of(id: &str, what: &str) -> Result<uuid::Uuid, Problem> {
    uuid::Uuid::parse_str(id)
        .map_err(|_| problem(StatusCode::NOT_FOUND, format!("There is no such {what}.")))
}

/// `GET /api/v1/me`: the token and who it acts as.
async fn me(axum::Extension(caller): axum::Extension<ApiCaller>) -> ApiResult {
    let (_, acting_as) = caller.acting.actor.id_and_display();
    Ok(Json(json!({
        "token": {
            "id": caller.token.id,
            "name": caller.token.name,
            "kind": caller.token.kind,
            "role": caller.token.role,
            "scopes": caller.token.scopes().iter().map(|s| s.name()).collect::<Vec<_>>(),
            "expires_at": caller.token.expires_at,
        },
        "actor": acting_as,
        "person": caller.token.owner_name,
        "roles": caller.acting.rights.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/v1/logs`: a System Log search (`q`, `filter`, `since`, `until`,
/// `sortOrder`, `after`, `limit`), as the System Log tab searches.
async fn logs(
    State(state): State<AppState>,
    Query(input): Query<domain::audit::search::SearchInput>,
) -> ApiResult {
    use domain::audit::search::Search;
    let search = Search::parse(&input).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            format!("The search cannot run: {e}."),
        )
    })?;
    let page = state.store.search_audit(&search).await?;
    let query = [
        ("q", input.q.clone()),
        ("filter", input.filter.clone()),
        ("since", input.since.clone()),
        ("until", input.until.clone()),
        ("sortOrder", input.sort_order.clone()),
        (
            "limit",
            input.limit.map(|l| l.to_string()).unwrap_or_default(),
        ),
    ];
    Ok(paged(
        "/api/v1/logs",
        &query,
        Page {
            items: page.entries,
            next: page.next.map(|c| c.encode()),
        },
    ))
}

/// A flow as the API shows it.
#[derive(Debug, Serialize)]
struct FlowItem {
    id: String,
    name: String,
    folder: Option<uuid::Uuid>,
    enabled: bool,
    trigger: String,
    version: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<&FlowSummary> for FlowItem {
    fn from(f: &FlowSummary) -> FlowItem {
        FlowItem {
            id: f.id.to_string(),
            name: f.name.clone(),
            folder: f.folder,
            enabled: f.enabled,
            trigger: f.trigger_kind.clone(),
            version: f.version,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    after: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/flows`: the flows the token's person may see, by id (oldest first).
async fn flows(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Query(query): Query<ListQuery>,
) -> ApiResult {
    let limit = page_size(query.limit)? as usize;
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(uuid::Uuid::parse_str(a).map_err(|_| {
            problem(
                StatusCode::BAD_REQUEST,
                "after is not a cursor this API gave; start again without it.",
            )
        })?),
        None => None,
    };
    let mut visible: Vec<FlowSummary> = state
        .store
        .flows()
        .await?
        .into_iter()
        .filter(|f| {
            caller
                .acting
                .rights
                .on_flow(Permission::ViewFlows, f.folder)
        })
        .filter(|f| after.is_none_or(|a| f.id.0 > a))
        .collect();
    visible.sort_by_key(|f| f.id.0);
    let more = visible.len() > limit;
    visible.truncate(limit);
    let next = more
        .then(|| visible.last().map(|f| f.id.to_string()))
        .flatten();
    Ok(paged(
        "/api/v1/flows",
        &[(
            "limit",
            query.limit.map(|l| l.to_string()).unwrap_or_default(),
        )],
        Page {
            items: visible.iter().map(FlowItem::from).collect(),
            next,
        },
    ))
}

/// The flow `id` if the token's person may see it; 404 otherwise (as for none at all).
async fn visible_flow(
    state: &AppState,
    caller: &ApiCaller,
    id: &str,
) -> Result<FlowSummary, Problem> {
    let missing = || {
        problem(
            StatusCode::NOT_FOUND,
            "There is no such flow, or it is not yours to see.",
        )
    };
    let id = uuid_of(id, "flow").map_err(|_| missing())?;
    match state.store.flow_summary(FlowId(id)).await? {
        Some(flow)
            if caller
                .acting
                .rights
                .on_flow(Permission::ViewFlows, flow.folder) =>
        {
            Ok(flow)
        }
        _ => Err(missing()),
    }
}

/// `GET /api/v1/flows/{id}`: the flow with its current version's definition.
async fn flow(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let flow = visible_flow(&state, &caller, &id).await?;
    let definition = state.store.flow_definition(flow.id, flow.version).await?;
    let mut body = serde_json::to_value(FlowItem::from(&flow)).unwrap_or(Value::Null);
    body["definition"] = serde_json::to_value(definition.as_deref()).unwrap_or(Value::Null);
    Ok(Json(body).into_response())
}

async fn set_enabled(state: AppState, caller: ApiCaller, id: String, enabled: bool) -> ApiResult {
    let flow = visible_flow(&state, &caller, &id).await?;
    domain::actions::flows::set_enabled(&state.store, &caller.acting, &flow, enabled).await?;
    let flow = state.store.flow_summary(flow.id).await?.unwrap_or(flow);
    Ok(Json(FlowItem::from(&flow)).into_response())
}

/// `POST /api/v1/flows/{id}/enable`: turns the flow on; it acts for the token's person
/// from then on. Refused (409) with the reason when its problems or rights stop it.
async fn enable(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    set_enabled(state, caller, id, true).await
}

/// `POST /api/v1/flows/{id}/disable`: turns the flow off.
async fn disable(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    set_enabled(state, caller, id, false).await
}

/// An execution as the API lists it.
#[derive(Debug, Serialize)]
struct ExecutionItem {
    id: String,
    flow: String,
    flow_version: i64,
    status: String,
    trigger: String,
    test: bool,
    queued_at: chrono::DateTime<chrono::Utc>,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
    error: Option<String>,
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
            queued_at: e.queued_at,
            started_at: e.started_at,
            finished_at: e.finished_at,
            error: e.error.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ExecutionQuery {
    flow: Option<String>,
    status: Option<String>,
    /// Executions whose input or outputs carry this text (an email, a user id).
    carried: Option<String>,
    since: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
}

/// A cursor over executions: the last one's time and id.
fn execution_cursor(e: &ExecutionRecord) -> String {
    format!("{}_{}", e.queued_at.timestamp_micros(), e.id.0.simple())
}

fn parse_execution_cursor(
    text: &str,
) -> Result<(chrono::DateTime<chrono::Utc>, uuid::Uuid), Problem> {
    let bad = || {
        problem(
            StatusCode::BAD_REQUEST,
            "after is not a cursor this API gave; start again without it.",
        )
    };
    let (micros, id) = text.split_once('_').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at, uuid::Uuid::parse_str(id).map_err(|_| bad())?))
}

/// `GET /api/v1/executions`: newest first, as the Executions tab searches (`flow`,
/// `status`, `carried`, `since`), only those of flows the token's person may see.
async fn executions(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Query(query): Query<ExecutionQuery>,
) -> ApiResult {
    let limit = page_size(query.limit)?;
    let flow = match query.flow.as_deref().filter(|f| !f.is_empty()) {
        Some(id) => Some(visible_flow(&state, &caller, id).await?.id),
        None => None,
    };
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse()
                .map_err(|e: String| problem(StatusCode::BAD_REQUEST, e))?,
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
    let seen = |e: &ExecutionRecord| {
        folders.get(&e.flow).is_some_and(|folder| {
            caller
                .acting
                .rights
                .on_flow(Permission::ViewExecutions, *folder)
        })
    };
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
    let next = more.then(|| items.last().map(execution_cursor)).flatten();
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
async fn execution(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let (execution, _) = visible_execution(&state, &caller, &id).await?;
    let steps = state.store.execution_steps(execution.id).await?;
    let mut body = serde_json::to_value(ExecutionItem::from(&execution)).unwrap_or(Value::Null);
    body["input"] = execution.input.clone();
    body["output"] = execution.output.clone().unwrap_or(Value::Null);
    body["cards"] = steps
        .iter()
        .map(|s| {
            json!({
                "card": s.card_id,
                "kind": s.card_kind,
                "status": s.status,
                "attempt": s.attempt,
                "inputs": s.inputs,
                "outputs": s.outputs,
                "error": s.error,
                "started_at": s.started_at,
                "finished_at": s.finished_at,
            })
        })
        .collect();
    Ok(Json(body).into_response())
}

/// `POST /api/v1/executions/{id}/cancel`: cancels a queued, running or waiting
/// execution; 409 when it had already ended.
async fn cancel(
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
