//! Form posts from the Directory pages: create and edit users, suspend, unsuspend,
//! deactivate and reactivate them; create groups and change their members. The console
//! edits the same directory SCIM writes, with the same events, so idflow is useful
//! without an identity provider. The entry-point table has already checked the caller
//! may manage the directory; who may change whom is the domain's actions' to judge.

use crate::AppState;
use crate::forms::{
    Fields, Origin, action_failed, done, group_target, refused, save_user, store_failed,
    user_target,
};
use axum::extract::{Path, Request, State};
use axum::response::Response;
use domain::access::Role;
use domain::actions::directory as act;
use domain::audit::Action;
use domain::directory::{GroupId, User, UserId, UserStatus};
use domain::scim::ENTERPRISE_USER;
use domain::store::{GroupWrite, UserWrite};
use serde_json::{Map, Value, json};
use uuid::Uuid;

const USERS: &str = "/directory/users";
const GROUPS: &str = "/directory/groups";

fn user_page(id: UserId) -> String {
    format!("{USERS}/{id}")
}

fn group_page(id: GroupId) -> String {
    format!("{GROUPS}/{id}")
}

/// The profile fields the console edits, laid over the user's SCIM attributes, then
/// read back through the SCIM parser so a console edit and an IdP push store the same
/// shapes.
fn profile_write(fields: &Fields, base: Option<&User>) -> Result<UserWrite, &'static str> {
    let user_name = match base {
        Some(user) if fields.get("user_name").is_empty() => user.user_name.clone(),
        _ => fields.get("user_name").to_string(),
    };
    if user_name.is_empty() {
        return Err("user-name");
    }
    if user_name.chars().count() > 256 {
        return Err("user-name");
    }
    let email = fields.get("email");
    if !email.is_empty() && (!email.contains('@') || email.contains(char::is_whitespace)) {
        return Err("email");
    }
    let mut object: Map<String, Value> = base.map(|u| u.attributes.clone()).unwrap_or_default();
    object.insert("userName".into(), json!(user_name));
    let set = |object: &mut Map<String, Value>, key: &str, value: &str| {
        if value.is_empty() {
            object.remove(key);
        } else {
            object.insert(key.into(), json!(value));
        }
    };
    set(&mut object, "displayName", fields.get("display_name"));
    set(&mut object, "title", fields.get("title"));
    let mut name = object
        .get("name")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    set(&mut name, "givenName", fields.get("given_name"));
    set(&mut name, "familyName", fields.get("family_name"));
    name.remove("formatted");
    if name.is_empty() {
        object.remove("name");
    } else {
        object.insert("name".into(), Value::Object(name));
    }
    if email.is_empty() {
        object.remove("emails");
    } else {
        object.insert(
            "emails".into(),
            json!([{"value": email, "type": "work", "primary": true}]),
        );
    }
    let mut enterprise = object
        .get(ENTERPRISE_USER)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    set(&mut enterprise, "department", fields.get("department"));
    if enterprise.is_empty() {
        object.remove(ENTERPRISE_USER);
    } else {
        object.insert(ENTERPRISE_USER.into(), Value::Object(enterprise));
    }
    // The role extension is not a profile field; the Assignments page sets roles.
    object.remove(domain::scim::IDFLOW_USER);
    let input = domain::scim::user::parse(&Value::Object(object)).map_err(|_| "invalid")?;
    Ok(UserWrite {
        user_name: input.user_name,
        external_id: base.and_then(|u| u.external_id.clone()),
        status: base.map(|u| u.status).unwrap_or(UserStatus::Active),
        role: base.map(|u| u.role).unwrap_or(Role::UnassignedUser),
        display_name: input.display_name,
        email: input.email,
        attributes: input.attributes,
    })
}

/// `POST /directory/users`: a new user, active and without a role.
pub async fn create_user(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    let fields = Fields::read(&state, request).await;
    let write = match profile_write(&fields, None) {
        Ok(write) => write,
        Err(code) => return refused(USERS, code),
    };
    let entry = origin.entry(
        Action::ConsoleUserCreate,
        domain::audit::Target {
            kind: "user".into(),
            id: String::new(),
            display: write.user_name.clone(),
        },
    );
    match act::create_user(&state.store, &origin.acting(), &write, &entry).await {
        Ok(user) => done(&user_page(user.id), "user-created"),
        Err(err) => action_failed(USERS, err),
    }
}

