//! Changes to the directory: users, their roles, their groups, groups and their mapping to
//! roles. Each is judged by `access::changes` on the rights of whoever acts, keeps one
//! active Super Admin, and is written with its directory events and System Log entry in
//! one transaction.

use super::{Acting, ActionError, group_target};
use crate::access::changes::{
    Refusal, may_change_membership, may_change_user, may_give_role, may_map_group,
};
use crate::access::{Permission, Role};
use crate::audit::{Action, NewEntry};
use crate::directory::{Group, GroupId, User, UserId, UserStatus};
use crate::store::{GroupWrite, Store, StoreError, SuperAdminPath, UserWrite, WriteOutcome};

/// The roles `user` holds, directly and through their groups.
async fn holds(store: &Store, user: &User) -> Result<Vec<Role>, StoreError> {
    Ok(store.rights_of(user).await?.roles().to_vec())
}

/// Refused when taking `without` away would leave no active Super Admin.
async fn keep_a_super_admin(store: &Store, without: SuperAdminPath) -> Result<(), ActionError> {
    if store.super_admins_left(without).await? == 0 {
        return Err(ActionError::refused(
            "last-super-admin",
            "idflow needs at least one active Super Admin; give the role to someone else first",
        ));
    }
    Ok(())
}

/// Whether the one acting may touch `user` at all: not when the user holds a role above
/// theirs (Super Admin, for anyone but a Super Admin), by any path.
fn may_touch(acting: &Acting, user: &User, holds: &[Role]) -> Result<(), Refusal> {
    crate::access::changes::may_touch(&acting.rights, &user.user_name, holds)
}

/// Creates a user (from the console, an identity provider or a flow). Giving them a role
/// at once is judged like any role change.
pub async fn create_user(
    store: &Store,
    acting: &Acting,
    write: &UserWrite,
    entry: &NewEntry,
) -> Result<User, ActionError> {
    may_change_user(&acting.rights, &write.user_name, &[])?;
    may_give_role(
        &acting.rights,
        &write.user_name,
        Role::UnassignedUser,
        write.role,
    )?;
    Ok(store.provision_user(write, &acting.actor, entry).await?)
}

/// Writes `write` over `user` (as read just before; `expected_version` from a client's
/// If-Match): a profile change, a suspension, deactivation or reactivation, a role
/// change, or all at once. Each part is judged on its own rule.
pub async fn update_user(
    store: &Store,
    acting: &Acting,
    user: &User,
    write: &UserWrite,
    expected_version: Option<i64>,
    entry: &NewEntry,
) -> Result<WriteOutcome, ActionError> {
    let changes = write.changes(user);
    if changes.is_empty() && acting.dry_run {
        return Ok(WriteOutcome::Unchanged(user.clone()));
    }
    if changes.is_empty() {
        // Nothing to judge: the store answers Unchanged (or that the version moved on).
        return store
            .update_user(user.id, expected_version, write, &acting.actor, entry)
            .await?
            .ok_or_else(|| {
                ActionError::gone("user", format!("the user {} is gone", user.user_name))
            });
    }
    let holds = holds(store, user).await?;
    // A profile or status change is a change to the account; a role change alone is an
    // assignment, judged by the assignment rules.
    if changes.iter().any(|c| c.attribute != "role") {
        may_change_user(&acting.rights, &user.user_name, &holds)?;
    }
    if write.role != user.role {
        may_give_role(&acting.rights, &user.user_name, user.role, write.role)?;
        may_touch(acting, user, &holds)?;
        if user.role == Role::SuperAdmin && user.status == UserStatus::Active {
            keep_a_super_admin(store, SuperAdminPath::DirectRoleOf(user.id)).await?;
        }
    }
    if user.status == UserStatus::Active && write.status != UserStatus::Active {
        if acting.person == Some(user.id) {
            return Err(ActionError::refused(
                "self",
                format!(
                    "{} cannot be suspended or deactivated by their own hand",
                    user.user_name
                ),
            ));
        }
        if holds.contains(&Role::SuperAdmin) {
            keep_a_super_admin(store, SuperAdminPath::User(user.id)).await?;
        }
    }
    if acting.dry_run {
        return Ok(WriteOutcome::Updated(write.applied_to(user)));
    }
    store
        .update_user(user.id, expected_version, write, &acting.actor, entry)
        .await?
        .ok_or_else(|| ActionError::gone("user", format!("the user {} is gone", user.user_name)))
}

/// Sets `user`'s status: suspended, deactivated, or active again.
pub async fn set_user_status(
    store: &Store,
    acting: &Acting,
    user: &User,
    status: UserStatus,
    entry: &NewEntry,
) -> Result<WriteOutcome, ActionError> {
    let write = UserWrite {
        status,
        ..UserWrite::from(user)
    };
    update_user(store, acting, user, &write, None, entry).await
}

