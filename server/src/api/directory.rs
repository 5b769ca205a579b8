//! `/api/v1/users`, `/api/v1/groups` (read; the directory changes through SCIM and the
//! console) and `/api/v1/connections` (list, test; never a secret).

use super::{ApiCaller, ApiQuery, ApiResult, ListQuery, Page, Problem, page_size, paged, problem};
use crate::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use domain::directory::{Group, GroupId, User, UserId};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct UserItem {
    id: String,
    user_name: String,
    display_name: Option<String>,
    email: Option<String>,
    role: String,
    status: String,
    external_id: Option<String>,
    attributes: serde_json::Map<String, serde_json::Value>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    last_sign_in_at: Option<chrono::DateTime<chrono::Utc>>,
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
        }
    }
}

fn bad_cursor() -> Problem {
    problem(
        StatusCode::BAD_REQUEST,
        "after is not a cursor this API gave; start again without it.",
    )
}

/// `GET /api/v1/users`: every user, by id.
pub(super) async fn users(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult {
    let limit = page_size(query.limit)? as usize;
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(uuid::Uuid::parse_str(a).map_err(|_| bad_cursor())?),
        None => None,
    };
    let mut users: Vec<User> = state
        .store
        .all_users()
        .await?
        .into_iter()
        .filter(|u| after.is_none_or(|a| u.id.0 > a))
        .collect();
    users.sort_by_key(|u| u.id.0);
    let more = users.len() > limit;
    users.truncate(limit);
    let next = more
        .then(|| users.last().map(|u| u.id.to_string()))
        .flatten();
    Ok(paged(
        "/api/v1/users",
        &[(
            "limit",
            query.limit.map(|l| l.to_string()).unwrap_or_default(),
        )],
        Page {
            items: users.iter().map(UserItem::from).collect(),
            next,
        },
    ))
}

/// `GET /api/v1/users/{id}`: the user, with the groups they are in.
pub(super) async fn user(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let missing = || problem(StatusCode::NOT_FOUND, "There is no such user.");
    let id = uuid::Uuid::parse_str(&id).map_err(|_| missing())?;
    let user = state.store.user(UserId(id)).await?.ok_or_else(missing)?;
    let groups = state.store.groups_of(user.id).await?;
    let mut body = serde_json::to_value(UserItem::from(&user)).unwrap_or_default();
    body["groups"] = groups
        .iter()
        .map(|(id, name)| serde_json::json!({ "id": id.to_string(), "display_name": name }))
        .collect();
    Ok(Json(body).into_response())
}

#[derive(Debug, Serialize)]
struct GroupItem {
    id: String,
    display_name: String,
    external_id: Option<String>,
    members: usize,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<&Group> for GroupItem {
    fn from(g: &Group) -> GroupItem {
        GroupItem {
            id: g.id.to_string(),
            display_name: g.display_name.clone(),
            external_id: g.external_id.clone(),
            members: g.members.len(),
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

/// `GET /api/v1/groups`: every group, by id, with its member count.
pub(super) async fn groups(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult {
    let limit = page_size(query.limit)? as usize;
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(uuid::Uuid::parse_str(a).map_err(|_| bad_cursor())?),
        None => None,
    };
    let mut groups: Vec<Group> = state
        .store
        .all_groups()
        .await?
        .into_iter()
        .filter(|g| after.is_none_or(|a| g.id.0 > a))
        .collect();
    groups.sort_by_key(|g| g.id.0);
    let more = groups.len() > limit;
    groups.truncate(limit);
    let next = more
        .then(|| groups.last().map(|g| g.id.to_string()))
        .flatten();
    Ok(paged(
        "/api/v1/groups",
        &[(
            "limit",
            query.limit.map(|l| l.to_string()).unwrap_or_default(),
        )],
        Page {
            items: groups.iter().map(GroupItem::from).collect(),
            next,
        },
    ))
}

/// `GET /api/v1/groups/{id}`: the group with its members.
pub(super) async fn group(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let missing = || problem(StatusCode::NOT_FOUND, "There is no such group.");
    let id = uuid::Uuid::parse_str(&id).map_err(|_| missing())?;
    let group = state.store.group(GroupId(id)).await?.ok_or_else(missing)?;
    let mut body = serde_json::to_value(GroupItem::from(&group)).unwrap_or_default();
    body["members"] = serde_json::to_value(&group.members).unwrap_or_default();
    Ok(Json(body).into_response())
}

#[derive(Debug, Serialize)]
struct ConnectionItem {
    id: String,
    name: String,
    kind: String,
    settings: std::collections::BTreeMap<String, String>,
    /// Which secrets it holds (never their values).
    secret_fields: Vec<String>,
    /// The folders whose flows may use it; absent: every flow.
    folders: Option<Vec<uuid::Uuid>>,
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

/// `GET /api/v1/connections`: every connection, by name, without its secrets.
pub(super) async fn connections(State(state): State<AppState>) -> ApiResult {
    let mut all = state.store.connections().await?;
    all.sort_by_key(|c| c.name.to_lowercase());
    Ok(Json(Page {
        items: all.iter().map(ConnectionItem::from).collect(),
        next: None,
    })
    .into_response())
}

/// `POST /api/v1/connections/{id}/test`: tests the connection as its kind says, keeps
/// the outcome and answers with it.
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
    Ok(Json(serde_json::json!({
        "ok": outcome.ok,
        "message": outcome.message,
        "at": outcome.at,
    }))
    .into_response())
}
