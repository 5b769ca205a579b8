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

mod directory;
mod executions;
mod flows;
pub mod openapi;
mod tables;

use crate::AppState;
use axum::Json;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::access::Permission;
use domain::actions::{Acting, ActionError};
use domain::api_tokens::{ApiToken, Area, Scope};
use domain::store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::json;

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
        "POST",
        "/api/v1/flows",
        write(Area::Flows),
        Some(Permission::EditFlows),
    ),
    route(
        "DELETE",
        "/api/v1/flows/{id}",
        write(Area::Flows),
        Some(Permission::EditFlows),
    ),
    route(
        "GET",
        "/api/v1/flows/{id}/versions",
        read(Area::Flows),
        Some(Permission::ViewFlows),
    ),
    route(
        "POST",
        "/api/v1/flows/{id}/versions",
        write(Area::Flows),
        Some(Permission::EditFlows),
    ),
    route(
        "GET",
        "/api/v1/flows/{id}/export",
        read(Area::Flows),
        Some(Permission::ViewFlows),
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
    route(
        "POST",
        "/api/v1/executions/{id}/resume",
        write(Area::Executions),
        Some(Permission::RunFlows),
    ),
    route(
        "POST",
        "/api/v1/executions/{id}/rerun",
        write(Area::Executions),
        Some(Permission::RunFlows),
    ),
    route(
        "GET",
        "/api/v1/tables",
        read(Area::Tables),
        Some(Permission::ViewTables),
    ),
    route(
        "GET",
        "/api/v1/tables/{id}",
        read(Area::Tables),
        Some(Permission::ViewTables),
    ),
    route(
        "POST",
        "/api/v1/tables",
        write(Area::Tables),
        Some(Permission::EditFlows),
    ),
    route(
        "DELETE",
        "/api/v1/tables/{id}",
        write(Area::Tables),
        Some(Permission::EditFlows),
    ),
    route(
        "GET",
        "/api/v1/tables/{id}/rows",
        read(Area::Tables),
        Some(Permission::ViewTables),
    ),
    route(
        "POST",
        "/api/v1/tables/{id}/rows",
        write(Area::Tables),
        Some(Permission::EditFlows),
    ),
    route(
        "PUT",
        "/api/v1/tables/{id}/rows/{row}",
        write(Area::Tables),
        Some(Permission::EditFlows),
    ),
    route(
        "DELETE",
        "/api/v1/tables/{id}/rows/{row}",
        write(Area::Tables),
        Some(Permission::EditFlows),
    ),
    route(
        "GET",
        "/api/v1/tables/{id}/csv",
        read(Area::Tables),
        Some(Permission::ViewTables),
    ),
    route(
        "POST",
        "/api/v1/tables/{id}/csv",
        write(Area::Tables),
        Some(Permission::EditFlows),
    ),
    route(
        "GET",
        "/api/v1/users",
        read(Area::Directory),
        Some(Permission::ViewDirectory),
    ),
    route(
        "GET",
        "/api/v1/users/{id}",
        read(Area::Directory),
        Some(Permission::ViewDirectory),
    ),
    route(
        "GET",
        "/api/v1/groups",
        read(Area::Directory),
        Some(Permission::ViewDirectory),
    ),
    route(
        "GET",
        "/api/v1/groups/{id}",
        read(Area::Directory),
        Some(Permission::ViewDirectory),
    ),
    route(
        "GET",
        "/api/v1/connections",
        read(Area::Connections),
        Some(Permission::ViewConnections),
    ),
    route(
        "POST",
        "/api/v1/connections/{id}/test",
        write(Area::Connections),
        Some(Permission::ManageConnections),
    ),
];