/// Gives `user` the direct role `role` (Unassigned User takes it away).
pub async fn set_user_role(
    store: &Store,
    acting: &Acting,
    user: &User,
    role: Role,
    entry: &NewEntry,
) -> Result<WriteOutcome, ActionError> {
    let write = UserWrite {
        role,
        ..UserWrite::from(user)
    };
    update_user(store, acting, user, &write, None, entry).await
}

/// Deletes `user` and their memberships.
pub async fn delete_user(
    store: &Store,
    acting: &Acting,
    user: &User,
    entry: &NewEntry,
) -> Result<(), ActionError> {
    let holds = holds(store, user).await?;
    may_change_user(&acting.rights, &user.user_name, &holds)?;
    if holds.contains(&Role::SuperAdmin) && user.status == UserStatus::Active {
        keep_a_super_admin(store, SuperAdminPath::User(user.id)).await?;
    }
    if !store.delete_user(user.id, &acting.actor, entry).await? {
        return Err(ActionError::gone(
            "user",
            format!("the user {} is gone", user.user_name),
        ));
    }
    Ok(())
}

/// Ends every session `user` has.
pub async fn end_sessions(
    store: &Store,
    acting: &Acting,
    user: &User,
    entry: &NewEntry,
) -> Result<(), ActionError> {
    may_change_user(&acting.rights, &user.user_name, &holds(store, user).await?)?;
    if !acting.dry_run {
        store.end_user_sessions(user.id, entry).await?;
    }
    Ok(())
}

/// The name of `group` and the role it is mapped to.
async fn group_and_role(
    store: &Store,
    group: GroupId,
) -> Result<(String, Option<Role>), ActionError> {
    let (name, role) = tokio::try_join!(store.group_name(group), store.group_role(group))?;
    let name =
        name.ok_or_else(|| ActionError::gone("group", format!("there is no group {group}")))?;
    Ok((name, role))
}

/// Checks that the one acting may move `users` into or out of a group named `name`
/// mapped to `mapped`, and that leaving does not take the last Super Admin.
async fn check_members(
    store: &Store,
    acting: &Acting,
    name: &str,
    mapped: Option<Role>,
    adding: &[UserId],
    removing: &[UserId],
) -> Result<(), ActionError> {
    if adding.is_empty() && removing.is_empty() {
        return Ok(());
    }
    may_change_membership(&acting.rights, name, mapped)?;
    for (id, leaving) in adding
        .iter()
        .map(|u| (u, false))
        .chain(removing.iter().map(|u| (u, true)))
    {
        let Some(user) = store.user(*id).await? else {
            continue; // the store refuses unknown members with its own message
        };
        may_touch(acting, &user, &holds(store, &user).await?)?;
        if leaving
            && mapped == Some(Role::SuperAdmin)
            && user.role != Role::SuperAdmin
            && user.status == UserStatus::Active
        {
            keep_a_super_admin(store, SuperAdminPath::User(user.id)).await?;
        }
    }
    Ok(())
}

/// Adds `add` to and removes `remove` from `group`, leaving its other members alone;
/// whether anything changed. The System Log entry is `action` on the group with
/// `reason`.
pub async fn change_members(
    store: &Store,
    acting: &Acting,
    group: GroupId,
    add: &[UserId],
    remove: &[UserId],
    action: Action,
    reason: Option<String>,
) -> Result<bool, ActionError> {
    let (name, mapped) = group_and_role(store, group).await?;
    check_members(store, acting, &name, mapped, add, remove).await?;
    if acting.dry_run {
        return Ok(!add.is_empty() || !remove.is_empty());
    }
    let mut entry = acting.entry(action, group_target(group, &name));
    if let Some(reason) = reason {
        entry = entry.reason(reason);
    }
    store
        .change_group_members(group, add, remove, &acting.actor, &entry)
        .await?
        .ok_or_else(|| ActionError::gone("group", format!("the group {name} is gone")))
}

/// Adds `user` to `group` (or removes them): whether anything changed.
pub async fn change_membership(
    store: &Store,
    acting: &Acting,
    group: GroupId,
    user: &User,
    add: bool,
    action: Action,
) -> Result<bool, ActionError> {
    let (adding, removing, verb) = if add {
        (vec![user.id], vec![], "added")
    } else {
        (vec![], vec![user.id], "removed")
    };
    change_members(
        store,
        acting,
        group,
        &adding,
        &removing,
        action,
        Some(format!("{verb} {}", user.user_name)),
    )
    .await
}

/// Creates a group with the members `write` names.
pub async fn create_group(
    store: &Store,
    acting: &Acting,
    write: &GroupWrite,
    entry: &NewEntry,
) -> Result<Group, ActionError> {
    check_members(
        store,
        acting,
        write.display_name.trim(),
        None,
        &write.members,
        &[],
    )
    .await?;
    if write.members.is_empty() {
        may_change_membership(&acting.rights, write.display_name.trim(), None)?;
    }
    Ok(store.create_group(write, &acting.actor, entry).await?)
}

