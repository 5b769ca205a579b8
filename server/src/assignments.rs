//! Form posts from the Assignments page: assign, unassign and change a user's role, map
//! a group to a role (push group), provision a user again, convert direct assignments to
//! a group assignment; and the access review as CSV. The entry-point table has already
//! checked the caller may manage assignments (or, for the export, view them); giving,
//! changing or taking Super Admin is checked here, as is keeping one Super Admin.

use crate::AppState;
use crate::forms::{
    Fields, Origin, done, group_target, load_user, refused, save_user, store_failed, user_target,
};
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::access::{Permission, Role};
use domain::audit::{Action, Target};
use domain::directory::{GroupId, User, UserId};
use domain::store::{SuperAdminPath, UserWrite};
use uuid::Uuid;

const PAGE: &str = "/assignments";

fn parse_role(value: &str) -> Option<Role> {
    value.parse().ok()
}

/// Changes `user`'s direct role to `role`, with its System Log entry and events.
async fn change_role(
    state: &AppState,
    origin: &Origin,
    user: User,
    role: Role,
    notice: &str,
) -> Response {
    let touches_super_admin = user.role == Role::SuperAdmin || role == Role::SuperAdmin;
    if touches_super_admin && !origin.rights().allows(Permission::ManageSuperAdmins) {
        return refused(PAGE, "super-admin");
    }
    if user.role == Role::SuperAdmin && role != Role::SuperAdmin {
        match state
            .store
            .super_admins_left(SuperAdminPath::DirectRoleOf(user.id))
            .await
        {
            Ok(0) => return refused(PAGE, "last-super-admin"),
            Ok(_) => {}
            Err(err) => return store_failed(PAGE, err),
        }
    }
    let entry = origin
        .entry(Action::RoleChange, user_target(&user))
        .reason(format!("{} → {}", user.role.label(), role.label()));
    let write = UserWrite {
        role,
        ..UserWrite::from(&user)
    };
    save_user(state, origin, &user, &write, &entry, PAGE, notice).await
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
    match state
        .store
        .resync_user(user.id, &origin.actor(), &entry)
        .await
    {
        Ok(Some(_)) => done(PAGE, "provisioned"),
        Ok(None) => refused(PAGE, "gone"),
        Err(err) => store_failed(PAGE, err),
    }
}

async fn map_group(state: &AppState, origin: &Origin, group: &str, role: Option<Role>) -> Response {
    let Ok(id) = Uuid::parse_str(group).map(GroupId) else {
        return refused(PAGE, "no-group");
    };
    let (found, current) =
        match tokio::try_join!(state.store.group_name(id), state.store.group_role(id)) {
            Ok(pair) => pair,
            Err(err) => return store_failed(PAGE, err),
        };
    let Some(found) = found else {
        return refused(PAGE, "no-group");
    };
    let touches_super_admin = current == Some(Role::SuperAdmin) || role == Some(Role::SuperAdmin);
    if touches_super_admin && !origin.rights().allows(Permission::ManageSuperAdmins) {
        return refused(PAGE, "super-admin");
    }
    if current == Some(Role::SuperAdmin) && role != Some(Role::SuperAdmin) {
        match state
            .store
            .super_admins_left(SuperAdminPath::Group(id))
            .await
        {
            Ok(0) => return refused(PAGE, "last-super-admin"),
            Ok(_) => {}
            Err(err) => return store_failed(PAGE, err),
        }
    }
    let (action, reason, notice) = match role {
        Some(role) => (
            Action::GroupRoleMap,
            format!(
                "{} → {}",
                current.map(Role::label).unwrap_or("no role"),
                role.label()
            ),
            "mapped",
        ),
        None => (
            Action::GroupRoleUnmap,
            format!(
                "{} → no role",
                current.map(Role::label).unwrap_or("no role")
            ),
            "unmapped",
        ),
    };
    let entry = origin
        .entry(action, group_target(id, &found))
        .reason(reason);
    match state
        .store
        .map_group_role(id, role, &origin.actor(), &entry)
        .await
    {
        Ok(Some(before)) if before == role => done(PAGE, "unchanged"),
        Ok(Some(_)) => done(PAGE, notice),
        Ok(None) => refused(PAGE, "no-group"),
        Err(err) => store_failed(PAGE, err),
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
    if users.is_empty() {
        return refused(PAGE, "none-chosen");
    }
    let (found, mapped) =
        match tokio::try_join!(state.store.group_name(group), state.store.group_role(group)) {
            Ok(pair) => pair,
            Err(err) => return store_failed(PAGE, err),
        };
    let Some(found) = found else {
        return refused(PAGE, "no-group");
    };
    let Some(mapped) = mapped else {
        return refused(PAGE, "group-unmapped");
    };
    // A user's direct role may differ from the group's: converting must not give or take
    // Super Admin behind a non-Super Admin's back, nor drop the last one.
    let mut touches_super_admin = mapped == Role::SuperAdmin;
    for user in &users {
        match state.store.user(*user).await {
            Ok(Some(u)) if u.role == Role::SuperAdmin && mapped != Role::SuperAdmin => {
                return refused(PAGE, "convert-super-admin");
            }
            Ok(Some(u)) => touches_super_admin |= u.role == Role::SuperAdmin,
            Ok(None) => return refused(PAGE, "gone"),
            Err(err) => return store_failed(PAGE, err),
        }
    }
    if touches_super_admin && !origin.rights().allows(Permission::ManageSuperAdmins) {
        return refused(PAGE, "super-admin");
    }
    let entry = origin.entry(Action::AssignmentsConvert, group_target(group, &found));
    let converted = state
        .store
        .convert_assignments(group, &users, &origin.actor(), &entry)
        .await;
    match converted {
        Ok(_) => done(PAGE, "converted"),
        Err(err) => store_failed(PAGE, err),
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
