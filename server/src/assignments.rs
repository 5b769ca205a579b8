//! Form posts from the Assignments page: assign, unassign and change a user's role, map
//! a group to a role (push group), provision a user again, convert direct assignments to
//! a group assignment; and the access review as CSV. The entry-point table has already
//! checked the caller may manage assignments (or, for the export, view them); the
//! domain's actions judge giving, changing or taking roles and keep one Super Admin.

use crate::AppState;
use crate::forms::{
    Answer, Fields, Origin, Post, action_failed, done, load_user, refused, store_failed,
    user_target,
};
use axum::extract::{Path, State};
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

/// The role a form names; refused when it names none (or, with `no_unassigned`, the
/// Unassigned User role, which is no role to give).
fn role_in(fields: &Fields, no_unassigned: bool) -> Result<Role, &'static str> {
    parse_role(fields.get("role"))
        .filter(|r| !(no_unassigned && *r == Role::UnassignedUser))
        .ok_or("role")
}

/// `POST /assignments/users`: gives a user (by user name) a direct role.
pub async fn assign_user(State(state): State<AppState>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let role = role_in(&fields, true).map_err(|code| refused(PAGE, code))?;
    let user = state
        .store
        .user_by_name(fields.get("user_name"))
        .await
        .map_err(|err| store_failed(PAGE, err))?
        .ok_or_else(|| refused(PAGE, "no-user"))?;
    Ok(change_role(&state, &origin, user, role, "assigned").await)
}

/// `POST /assignments/users/{id}/role`: changes a user's direct role.
pub async fn change_user_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    post: Post,
) -> Answer {
    let Post { origin, fields } = post;
    let role = role_in(&fields, false).map_err(|code| refused(PAGE, code))?;
    let user = load_user(&state, &id, PAGE).await?;
    let notice = if role == Role::UnassignedUser {
        "unassigned"
    } else {
        "role-changed"
    };
    Ok(change_role(&state, &origin, user, role, notice).await)
}

/// `POST /assignments/users/{id}/unassign`: takes away a user's direct role.
pub async fn unassign_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Answer {
    let user = load_user(&state, &id, PAGE).await?;
    Ok(change_role(&state, &origin, user, Role::UnassignedUser, "unassigned").await)
}

/// `POST /assignments/users/{id}/provision`: sends the user's assignment again.
pub async fn provision_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Answer {
    let user = load_user(&state, &id, PAGE).await?;
    let entry = origin.entry(Action::UserProvision, user_target(&user));
    Ok(
        match act::provision_user(&state.store, &origin.acting(), &user, &entry).await {
            Ok(_) => done(PAGE, "provisioned"),
            Err(err) => action_failed(PAGE, err),
        },
    )
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
pub async fn map_group_role(State(state): State<AppState>, post: Post) -> Answer {
    let role = role_in(&post.fields, true).map_err(|code| refused(PAGE, code))?;
    Ok(map_group(
        &state,
        &post.origin,
        post.fields.get("group_id"),
        Some(role),
    )
    .await)
}

/// `POST /assignments/groups/{id}/unmap`: the group's members no longer hold its role.
pub async fn unmap_group_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Response {
    map_group(&state, &origin, &id, None).await
}

/// `POST /assignments/convert`: the chosen directly assigned users join a mapped group
/// and lose their direct role.
pub async fn convert_assignments(State(state): State<AppState>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let group = Uuid::parse_str(fields.get("group_id"))
        .map(GroupId)
        .map_err(|_| refused(PAGE, "no-group"))?;
    let users = fields
        .all("user_id")
        .into_iter()
        .map(|u| Uuid::parse_str(u).map(UserId))
        .collect::<Result<Vec<UserId>, _>>()
        .map_err(|_| refused(PAGE, "gone"))?;
    Ok(
        match act::convert_assignments(&state.store, &origin.acting(), group, &users).await {
            Ok(_) => done(PAGE, "converted"),
            Err(err) => action_failed(PAGE, err),
        },
    )
}

/// `GET /assignments/access-review.csv`: who has what, through which path.
pub async fn access_review_csv(State(state): State<AppState>, origin: Origin) -> Response {
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
