//! The Directory app's cards: read and find users and groups, and change them through the
//! domain's actions, as the person the execution acts for (judged on their rights now).

use super::{Context, Runner};
use crate::actions::{Acting, directory};
use crate::audit::Action;
use crate::directory::{GroupId, User, UserId, UserStatus};
use crate::engine::control::{CardError, Done};
use crate::engine::dry_run::{Note, object_changes};
use crate::scim::ENTERPRISE_USER;
use crate::store::UserWrite;
use serde_json::{Map, Value, json};

/// A user as cards give it (the catalog's user object).
pub fn user_value(user: &User) -> Value {
    let attrs = &user.attributes;
    let name = attrs.get("name");
    let enterprise = attrs.get(ENTERPRISE_USER);
    json!({
        "id": user.id.0.to_string(),
        "user_name": user.user_name,
        "email": user.email,
        "display_name": user.display_name,
        "given_name": name.and_then(|n| n.get("givenName")),
        "family_name": name.and_then(|n| n.get("familyName")),
        "title": attrs.get("title"),
        "department": enterprise.and_then(|e| e.get("department")),
        "manager": enterprise.and_then(|e| e.get("manager")).and_then(|m| m.get("value")),
        "status": user.status.as_str(),
        "role": user.role.as_str(),
        "external_id": user.external_id,
        "attributes": attrs,
    })
}

/// A user as Find Users' SCIM filters see it: the SCIM resource, with `meta.created` and
/// `meta.lastModified` (`meta.created lt "2026-11-20T00:00:00Z"` finds older accounts).
fn filterable(user: &User) -> Value {
    let mut resource = crate::scim::user::resource(user);
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": user.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": user.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }),
    );
    Value::Object(resource)
}