/// `POST /directory/users/{id}`: changes a user's profile.
pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let fields = Fields::read(&state, request).await;
    let user = match crate::forms::load_user(&state, &id, USERS).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let page = user_page(user.id);
    let write = match profile_write(&fields, Some(&user)) {
        Ok(write) => write,
        Err(code) => return refused(&page, code),
    };
    let entry = origin.entry(Action::ConsoleUserUpdate, user_target(&user));
    save_user(
        &state,
        &origin,
        &user,
        &write,
        &entry,
        &page,
        "user-updated",
    )
    .await
}

/// `POST /directory/users/{id}/status`: suspend, unsuspend, deactivate or reactivate.
pub async fn set_user_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let fields = Fields::read(&state, request).await;
    let user = match crate::forms::load_user(&state, &id, USERS).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let page = user_page(user.id);
    let Ok(status) = fields.get("status").parse::<UserStatus>() else {
        return refused(&page, "status");
    };
    let (action, notice) = match (user.status, status) {
        (from, to) if from == to => return done(&page, "unchanged"),
        (_, UserStatus::Suspended) => (Action::ConsoleUserSuspend, "suspended"),
        (_, UserStatus::Deprovisioned) => (Action::ConsoleUserDeactivate, "deactivated"),
        (UserStatus::Suspended, UserStatus::Active) => {
            (Action::ConsoleUserUnsuspend, "unsuspended")
        }
        (_, UserStatus::Active) => (Action::ConsoleUserReactivate, "reactivated"),
    };
    let entry = origin.entry(action, user_target(&user));
    let write = UserWrite {
        status,
        ..UserWrite::from(&user)
    };
    save_user(&state, &origin, &user, &write, &entry, &page, notice).await
}

/// `POST /directory/groups`: a new, empty group.
pub async fn create_group(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    let fields = Fields::read(&state, request).await;
    let name = fields.get("display_name");
    if name.is_empty() || name.chars().count() > 256 {
        return refused(GROUPS, "group-name");
    }
    let mut attributes = Map::new();
    attributes.insert("displayName".into(), json!(name));
    if let Some(description) = fields.optional("description") {
        attributes.insert("description".into(), json!(description));
    }
    let write = GroupWrite {
        display_name: name.to_string(),
        external_id: None,
        attributes,
        members: vec![],
    };
    let entry = origin.entry(Action::ConsoleGroupCreate, group_target("", name));
    match act::create_group(&state.store, &origin.acting(), &write, &entry).await {
        Ok(group) => done(&group_page(group.id), "group-created"),
        Err(err) => action_failed(GROUPS, err),
    }
}

/// Adds or removes one member, leaving the rest of the group alone (the membership
/// change SCIM's member PATCHes use too).
async fn change_member(
    state: &AppState,
    origin: &Origin,
    group: &str,
    user: Result<User, &'static str>,
    add: bool,
) -> Response {
    let Ok(group) = Uuid::parse_str(group).map(GroupId) else {
        return refused(GROUPS, "no-group");
    };
    let page = group_page(group);
    let user = match user {
        Ok(user) => user,
        Err(code) => return refused(&page, code),
    };
    let changed = act::change_membership(
        &state.store,
        &origin.acting(),
        group,
        &user,
        add,
        Action::ConsoleGroupUpdate,
    )
    .await;
    match changed {
        Ok(true) if add => done(&page, "member-added"),
        Ok(true) => done(&page, "member-removed"),
        Ok(false) => done(&page, "unchanged"),
        Err(domain::actions::ActionError::NotFound { kind: "group", .. }) => {
            refused(GROUPS, "no-group")
        }
        Err(err) => action_failed(&page, err),
    }
}

/// `POST /directory/groups/{id}/members`: adds a user, by user name.
pub async fn add_member(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let fields = Fields::read(&state, request).await;
    let user = match state.store.user_by_name(fields.get("user_name")).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err("no-user"),
        Err(err) => return store_failed(GROUPS, err),
    };
    change_member(&state, &origin, &id, user, true).await
}

/// `POST /directory/groups/{id}/members/{user}/remove`.
pub async fn remove_member(
    State(state): State<AppState>,
    Path((id, user)): Path<(String, String)>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let user = match Uuid::parse_str(&user).map(UserId) {
        Ok(user) => match state.store.user(user).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err("gone"),
            Err(err) => return store_failed(GROUPS, err),
        },
        Err(_) => Err("gone"),
    };
    change_member(&state, &origin, &id, user, false).await
}
