//! `/api/v1/flows`: list, read, create, save a version, turn on and off, export, delete.

use super::{ApiCaller, ApiQuery, ApiResult, ListQuery, Page, Problem, problem, uuid_of};
use crate::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use domain::access::Permission;
use domain::flows::FlowId;
use domain::store::FlowSummary;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A flow as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct FlowItem {
    id: String,
    name: String,
    /// The folder it is in; the top level when absent.
    folder: Option<uuid::Uuid>,
    enabled: bool,
    /// Its trigger's kind, such as `directory.user_deactivated`.
    trigger: String,
    /// Its current version.
    version: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    /// The current version's definition (when one flow is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    definition: Option<Value>,
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
            definition: None,
        }
    }
}

/// `GET /api/v1/flows`: the flows the token's person may see, by id (oldest first).
#[utoipa::path(
    get,
    path = "/api/v1/flows",
    tag = "flows",
    params(super::ListQuery),
    responses((status = 200, description = "A page of the flows the token's person may see", body = super::Page<FlowItem>), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn flows(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult {
    let visible: Vec<FlowSummary> = state
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
        .collect();
    super::page_by_id(
        "/api/v1/flows",
        visible,
        |f| f.id.0,
        |f| FlowItem::from(f),
        &query,
    )
}

/// The flow `id` if the token's person may see it; 404 otherwise (as for none at all).
pub(super) async fn visible_flow(
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
#[utoipa::path(
    get,
    path = "/api/v1/flows/{id}",
    tag = "flows",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The flow with its current definition", body = FlowItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn flow(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let flow = visible_flow(&state, &caller, &id).await?;
    let definition = state.store.flow_definition(flow.id, flow.version).await?;
    let item = FlowItem {
        definition: Some(serde_json::to_value(definition.as_deref()).unwrap_or(Value::Null)),
        ..FlowItem::from(&flow)
    };
    Ok(Json(item).into_response())
}

async fn set_enabled(state: AppState, caller: ApiCaller, id: String, enabled: bool) -> ApiResult {
    let flow = visible_flow(&state, &caller, &id).await?;
    domain::actions::flows::set_enabled(&state.store, &caller.acting, &flow, enabled).await?;
    let flow = state.store.flow_summary(flow.id).await?.unwrap_or(flow);
    Ok(Json(FlowItem::from(&flow)).into_response())
}

/// `POST /api/v1/flows/{id}/enable`: turns the flow on; it acts for the token's person
/// from then on. Refused (409) with the reason when its problems or rights stop it.
#[utoipa::path(
    post,
    path = "/api/v1/flows/{id}/enable",
    tag = "flows",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The flow, on", body = FlowItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn enable(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    set_enabled(state, caller, id, true).await
}

/// `POST /api/v1/flows/{id}/disable`: turns the flow off.
#[utoipa::path(
    post,
    path = "/api/v1/flows/{id}/disable",
    tag = "flows",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The flow, off", body = FlowItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn disable(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    set_enabled(state, caller, id, false).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct FolderQuery {
    /// The folder to create it in (its id); the top level when absent.
    folder: Option<String>,
}

