//! Rights beyond a user's direct role: groups mapped to a role, folder grants, and the
//! Assignments view's reads and writes. Every write appends its System Log entry and
//! its directory events in the same transaction.

use super::BeginWrite;
use super::directory::{Change, insert_event};
use super::users::{USER_COLUMNS, UserRow};
use super::{Store, StoreError, now, with_pool};
use crate::access::{FolderRole, Rights, Role};
use crate::assignments::{
    AccessReviewRow, AssignedUser, Assignments, Grantee, MappedGroup, ViaGroup,
};
use crate::audit::{Actor, NewEntry};
use crate::directory::{GroupId, User, UserId};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

fn parse_role(stored: &str, whose: impl std::fmt::Display) -> Result<Role, StoreError> {
    stored
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{whose}: {e}")))
}

pub(super) fn parse_grant(
    stored: &str,
    whose: impl std::fmt::Display,
) -> Result<FolderRole, StoreError> {
    stored
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{whose}: {e}")))
}

#[derive(sqlx::FromRow)]
struct MembershipRole {
    user_id: Uuid,
    group_id: Uuid,
    group_name: String,
    role: String,
}

/// Memberships of groups mapped to a role, with the group's name.
const MEMBERSHIP_ROLES: &str = "SELECT m.user_id, g.id AS group_id, g.display_name AS group_name, gr.role \
     FROM group_members m JOIN group_roles gr ON gr.group_id = m.group_id JOIN groups g ON g.id = m.group_id";

impl MembershipRole {
    fn into_via(self) -> Result<ViaGroup, StoreError> {
        Ok(ViaGroup {
            group_id: GroupId(self.group_id),
            role: parse_role(&self.role, format!("group {}", self.group_id))?,
            group_name: self.group_name,
        })
    }
}

/// A mapped group as the query reads it: id, name, role, mapped at, member count.
type MappedRow = (Uuid, String, String, DateTime<Utc>, i64);

/// A path to Super Admin that a change would take away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuperAdminPath {
    DirectRoleOf(UserId),
    Group(GroupId),
    User(UserId),
}

