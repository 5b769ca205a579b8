//! Form posts from the Directory pages: create and edit users, suspend, unsuspend,
//! deactivate and reactivate them; create groups and change their members. The console
//! edits the same directory SCIM writes, with the same events, so idflow is useful
//! without an identity provider. The entry-point table has already checked the caller
//! may manage the directory; who may change whom is the domain's actions' to judge.

use crate::AppState;
use crate::forms::{
    Answer, Fields, Origin, Post, action_failed, done, group_target, load_user, refused, save_user,
    store_failed, user_target,
};
use axum::extract::{Path, State};
use domain::access::Role;
use domain::actions::ActionError;
use domain::actions::directory as act;
use domain::audit::Action;
use domain::directory::{GroupId, User, UserId, UserStatus};
use domain::scim::ENTERPRISE_USER;
use domain::store::{GroupWrite, StoreError, UserWrite};
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
pub async fn create_user(State(state): State<AppState>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let write = profile_write(&fields, None).map_err(|code| refused(USERS, code))?;
    let entry = origin.entry(
        Action::ConsoleUserCreate,
        user_target_named(&write.user_name),
    );
    Ok(
        match act::create_user(&state.store, &origin.acting(), &write, &entry).await {
            Ok(user) => done(&user_page(user.id), "user-created"),
            Err(err) => action_failed(USERS, err),
        },
    )
}

/// A user not made yet, named as the System Log shows them.
fn user_target_named(user_name: &str) -> domain::audit::Target {
    domain::audit::Target {
        kind: "user".into(),
        id: String::new(),
        display: user_name.to_string(),
    }
}

/// `POST /directory/users/{id}`: changes a user's profile.
pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    post: Post,
) -> Answer {
    let Post { origin, fields } = post;
    let user = load_user(&state, &id, USERS).await?;
    let page = user_page(user.id);
    let write = profile_write(&fields, Some(&user)).map_err(|code| refused(&page, code))?;
    let entry = origin.entry(Action::ConsoleUserUpdate, user_target(&user));
    Ok(save_user(
        &state,
        &origin,
        &user,
        &write,
        &entry,
        &page,
        "user-updated",
    )
    .await)
}

/// `POST /directory/users/{id}/status`: suspend, unsuspend, deactivate or reactivate.
pub async fn set_user_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    post: Post,
) -> Answer {
    let Post { origin, fields } = post;
    let user = load_user(&state, &id, USERS).await?;
    let page = user_page(user.id);
    let status = fields
        .get("status")
        .parse::<UserStatus>()
        .map_err(|_| refused(&page, "status"))?;
    let (action, notice) = match (user.status, status) {
        (from, to) if from == to => return Ok(done(&page, "unchanged")),
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
    Ok(save_user(&state, &origin, &user, &write, &entry, &page, notice).await)
}

/// `POST /directory/groups`: a new, empty group.
pub async fn create_group(State(state): State<AppState>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let name = fields.get("display_name");
    if name.is_empty() || name.chars().count() > 256 {
        return Err(refused(GROUPS, "group-name"));
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
    Ok(
        match act::create_group(&state.store, &origin.acting(), &write, &entry).await {
            Ok(group) => done(&group_page(group.id), "group-created"),
            Err(err) => action_failed(GROUPS, err),
        },
    )
}

/// Adds or removes one member, leaving the rest of the group alone (the membership
/// change SCIM's member PATCHes use too). `user` is who, or the error code for a user
/// that is not there.
async fn change_member(
    state: &AppState,
    origin: &Origin,
    group: &str,
    user: Result<Option<User>, StoreError>,
    missing: &'static str,
    add: bool,
) -> Answer {
    let group = Uuid::parse_str(group)
        .map(GroupId)
        .map_err(|_| refused(GROUPS, "no-group"))?;
    let page = group_page(group);
    let user = user
        .map_err(|err| store_failed(GROUPS, err))?
        .ok_or_else(|| refused(&page, missing))?;
    let acting = origin.acting();
    let changed = act::change_membership(
        &state.store,
        &acting,
        group,
        &user,
        add,
        Action::ConsoleGroupUpdate,
    )
    .await;
    Ok(match changed {
        Ok(true) if add => done(&page, "member-added"),
        Ok(true) => done(&page, "member-removed"),
        Ok(false) => done(&page, "unchanged"),
        Err(ActionError::NotFound { kind: "group", .. }) => refused(GROUPS, "no-group"),
        Err(err) => action_failed(&page, err),
    })
}

/// `POST /directory/groups/{id}/members`: adds a user, by user name.
pub async fn add_member(
    State(state): State<AppState>,
    Path(id): Path<String>,
    post: Post,
) -> Answer {
    let user = state.store.user_by_name(post.fields.get("user_name")).await;
    change_member(&state, &post.origin, &id, user, "no-user", true).await
}

/// `POST /directory/groups/{id}/members/{user}/remove`.
pub async fn remove_member(
    State(state): State<AppState>,
    Path((id, user)): Path<(String, String)>,
    origin: Origin,
) -> Answer {
    let user = match Uuid::parse_str(&user) {
        Ok(user) => state.store.user(UserId(user)).await,
        Err(_) => Ok(None),
    };
    change_member(&state, &origin, &id, user, "gone", false).await
}