/// `POST /api/v1/flows?folder=ID` with a flow's JSON (as `GET …/export` or the builder
/// gives it): created off, acting for the token's person.
#[utoipa::path(
    post,
    path = "/api/v1/flows",
    tag = "flows",
    params(FolderQuery),
    request_body(content = Object, description = "A flow's JSON, as an export or the builder gives it"),
    responses((status = 201, description = "The flow, created off", body = FlowItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    ApiQuery(into): ApiQuery<FolderQuery>,
    body: axum::body::Bytes,
) -> ApiResult {
    let definition: domain::flows::Flow = super::json_body(&body, "a flow's JSON")?;
    let folder = match into.folder.as_deref().filter(|f| !f.is_empty()) {
        Some(id) => {
            let id = uuid::Uuid::parse_str(id).map_err(|_| no_folder())?;
            if caller.acting.rights.in_folder(id).is_none() {
                return Err(no_folder());
            }
            Some(id)
        }
        None => None,
    };
    let made = domain::actions::flows::create_flow(
        &state.store,
        &caller.acting,
        &definition,
        folder,
        Some("created through the REST API".into()),
    )
    .await?;
    let mut response = (StatusCode::CREATED, Json(FlowItem::from(&made))).into_response();
    if let Ok(location) = format!("/api/v1/flows/{}", made.id).parse() {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

fn no_folder() -> Problem {
    problem(
        StatusCode::NOT_FOUND,
        "There is no such folder, or it is not yours to see.",
    )
}

/// One saved version, as the API lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct VersionItem {
    version: i64,
    author: String,
    created_at: chrono::DateTime<chrono::Utc>,
    current: bool,
}

/// Paging through a flow's versions, newest first.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct VersionsQuery {
    /// The versions older than this one (the cursor a page gave).
    #[param(minimum = 1)]
    after: Option<i64>,
    /// Versions per page, 1 to 200 (50 by default).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// `GET /api/v1/flows/{id}/versions`: every saved version, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/flows/{id}/versions",
    tag = "flows",
    params(("id" = uuid::Uuid, Path, description = "Its id"), VersionsQuery),
    responses((status = 200, description = "Every saved version, newest first", body = super::Page<VersionItem>), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn versions(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<VersionsQuery>,
) -> ApiResult {
    let flow = visible_flow(&state, &caller, &id).await?;
    let limit = super::page_size(query.limit)? as usize;
    let mut versions: Vec<VersionItem> = state
        .store
        .flow_versions(flow.id)
        .await?
        .iter()
        .filter(|v| query.after.is_none_or(|after| v.version < after))
        .map(|v| VersionItem {
            version: v.version,
            author: v.author.clone(),
            created_at: v.created_at,
            current: v.version == flow.version,
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.version));
    let more = versions.len() > limit;
    versions.truncate(limit);
    let next = more
        .then(|| versions.last().map(|v| v.version.to_string()))
        .flatten();
    Ok(super::paged(
        &format!("/api/v1/flows/{}/versions", flow.id),
        &[(
            "limit",
            query.limit.map(|l| l.to_string()).unwrap_or_default(),
        )],
        Page {
            items: versions,
            next,
        },
    ))
}

/// A new version of a flow.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(super) struct NewVersion {
    /// The version this one was edited from: refused (409) when someone saved a newer
    /// one meanwhile.
    based_on: i64,
    /// The flow's JSON.
    #[schema(value_type = Object)]
    definition: domain::flows::Flow,
}

/// `POST /api/v1/flows/{id}/versions` with `{"based_on": N, "definition": {…}}`: saves
/// the next version. A flow that was on and now has problems is turned off (`enabled`
/// says so).
#[utoipa::path(
    post,
    path = "/api/v1/flows/{id}/versions",
    tag = "flows",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    request_body(content = NewVersion),
    responses((status = 201, description = "The flow with its new version", body = FlowItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn save_version(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let flow = visible_flow(&state, &caller, &id).await?;
    let new: NewVersion = super::json_body(&body, "{\"based_on\": N, \"definition\": {…}}")?;
    let saved = domain::actions::flows::save_version(
        &state.store,
        &caller.acting,
        &flow,
        &new.definition,
        new.based_on,
        "saved through the REST API".into(),
    )
    .await
    .map_err(|err| match err {
        domain::actions::ActionError::Store(domain::store::StoreError::PreconditionFailed {
            current,
        }) => problem(
            StatusCode::CONFLICT,
            format!(
                "Version {current} was saved meanwhile; read the flow again and base yours on it."
            ),
        ),
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(FlowItem::from(&saved.flow))).into_response())
}

/// `GET /api/v1/flows/{id}/export`: the flow with its helper flows and the schemas of
/// the tables they name, as the console exports it.
#[utoipa::path(
    get,
    path = "/api/v1/flows/{id}/export",
    tag = "flows",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The flow with its helper flows and the schemas of its tables", body = Object), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn export(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let flow = visible_flow(&state, &caller, &id).await?;
    let bundle = crate::flows::bundle_of(&state, &caller.acting.rights, &[flow.id]).await?;
    Ok(Json(bundle).into_response())
}

/// `DELETE /api/v1/flows/{id}`: the flow, its versions and its history.
#[utoipa::path(
    delete,
    path = "/api/v1/flows/{id}",
    tag = "flows",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 204, description = "Deleted, with its versions and history"), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let flow = visible_flow(&state, &caller, &id).await?;
    domain::actions::flows::delete_flow(&state.store, &caller.acting, &flow).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
