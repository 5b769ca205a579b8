//! Groups and memberships, with their directory events: `group.created`,
//! `group.updated`, `group.deleted`, and `user.added_to_group` /
//! `user.removed_from_group` on each member whose membership changed.

use super::BeginWrite;
use super::directory::{Change, diff as diff_attributes, insert_event};
use super::{Store, StoreError, now, with_pool};
use crate::audit::{Actor, NewEntry, Target};
use crate::directory::{Group, GroupId, Member, UserId};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// The whole state of a group as a write sets it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupWrite {
    pub display_name: String,
    pub external_id: Option<String>,
    pub attributes: Map<String, Value>,
    pub members: Vec<UserId>,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: Uuid,
    display_name: String,
    external_id: Option<String>,
    attributes: sqlx::types::Json<Map<String, Value>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    group_id: Uuid,
    user_id: Uuid,
    user_name: String,
}

/// Binds a group's `$id`, trimmed name, name key, external id, attributes and `$at`, as
/// `$1` to `$6` of its INSERT and UPDATE.
macro_rules! bind_group {
    ($query:expr, $id:expr, $write:expr, $at:expr) => {
        $query
            .bind($id.0)
            .bind($write.display_name.trim())
            .bind(group_key(&$write.display_name))
            .bind(&$write.external_id)
            .bind(sqlx::types::Json(&$write.attributes))
            .bind($at)
    };
}

/// Adds `$user` to the group `$group` in `$tx`, with the `user.added_to_group` event when
/// they were not a member yet; evaluates to whether they were added.
macro_rules! join_in {
    ($tx:expr, $group:expr, $user:expr, $at:expr, $actor:expr, $group_ref:expr) => {{
        let done = sqlx::query(
            "INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind($group)
        .bind($user)
        .bind($at)
        .execute(&mut *$tx)
        .await?;
        let joined = done.rows_affected() > 0;
        if joined {
            let change = vec![Change { attribute: "group".into(), old: Value::Null, new: $group_ref.clone() }];
            insert_event!($tx, "user.added_to_group", $user, $actor, &change)?;
        }
        joined
    }};
}

/// Takes `$user` out of the group `$group` in `$tx`, with the `user.removed_from_group`
/// event when they were a member; evaluates to whether they were removed.
macro_rules! leave_in {
    ($tx:expr, $group:expr, $user:expr, $actor:expr, $group_ref:expr) => {{
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind($group)
            .bind($user)
            .execute(&mut *$tx)
            .await?;
        let left = done.rows_affected() > 0;
        if left {
            let change = vec![Change {
                attribute: "group".into(),
                old: $group_ref.clone(),
                new: Value::Null,
            }];
            insert_event!($tx, "user.removed_from_group", $user, $actor, &change)?;
        }
        left
    }};
}

fn group_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn snapshot(write: &GroupWrite) -> Map<String, Value> {
    let mut out = write.attributes.clone();
    out.insert(
        "displayName".into(),
        Value::String(write.display_name.clone()),
    );
    out.insert(
        "externalId".into(),
        write
            .external_id
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null),
    );
    out
}

/// Ids in `members` that are not users: refused before anything is written.
macro_rules! check_members {
    ($tx:expr, $members:expr) => {{
        let wanted: Vec<Uuid> = $members.iter().map(|m: &UserId| m.0).collect();
        let mut missing = Vec::new();
        for chunk in wanted.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id FROM users WHERE id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query_scalar(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            let found: Vec<Uuid> = query.fetch_all(&mut *$tx).await?;
            missing.extend(
                chunk
                    .iter()
                    .filter(|id| !found.contains(id))
                    .map(Uuid::to_string),
            );
        }
        if !missing.is_empty() {
            return Err(StoreError::Invalid(format!(
                "no user has the id {}",
                missing.join(", ")
            )));
        }
    }};
}

