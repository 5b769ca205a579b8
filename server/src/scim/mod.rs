//! The SCIM 2.0 service provider at `/scim/v2` (RFC 7644): how identity providers
//! create, read, change and remove idflow's users and groups. Requests carry a SCIM
//! bearer token; answers are `application/scim+json`, errors are SCIM error bodies.
//! This module checks the token and logs each call; what is served sits by resource
//! (`discovery`, `users`, `groups`), and what a write means is `domain::scim::writes`'s
//! and the domain's actions'.

mod discovery;
mod groups;
mod schemas;
pub mod self_check;
mod users;

use crate::AppState;
use crate::request::{client_address, peer_address, request_id};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::access::Role;
use domain::actions::{Acting, ActionError};
use domain::audit::{Action, Actor, NewEntry, Outcome, Target};
use domain::directory::{User, UserId};
use domain::scim::{self, LIST_RESPONSE, ScimError};
use domain::store::{ScimToken, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// The most resources one page of a list answers with.
pub(crate) const MAX_RESULTS: usize = 200;

/// The `/scim/v2` routes, behind the bearer-token check.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::one_schema))
        .route("/Users", get(users::list_users).post(users::create_user))
        .route("/Users/.search", post(users::search))
        .route("/.search", post(users::search_all))
        .route(
            "/Users/{id}",
            get(users::get_user)
                .put(users::replace_user)
                .patch(users::patch_user)
                .delete(users::delete_user),
        )
        .route(
            "/Groups",
            get(groups::list_groups).post(groups::create_group),
        )
        .route("/Groups/.search", post(groups::search_groups))
        .route(
            "/Groups/{id}",
            get(groups::get_group)
                .put(groups::replace_group)
                .patch(groups::patch_group)
                .delete(groups::delete_group),
        )
        .fallback(unknown)
        .layer(axum::middleware::from_fn_with_state(state, require_token))
}

/// A SCIM error as a response.
pub struct ScimResponse(pub(crate) ScimError);

/// A query string of type `T`, or SCIM's `invalidValue` error saying what does not read
/// (never axum's plain-text rejection).
pub(crate) struct ScimQuery<T>(pub(crate) T);

impl<T, S> axum::extract::FromRequestParts<S> for ScimQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ScimResponse;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ScimQuery(value)),
            Err(rejection) => Err(ScimResponse(ScimError::invalid_value(format!(
                "The query string does not read: {}.",
                rejection.body_text()
            )))),
        }
    }
}

impl From<ScimError> for ScimResponse {
    fn from(e: ScimError) -> Self {
        ScimResponse(e)
    }
}

impl From<StoreError> for ScimResponse {
    fn from(e: StoreError) -> Self {
        ScimResponse(match e {
            StoreError::Conflict { what } => {
                ScimError::uniqueness(format!("{what}; userName must be unique (ignoring case)."))
            }
            StoreError::Invalid(detail) => ScimError::invalid_value(format!("{detail}.")),
            StoreError::PreconditionFailed { current } => ScimError {
                status: 412,
                scim_type: None,
                detail: format!(
                    "The resource changed since it was read; its version is now W/\"{current}\"."
                ),
            },
            other => {
                tracing::error!(error = %other, "SCIM request failed");
                ScimError {
                    status: 500,
                    scim_type: None,
                    detail: "idflow could not complete the request; try again.".into(),
                }
            }
        })
    }
}

impl From<ActionError> for ScimResponse {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Refused(refusal) => ScimResponse(ScimError {
                status: 403,
                scim_type: None,
                detail: format!(
                    "Refused: {refusal}. A SCIM token may give, take or change Super Admin only if a Super Admin who still is one made it."
                ),
            }),
            ActionError::NotFound { detail, .. } => {
                ScimError::not_found(format!("{detail}.")).into()
            }
            ActionError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        scim_json(
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &self.0.body(),
        )
    }
}

pub(crate) fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, SCIM_JSON)],
        body.to_string(),
    )
        .into_response()
}

/// The SCIM client behind a request, as the token check found it.
#[derive(Clone)]
pub(crate) struct Client {
    pub(crate) token: ScimToken,
    pub(crate) address: Option<String>,
    pub(crate) request_id: Option<String>,
}

impl Client {
    pub(crate) fn actor(&self) -> Actor {
        let (token_id, name) = (self.token.id, self.token.name.clone());
        if self.token.self_check {
            Actor::ScimSelfCheck { token_id, name }
        } else {
            Actor::ScimClient { token_id, name }
        }
    }

