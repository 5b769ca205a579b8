//! The SCIM 2.0 service provider at `/scim/v2` (RFC 7644): how identity providers
//! create, read, change and remove idflow's users. Requests carry a SCIM bearer token;
//! answers are `application/scim+json`, errors are SCIM error bodies.

use crate::AppState;
use crate::auth::{client_address, peer_address};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::access::Role;
use domain::actions::directory as act;
use domain::actions::{Acting, ActionError};
use domain::audit::{Action, Actor, NewEntry, Outcome, Target};
use domain::directory::{User, UserId, UserStatus};
use domain::scim::{self, IDFLOW_USER, LIST_RESPONSE, ScimError};
use domain::store::{ScimToken, StoreError, UserWrite, WriteOutcome};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

const SCIM_JSON: &str = "application/scim+json";
/// How often a PATCH is applied again when a concurrent change to the same resource
/// won the race (identity providers send several PATCHes to one group at once).
const PATCH_ATTEMPTS: u32 = 20;

/// A short, growing, jittered pause before another attempt.
async fn backoff(attempt: u32) {
    if attempt > 0 {
        let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
        tokio::time::sleep(std::time::Duration::from_millis(
            u64::from(attempt.min(10)) * 2 + jitter,
        ))
        .await;
    }
}

/// The most resources one page of a list answers with.
const MAX_RESULTS: usize = 200;

/// The `/scim/v2` routes, behind the bearer-token check.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(one_schema))
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", post(search))
        .route("/.search", post(search_all))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route("/Groups/.search", post(search_groups))
        .route(
            "/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .fallback(unknown)
        .layer(axum::middleware::from_fn_with_state(state, require_token))
}

/// A SCIM error as a response.
pub struct ScimResponse(ScimError);

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

fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, SCIM_JSON)],
        body.to_string(),
    )
        .into_response()
}

/// The SCIM client behind a request, as the token check found it.
#[derive(Clone)]
struct Client {
    token: ScimToken,
    address: Option<String>,
    request_id: Option<String>,
}

impl Client {
    fn actor(&self) -> Actor {
        Actor::ScimClient {
            token_id: self.token.id,
            name: self.token.name.clone(),
        }
    }

    /// The token as the domain's actions judge it: it provisions users, groups and
    /// roles, but gives, takes or changes Super Admin only when an operator made it or a
    /// Super Admin who still is one.
    async fn acting(&self, store: &domain::store::Store) -> Result<Acting, ScimResponse> {
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
        })
    }

    fn entry(&self, action: Action, user: &User) -> NewEntry {
        NewEntry::new(action, Outcome::Success, self.actor())
            .target(Target {
                kind: "user".into(),
                id: user.id.to_string(),
                display: user.user_name.clone(),
            })
            .from_request(self.address.clone(), self.request_id.clone())
    }
}

async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let address = client_address(&state, request.headers(), peer_address(&request));
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
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

async fn service_provider_config() -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://github.com/idflow/idflow#scim",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A SCIM token made in idflow's Settings or with `idflow admin scim-token create`.",
                "primary": true
            }],
            "meta": {"resourceType": "ServiceProviderConfig"}
        }),
    )
}

fn list(resources: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

async fn schemas(State(state): State<AppState>) -> Response {
    list(crate::scim_schemas::all(&state.public_url))
}

async fn one_schema(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimResponse> {
    crate::scim_schemas::all(&state.public_url)
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        })
        .map(|s| scim_json(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found(format!("No schema has the id {id:?}.")).into())
}

async fn resource_types(State(state): State<AppState>) -> Response {
    list(vec![
        user_resource_type(&state.public_url),
        group_resource_type(&state.public_url),
    ])
}

fn group_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "A group of idflow users",
        "schema": scim::CORE_GROUP,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/Group")}
    })
}

async fn resource_type(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimResponse> {
    if id.eq_ignore_ascii_case("User") {
        Ok(scim_json(
            StatusCode::OK,
            &user_resource_type(&state.public_url),
        ))
    } else if id.eq_ignore_ascii_case("Group") {
        Ok(scim_json(
            StatusCode::OK,
            &group_resource_type(&state.public_url),
        ))
    } else {
        Err(ScimError::not_found(format!("No resource type has the id {id:?}.")).into())
    }
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A user of the idflow console",
        "schema": scim::CORE_USER,
        "schemaExtensions": [
            {"schema": scim::ENTERPRISE_USER, "required": false},
            {"schema": IDFLOW_USER, "required": false}
        ],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/User")}
    })
}