impl Store {
    /// A user's effective rights: their direct role, the roles mapped to their groups,
    /// and their folder grants, direct or through a group.
    pub async fn rights_of(&self, user: &User) -> Result<Rights, StoreError> {
        // One statement: the roles of their groups (no folder) and their folder grants.
        let rows: Vec<(Option<Uuid>, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT NULL AS folder_id, gr.role FROM group_roles gr \
                 JOIN group_members m ON m.group_id = gr.group_id WHERE m.user_id = $1 \
                 UNION ALL \
                 SELECT folder_id, grant_role FROM folder_grants WHERE user_id = $1 \
                 OR group_id IN (SELECT group_id FROM group_members WHERE user_id = $1)",
            )
            .bind(user.id.0)
            .fetch_all(pool)
            .await?
        });
        let mut held = vec![user.role];
        let mut folders = Vec::new();
        for (folder, name) in rows {
            match folder {
                None => held.push(parse_role(&name, format!("a group of user {}", user.id))?),
                Some(folder) => {
                    folders.push((folder, parse_grant(&name, format!("folder {folder}"))?))
                }
            }
        }
        Ok(Rights::new(held, folders))
    }

    /// Every user holding a console role (directly or through a group) and every group
    /// mapped to one, by name.
    pub async fn assignments(&self) -> Result<Assignments, StoreError> {
        let users_sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE role <> 'unassigned_user' \
             OR id IN (SELECT m.user_id FROM group_members m JOIN group_roles gr ON gr.group_id = m.group_id) \
             ORDER BY user_name_key"
        );
        let (users, memberships): (Vec<UserRow>, Vec<MembershipRole>) = with_pool!(self, pool => {
            let users = sqlx::query_as(&users_sql).fetch_all(pool).await?;
            let memberships = sqlx::query_as(&format!("{MEMBERSHIP_ROLES} ORDER BY g.display_name_key"))
                .fetch_all(pool)
                .await?;
            (users, memberships)
        });
        let mut via: HashMap<Uuid, Vec<ViaGroup>> = HashMap::new();
        for m in memberships {
            let user = m.user_id;
            via.entry(user).or_default().push(m.into_via()?);
        }
        let users = users
            .into_iter()
            .map(|row| {
                let user = User::try_from(row)?;
                Ok(AssignedUser {
                    via_groups: via.remove(&user.id.0).unwrap_or_default(),
                    id: user.id,
                    user_name: user.user_name,
                    display_name: user.display_name,
                    status: user.status,
                    direct_role: user.role,
                    last_provisioned_at: user.last_provisioned_at,
                    last_sign_in_at: user.last_sign_in_at,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let groups = self.mapped_groups().await?;
        Ok(Assignments { users, groups })
    }

    /// The groups mapped to a role, by name, with their member counts.
    pub async fn mapped_groups(&self) -> Result<Vec<MappedGroup>, StoreError> {
        let rows: Vec<MappedRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT g.id, g.display_name, gr.role, gr.mapped_at, \
                 (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) \
                 FROM group_roles gr JOIN groups g ON g.id = gr.group_id ORDER BY g.display_name_key",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, name, role, mapped_at, members)| {
                Ok(MappedGroup {
                    id: GroupId(id),
                    role: parse_role(&role, format!("group {id}"))?,
                    name,
                    members,
                    mapped_at,
                })
            })
            .collect()
    }

    /// The roles one user holds through groups, by group name.
    pub async fn roles_through_groups(&self, user: UserId) -> Result<Vec<ViaGroup>, StoreError> {
        let rows: Vec<MembershipRole> = with_pool!(self, pool => {
            sqlx::query_as(&format!("{MEMBERSHIP_ROLES} WHERE m.user_id = $1 ORDER BY g.display_name_key"))
                .bind(user.0)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(MembershipRole::into_via).collect()
    }

    /// The role mapped to a group, if any.
    pub async fn group_role(&self, group: GroupId) -> Result<Option<Role>, StoreError> {
        let role: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT role FROM group_roles WHERE group_id = $1")
                .bind(group.0)
                .fetch_optional(pool)
                .await?
        });
        role.map(|r| parse_role(&r, format!("group {group}")))
            .transpose()
    }

    /// Maps a group to a role, or (with `None`) removes its mapping. Every member's
    /// sessions end, so their new rights hold from their next request. `None` when
    /// there is no such group; otherwise the role it had before.
    pub async fn map_group_role(
        &self,
        group: GroupId,
        role: Option<Role>,
        actor: &Actor,
        audit: &NewEntry,
    ) -> Result<Option<Option<Role>>, StoreError> {
        let at = now();
        let previous: Option<Option<String>> = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM groups WHERE id = $1")
                .bind(group.0)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Ok(None);
            }
            let previous: Option<String> = sqlx::query_scalar("SELECT role FROM group_roles WHERE group_id = $1")
                .bind(group.0)
                .fetch_optional(&mut *tx)
                .await?;
            if previous.as_deref() == role.map(Role::as_str) {
                return Ok(Some(previous.map(|r| parse_role(&r, format!("group {group}"))).transpose()?));
            }
            match role {
                Some(role) => {
                    sqlx::query(
                        "INSERT INTO group_roles (group_id, role, mapped_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (group_id) DO UPDATE SET role = excluded.role, mapped_at = excluded.mapped_at",
                    )
                    .bind(group.0)
                    .bind(role.as_str())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM group_roles WHERE group_id = $1")
                        .bind(group.0)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            sqlx::query(
                "UPDATE users SET sessions_valid_after = $2 WHERE id IN (SELECT user_id FROM group_members WHERE group_id = $1)",
            )
            .bind(group.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let change = vec![Change {
                attribute: "role".into(),
                old: previous.clone().map(Value::String).unwrap_or(Value::Null),
                new: role.map(|r| Value::String(r.as_str().into())).unwrap_or(Value::Null),
            }];
            insert_event!(tx, "group", "group.role_mapped", group.0, actor, &change)?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
            Some(previous)
        });
        previous
            .map(|p| {
                p.map(|r| parse_role(&r, format!("group {group}")))
                    .transpose()
            })
            .transpose()
    }

    /// Sends a user's assignment again: stamps "last provisioned" and writes a
    /// `user.provisioned` event carrying the user's current role, for the flows that keep
    /// other systems in step. `None` when there is no such user.
    pub async fn resync_user(
        &self,
        id: UserId,
        actor: &Actor,
        audit: &NewEntry,
    ) -> Result<Option<User>, StoreError> {
        let Some(user) = self.user(id).await? else {
            return Ok(None);
        };
        let rights = self.rights_of(&user).await?;
        let at = now();
        let change = vec![Change {
            attribute: "role".into(),
            old: Value::Null,
            new: Value::String(rights.role().as_str().into()),
        }];
        let found = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("UPDATE users SET last_provisioned_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
            insert_event!(tx, "user.provisioned", id.0, actor, &change)?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
            true
        });
        debug_assert!(found);
        self.user(id).await
    }

    /// Moves direct assignments under a group assignment: each user joins `group` (which
    /// must be mapped to a role) and loses their direct role. All or nothing. Returns how
    /// many users were converted.
    pub async fn convert_assignments(
        &self,
        group: GroupId,
        users: &[UserId],
        actor: &Actor,
        audit: &NewEntry,
    ) -> Result<usize, StoreError> {
        let Some(mapped) = self.group_role(group).await? else {
            return Err(StoreError::Invalid(
                "map the group to a role before converting assignments to it".into(),
            ));
        };
        let Some(name) = self.group_name(group).await? else {
            return Err(StoreError::Invalid(format!("no group has the id {group}")));
        };
        let group_ref = json!({"id": group.to_string(), "displayName": name});
        let at = now();
        let converted = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let mut converted = 0;
            for user in users {
                let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
                    .bind(user.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(role) = role else {
                    return Err(StoreError::Invalid(format!("no user has the id {user}")));
                };
                if role == Role::UnassignedUser.as_str() {
                    return Err(StoreError::Invalid(format!("user {user} has no direct assignment to convert")));
                }
                let joined = sqlx::query(
                    "INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(group.0)
                .bind(user.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if joined.rows_affected() > 0 {
                    let change = vec![Change { attribute: "group".into(), old: Value::Null, new: group_ref.clone() }];
                    insert_event!(tx, "user.added_to_group", user.0, actor, &change)?;
                }
                sqlx::query(
                    "UPDATE users SET role = 'unassigned_user', version = version + 1, updated_at = $2, sessions_valid_after = $2 WHERE id = $1",
                )
                .bind(user.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                let change = vec![Change {
                    attribute: "role".into(),
                    old: Value::String(role),
                    new: Value::String(Role::UnassignedUser.as_str().into()),
                }];
                insert_event!(tx, "user.role_changed", user.0, actor, &change)?;
                converted += 1;
            }
            let entry = audit.clone().reason(format!(
                "{converted} user(s) now hold {} through this group",
                mapped.label()
            ));
            super::audit::append_in!(tx, &entry)?;
            tx.commit().await?;
            converted
        });
        Ok(converted)
    }

    /// How many active users would still hold Super Admin if `user`'s direct role, the
    /// mapping of `group`, or `user` as a whole (suspended, deactivated) no longer
    /// counted. Guards against locking everyone out.
    pub async fn super_admins_left(&self, without: SuperAdminPath) -> Result<i64, StoreError> {
        let none = Uuid::nil();
        let (direct_of, group, user) = match without {
            SuperAdminPath::DirectRoleOf(u) => (u.0, none, none),
            SuperAdminPath::Group(g) => (none, g.0, none),
            SuperAdminPath::User(u) => (none, none, u.0),
        };
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE status = 'active' AND id <> $3 AND \
                 ((role = 'super_admin' AND id <> $1) OR id IN \
                  (SELECT m.user_id FROM group_members m JOIN group_roles gr ON gr.group_id = m.group_id \
                   WHERE gr.role = 'super_admin' AND gr.group_id <> $2))",
            )
            .bind(direct_of)
            .bind(group)
            .bind(user)
            .fetch_one(pool)
            .await?
        });
        Ok(n)
    }

    /// Who has what and why: one row per user and right, with the path it comes by, for
    /// every user holding any right. By user name, then right.
    pub async fn access_review(&self) -> Result<Vec<AccessReviewRow>, StoreError> {
        let assignments = self.assignments().await?;
        let grants = self.folder_grants().await?;
        let all_users = self.all_users().await?;
        let by_id: HashMap<UserId, &User> = all_users.iter().map(|u| (u.id, u)).collect();
        let members: Vec<(Uuid, Uuid)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT group_id, user_id FROM group_members").fetch_all(pool).await?
        });
        let mut members_of: HashMap<Uuid, Vec<UserId>> = HashMap::new();
        for (group, user) in members {
            members_of.entry(group).or_default().push(UserId(user));
        }
        // (userName key, user id) → rows, so the output is ordered by name.
        let mut rows: BTreeMap<(String, Uuid), Vec<AccessReviewRow>> = BTreeMap::new();
        let mut push = |user: &User, right: String, through: String| {
            rows.entry((user.user_name.to_lowercase(), user.id.0))
                .or_default()
                .push(AccessReviewRow {
                    user_name: user.user_name.clone(),
                    display_name: user.display_name.clone().unwrap_or_default(),
                    status: user.status,
                    right,
                    through,
                    last_sign_in_at: user.last_sign_in_at,
                });
        };
        for assigned in &assignments.users {
            let Some(user) = by_id.get(&assigned.id) else {
                continue;
            };
            if assigned.is_direct() {
                push(user, assigned.direct_role.label().into(), "direct".into());
            }
            for via in &assigned.via_groups {
                push(
                    user,
                    via.role.label().into(),
                    format!("group {}", via.group_name),
                );
            }
        }
        for grant in &grants {
            let right = format!("{} of folder {}", grant.grant.label(), grant.folder_name);
            match &grant.to {
                Grantee::User(id) => {
                    if let Some(user) = by_id.get(id) {
                        push(user, right, "folder grant".into());
                    }
                }
                Grantee::Group { id, name } => {
                    for member in members_of.get(&id.0).into_iter().flatten() {
                        if let Some(user) = by_id.get(member) {
                            push(user, right.clone(), format!("folder grant to group {name}"));
                        }
                    }
                }
            }
        }
        Ok(rows.into_values().flatten().collect())
    }
}