/// A member joining or leaving a group mapped to a role changes their rights: their
/// sessions end, as for any role change.
macro_rules! end_sessions_if_mapped {
    ($tx:expr, $group:expr, $users:expr, $at:expr) => {{
        let users: &[Uuid] = $users;
        if !users.is_empty() {
            let mapped: Option<String> =
                sqlx::query_scalar("SELECT role FROM group_roles WHERE group_id = $1")
                    .bind($group.0)
                    .fetch_optional(&mut *$tx)
                    .await?;
            if mapped.is_some() {
                for user in users {
                    sqlx::query("UPDATE users SET sessions_valid_after = $2 WHERE id = $1")
                        .bind(user)
                        .bind($at)
                        .execute(&mut *$tx)
                        .await?;
                }
            }
        }
    }};
}

impl Store {
    pub async fn create_group(
        &self,
        write: &GroupWrite,
        actor: &Actor,
        audit: &NewEntry,
    ) -> Result<Group, StoreError> {
        let id = GroupId::new();
        let at = now();
        let members: BTreeSet<Uuid> = write.members.iter().map(|m| m.0).collect();
        let created = diff_attributes(&Map::new(), &snapshot(write));
        let audit = &audit.clone().target(Target {
            kind: "group".into(),
            id: id.to_string(),
            display: write.display_name.clone(),
        });
        let added = json!({"id": id.to_string(), "displayName": write.display_name});
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            bind_group!(sqlx::query(
                "INSERT INTO groups (id, display_name, display_name_key, external_id, attributes, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
            ), id, write, at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::conflict_or(e, format!("a group named {:?}", write.display_name.trim())))?;
            check_members!(tx, &write.members);
            insert_event!(tx, "group", "group.created", id.0, actor, &created)?;
            for user in &members {
                join_in!(tx, id.0, *user, at, actor, added);
            }
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        self.group(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("group {id} vanished after insert")))
    }

    /// Sets the whole state of a group; membership changes become events on the users.
    /// `None` when there is no such group; `Ok(Some((group, false)))` when nothing changed.
    pub async fn update_group(
        &self,
        id: GroupId,
        expected_version: Option<i64>,
        write: &GroupWrite,
        actor: &Actor,
        audit: &NewEntry,
    ) -> Result<Option<(Group, bool)>, StoreError> {
        let Some(current) = self.group(id).await? else {
            return Ok(None);
        };
        let at = now();
        let before = snapshot(&GroupWrite {
            display_name: current.display_name.clone(),
            external_id: current.external_id.clone(),
            attributes: current.attributes.clone(),
            members: vec![],
        });
        let changes = diff_attributes(&before, &snapshot(write));
        let old_members: BTreeSet<Uuid> = current.members.iter().map(|m| m.user_id.0).collect();
        let new_members: BTreeSet<Uuid> = write.members.iter().map(|m| m.0).collect();
        let added: Vec<Uuid> = new_members.difference(&old_members).copied().collect();
        let removed: Vec<Uuid> = old_members.difference(&new_members).copied().collect();
        if changes.is_empty() && added.is_empty() && removed.is_empty() {
            if let Some(expected) = expected_version
                && expected != current.version
            {
                return Err(StoreError::PreconditionFailed {
                    current: current.version,
                });
            }
            return Ok(Some((current, false)));
        }
        let group_ref = json!({"id": id.to_string(), "displayName": write.display_name.trim()});
        let touched: Vec<Uuid> = added.iter().chain(&removed).copied().collect();
        let changed = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            // Writing first holds the row; the version check makes a concurrent change fail.
            let done = bind_group!(sqlx::query(
                "UPDATE groups SET display_name = $2, display_name_key = $3, external_id = $4, attributes = $5, \
                 version = version + 1, updated_at = $6 WHERE id = $1 AND version = $7",
            ), id, write, at)
            .bind(expected_version.unwrap_or(current.version))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::conflict_or(e, format!("a group named {:?}", write.display_name.trim())))?;
            if done.rows_affected() == 0 {
                let version: Option<i64> = sqlx::query_scalar("SELECT version FROM groups WHERE id = $1").bind(id.0).fetch_optional(&mut *tx).await?;
                return match version {
                    Some(current) => Err(StoreError::PreconditionFailed { current }),
                    None => Ok(None),
                };
            }
            let added_ids: Vec<UserId> = added.iter().map(|u| UserId(*u)).collect();
            check_members!(tx, &added_ids);
            if !changes.is_empty() {
                insert_event!(tx, "group", "group.updated", id.0, actor, &changes)?;
            }
            for user in &added {
                join_in!(tx, id.0, *user, at, actor, group_ref);
            }
            for user in &removed {
                leave_in!(tx, id.0, *user, actor, group_ref);
            }
            end_sessions_if_mapped!(tx, id, &touched, at);
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
            true
        });
        Ok(self.group(id).await?.map(|g| (g, changed)))
    }

    /// Adds and removes members, leaving the rest of the group alone: what identity
    /// providers send most (Okta's group push, Entra ID's member PATCHes), without
    /// reading or rewriting the whole member list. Adding a member already there or
    /// removing one who is not changes nothing. `None` when there is no such group;
    /// otherwise whether anything changed.
    pub async fn change_group_members(
        &self,
        id: GroupId,
        add: &[UserId],
        remove: &[UserId],
        actor: &Actor,
        audit: &NewEntry,
    ) -> Result<Option<bool>, StoreError> {
        let at = now();
        let changed = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            // Writing first holds the group (and, on SQLite, the database) for this change.
            let name: Option<String> = sqlx::query_scalar(
                "UPDATE groups SET updated_at = updated_at WHERE id = $1 RETURNING display_name",
            )
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(name) = name else {
                return Ok(None);
            };
            check_members!(tx, add);
            let group_ref = json!({"id": id.to_string(), "displayName": name});
            let mut touched: Vec<Uuid> = Vec::new();
            for user in add {
                if join_in!(tx, id.0, user.0, at, actor, group_ref) {
                    touched.push(user.0);
                }
            }
            for user in remove {
                if leave_in!(tx, id.0, user.0, actor, group_ref) {
                    touched.push(user.0);
                }
            }
            if touched.is_empty() {
                tx.rollback().await?;
                return Ok(Some(false));
            }
            sqlx::query("UPDATE groups SET version = version + 1, updated_at = $2 WHERE id = $1")
                .bind(id.0).bind(at).execute(&mut *tx).await?;
            end_sessions_if_mapped!(tx, id, &touched, at);
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
            true
        });
        Ok(Some(changed))
    }

    pub async fn delete_group(
        &self,
        id: GroupId,
        actor: &Actor,
        audit: &NewEntry,
    ) -> Result<bool, StoreError> {
        let Some(current) = self.group(id).await? else {
            return Ok(false);
        };
        let group_ref = json!({"id": id.to_string(), "displayName": current.display_name});
        // Members of a group mapped to a role lose that role with the group.
        let mapped = self.group_role(id).await?.is_some();
        let deleted = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("DELETE FROM groups WHERE id = $1").bind(id.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            for member in &current.members {
                let change = vec![Change { attribute: "group".into(), old: group_ref.clone(), new: Value::Null }];
                insert_event!(tx, "user.removed_from_group", member.user_id.0, actor, &change)?;
            }
            if mapped {
                for member in &current.members {
                    sqlx::query("UPDATE users SET sessions_valid_after = $2 WHERE id = $1")
                        .bind(member.user_id.0).bind(now()).execute(&mut *tx).await?;
                }
            }
            // What the group was: flows on "Group Deleted" can no longer read it.
            let gone = vec![
                Change { attribute: "displayName".into(), old: json!(current.display_name), new: Value::Null },
                Change { attribute: "externalId".into(), old: json!(current.external_id), new: Value::Null },
            ];
            insert_event!(tx, "group", "group.deleted", id.0, actor, &gone)?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
            true
        });
        Ok(deleted)
    }

    pub async fn group(&self, id: GroupId) -> Result<Option<Group>, StoreError> {
        let row: Option<GroupRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, display_name, external_id, attributes, version, created_at, updated_at FROM groups WHERE id = $1")
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        let Some(row) = row else { return Ok(None) };
        let members = self.members_of(&[row.id]).await?;
        let own = by_group(members).remove(&row.id).unwrap_or_default();
        Ok(Some(assemble(row, own)))
    }

    /// A group without its members (`members` is empty): what a page of its members goes
    /// with.
    pub async fn group_alone(&self, id: GroupId) -> Result<Option<Group>, StoreError> {
        let row: Option<GroupRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, display_name, external_id, attributes, version, created_at, updated_at FROM groups WHERE id = $1")
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|row| assemble(row, Vec::new())))
    }

    /// One page of a group's members, in the order they joined: `limit` from place
    /// `offset` (0-based); and how many members it has in all.
    pub async fn group_members_page(
        &self,
        id: GroupId,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Member>, i64), StoreError> {
        let (rows, total): (Vec<MemberRow>, i64) = with_pool!(self, pool => {
            let rows = sqlx::query_as(
                "SELECT m.group_id, m.user_id, u.user_name FROM group_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.group_id = $1 ORDER BY m.added_at, u.user_name LIMIT $2 OFFSET $3",
            )
            .bind(id.0)
            .bind(limit as i64)
            .bind(offset as i64)
            .fetch_all(pool)
            .await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM group_members WHERE group_id = $1")
                .bind(id.0)
                .fetch_one(pool)
                .await?;
            (rows, total)
        });
        let members = by_group(rows).remove(&id.0).unwrap_or_default();
        Ok((members, total))
    }

    /// Every group without its members, with how many each has, oldest first: what the
    /// Groups list shows.
    pub async fn groups_with_counts(&self) -> Result<Vec<(Group, i64)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Counted {
            #[sqlx(flatten)]
            group: GroupRow,
            members: i64,
        }
        let rows: Vec<Counted> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT g.id, g.display_name, g.external_id, g.attributes, g.version, g.created_at, g.updated_at, \
                 (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS members \
                 FROM groups g ORDER BY g.created_at, g.id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| (assemble(r.group, Vec::new()), r.members))
            .collect())
    }

    /// Just a group's name, without its members.
    pub async fn group_name(&self, id: GroupId) -> Result<Option<String>, StoreError> {
        let name: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT display_name FROM groups WHERE id = $1").bind(id.0).fetch_optional(pool).await?
        });
        Ok(name)
    }

    pub async fn group_by_name(&self, name: &str) -> Result<Option<Group>, StoreError> {
        let id: Option<Uuid> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM groups WHERE display_name_key = $1").bind(group_key(name)).fetch_optional(pool).await?
        });
        match id {
            Some(id) => self.group(GroupId(id)).await,
            None => Ok(None),
        }
    }

    /// How many groups there are (kept by the database as groups come and go).
    pub async fn count_groups(&self) -> Result<i64, StoreError> {
        Ok(self.directory_count("groups").await?.0 as i64)
    }

    /// One page of groups with their members, oldest first: `limit` from place `offset`
    /// (0-based).
    pub async fn groups_page(&self, offset: usize, limit: usize) -> Result<Vec<Group>, StoreError> {
        const PAGE: &str = "SELECT id FROM groups ORDER BY created_at, id LIMIT $1 OFFSET $2";
        let rows: Vec<GroupRow> = with_pool!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT id, display_name, external_id, attributes, version, created_at, updated_at FROM groups \
                 WHERE id IN ({PAGE}) ORDER BY created_at, id"
            ))
            .bind(limit as i64)
            .bind(offset as i64)
            .fetch_all(pool)
            .await?
        });
        let members: Vec<MemberRow> = with_pool!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT m.group_id, m.user_id, u.user_name FROM group_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.group_id IN ({PAGE}) ORDER BY m.added_at, u.user_name"
            ))
            .bind(limit as i64)
            .bind(offset as i64)
            .fetch_all(pool)
            .await?
        });
        let mut members = by_group(members);
        Ok(rows
            .into_iter()
            .map(|r| {
                let own = members.remove(&r.id).unwrap_or_default();
                assemble(r, own)
            })
            .collect())
    }

    /// The groups an index lookup finds (oldest first): every group a filter anchored
    /// there can match, and maybe a few it turns away.
    pub async fn groups_anchored(
        &self,
        anchor: &crate::scim::filter::Anchor,
    ) -> Result<Vec<Group>, StoreError> {
        use crate::scim::filter::Anchor;
        // Ids and member values are UUIDs: a value that is none finds nobody.
        let uuid = |text: &str| Uuid::parse_str(text).ok();
        let ids: Vec<Uuid> = match anchor {
            Anchor::Id(id) => uuid(id).into_iter().collect(),
            Anchor::Key("display_name", name) => {
                return Ok(self.group_by_name(name).await?.into_iter().collect());
            }
            Anchor::Key("member", member) => match uuid(member) {
                Some(user) => with_pool!(self, pool => {
                    sqlx::query_scalar(
                        "SELECT m.group_id FROM group_members m JOIN groups g ON g.id = m.group_id \
                         WHERE m.user_id = $1 ORDER BY g.created_at, g.id",
                    )
                    .bind(user)
                    .fetch_all(pool)
                    .await?
                }),
                None => vec![],
            },
            _ => return self.all_groups().await,
        };
        let mut groups = Vec::with_capacity(ids.len());
        for id in ids {
            groups.extend(self.group(GroupId(id)).await?);
        }
        Ok(groups)
    }

    /// Every group with its members, oldest first.
    pub async fn all_groups(&self) -> Result<Vec<Group>, StoreError> {
        let rows: Vec<GroupRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, display_name, external_id, attributes, version, created_at, updated_at FROM groups ORDER BY created_at, id")
                .fetch_all(pool)
                .await?
        });
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let members = self.members_of(&ids).await?;
        let mut members = by_group(members);
        Ok(rows
            .into_iter()
            .map(|r| {
                let own = members.remove(&r.id).unwrap_or_default();
                assemble(r, own)
            })
            .collect())
    }

    /// The groups a user belongs to, by name.
    pub async fn groups_of(&self, user: UserId) -> Result<Vec<(GroupId, String)>, StoreError> {
        let rows: Vec<(Uuid, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT g.id, g.display_name FROM group_members m JOIN groups g ON g.id = m.group_id \
                 WHERE m.user_id = $1 ORDER BY g.display_name",
            )
            .bind(user.0)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name)| (GroupId(id), name))
            .collect())
    }

    /// The members of one group, or (for more than one) of every group: one query either
    /// way, never one per group.
    async fn members_of(&self, groups: &[Uuid]) -> Result<Vec<MemberRow>, StoreError> {
        const SELECT: &str = "SELECT m.group_id, m.user_id, u.user_name FROM group_members m \
                              JOIN users u ON u.id = m.user_id";
        let rows: Vec<MemberRow> = match groups {
            [] => vec![],
            [one] => {
                let sql =
                    format!("{SELECT} WHERE m.group_id = $1 ORDER BY m.added_at, u.user_name");
                with_pool!(self, pool => sqlx::query_as(&sql).bind(one).fetch_all(pool).await?)
            }
            _ => {
                let sql = format!("{SELECT} ORDER BY m.added_at, u.user_name");
                with_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?)
            }
        };
        Ok(rows)
    }
}

/// Members by group id, each list in the order the query gave.
fn by_group(rows: Vec<MemberRow>) -> HashMap<Uuid, Vec<Member>> {
    let mut out: HashMap<Uuid, Vec<Member>> = HashMap::new();
    for m in rows {
        out.entry(m.group_id).or_default().push(Member {
            user_id: UserId(m.user_id),
            user_name: m.user_name,
        });
    }
    out
}

fn assemble(row: GroupRow, members: Vec<Member>) -> Group {
    Group {
        id: GroupId(row.id),
        display_name: row.display_name,
        external_id: row.external_id,
        attributes: row.attributes.0,
        members,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