impl Runner {
    pub(super) async fn find_user(
        &self,
        inputs: &Map<String, Value>,
        field: &str,
    ) -> Result<User, CardError> {
        let key = match inputs.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Object(o)) => o
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| CardError::fatal(format!("{field}: a user object without an id")))?,
            _ => return Err(CardError::fatal(format!("{field}: has no value"))),
        };
        let user = match uuid::Uuid::parse_str(&key) {
            Ok(id) => self.store.user(UserId(id)).await?,
            Err(_) => self.store.user_by_name(&key).await?,
        };
        user.ok_or_else(|| CardError::fatal(format!("{field}: there is no user {key:?}")))
    }

    pub(super) async fn find_group(
        &self,
        inputs: &Map<String, Value>,
    ) -> Result<(GroupId, String), CardError> {
        let key = inputs
            .get("group")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CardError::fatal("group: has no value"))?;
        if let Ok(id) = uuid::Uuid::parse_str(key)
            && let Some(name) = self.store.group_name(GroupId(id)).await?
        {
            return Ok((GroupId(id), name));
        }
        let group = self
            .store
            .group_by_name(key)
            .await?
            .ok_or_else(|| CardError::fatal(format!("group: there is no group {key:?}")))?;
        Ok((group.id, group.display_name))
    }

    pub(super) async fn directory_card(
        &self,
        kind: &str,
        context: &Context<'_>,
        inputs: &Map<String, Value>,
    ) -> Result<Done, CardError> {
        let acting = self.acting(context).await?;
        // Reading the directory hands its data to the flow and its history: only for a
        // flow acting for someone who may see it.
        if !acting
            .rights
            .allows(crate::access::Permission::ViewDirectory)
        {
            return Err(CardError::fatal(format!(
                "{}: this flow acts for {}, who may not see the directory",
                kind,
                self.person_named(acting).await
            )));
        }
        let limit = || {
            inputs
                .get("limit")
                .and_then(Value::as_u64)
                .unwrap_or(200)
                .clamp(1, 10_000) as usize
        };
        match kind {
            "directory.find_users" => {
                let text = inputs
                    .get("filter")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| CardError::fatal("filter: has no value"))?;
                let filter = crate::scim::filter::parse(text)
                    .map_err(|e| CardError::fatal(format!("filter: {}", e.detail)))?;
                // Answered in the database, as SCIM's list is.
                let (matching, count) = self
                    .store
                    .users_matching(&filter, 0, limit(), filterable)
                    .await?
                    .ok_or_else(|| {
                        CardError::fatal(format!(
                            "filter: {text:?} would make idflow read more than {} users; filter on \
                             userName, externalId, emails.value, displayName, active or id, or \
                             combine it with one of them using \"and\"",
                            crate::store::SCAN_LIMIT
                        ))
                    })?;
                let users: Vec<Value> = matching.iter().map(user_value).collect();
                return Ok(Done::Output(json!({ "count": count, "users": users })));
            }
            "directory.list_group_members" => {
                let (group, name) = self.find_group(inputs).await?;
                let group = self.store.group(group).await?.ok_or_else(|| {
                    CardError::fatal(format!("group: {name} was deleted meanwhile"))
                })?;
                let mut users = Vec::new();
                for member in &group.members {
                    if let Some(user) = self.store.user(member.user_id).await? {
                        users.push(user_value(&user));
                    }
                }
                return Ok(Done::Output(
                    json!({ "count": users.len(), "users": users }),
                ));
            }
            _ => {}
        }
        let user = self.find_user(inputs, "user").await?;
        let user_entry = |what: &str| {
            acting
                .entry(Action::FlowUserChange, crate::actions::user_target(&user))
                .reason(what)
        };
        // A dry run's write answers with the user as it would leave them: the note says
        // what would change.
        let changed = |outcome: crate::store::WriteOutcome, verb: &str| {
            let output = json!({ "user": user_value(outcome.user()) });
            if acting.dry_run {
                would_change_user(&user, &outcome, verb).on(output)
            } else {
                output
            }
        };
        let output = match kind {
            "directory.read_user" => json!({ "user": user_value(&user) }),
            "directory.update_profile" => {
                let attributes = inputs
                    .get("attributes")
                    .and_then(Value::as_object)
                    .ok_or_else(|| CardError::fatal("attributes: expects an object"))?;
                let mut write = UserWrite::from(&user);
                for (name, value) in attributes {
                    apply_attribute(&mut write, name, value.clone());
                }
                changed(
                    directory::update_user(
                        &self.store,
                        acting,
                        &user,
                        &write,
                        None,
                        &user_entry("profile updated"),
                    )
                    .await?,
                    "update the profile of",
                )
            }
            "directory.activate_user"
            | "directory.unsuspend_user"
            | "directory.deactivate_user"
            | "directory.suspend_user" => {
                let (status, what, verb) = match kind {
                    "directory.deactivate_user" => {
                        (UserStatus::Deprovisioned, "deactivated", "deactivate")
                    }
                    "directory.suspend_user" => (UserStatus::Suspended, "suspended", "suspend"),
                    _ => (UserStatus::Active, "activated", "activate"),
                };
                changed(
                    directory::set_user_status(
                        &self.store,
                        acting,
                        &user,
                        status,
                        &user_entry(what),
                    )
                    .await?,
                    verb,
                )
            }
            "directory.assign_app" => {
                let role = crate::scim::user::role(inputs.get("role").unwrap_or(&Value::Null))
                    .map_err(|e| CardError::fatal(format!("role: {}", e.detail)))?;
                if role == crate::access::Role::SuperAdmin {
                    return Err(CardError::fatal(
                        "role: a flow cannot give the Super Admin role",
                    ));
                }
                changed(
                    directory::set_user_role(
                        &self.store,
                        acting,
                        &user,
                        role,
                        &user_entry("assigned"),
                    )
                    .await?,
                    "change the role of",
                )
            }
            "directory.unassign_app" => changed(
                directory::set_user_role(
                    &self.store,
                    acting,
                    &user,
                    crate::access::Role::UnassignedUser,
                    &user_entry("unassigned"),
                )
                .await?,
                "unassign the console from",
            ),
            "directory.clear_sessions" => {
                directory::end_sessions(
                    &self.store,
                    acting,
                    &user,
                    &user_entry("sessions cleared"),
                )
                .await?;
                if acting.dry_run {
                    Note::new(format!(
                        "Would sign {} out of every session",
                        user.user_name
                    ))
                    .change(&user.user_name, "sessions", json!("valid"), json!("ended"))
                    .on(json!({}))
                } else {
                    json!({})
                }
            }
            "directory.add_to_group" | "directory.remove_from_group" => {
                let (group, group_name) = self.find_group(inputs).await?;
                let add = kind == "directory.add_to_group";
                directory::change_membership(
                    &self.store,
                    acting,
                    group,
                    &user,
                    add,
                    Action::FlowGroupChange,
                )
                .await?;
                if acting.dry_run {
                    let member = self
                        .store
                        .groups_of(user.id)
                        .await?
                        .iter()
                        .any(|(id, _)| *id == group);
                    would_change_membership(&user, &group_name, member, add).on(json!({}))
                } else {
                    json!({})
                }
            }
            "directory.remove_from_all_groups" => {
                let mut removed = Vec::new();
                let mut note = Note::new(format!(
                    "Would remove {} from every group they are in",
                    user.user_name
                ));
                for (id, name) in self.store.groups_of(user.id).await? {
                    directory::change_membership(
                        &self.store,
                        acting,
                        id,
                        &user,
                        false,
                        Action::FlowGroupChange,
                    )
                    .await?;
                    note = note.change(
                        &user.user_name,
                        format!("member of {name}"),
                        json!(true),
                        json!(false),
                    );
                    removed.push(json!({ "id": id.0.to_string(), "name": name }));
                }
                let output = json!({ "count": removed.len(), "groups": removed });
                if acting.dry_run {
                    note.on(output)
                } else {
                    output
                }
            }
            "directory.list_user_groups" => {
                let groups: Vec<Value> = self
                    .store
                    .groups_of(user.id)
                    .await?
                    .into_iter()
                    .map(|(id, name)| json!({ "id": id.0.to_string(), "name": name }))
                    .collect();
                json!({ "count": groups.len(), "groups": groups })
            }
            other => {
                return Err(CardError::fatal(format!(
                    "the {other:?} card cannot run in this version of idflow yet"
                )));
            }
        };
        Ok(Done::Output(output))
    }

    /// How an execution's record names the person it acts for.
    pub(super) async fn person_named(&self, acting: &Acting) -> String {
        match acting.person {
            Some(id) => match self.store.user(id).await {
                Ok(Some(user)) if user.status == UserStatus::Active => user.user_name,
                Ok(Some(user)) => format!("{} ({})", user.user_name, user.status),
                _ => "a user who no longer exists".into(),
            },
            None => "nobody (save or turn the flow on to make it act for you)".into(),
        }
    }
}