/// The router of the REST API, with its authorization layer.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/logs", get(logs))
        .route("/api/v1/flows", get(flows::flows).post(flows::create))
        .route("/api/v1/flows/{id}", get(flows::flow).delete(flows::delete))
        .route(
            "/api/v1/flows/{id}/versions",
            get(flows::versions).post(flows::save_version),
        )
        .route("/api/v1/flows/{id}/export", get(flows::export))
        .route("/api/v1/flows/{id}/enable", post(flows::enable))
        .route("/api/v1/flows/{id}/disable", post(flows::disable))
        .route("/api/v1/executions", get(executions::executions))
        .route("/api/v1/executions/{id}", get(executions::execution))
        .route("/api/v1/executions/{id}/cancel", post(executions::cancel))
        .route("/api/v1/executions/{id}/rerun", post(executions::rerun))
        .route("/api/v1/tables", get(tables::tables).post(tables::create))
        .route(
            "/api/v1/tables/{id}",
            get(tables::table).delete(tables::delete),
        )
        .route(
            "/api/v1/tables/{id}/rows",
            get(tables::rows).post(tables::add_row),
        )
        .route(
            "/api/v1/tables/{id}/rows/{row}",
            put(tables::replace_row).delete(tables::delete_row),
        )
        .route(
            "/api/v1/tables/{id}/csv",
            get(tables::csv_out).post(tables::csv_in),
        )
        .route("/api/v1/users", get(directory::users))
        .route("/api/v1/users/{id}", get(directory::user))
        .route("/api/v1/groups", get(directory::groups))
        .route("/api/v1/groups/{id}", get(directory::group))
        .route("/api/v1/connections", get(directory::connections))
        .route(
            "/api/v1/connections/{id}/test",
            post(directory::test_connection),
        )
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

pub(super) type ApiResult = Result<Response, Problem>;

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
    let asked = Asked::of(
        &state,
        request.method(),
        request.headers(),
        request.extensions(),
    );
    let caller = match caller_of(&state, asked).await {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    let key = match idempotency_key(request.headers()) {
        Ok(key) => key,
        Err(refused) => return refused.into_response(),
    };
    let token = caller.token.id;
    request.extensions_mut().insert(caller);
    match key {
        Some(key) if request.method() == Method::POST => {
            idempotent(&state, token, key, request, next).await
        }
        _ => next.run(request).await,
    }
}

/// The longest `Idempotency-Key` accepted.
const LONGEST_KEY: usize = 255;

/// The request's `Idempotency-Key`, when it sent one.
fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > LONGEST_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!(
                "The Idempotency-Key header must be 1 to {LONGEST_KEY} visible ASCII characters (a UUID is a good choice)."
            ),
        ));
    }
    Ok(Some(key.to_string()))
}

/// A POST with an `Idempotency-Key`: run once per key and token; a retry of the same
/// request gets the first answer back (`Idempotent-Replayed: true`); the same key for a
/// different request is refused. A failed request releases its key.
async fn idempotent(
    state: &AppState,
    token: uuid::Uuid,
    key: String,
    request: Request,
    next: Next,
) -> Response {
    use axum::body::{Body, to_bytes};
    use domain::api_tokens::Idempotency;
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, crate::hygiene::DEFAULT_BODY_LIMIT).await else {
        return problem(StatusCode::PAYLOAD_TOO_LARGE, "The body is too large.").into_response();
    };
    let path = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let fingerprint = domain::api_tokens::fingerprint(parts.method.as_str(), path, &bytes);
    let different = || {
        problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "This Idempotency-Key was used for a different request; send a new key for a new request.",
        )
        .into_response()
    };
    match state
        .store
        .claim_idempotency(token, &key, &fingerprint)
        .await
    {
        Ok(Idempotency::Claimed) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (answer, body) = response.into_parts();
            let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
            let kept = answer.status.is_success().then(|| {
                (
                    answer.status.as_u16(),
                    String::from_utf8_lossy(&body).into_owned(),
                )
            });
            if let Err(err) = state
                .store
                .finish_idempotency(token, &key, kept.as_ref().map(|(s, b)| (*s, b.as_str())))
                .await
            {
                tracing::warn!(error = %err, "an Idempotency-Key's answer could not be kept");
            }
            Response::from_parts(answer, Body::from(body))
        }
        Ok(Idempotency::Answered {
            fingerprint: first,
            status,
            body,
        }) => {
            if first != fingerprint {
                return different();
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut replay = (status, body).into_response();
            let headers = replay.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            replay
        }
        Ok(Idempotency::Pending { fingerprint: first }) if first != fingerprint => different(),
        Ok(Idempotency::Pending { .. }) => problem(
            StatusCode::CONFLICT,
            "A request with this Idempotency-Key is still being handled; retry shortly.",
        )
        .into_response(),
        Err(err) => Problem::from(err).into_response(),
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
    fn of(
        state: &AppState,
        method: &Method,
        headers: &axum::http::HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Asked {
        let method = if method == Method::HEAD {
            "GET".to_string()
        } else {
            method.as_str().to_string()
        };
        Asked {
            matched: extensions
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            method,
            bearer: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            address: crate::request::client_address(
                state,
                headers,
                crate::request::peer_in(extensions),
            ),
            request_id: crate::request::request_id(headers),
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

/// `POST /api/v1/executions/{id}/resume` with an API token (the same route takes the
/// flow's secret, `invoke::resume`): resumes an execution waiting at a Pause card with
/// the JSON body as the card's `input`.
pub async fn resume_with_token(
    state: &AppState,
    parts: &axum::http::request::Parts,
    id: &str,
    input: serde_json::Value,
) -> Response {
    let asked = Asked::of(state, &parts.method, &parts.headers, &parts.extensions);
    let answer = async {
        let caller = caller_of(state, asked).await?;
        executions::resume(state, &caller, id, input).await
    };
    match answer.await {
        Ok(response) => response,
        Err(refused) => refused.into_response(),
    }
}

/// A page of a list: its items, and the cursor of the next page when there is one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `null` on the last.
    pub next: Option<String>,
}

/// A refusal or failure (RFC 9457): `detail` says what to change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ProblemBody {
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
}

/// `page` as JSON, with `Link: <path?…&after=next>; rel="next"` when there is more.
pub(super) fn paged<T: Serialize>(path: &str, query: &[(&str, String)], page: Page<T>) -> Response {
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

/// A query string of type `T`, or a problem+json 400 that says what is wrong with it.
pub(super) struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        // A parameter given empty is a mistake, not an absent one: say so.
        let raw = parts.uri.query().unwrap_or_default();
        if let Some((name, _)) = raw
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(name, value)| !name.is_empty() && value.is_empty())
        {
            let name =
                urlencoding::decode(name).map_or_else(|_| name.to_string(), |n| n.into_owned());
            return Err(problem(
                StatusCode::BAD_REQUEST,
                format!("The query parameter {name:?} is empty; leave it out or give it a value."),
            ));
        }
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(problem(
                StatusCode::BAD_REQUEST,
                format!("The query string does not read: {}.", rejection.body_text()),
            )),
        }
    }
}