/// Sets the whole state of `group` (a SCIM PUT or PATCH); `None` when it is gone,
/// otherwise the group and whether anything changed.
pub async fn update_group(
    store: &Store,
    acting: &Acting,
    group: &Group,
    expected_version: Option<i64>,
    write: &GroupWrite,
    entry: &NewEntry,
) -> Result<Option<(Group, bool)>, ActionError> {
    let before: Vec<UserId> = group.members.iter().map(|m| m.user_id).collect();
    let adding: Vec<UserId> = write
        .members
        .iter()
        .filter(|u| !before.contains(u))
        .copied()
        .collect();
    let removing: Vec<UserId> = before
        .iter()
        .filter(|u| !write.members.contains(u))
        .copied()
        .collect();
    let mapped = store.group_role(group.id).await?;
    may_change_membership(&acting.rights, &group.display_name, None)?;
    check_members(
        store,
        acting,
        &group.display_name,
        mapped,
        &adding,
        &removing,
    )
    .await?;
    Ok(store
        .update_group(group.id, expected_version, write, &acting.actor, entry)
        .await?)
}

/// Deletes `group`; its members lose the role it was mapped to.
pub async fn delete_group(
    store: &Store,
    acting: &Acting,
    group: &Group,
    entry: &NewEntry,
) -> Result<(), ActionError> {
    let mapped = store.group_role(group.id).await?;
    may_change_membership(&acting.rights, &group.display_name, mapped)?;
    if mapped == Some(Role::SuperAdmin) {
        keep_a_super_admin(store, SuperAdminPath::Group(group.id)).await?;
    }
    if !store.delete_group(group.id, &acting.actor, entry).await? {
        return Err(ActionError::gone(
            "group",
            format!("the group {} is gone", group.display_name),
        ));
    }
    Ok(())
}

/// Maps `group` to `role` (`None`: to no role); the role it was mapped to before.
pub async fn map_group(
    store: &Store,
    acting: &Acting,
    group: GroupId,
    role: Option<Role>,
) -> Result<Option<Role>, ActionError> {
    let (name, current) = group_and_role(store, group).await?;
    may_map_group(&acting.rights, &name, current, role)?;
    if current == role {
        return Ok(current);
    }
    if current == Some(Role::SuperAdmin) {
        keep_a_super_admin(store, SuperAdminPath::Group(group)).await?;
    }
    let label = |r: Option<Role>| r.map(Role::label).unwrap_or("no role");
    let (action, reason) = match role {
        Some(_) => (
            Action::GroupRoleMap,
            format!("{} → {}", label(current), label(role)),
        ),
        None => (
            Action::GroupRoleUnmap,
            format!("{} → no role", label(current)),
        ),
    };
    let entry = acting
        .entry(action, group_target(group, &name))
        .reason(reason);
    store
        .map_group_role(group, role, &acting.actor, &entry)
        .await?
        .ok_or_else(|| ActionError::gone("group", format!("the group {name} is gone")))
}

/// Moves the directly assigned `users` under `group`'s mapping: they join it and lose
/// their direct role. How many were converted.
pub async fn convert_assignments(
    store: &Store,
    acting: &Acting,
    group: GroupId,
    users: &[UserId],
) -> Result<usize, ActionError> {
    if users.is_empty() {
        return Err(ActionError::refused(
            "none-chosen",
            "choose at least one user",
        ));
    }
    let (name, mapped) = group_and_role(store, group).await?;
    let Some(mapped) = mapped else {
        return Err(ActionError::refused(
            "group-unmapped",
            format!("{name} is not mapped to a role"),
        ));
    };
    may_change_membership(&acting.rights, &name, Some(mapped))?;
    for id in users {
        let user = store
            .user(*id)
            .await?
            .ok_or_else(|| ActionError::gone("user", format!("there is no user {id}")))?;
        // Converting must not give or take Super Admin behind a non-Super Admin's back.
        if user.role == Role::SuperAdmin && mapped != Role::SuperAdmin {
            return Err(ActionError::refused(
                "convert-super-admin",
                format!(
                    "{} is a Super Admin: only a group mapped to Super Admin can take over that assignment",
                    user.user_name
                ),
            ));
        }
        may_give_role(
            &acting.rights,
            &user.user_name,
            user.role,
            Role::UnassignedUser,
        )?;
        may_touch(acting, &user, &holds(store, &user).await?)?;
    }
    let entry = acting.entry(Action::AssignmentsConvert, group_target(group, &name));
    Ok(store
        .convert_assignments(group, users, &acting.actor, &entry)
        .await?)
}

/// Sends `user`'s assignment again (the Assignments page's Provision User).
pub async fn provision_user(
    store: &Store,
    acting: &Acting,
    user: &User,
    entry: &NewEntry,
) -> Result<User, ActionError> {
    if !acting.rights.allows(Permission::ManageAssignments) {
        return Err(ActionError::refused(
            "not-allowed",
            "provisioning a user needs a role that manages assignments",
        ));
    }
    store
        .resync_user(user.id, &acting.actor, entry)
        .await?
        .ok_or_else(|| ActionError::gone("user", format!("the user {} is gone", user.user_name)))
}
