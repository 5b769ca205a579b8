//! `/api/v1/users`, `/api/v1/groups` (read; the directory changes through SCIM and the
//! console) and `/api/v1/connections` (list, test; never a secret).

use super::{ApiCaller, ApiQuery, ApiResult, ListQuery, problem};
use crate::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use domain::directory::{Group, GroupId, User, UserId};
use serde::Serialize;

/// A user as the API shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct UserItem {
    id: String,
    user_name: String,
    display_name: Option<String>,
    email: Option<String>,
    role: String,
    status: String,
    external_id: Option<String>,
    /// Every other SCIM attribute, as provisioned.
    #[schema(value_type = Object)]
    attributes: serde_json::Map<String, serde_json::Value>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    last_sign_in_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The groups they are in (when one user is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<GroupRef>>,
}

/// A group a user is in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct GroupRef {
    id: String,
    display_name: String,
}

impl From<&User> for UserItem {
    fn from(u: &User) -> UserItem {
        UserItem {
            id: u.id.to_string(),
            user_name: u.user_name.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            role: u.role.as_str().to_string(),
            status: u.status.as_str().to_string(),
            external_id: u.external_id.clone(),
            attributes: u.attributes.clone(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_sign_in_at: u.last_sign_in_at,
            groups: None,
        }
    }
}

/// `GET /api/v1/users`: every user, by id.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "directory",
    params(super::ListQuery),
    responses((status = 200, description = "A page of users", body = super::Page<UserItem>), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn users(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult {
    // One more than a page, from the cursor on: the page and whether there is a next.
    let after = super::cursor(&query)?;
    let limit = super::page_size(query.limit)? as usize;
    let users: Vec<User> = state.store.users_after(after, limit + 1).await?;
    super::page_by_id(
        "/api/v1/users",
        users,
        |u| u.id.0,
        |u| UserItem::from(u),
        &query,
    )
}

/// `GET /api/v1/users/{id}`: the user, with the groups they are in.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "directory",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The user with their groups", body = UserItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn user(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let missing = || problem(StatusCode::NOT_FOUND, "There is no such user.");
    let id = uuid::Uuid::parse_str(&id).map_err(|_| missing())?;
    let user = state.store.user(UserId(id)).await?.ok_or_else(missing)?;
    let groups = state.store.groups_of(user.id).await?;
    let item = UserItem {
        groups: Some(
            groups
                .iter()
                .map(|(id, name)| GroupRef {
                    id: id.to_string(),
                    display_name: name.clone(),
                })
                .collect(),
        ),
        ..UserItem::from(&user)
    };
    Ok(Json(item).into_response())
}

/// A group as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct GroupItem {
    id: String,
    display_name: String,
    external_id: Option<String>,
    /// How many members it has.
    member_count: usize,
    /// Its members (when one group is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    members: Option<Vec<domain::directory::Member>>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<&Group> for GroupItem {
    fn from(g: &Group) -> GroupItem {
        GroupItem {
            id: g.id.to_string(),
            display_name: g.display_name.clone(),
            external_id: g.external_id.clone(),
            member_count: g.members.len(),
            members: None,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

/// `GET /api/v1/groups`: every group, by id, with its member count.
#[utoipa::path(
    get,
    path = "/api/v1/groups",
    tag = "directory",
    params(super::ListQuery),
    responses((status = 200, description = "A page of groups", body = super::Page<GroupItem>), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn groups(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult {
    let groups: Vec<Group> = state.store.all_groups().await?;
    super::page_by_id(
        "/api/v1/groups",
        groups,
        |g| g.id.0,
        |x| GroupItem::from(x),
        &query,
    )
}

/// `GET /api/v1/groups/{id}`: the group with its members.
#[utoipa::path(
    get,
    path = "/api/v1/groups/{id}",
    tag = "directory",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The group with its members", body = GroupItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn group(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let missing = || problem(StatusCode::NOT_FOUND, "There is no such group.");
    let id = uuid::Uuid::parse_str(&id).map_err(|_| missing())?;
    let group = state.store.group(GroupId(id)).await?.ok_or_else(missing)?;
    let item = GroupItem {
        members: Some(group.members.clone()),
        ..GroupItem::from(&group)
    };
    Ok(Json(item).into_response())
}

/// A connection as the API shows it: never a secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ConnectionItem {
    id: String,
    name: String,
    kind: String,
    settings: std::collections::BTreeMap<String, String>,
    /// Which secrets it holds (never their values).
    secret_fields: Vec<String>,
    /// The folders whose flows may use it; absent: every flow.
    folders: Option<Vec<uuid::Uuid>>,
    /// The last test's `at`, `ok` and `message`.
    #[schema(value_type = Option<Object>)]
    last_test: Option<serde_json::Value>,
    updated_at: chrono::DateTime<chrono::Utc>,
    updated_by: String,
}

impl From<&domain::store::Connection> for ConnectionItem {
    fn from(c: &domain::store::Connection) -> ConnectionItem {
        ConnectionItem {
            id: c.id.to_string(),
            name: c.name.clone(),
            kind: c.kind.clone(),
            settings: c.settings.clone(),
            secret_fields: c.secret_fields.clone(),
            folders: c.folders.clone(),
            last_test: c
                .last_test
                .as_ref()
                .map(|t| serde_json::json!({ "at": t.at, "ok": t.ok, "message": t.message })),
            updated_at: c.updated_at,
            updated_by: c.updated_by.clone(),
        }
    }
}

/// `GET /api/v1/connections`: every connection, oldest first, without its secrets.
#[utoipa::path(
    get,
    path = "/api/v1/connections",
    tag = "connections",
    params(super::ListQuery),
    responses((status = 200, description = "Every connection, without its secrets", body = super::Page<ConnectionItem>), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn connections(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult {
    let all = state.store.connections().await?;
    super::page_by_id(
        "/api/v1/connections",
        all,
        |c| c.id,
        |x| ConnectionItem::from(x),
        &query,
    )
}

/// `POST /api/v1/connections/{id}/test`: tests the connection as its kind says, keeps
/// the outcome and answers with it.
#[utoipa::path(
    post,
    path = "/api/v1/connections/{id}/test",
    tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The outcome of the test", body = TestBody), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn test_connection(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let missing = || problem(StatusCode::NOT_FOUND, "There is no such connection.");
    let id = uuid::Uuid::parse_str(&id).map_err(|_| missing())?;
    let connection = state.store.connection(id).await?.ok_or_else(missing)?;
    let outcome =
        domain::actions::connections::test(&state.store, &caller.acting, &connection).await?;
    Ok(Json(TestBody {
        ok: outcome.ok,
        message: outcome.message,
        at: outcome.at,
    })
    .into_response())
}

/// A connection test's outcome.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TestBody {
    ok: bool,
    message: String,
    at: chrono::DateTime<chrono::Utc>,
}