/// The body as JSON of type `T`, or the 400 that says what is wrong with it.
pub(super) fn json_body<T: serde::de::DeserializeOwned>(
    body: &axum::body::Bytes,
    what: &str,
) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            format!("The body is not {what}: {e}."),
        )
    })
}

/// The paging of a list: where to start (a cursor a page gave) and how many.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// The cursor of the next page, as a page gave it.
    #[param(value_type = Option<uuid::Uuid>)]
    pub(super) after: Option<String>,
    /// Items per page, 1 to 200 (50 by default).
    #[param(minimum = 1, maximum = 200)]
    pub(super) limit: Option<i64>,
}

/// One page of `items` ordered by their ids (UUIDv7: oldest first), after the cursor
/// `query.after`, as the answer at `path`.
pub(super) fn page_by_id<T, I: Serialize>(
    path: &str,
    mut items: Vec<T>,
    id: impl Fn(&T) -> uuid::Uuid,
    item: impl Fn(&T) -> I,
    query: &ListQuery,
) -> ApiResult {
    let limit = page_size(query.limit)? as usize;
    let after = cursor(query)?;
    items.retain(|t| after.is_none_or(|a| id(t) > a));
    items.sort_by_key(|t| id(t));
    let more = items.len() > limit;
    items.truncate(limit);
    let next = more
        .then(|| items.last().map(|t| id(t).to_string()))
        .flatten();
    Ok(paged(
        path,
        &[(
            "limit",
            query.limit.map(|l| l.to_string()).unwrap_or_default(),
        )],
        Page {
            items: items.iter().map(item).collect(),
            next,
        },
    ))
}

/// The id a page starts after (`after`, as a page's `next` gave it).
pub(super) fn cursor(query: &ListQuery) -> Result<Option<uuid::Uuid>, Problem> {
    query
        .after
        .as_deref()
        .map(|a| {
            uuid::Uuid::parse_str(a).map_err(|_| {
                problem(
                    StatusCode::BAD_REQUEST,
                    "after is not a cursor this API gave; start again without it.",
                )
            })
        })
        .transpose()
}

/// A page size from `limit`: 1 to 200, 50 unless asked.
pub(super) fn page_size(limit: Option<i64>) -> Result<i64, Problem> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(problem(
            StatusCode::BAD_REQUEST,
            "limit must be between 1 and 200.",
        )),
    }
}

pub(super) fn uuid_of(id: &str, what: &str) -> Result<uuid::Uuid, Problem> {
    uuid::Uuid::parse_str(id)
        .map_err(|_| problem(StatusCode::NOT_FOUND, format!("There is no such {what}.")))
}