    /// The token as the domain's actions judge it: it provisions users, groups and
    /// roles, but gives, takes or changes Super Admin only when an operator made it or a
    /// Super Admin who still is one.
    pub(crate) async fn acting(
        &self,
        store: &domain::store::Store,
    ) -> Result<Acting, ScimResponse> {
        let super_admin = self.token.created_by_operator
            || match self.token.created_by {
                Some(maker) => match store.user(UserId(maker)).await? {
                    Some(user) if user.status == domain::directory::UserStatus::Active => store
                        .rights_of(&user)
                        .await?
                        .roles()
                        .contains(&Role::SuperAdmin),
                    _ => false,
                },
                None => false,
            };
        let role = if super_admin {
            Role::SuperAdmin
        } else {
            Role::WorkflowsAdministrator
        };
        Ok(Acting {
            actor: self.actor(),
            rights: domain::access::Rights::of(role),
            person: None,
            client_address: self.address.clone(),
            request_id: self.request_id.clone(),
            dry_run: false,
        })
    }

    /// A successful System Log entry of `action` by this token, about nothing yet (the
    /// store names what it makes once it has an id).
    pub(crate) fn new_entry(&self, action: Action) -> NewEntry {
        NewEntry::new(action, Outcome::Success, self.actor())
            .from_request(self.address.clone(), self.request_id.clone())
    }

    pub(crate) fn entry(&self, action: Action, user: &User) -> NewEntry {
        self.new_entry(action)
            .target(domain::actions::user_target(user))
    }
}

async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let address = client_address(&state, request.headers(), peer_address(&request));
    let request_id = request_id(request.headers());
    let secret = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let token = match &secret {
        Some(secret) => match state.store.authenticate_scim_token(secret).await {
            Ok(token) => token,
            Err(err) => return ScimResponse::from(err).into_response(),
        },
        None => None,
    };
    let Some(token) = token else {
        let reason = if secret.is_some() {
            "unknown or revoked token"
        } else {
            "no bearer token"
        };
        let entry = NewEntry::new(Action::ScimAuthFailure, Outcome::Failure, Actor::System)
            .reason(reason)
            .from_request(address, request_id);
        if let Err(err) = state.store.append_audit(&entry).await {
            tracing::error!(error = %err, "could not log a refused SCIM request");
        }
        let mut response = ScimResponse(ScimError {
            status: 401,
            scim_type: None,
            detail: "A valid SCIM bearer token is required (Authorization: Bearer …). Create one in Settings or with `idflow admin scim-token create`.".into(),
        })
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"idflow SCIM\""),
        );
        return response;
    };
    let client = Client {
        token,
        address,
        request_id,
    };
    request.extensions_mut().insert(client.clone());
    let method = request.method().clone();
    let call = format!(
        "{method} /scim/v2{}",
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    log_call(&state, &client, &method, &path, call, response).await
}

/// Every SCIM call reaches the System Log: successful writes log themselves with the
/// change (in its transaction); reads and refused writes are logged here, a refusal
/// with the status and the error's detail.
async fn log_call(
    state: &AppState,
    client: &Client,
    method: &axum::http::Method,
    path: &str,
    call: String,
    response: Response,
) -> Response {
    use axum::http::Method;
    let status = response.status();
    let is_read = *method == Method::GET || path.ends_with("/.search");
    if !is_read && status.is_success() {
        return response;
    }
    let on_groups = path.starts_with("/Groups");
    let action = match (method, on_groups) {
        _ if is_read => Action::ScimRead,
        (&Method::POST, false) => Action::ScimUserCreate,
        (&Method::DELETE, false) => Action::ScimUserDelete,
        (_, false) => Action::ScimUserUpdate,
        (&Method::POST, true) => Action::ScimGroupCreate,
        (&Method::DELETE, true) => Action::ScimGroupDelete,
        (_, true) => Action::ScimGroupUpdate,
    };
    let (response, detail) = if status.is_success() {
        (response, None)
    } else {
        // Error bodies are small SCIM JSON; keep the detail for the log.
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .unwrap_or_default();
        let detail = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_string));
        (
            Response::from_parts(parts, axum::body::Body::from(bytes)),
            detail,
        )
    };
    let outcome = if status.is_success() {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    let mut entry = NewEntry::new(action, outcome, client.actor())
        .target(Target {
            kind: "scim".into(),
            id: String::new(),
            display: call.chars().take(300).collect(),
        })
        .from_request(client.address.clone(), client.request_id.clone());
    if !status.is_success() {
        entry = entry.reason(format!(
            "{}: {}",
            status.as_u16(),
            detail.unwrap_or_default()
        ));
    }
    if let Err(err) = state.store.append_audit(&entry).await {
        tracing::error!(error = %err, "could not log a SCIM call");
    }
    response
}