/// What a dry run's write to `before` would have done, `verb` naming it ("deactivate").
fn would_change_user(before: &User, outcome: &crate::store::WriteOutcome, verb: &str) -> Note {
    let name = &before.user_name;
    let crate::store::WriteOutcome::Updated(after) = outcome else {
        return Note::new(format!(
            "Would {verb} {name}: nothing to change, they are already so"
        ));
    };
    let fields = |user: &User| {
        let mut value = user_value(user);
        let attributes = value
            .as_object_mut()
            .and_then(|v| v.remove("attributes"))
            .and_then(|a| a.as_object().cloned())
            .unwrap_or_default();
        (value.as_object().cloned().unwrap_or_default(), attributes)
    };
    let ((was, was_attributes), (will, will_attributes)) = (fields(before), fields(after));
    let mut changes = object_changes(name, &was, &will);
    if changes.is_empty() {
        // Only attributes the card value has no field for.
        changes = object_changes(name, &was_attributes, &will_attributes);
    }
    Note {
        changes,
        ..Note::new(format!("Would {verb} {name}"))
    }
}

/// What a dry run's Add to Group (`add`) or Remove from Group would have done to `user`,
/// a `member` of `group` or not.
fn would_change_membership(user: &User, group: &str, member: bool, add: bool) -> Note {
    let name = &user.user_name;
    match (add, member) {
        (true, false) => Note::new(format!("Would add {name} to {group}")),
        (false, true) => Note::new(format!("Would remove {name} from {group}")),
        (true, true) => {
            return Note::new(format!(
                "{name} is already in {group}: nothing would change"
            ));
        }
        (false, false) => {
            return Note::new(format!("{name} is not in {group}: nothing would change"));
        }
    }
    .change(
        name,
        format!("member of {group}"),
        json!(member),
        json!(add),
    )
}

/// Sets one attribute of a user write by the name cards use: the console's fields by
/// their own names, the SCIM core and enterprise attributes by friendly names, anything
/// else as a top-level SCIM attribute.
fn apply_attribute(write: &mut UserWrite, name: &str, value: Value) {
    pub(super) fn nested(write: &mut UserWrite, outer: &str, inner: &str, value: Value) {
        let entry = write
            .attributes
            .entry(outer.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(inner.to_string(), value);
        }
    }
    let text = value.as_str().map(str::to_string).filter(|s| !s.is_empty());
    match name {
        "display_name" => write.display_name = text,
        "email" => write.email = text,
        "given_name" => nested(write, "name", "givenName", value),
        "family_name" => nested(write, "name", "familyName", value),
        "department" => nested(write, ENTERPRISE_USER, "department", value),
        "manager" => nested(write, ENTERPRISE_USER, "manager", json!({ "value": value })),
        other => {
            write.attributes.insert(other.to_string(), value);
        }
    }
}