/// The token behind a request and who it acts as.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Me {
    token: TokenInfo,
    /// How the System Log names what the token does.
    actor: String,
    /// The person behind the token (its owner, or a service token's maker).
    person: String,
    /// The roles whose rights the token acts with.
    roles: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TokenInfo {
    id: uuid::Uuid,
    name: String,
    /// `personal` or `service`.
    kind: String,
    /// A service token's role.
    role: Option<String>,
    scopes: Vec<String>,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/v1/me`: the token and who it acts as.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "token",
    responses(
        (status = 200, description = "The token and who it acts as", body = Me),
        (status = "4XX", description = "Refused: the problem says why", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(super) async fn me(axum::Extension(caller): axum::Extension<ApiCaller>) -> ApiResult {
    let (_, actor) = caller.acting.actor.id_and_display();
    Ok(Json(Me {
        token: TokenInfo {
            id: caller.token.id,
            name: caller.token.name.clone(),
            kind: caller.token.kind.clone(),
            role: caller.token.role.clone(),
            scopes: caller.token.scopes().iter().map(|s| s.name()).collect(),
            expires_at: caller.token.expires_at,
        },
        actor,
        person: caller.token.owner_name.clone(),
        roles: caller
            .acting
            .rights
            .roles()
            .iter()
            .map(|r| r.as_str().to_string())
            .collect(),
    })
    .into_response())
}

/// A System Log entry as the API gives it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct LogItem {
    id: uuid::Uuid,
    occurred_at: chrono::DateTime<chrono::Utc>,
    /// The event type (Okta's `eventType`), such as `user.session.start`.
    action: String,
    /// What the event type means, in a sentence.
    display_message: String,
    /// `success` or `failure`.
    outcome: String,
    actor_kind: String,
    actor_id: Option<String>,
    actor_display: Option<String>,
    target_kind: Option<String>,
    target_id: Option<String>,
    target_display: Option<String>,
    client_address: Option<String>,
    request_id: Option<String>,
    reason: Option<String>,
}

impl From<domain::audit::Entry> for LogItem {
    fn from(e: domain::audit::Entry) -> LogItem {
        LogItem {
            display_message: e.action_label().to_string(),
            id: e.id,
            occurred_at: e.occurred_at,
            action: e.action,
            outcome: e.outcome,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            actor_display: e.actor_display,
            target_kind: e.target_kind,
            target_id: e.target_id,
            target_display: e.target_display,
            client_address: e.client_address,
            request_id: e.request_id,
            reason: e.reason,
        }
    }
}

/// A System Log search, as Okta's System Log takes it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct LogQuery {
    /// Keywords, every one matched (case-insensitively) somewhere in the entry.
    #[serde(default)]
    q: String,
    /// A filter expression: `eventType eq "user.session.start" and outcome.result eq "FAILURE"`.
    #[serde(default)]
    filter: String,
    /// Entries at or after this time (`2026-12-01T08:00:00Z`; a date alone is taken too).
    #[serde(default)]
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    since: String,
    /// Entries before this time.
    #[serde(default)]
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    until: String,
    /// `ASCENDING` or `DESCENDING` (the default).
    #[serde(default, rename = "sortOrder")]
    #[param(rename = "sortOrder", value_type = Option<String>, pattern = "^(ASCENDING|DESCENDING)$")]
    sort_order: String,
    /// The cursor of the next page, as a page gave it.
    #[serde(default)]
    #[param(value_type = Option<String>, pattern = "^-?[0-9]+_[0-9a-f]{32}$")]
    after: String,
    /// Entries per page, 1 to 1000 (100 by default).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// `GET /api/v1/logs`: a System Log search (`q`, `filter`, `since`, `until`,
/// `sortOrder`, `after`, `limit`), as the System Log tab searches.
#[utoipa::path(
    get,
    path = "/api/v1/logs",
    tag = "logs",
    params(LogQuery),
    responses(
        (status = 200, description = "A page of the entries the search finds", body = Page<LogItem>),
        (status = "4XX", description = "Refused: the problem says why", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(super) async fn logs(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> ApiResult {
    use domain::audit::search::{Search, SearchInput};
    let input = SearchInput {
        q: query.q,
        filter: query.filter,
        since: query.since,
        until: query.until,
        sort_order: query.sort_order,
        after: query.after,
        limit: query.limit,
    };
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
            items: page.entries.into_iter().map(LogItem::from).collect(),
            next: page.next.map(|c| c.encode()),
        },
    ))
}