async fn unknown() -> ScimResponse {
    ScimError::not_found("There is no such SCIM endpoint. idflow serves /Users, /Groups, /Schemas, /ResourceTypes and /ServiceProviderConfig.").into()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    pub(crate) filter: Option<String>,
    pub(crate) start_index: Option<String>,
    pub(crate) count: Option<String>,
    pub(crate) attributes: Option<String>,
    pub(crate) excluded_attributes: Option<String>,
}

impl ListQuery {
    /// The 1-based start, the page size (at most [`MAX_RESULTS`]) and the parsed filter.
    pub(crate) fn window(&self) -> Result<(usize, usize, Option<scim::filter::Parsed>), ScimError> {
        let start = integer(self.start_index.as_deref(), "startIndex")?
            .unwrap_or(1)
            .max(1) as usize;
        let count = integer(self.count.as_deref(), "count")?
            .unwrap_or(100)
            .clamp(0, MAX_RESULTS as i64) as usize;
        let filter = self
            .filter
            .as_deref()
            .map(scim::filter::parse)
            .transpose()?;
        Ok((start, count, filter))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Projection {
    pub(crate) attributes: Option<String>,
    pub(crate) excluded_attributes: Option<String>,
}

pub(crate) fn integer(text: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    text.map(|t| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not {t:?}")))
    })
    .transpose()
}

/// A SearchRequest body read as the list query it stands for.
pub(crate) fn search_query(body: &Bytes) -> Result<ListQuery, ScimError> {
    let body = body_json(body)?;
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("A SearchRequest must be a JSON object."))?;
    let text = |name: &str| -> Option<String> {
        scim::get_ci(object, name).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        })
    };
    Ok(ListQuery {
        filter: text("filter"),
        start_index: text("startIndex"),
        count: text("count"),
        attributes: text("attributes"),
        excluded_attributes: text("excludedAttributes"),
    })
}

/// Where the resource `id` served at `/scim/v2/{endpoint}` lives.
pub(crate) fn location(base: &str, endpoint: &str, id: impl std::fmt::Display) -> String {
    format!("{base}/scim/v2/{endpoint}/{id}")
}

/// A resource's weak ETag: its version.
pub(crate) fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// A resource's `meta`.
pub(crate) fn meta(
    resource_type: &str,
    created: chrono::DateTime<chrono::Utc>,
    modified: chrono::DateTime<chrono::Utc>,
    location: String,
    version: i64,
) -> Value {
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "resourceType": resource_type,
        "created": time(created),
        "lastModified": time(modified),
        "location": location,
        "version": etag(version),
    })
}

/// One resource answered: projected as the client asked, with its ETag, and with its
/// `Location` when it was just made.
pub(crate) fn resource_response(
    status: StatusCode,
    resource: Value,
    version: i64,
    projection: &Projection,
) -> Response {
    let location = resource
        .pointer("/meta/location")
        .and_then(Value::as_str)
        .map(str::to_string);
    let body = scim::projection::project(
        resource,
        projection.attributes.as_deref(),
        projection.excluded_attributes.as_deref(),
    );
    let mut response = scim_json(status, &body);
    if let Ok(tag) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    if status == StatusCode::CREATED
        && let Some(Ok(location)) = location.as_deref().map(HeaderValue::from_str)
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A PATCH that met a newer version of `what` each time it tried.
pub(crate) fn kept_changing(what: &str) -> ScimResponse {
    ScimError {
        status: 409,
        scim_type: None,
        detail: format!("The {what} kept changing while this PATCH applied; send it again."),
    }
    .into()
}

/// One page of matching resources as a ListResponse, projected as the query asks.
pub(crate) fn page_of(
    matching: Vec<Value>,
    start: usize,
    count: usize,
    query: &ListQuery,
) -> Result<Response, ScimResponse> {
    let total = matching.len();
    let page = matching.into_iter().skip(start - 1).take(count).collect();
    page_counted(page, total, start, query)
}

/// A page already cut (from place `start`, 1-based) of `total` matching resources as a
/// ListResponse, projected as the query asks.
pub(crate) fn page_counted(
    page: Vec<Value>,
    total: usize,
    start: usize,
    query: &ListQuery,
) -> Result<Response, ScimResponse> {
    let page: Vec<Value> = page
        .into_iter()
        .map(|r| {
            scim::projection::project(
                r,
                query.attributes.as_deref(),
                query.excluded_attributes.as_deref(),
            )
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    ))
}

pub(crate) fn body_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("The body is not valid JSON: {e}")))
}

pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ScimError> {
    let Some(value) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let value = value.trim();
    if value == "*" {
        return Ok(None);
    }
    value
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            ScimError::invalid_value(format!(
                "If-Match {value:?} is not a version idflow gave out"
            ))
        })
}
