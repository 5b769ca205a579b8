//! Form posts from the Assignments page: assign, unassign and change a user's role, map
//! a group to a role (push group), provision a user again, convert direct assignments to
//! a group assignment; and the access review as CSV. The entry-point table has already
//! checked the caller may manage assignments (or, for the export, view them); the
//! domain's actions judge giving, changing or taking roles and keep one Super Admin.

use crate::AppState;
use crate::forms::{
    Fields, Origin, action_failed, done, load_user, refused, store_failed, user_target,
};
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::access::Role;
use domain::actions::directory as act;
use domain::audit::{Action, Target};
use domain::directory::{GroupId, User, UserId};
use domain::store::WriteOutcome;
use uuid::Uuid;

const PAGE: &str = "/assignments";

fn parse_role(value: &str) -> Option<Role> {
    value.parse().ok()
}

/// Changes `user`'s direct role to `role`, with its System Log entry and events; the
/// action judges whether the caller may.
async fn change_role(
    state: &AppState,
    origin: &Origin,
    user: User,
    role: Role,
    notice: &str,
) -> Response {
    let entry = origin
        .entry(Action::RoleChange, user_target(&user))
        .reason(format!("{} → {}", user.role.label(), role.label()));
    match act::set_user_role(&state.store, &origin.acting(), &user, role, &entry).await {
        Ok(WriteOutcome::Updated(_)) => done(PAGE, notice),
        Ok(WriteOutcome::Unchanged(_)) => done(PAGE, "unchanged"),
        Err(err) => action_failed(PAGE, err),
    }
}

/// `POST /assignments/users`: gives a user (by user name) a direct role.
pub async fn assign_user(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    let fields = Fields::read(&state, request).await;
    let Some(role) = parse_role(fields.get("role")).filter(|r| *r != Role::UnassignedUser) else {
        return refused(PAGE, "role");
    };
    let user = match state.store.user_by_name(fields.get("user_name")).await {
        Ok(Some(user)) => user,
        Ok(None) => return refused(PAGE, "no-user"),
        Err(err) => return store_failed(PAGE, err),
    };
    change_role(&state, &origin, user, role, "assigned").await
}

/// `POST /assignments/users/{id}/role`: changes a user's direct role.
pub async fn change_user_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let fields = Fields::read(&state, request).await;
    let Some(role) = parse_role(fields.get("role")) else {
        return refused(PAGE, "role");
    };
    let user = match load_user(&state, &id, PAGE).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let notice = if role == Role::UnassignedUser {
        "unassigned"
    } else {
        "role-changed"
    };
    change_role(&state, &origin, user, role, notice).await
}

/// `POST /assignments/users/{id}/unassign`: takes away a user's direct role.
pub async fn unassign_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let user = match load_user(&state, &id, PAGE).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    change_role(&state, &origin, user, Role::UnassignedUser, "unassigned").await
}

/// `POST /assignments/users/{id}/provision`: sends the user's assignment again.
pub async fn provision_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let user = match load_user(&state, &id, PAGE).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let entry = origin.entry(Action::UserProvision, user_target(&user));
    match act::provision_user(&state.store, &origin.acting(), &user, &entry).await {
        Ok(_) => done(PAGE, "provisioned"),
        Err(err) => action_failed(PAGE, err),
    }
}

async fn map_group(state: &AppState, origin: &Origin, group: &str, role: Option<Role>) -> Response {
    let Ok(id) = Uuid::parse_str(group).map(GroupId) else {
        return refused(PAGE, "no-group");
    };
    match act::map_group(&state.store, &origin.acting(), id, role).await {
        Ok(before) if before == role => done(PAGE, "unchanged"),
        Ok(_) if role.is_some() => done(PAGE, "mapped"),
        Ok(_) => done(PAGE, "unmapped"),
        Err(err) => action_failed(PAGE, err),
    }
}

/// `POST /assignments/groups`: maps a group to a role; its members hold that role.
pub async fn map_group_role(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    let fields = Fields::read(&state, request).await;
    let Some(role) = parse_role(fields.get("role")).filter(|r| *r != Role::UnassignedUser) else {
        return refused(PAGE, "role");
    };
    map_group(&state, &origin, fields.get("group_id"), Some(role)).await
}

/// `POST /assignments/groups/{id}/unmap`: the group's members no longer hold its role.
pub async fn unmap_group_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    map_group(&state, &origin, &id, None).await
}

/// `POST /assignments/convert`: the chosen directly assigned users join a mapped group
/// and lose their direct role.
pub async fn convert_assignments(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    let fields = Fields::read(&state, request).await;
    let Ok(group) = Uuid::parse_str(fields.get("group_id")).map(GroupId) else {
        return refused(PAGE, "no-group");
    };
    let users: Result<Vec<UserId>, _> = fields
        .all("user_id")
        .into_iter()
        .map(|u| Uuid::parse_str(u).map(UserId))
        .collect();
    let Ok(users) = users else {
        return refused(PAGE, "gone");
    };
    match act::convert_assignments(&state.store, &origin.acting(), group, &users).await {
        Ok(_) => done(PAGE, "converted"),
        Err(err) => action_failed(PAGE, err),
    }
}

/// `GET /assignments/access-review.csv`: who has what, through which path.
pub async fn access_review_csv(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    let rows = match state.store.access_review().await {
        Ok(rows) => rows,
        Err(err) => return store_failed(PAGE, err),
    };
    let Ok(csv) = domain::assignments::access_review_csv(&rows) else {
        return refused(PAGE, "unavailable");
    };
    let entry = origin.entry(
        Action::AccessReviewExport,
        Target {
            kind: "access_review".into(),
            id: String::new(),
            display: format!("{} rows", rows.len()),
        },
    );
    if let Err(err) = state.store.append_audit(&entry).await {
        return store_failed(PAGE, err);
    }
    let filename = format!(
        "idflow-access-review-{}.csv",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        csv,
    )
        .into_response()
}