/// A stored user as a SCIM User.
fn render(user: &User, base: &str) -> Value {
    let mut object = scim::user::resource(user);
    object.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": user.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": user.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": format!("{base}/scim/v2/Users/{}", user.id),
            "version": etag(user),
        }),
    );
    Value::Object(object)
}

fn etag(user: &User) -> String {
    format!("W/\"{}\"", user.version)
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.9), on top-level and
/// `parent.child` names; `id` and `schemas` are always returned.

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ListQuery {
    /// The 1-based start, the page size (at most [`MAX_RESULTS`]) and the parsed filter.
    fn window(&self) -> Result<(usize, usize, Option<scim::filter::Parsed>), ScimError> {
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
struct Projection {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

fn integer(text: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    text.map(|t| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not {t:?}")))
    })
    .transpose()
}

async fn list_users(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ScimResponse> {
    list_matching(&state, query).await
}

/// `POST /.search` and `POST /Users/.search` (RFC 7644 §3.4.3): a list query in a body.
async fn search(State(state): State<AppState>, body: Bytes) -> Result<Response, ScimResponse> {
    list_matching(&state, search_query(&body)?).await
}

/// `POST /.search` at the root: users and groups together.
async fn search_all(State(state): State<AppState>, body: Bytes) -> Result<Response, ScimResponse> {
    let query = search_query(&body)?;
    let (start, count, filter) = query.window()?;
    let users = state.store.all_users().await?;
    let groups = state.store.all_groups().await?;
    let matching: Vec<Value> = users
        .iter()
        .map(|u| render(u, &state.public_url))
        .chain(groups.iter().map(|g| render_group(g, &state.public_url)))
        .filter(|r| filter.as_ref().is_none_or(|f| scim::filter::matches(f, r)))
        .collect();
    page_of(matching, start, count, &query)
}

/// A SearchRequest body read as the list query it stands for.
fn search_query(body: &Bytes) -> Result<ListQuery, ScimError> {
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

async fn list_matching(state: &AppState, query: ListQuery) -> Result<Response, ScimResponse> {
    let (start, count, filter) = query.window()?;

    let users = match filter.as_ref().and_then(scim::filter::user_name_equality) {
        Some(name) => state.store.user_by_name(name).await?.into_iter().collect(),
        None => state.store.all_users().await?,
    };
    let matching: Vec<Value> = users
        .iter()
        .map(|u| render(u, &state.public_url))
        .filter(|r| filter.as_ref().is_none_or(|f| scim::filter::matches(f, r)))
        .collect();
    page_of(matching, start, count, &query)
}

/// One page of matching resources as a ListResponse, projected as the query asks.
fn page_of(
    matching: Vec<Value>,
    start: usize,
    count: usize,
    query: &ListQuery,
) -> Result<Response, ScimResponse> {
    let total = matching.len();
    let page: Vec<Value> = matching
        .into_iter()
        .skip(start - 1)
        .take(count)
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

fn no_user(id: impl std::fmt::Display) -> ScimError {
    ScimError::not_found(format!("No user has the id {id}."))
}

fn parse_id(id: &str) -> Result<UserId, ScimError> {
    Uuid::parse_str(id)
        .map(UserId)
        .map_err(|_| ScimError::not_found(format!("No user has the id {id:?}.")))
}

fn body_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("The body is not valid JSON: {e}")))
}

fn user_response(status: StatusCode, user: &User, base: &str, projection: &Projection) -> Response {
    let body = scim::projection::project(
        render(user, base),
        projection.attributes.as_deref(),
        projection.excluded_attributes.as_deref(),
    );
    let mut response = scim_json(status, &body);
    if let Ok(tag) = HeaderValue::from_str(&etag(user)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!("{base}/scim/v2/Users/{}", user.id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(projection): Query<Projection>,
) -> Result<Response, ScimResponse> {
    let user = state
        .store
        .user(parse_id(&id)?)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("No user has the id {id:?}.")))?;
    Ok(user_response(
        StatusCode::OK,
        &user,
        &state.public_url,
        &projection,
    ))
}

/// The stored state a client's User sets, given what the user was before (`None`
/// for a new user). A missing `active` keeps the status; a missing role keeps the role
/// for a PUT (Okta sends whole users without it) but means Unassigned after a PATCH
/// removed it.
fn to_write(
    input: scim::user::UserInput,
    current: Option<&User>,
    absent_role_keeps: bool,
) -> UserWrite {
    let status = match (input.active, current.map(|u| u.status)) {
        (Some(false), _) => UserStatus::Deprovisioned,
        // A suspension is the console's; the identity provider's `active: true` does not lift it.
        (Some(true), Some(UserStatus::Suspended)) => UserStatus::Suspended,
        (Some(true), _) => UserStatus::Active,
        (None, Some(status)) => status,
        (None, None) => UserStatus::Active,
    };
    let mut attributes = input.attributes;
    if input.active.is_none() && !absent_role_keeps {
        attributes.insert("active".into(), Value::Null);
    }
    UserWrite {
        user_name: input.user_name,
        external_id: input.external_id,
        status,
        role: input
            .role
            .or(current.filter(|_| absent_role_keeps).map(|u| u.role))
            .unwrap_or(Role::UnassignedUser),
        display_name: input.display_name,
        email: input.email,
        attributes,
    }
}

fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ScimError> {
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

async fn create_user(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let input = scim::user::parse(&body_json(&body)?)?;
    let write = to_write(input, None, false);
    // The store names the new user as the entry's target once it has an id.
    let entry = NewEntry::new(Action::ScimUserCreate, Outcome::Success, client.actor())
        .from_request(client.address.clone(), client.request_id.clone());
    let user = act::create_user(
        &state.store,
        &client.acting(&state.store).await?,
        &write,
        &entry,
    )
    .await?;
    Ok(user_response(
        StatusCode::CREATED,
        &user,
        &state.public_url,
        &Projection::default(),
    ))
}

async fn replace_user(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let id = parse_id(&id)?;
    let input = scim::user::parse(&body_json(&body)?)?;
    let current = state.store.user(id).await?.ok_or_else(|| no_user(id))?;
    let write = to_write(input, Some(&current), true);
    let outcome = act::update_user(
        &state.store,
        &client.acting(&state.store).await?,
        &current,
        &write,
        if_match(&headers)?,
        &client.entry(Action::ScimUserUpdate, &current),
    )
    .await?;
    Ok(user_response(
        StatusCode::OK,
        outcome.user(),
        &state.public_url,
        &Projection::default(),
    ))
}

async fn patch_user(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let id = parse_id(&id)?;
    let body = body_json(&body)?;
    let client_version = if_match(&headers)?;
    let acting = client.acting(&state.store).await?;
    // Read, patch, write with the version read; a concurrent change makes the write
    // fail, and the patch is applied again to the newer state.
    for attempt in 0..PATCH_ATTEMPTS {
        backoff(attempt).await;
        let current = state.store.user(id).await?.ok_or_else(|| no_user(id))?;
        if let Some(v) = client_version
            && v != current.version
        {
            return Err(StoreError::PreconditionFailed {
                current: current.version,
            }
            .into());
        }
        let mut resource = render(&current, &state.public_url);
        scim::patch::apply(&mut resource, &body)?;
        let input = scim::user::parse(&resource)?;
        let write = to_write(input, Some(&current), false);
        let entry = client.entry(Action::ScimUserUpdate, &current);
        match act::update_user(
            &state.store,
            &acting,
            &current,
            &write,
            Some(current.version),
            &entry,
        )
        .await
        {
            Ok(WriteOutcome::Updated(user)) | Ok(WriteOutcome::Unchanged(user)) => {
                return Ok(user_response(
                    StatusCode::OK,
                    &user,
                    &state.public_url,
                    &Projection::default(),
                ));
            }
            Err(ActionError::Store(StoreError::PreconditionFailed { .. }))
                if client_version.is_none() =>
            {
                continue;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(ScimError {
        status: 409,
        scim_type: None,
        detail: "The user kept changing while this PATCH applied; send it again.".into(),
    }
    .into())
}

async fn delete_user(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
) -> Result<Response, ScimResponse> {
    let id = parse_id(&id)?;
    let current = state.store.user(id).await?.ok_or_else(|| no_user(id))?;
    act::delete_user(
        &state.store,
        &client.acting(&state.store).await?,
        &current,
        &client.entry(Action::ScimUserDelete, &current),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- Groups ----------------------------------------------------------------------

use domain::directory::{Group, GroupId};
use domain::store::GroupWrite;

fn render_group(group: &Group, base: &str) -> Value {
    let mut object = group.attributes.clone();
    object.insert("schemas".into(), json!([scim::CORE_GROUP]));
    object.insert("id".into(), Value::String(group.id.to_string()));
    if let Some(external) = &group.external_id {
        object.insert("externalId".into(), Value::String(external.clone()));
    }
    object.insert(
        "displayName".into(),
        Value::String(group.display_name.clone()),
    );
    let members: Vec<Value> = group
        .members
        .iter()
        .map(|m| {
            json!({
                "value": m.user_id.to_string(),
                "type": "User",
                "$ref": format!("{base}/scim/v2/Users/{}", m.user_id),
            })
        })
        .collect();
    object.insert("members".into(), Value::Array(members));
    object.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": group.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": group.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": format!("{base}/scim/v2/Groups/{}", group.id),
            "version": format!("W/\"{}\"", group.version),
        }),
    );
    Value::Object(object)
}

fn group_response(
    status: StatusCode,
    group: &Group,
    base: &str,
    projection: &Projection,
) -> Response {
    let body = scim::projection::project(
        render_group(group, base),
        projection.attributes.as_deref(),
        projection.excluded_attributes.as_deref(),
    );
    let mut response = scim_json(status, &body);
    if let Ok(tag) = HeaderValue::from_str(&format!("W/\"{}\"", group.version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!("{base}/scim/v2/Groups/{}", group.id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn group_write(input: scim::group::GroupInput) -> GroupWrite {
    GroupWrite {
        display_name: input.display_name,
        external_id: input.external_id,
        attributes: input.attributes,
        members: input.members.into_iter().map(UserId).collect(),
    }
}

fn parse_group_id(id: &str) -> Result<GroupId, ScimError> {
    Uuid::parse_str(id)
        .map(GroupId)
        .map_err(|_| ScimError::not_found(format!("No group has the id {id:?}.")))
}

fn no_group(id: impl std::fmt::Display) -> ScimError {
    ScimError::not_found(format!("No group has the id {id}."))
}

impl Client {
    fn group_entry(&self, action: Action, group: &Group) -> NewEntry {
        NewEntry::new(action, Outcome::Success, self.actor())
            .target(Target {
                kind: "group".into(),
                id: group.id.to_string(),
                display: group.display_name.clone(),
            })
            .from_request(self.address.clone(), self.request_id.clone())
    }
}

async fn list_groups(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ScimResponse> {
    list_matching_groups(&state, query).await
}

async fn search_groups(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    list_matching_groups(&state, search_query(&body)?).await
}

async fn list_matching_groups(
    state: &AppState,
    query: ListQuery,
) -> Result<Response, ScimResponse> {
    let (start, count, filter) = query.window()?;
    let groups = match filter
        .as_ref()
        .and_then(|f| scim::filter::equality_on(f, "displayName"))
    {
        Some(name) => state.store.group_by_name(name).await?.into_iter().collect(),
        None => state.store.all_groups().await?,
    };
    let matching: Vec<Value> = groups
        .iter()
        .map(|g| render_group(g, &state.public_url))
        .filter(|r| filter.as_ref().is_none_or(|f| scim::filter::matches(f, r)))
        .collect();
    page_of(matching, start, count, &query)
}

async fn get_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(projection): Query<Projection>,
) -> Result<Response, ScimResponse> {
    let group = state
        .store
        .group(parse_group_id(&id)?)
        .await?
        .ok_or_else(|| no_group(&id))?;
    Ok(group_response(
        StatusCode::OK,
        &group,
        &state.public_url,
        &projection,
    ))
}

async fn create_group(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let write = group_write(scim::group::parse(&body_json(&body)?)?);
    let entry = NewEntry::new(Action::ScimGroupCreate, Outcome::Success, client.actor())
        .from_request(client.address.clone(), client.request_id.clone());
    let group = act::create_group(
        &state.store,
        &client.acting(&state.store).await?,
        &write,
        &entry,
    )
    .await?;
    Ok(group_response(
        StatusCode::CREATED,
        &group,
        &state.public_url,
        &Projection::default(),
    ))
}

async fn replace_group(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let id = parse_group_id(&id)?;
    let write = group_write(scim::group::parse(&body_json(&body)?)?);
    let current = state.store.group(id).await?.ok_or_else(|| no_group(id))?;
    let entry = client.group_entry(Action::ScimGroupUpdate, &current);
    let (group, _) = act::update_group(
        &state.store,
        &client.acting(&state.store).await?,
        &current,
        if_match(&headers)?,
        &write,
        &entry,
    )
    .await?
    .ok_or_else(|| no_group(id))?;
    Ok(group_response(
        StatusCode::OK,
        &group,
        &state.public_url,
        &Projection::default(),
    ))
}

/// The members a PATCH adds and removes, when that is all it does: operations `add`
/// or `remove` (any case) on `members` with a value list, or `remove` on
/// `members[value eq "…"]`. `None` for anything else, which takes the general path.
fn member_changes(body: &Value) -> Option<(Vec<UserId>, Vec<UserId>)> {
    let operations = body
        .get("Operations")
        .or_else(|| body.get("operations"))?
        .as_array()?;
    let ids = |value: &Value| -> Option<Vec<UserId>> {
        value
            .as_array()?
            .iter()
            .map(|m| {
                m.get("value")?
                    .as_str()
                    .and_then(|v| Uuid::parse_str(v).ok())
                    .map(UserId)
            })
            .collect()
    };
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for op in operations {
        let kind = op.get("op")?.as_str()?.to_ascii_lowercase();
        let path = op.get("path")?.as_str()?.trim();
        let lower = path.to_ascii_lowercase();
        match (kind.as_str(), lower.as_str()) {
            ("add", "members") => add.extend(ids(op.get("value")?)?),
            ("remove", "members") => remove.extend(ids(op.get("value")?)?),
            ("remove", _) if lower.starts_with("members[value eq \"") && lower.ends_with("\"]") => {
                let inner = &path["members[value eq \"".len()..path.len() - 2];
                remove.push(UserId(Uuid::parse_str(inner).ok()?));
            }
            _ => return None,
        }
    }
    (!add.is_empty() || !remove.is_empty()).then_some((add, remove))
}

async fn patch_group(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let id = parse_group_id(&id)?;
    let body = body_json(&body)?;
    let client_version = if_match(&headers)?;
    let projected = uri
        .query()
        .is_some_and(|q| q.to_ascii_lowercase().contains("attributes="));
    let acting = client.acting(&state.store).await?;
    // Member additions and removals alone (Okta's push, Entra ID's member PATCHes) go
    // straight to the membership table: no reading and rewriting the whole group, and
    // no answer listing every member (204, as both expect).
    if client_version.is_none()
        && !projected
        && let Some((add, remove)) = member_changes(&body)
    {
        act::change_members(
            &state.store,
            &acting,
            id,
            &add,
            &remove,
            Action::ScimGroupUpdate,
            None,
        )
        .await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    for attempt in 0..PATCH_ATTEMPTS {
        backoff(attempt).await;
        let current = state.store.group(id).await?.ok_or_else(|| no_group(id))?;
        let mut resource = render_group(&current, &state.public_url);
        scim::patch::apply(&mut resource, &body)?;
        let write = group_write(scim::group::parse(&resource)?);
        let entry = client.group_entry(Action::ScimGroupUpdate, &current);
        match act::update_group(
            &state.store,
            &acting,
            &current,
            Some(client_version.unwrap_or(current.version)),
            &write,
            &entry,
        )
        .await
        {
            Ok(Some((group, _))) => {
                // Okta and Entra ID expect 204 or the group; the group answers both.
                return Ok(group_response(
                    StatusCode::OK,
                    &group,
                    &state.public_url,
                    &Projection::default(),
                ));
            }
            Ok(None) => return Err(no_group(id).into()),
            Err(ActionError::Store(StoreError::PreconditionFailed { .. }))
                if client_version.is_none() =>
            {
                continue;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(ScimError {
        status: 409,
        scim_type: None,
        detail: "The group kept changing while this PATCH applied; send it again.".into(),
    }
    .into())
}

async fn delete_group(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
) -> Result<Response, ScimResponse> {
    let id = parse_group_id(&id)?;
    let current = state.store.group(id).await?.ok_or_else(|| no_group(id))?;
    act::delete_group(
        &state.store,
        &client.acting(&state.store).await?,
        &current,
        &client.group_entry(Action::ScimGroupDelete, &current),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod member_change_tests {
    use super::*;

    const A: &str = "0190aaaa-0000-7000-8000-000000000001";
    const B: &str = "0190aaaa-0000-7000-8000-000000000002";

    fn ids(list: &[&str]) -> Vec<UserId> {
        list.iter()
            .map(|s| UserId(Uuid::parse_str(s).unwrap()))
            .collect()
    }

    #[test]
    fn okta_and_entra_member_forms_are_member_changes() {
        let okta = json!({"Operations": [
            {"op": "add", "path": "members", "value": [{"value": A, "display": "a"}]},
            {"op": "remove", "path": format!("members[value eq \"{B}\"]")}
        ]});
        assert_eq!(member_changes(&okta), Some((ids(&[A]), ids(&[B]))));
        let entra = json!({"Operations": [{"op": "Remove", "path": "members", "value": [{"value": A}, {"value": B}]}]});
        assert_eq!(member_changes(&entra), Some((vec![], ids(&[A, B]))));
    }

    #[test]
    fn anything_else_takes_the_general_path() {
        for body in [
            json!({"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}),
            json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "not-a-uuid"}]}]}),
            json!({"Operations": [{"op": "replace", "path": "members", "value": [{"value": A}]}]}),
            json!({"Operations": [{"op": "remove", "path": "members"}]}),
            json!({"Operations": []}),
            json!({}),
        ] {
            assert_eq!(member_changes(&body), None, "{body}");
        }
    }
}
