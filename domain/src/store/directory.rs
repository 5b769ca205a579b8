//! Directory writes that come with events: every change to a user writes a directory
//! event (the outbox flows will read) and a System Log entry in the same transaction.
//! An update that changes nothing writes neither.

use super::BeginWrite;
use super::users::{USER_COLUMNS, UserRow, write_user_keys_in};
use super::{Store, StoreError, now, with_pool};
use crate::scim::sql::Bind;

/// `$query` with `$binds` ([`Bind`]s) bound in order.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for value in $binds {
            query = match value {
                Bind::Text(text) => query.bind(text.as_str()),
                Bind::Id(id) => query.bind(*id),
                Bind::Time(time) => query.bind(*time),
            };
        }
        query
    }};
}
use crate::access::Role;
use crate::audit::{Actor, NewEntry};
pub use crate::directory::{Change, DirectoryEvent};
use crate::directory::{User, UserId, UserStatus, user_name_key};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The whole state of a user as a write sets it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserWrite {
    pub user_name: String,
    pub external_id: Option<String>,
    pub status: UserStatus,
    pub role: Role,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub attributes: Map<String, Value>,
}

/// The most users a filter that SQL cannot answer exactly may read for the caller to
/// match ([`Store::users_matching`]).
pub const SCAN_LIMIT: usize = 10_000;

impl UserWrite {
    /// `user` as this write would leave them (a dry run's answer; nothing is stored).
    pub fn applied_to(&self, user: &User) -> User {
        User {
            user_name: self.user_name.clone(),
            external_id: self.external_id.clone(),
            status: self.status,
            role: self.role,
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            attributes: self.attributes.clone(),
            ..user.clone()
        }
    }

    /// The names the Directory's search looks in.
    pub(crate) fn names(&self) -> (&str, Option<&str>, Option<&str>) {
        (
            &self.user_name,
            self.display_name.as_deref(),
            self.email.as_deref(),
        )
    }
}

impl From<&User> for UserWrite {
    /// The write that keeps `user` as it is; change a field to change just that.
    fn from(user: &User) -> Self {
        UserWrite {
            user_name: user.user_name.clone(),
            external_id: user.external_id.clone(),
            status: user.status,
            role: user.role,
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            attributes: user.attributes.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    Updated(User),
    Unchanged(User),
}

impl WriteOutcome {
    pub fn user(&self) -> &User {
        match self {
            WriteOutcome::Updated(u) | WriteOutcome::Unchanged(u) => u,
        }
    }
}

impl UserWrite {
    /// The attributes this write would change on `user` (the role among them); none when
    /// it would leave the user as they are.
    pub fn changes(&self, user: &User) -> Vec<Change> {
        let before = snapshot(
            &user.user_name,
            &user.external_id,
            user.status,
            user.role,
            &user.attributes,
        );
        let after = snapshot(
            &self.user_name,
            &self.external_id,
            self.status,
            self.role,
            &self.attributes,
        );
        let mut changes = diff(&before, &after);
        if user.display_name != self.display_name {
            changes.push(Change {
                attribute: "displayName".into(),
                old: user
                    .display_name
                    .clone()
                    .map(Value::String)
                    .unwrap_or(Value::Null),
                new: self
                    .display_name
                    .clone()
                    .map(Value::String)
                    .unwrap_or(Value::Null),
            });
        }
        if user.email != self.email {
            changes.push(Change {
                attribute: "email".into(),
                old: user.email.clone().map(Value::String).unwrap_or(Value::Null),
                new: self.email.clone().map(Value::String).unwrap_or(Value::Null),
            });
        }
        changes
    }
}

/// Every attribute of a user that events talk about, flattened: extension attributes
/// appear as `urn:…:User:department`.
fn snapshot(
    user_name: &str,
    external_id: &Option<String>,
    status: UserStatus,
    role: Role,
    attributes: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("userName".into(), Value::String(user_name.to_string()));
    out.insert(
        "externalId".into(),
        external_id
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null),
    );
    out.insert("active".into(), Value::Bool(status == UserStatus::Active));
    out.insert("status".into(), Value::String(status.as_str().into()));
    out.insert("role".into(), Value::String(role.as_str().into()));
    for (key, value) in attributes {
        match value {
            Value::Object(fields) if key.contains(':') => {
                for (field, v) in fields {
                    out.insert(format!("{key}:{field}"), v.clone());
                }
            }
            other => {
                out.insert(key.clone(), other.clone());
            }
        }
    }
    out
}

pub(crate) fn diff(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<Change> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (o, n) = (
                old.get(k).unwrap_or(&Value::Null),
                new.get(k).unwrap_or(&Value::Null),
            );
            (o != n).then(|| Change {
                attribute: k.clone(),
                old: o.clone(),
                new: n.clone(),
            })
        })
        .collect()
}

/// The events a change from `old` to `new` stands for, as (type, changes).
fn events_for(changes: &[Change]) -> Vec<(&'static str, Vec<Change>)> {
    let mut events = Vec::new();
    if let Some(c) = changes.iter().find(|c| c.attribute == "status") {
        let kind = match (c.old.as_str(), c.new.as_str()) {
            (_, Some("deprovisioned")) => "user.deactivated",
            (_, Some("suspended")) => "user.suspended",
            (Some("suspended"), Some("active")) => "user.unsuspended",
            _ => "user.reactivated",
        };
        events.push((kind, vec![c.clone()]));
    }
    if let Some(c) = changes.iter().find(|c| c.attribute == "role") {
        events.push(("user.role_changed", vec![c.clone()]));
        let unassigned = Some(Role::UnassignedUser.as_str());
        if c.old.as_str() == unassigned {
            events.push(("user.assigned_to_app", vec![c.clone()]));
        } else if c.new.as_str() == unassigned {
            events.push(("user.unassigned_from_app", vec![c.clone()]));
        }
    }
    let profile: Vec<Change> = changes
        .iter()
        .filter(|c| !["status", "active", "role"].contains(&c.attribute.as_str()))
        .cloned()
        .collect();
    if !profile.is_empty() {
        events.push(("user.profile_updated", profile));
    }
    events
}

macro_rules! insert_event {
    ($tx:expr, $kind:expr, $subject:expr, $actor:expr, $changes:expr) => {
        insert_event!($tx, "user", $kind, $subject, $actor, $changes)
    };
    ($tx:expr, $subject_kind:expr, $kind:expr, $subject:expr, $actor:expr, $changes:expr) => {{
        let (actor_id, actor_display) = $actor.id_and_display();
        sqlx::query(
            "INSERT INTO directory_events (id, occurred_at, event_type, subject_kind, subject_id, actor_kind, actor_id, actor_display, changes, causal_chain) \
             VALUES ($1, $2, $3, $9, $4, $5, $6, $7, $8, $10)",
        )
        .bind(Uuid::now_v7())
        .bind(now())
        .bind($kind)
        .bind($subject)
        .bind($actor.kind())
        .bind(actor_id)
        .bind(actor_display)
        .bind(sqlx::types::Json($changes))
        .bind($subject_kind)
        .bind(sqlx::types::Json($actor.causal_chain()))
        .execute(&mut *$tx)
        .await
    }};
}

impl Store {
    /// Creates a user from an identity provider (or the console), with its
    /// `user.created` event and log entry.
    pub async fn provision_user(
        &self,
        write: &UserWrite,
        actor: &Actor,
        audit: &NewEntry,
    ) -> Result<User, StoreError> {
        let id = UserId::new();
        let at = now();
        let changes = diff(
            &Map::new(),
            &snapshot(
                &write.user_name,
                &write.external_id,
                write.status,
                write.role,
                &write.attributes,
            ),
        );
        // The entry names the new user, now that it has an id.
        let audit = &audit.clone().target(crate::audit::Target {
            kind: "user".into(),
            id: id.to_string(),
            display: write.user_name.clone(),
        });
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO users (id, user_name, user_name_key, display_name, email, role, status, created_at, updated_at, \
                 external_id, attributes, version, last_provisioned_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, 1, $8)",
            )
            .bind(id.0)
            .bind(&write.user_name)
            .bind(user_name_key(&write.user_name))
            .bind(&write.display_name)
            .bind(&write.email)
            .bind(write.role.as_str())
            .bind(write.status.as_str())
            .bind(at)
            .bind(&write.external_id)
            .bind(sqlx::types::Json(&write.attributes))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::conflict_or(e, format!("a user named {:?}", write.user_name)))?;
            write_user_keys_in!(tx, id.0, &write.attributes, write.names(), write.external_id.as_deref());
            insert_event!(tx, "user.created", id.0, actor, &changes)?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        self.inserted_user(id).await
    }

    /// Sets the whole state of a user. `expected_version` (from If-Match) must match the
    /// stored one when given. Writes one event per kind of change, none if nothing
    /// changed. A role change, suspension or deactivation ends the user's sessions.
    pub async fn update_user(
        &self,
        id: UserId,
        expected_version: Option<i64>,
        write: &UserWrite,
        actor: &Actor,
        audit: &NewEntry,
    ) -> Result<Option<WriteOutcome>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let at = now();
        let updated = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            // Writing first takes the row (PostgreSQL) or the database (SQLite) for this
            // transaction, so the read below cannot go stale before the update.
            let touched = sqlx::query("UPDATE users SET version = version WHERE id = $1").bind(id.0).execute(&mut *tx).await?;
            if touched.rows_affected() == 0 {
                return Ok(None);
            }
            let row: UserRow = sqlx::query_as(&sql).bind(id.0).fetch_one(&mut *tx).await?;
            let current = User::try_from(row)?;
            if let Some(expected) = expected_version
                && expected != current.version
            {
                return Err(StoreError::PreconditionFailed { current: current.version });
            }
            let before = snapshot(&current.user_name, &current.external_id, current.status, current.role, &current.attributes);
            let after = snapshot(&write.user_name, &write.external_id, write.status, write.role, &write.attributes);
            let changes = diff(&before, &after);
            if changes.is_empty() && current.display_name == write.display_name && current.email == write.email {
                return Ok(Some(WriteOutcome::Unchanged(current)));
            }
            let ends_sessions = current.role != write.role || (current.status == UserStatus::Active && write.status != UserStatus::Active);
            sqlx::query(
                "UPDATE users SET user_name = $2, user_name_key = $3, display_name = $4, email = $5, role = $6, status = $7, \
                 external_id = $8, attributes = $9, version = version + 1, updated_at = $10, last_provisioned_at = $10, \
                 sessions_valid_after = CASE WHEN $11 THEN $10 ELSE sessions_valid_after END \
                 WHERE id = $1",
            )
            .bind(id.0)
            .bind(&write.user_name)
            .bind(user_name_key(&write.user_name))
            .bind(&write.display_name)
            .bind(&write.email)
            .bind(write.role.as_str())
            .bind(write.status.as_str())
            .bind(&write.external_id)
            .bind(sqlx::types::Json(&write.attributes))
            .bind(at)
            .bind(ends_sessions)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::conflict_or(e, format!("a user named {:?}", write.user_name)))?;
            write_user_keys_in!(tx, id.0, &write.attributes, write.names(), write.external_id.as_deref());
            for (kind, changes) in events_for(&changes) {
                insert_event!(tx, kind, id.0, actor, &changes)?;
            }
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
            true
        });
        debug_assert!(updated);
        Ok(self.user(id).await?.map(WriteOutcome::Updated))
    }

    /// Deletes a user, with a `user.deleted` event. `false` when there was none.
    pub async fn delete_user(
        &self,
        id: UserId,
        actor: &Actor,
        audit: &NewEntry,
    ) -> Result<bool, StoreError> {
        let deleted = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(id.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            insert_event!(tx, "user.deleted", id.0, actor, &Vec::<Change>::new())?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
            true
        });
        Ok(deleted)
    }

    /// Records that a user's account was locked after failed sign-ins: the
    /// `user.locked_out` event (which starts "User Account Locked" flows) and the log entry.
    pub async fn record_lockout(&self, user: &User, audit: &NewEntry) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            insert_event!(tx, "user.locked_out", user.id.0, Actor::System, Vec::<crate::directory::Change>::new())?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// One page of users in the order SCIM lists them (oldest first): `limit` from place
    /// `offset` (0-based), and how many users there are. The page's ids are found in the
    /// `(created_at, id)` index alone; a deep page starts from the nearest of the places
    /// this server marked ([`ListMarks`]), or skips the rows before it without reading them.
    pub async fn users_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<User>, usize), StoreError> {
        let (total, generation) = self.directory_count("users").await?;
        let start = match self.user_marks.start(generation, offset) {
            Start::Make => {
                let marks = self.users_marked(self.user_marks.every).await?;
                let start = Start::of(&marks, self.user_marks.every, offset);
                self.user_marks.keep(generation, marks);
                start
            }
            start => start,
        };
        let from_mark = match start {
            Start::Mark(mark, skip) => {
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE id IN \
                     (SELECT id FROM users WHERE (created_at, id) >= \
                      (SELECT created_at, id FROM users WHERE id = $1) \
                      ORDER BY created_at, id LIMIT $2 OFFSET $3) \
                     ORDER BY created_at, id"
                );
                let rows: Vec<UserRow> = with_pool!(self, pool => {
                    sqlx::query_as(&sql).bind(mark).bind(limit as i64).bind(skip as i64).fetch_all(pool).await?
                });
                // A mark another server removed a moment ago (this one has not seen the
                // new generation yet) finds a short page: the page is then found by skipping.
                Some(rows).filter(|rows| rows.len() >= limit.min(total.saturating_sub(offset)))
            }
            _ => None,
        };
        let rows = match from_mark {
            Some(rows) => rows,
            None => {
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE id IN \
                     (SELECT id FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2) \
                     ORDER BY created_at, id"
                );
                with_pool!(self, pool => {
                    sqlx::query_as::<_, UserRow>(&sql).bind(limit as i64).bind(offset as i64).fetch_all(pool).await?
                })
            }
        };
        let users = rows
            .into_iter()
            .map(User::try_from)
            .collect::<Result<_, _>>()?;
        Ok((users, total))
    }

    /// The ids at places 0, `every`, 2 × `every`, … of the users' list order.
    async fn users_marked(&self, every: usize) -> Result<Vec<Uuid>, StoreError> {
        let mut marks: Vec<(Uuid, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, place FROM \
                 (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) - 1 AS place FROM users) AS listed \
                 WHERE place % $1 = 0",
            )
            .bind(every as i64)
            .fetch_all(pool)
            .await?
        });
        marks.sort_unstable_by_key(|(_, place)| *place);
        Ok(marks.into_iter().map(|(id, _)| id).collect())
    }

    /// How many `kind` (`users`, `groups`) there are, and the generation of their list
    /// order, as the directory's triggers keep them.
    pub(crate) async fn directory_count(&self, kind: &str) -> Result<(usize, i64), StoreError> {
        let (n, generation): (i64, i64) = with_pool!(self, pool => {
            sqlx::query_as("SELECT n, generation FROM directory_counts WHERE kind = $1")
                .bind(kind)
                .fetch_one(pool)
                .await?
        });
        Ok((n.max(0) as usize, generation))
    }

    /// The users a SCIM filter matches, in list order (oldest first): `limit` from place
    /// `offset`, and how many match in all. A filter on the attributes kept for filters
    /// ([`crate::scim::sql`]) is answered in the database. Any other filter reads the
    /// users the indexed parts of it allow, at most [`SCAN_LIMIT`] (`None` when there are
    /// more), and matches them as `resource` renders them (as the caller shows a user).
    pub async fn users_matching(
        &self,
        filter: &crate::scim::filter::Parsed,
        offset: usize,
        limit: usize,
        resource: impl Fn(&User) -> Value,
    ) -> Result<Option<(Vec<User>, usize)>, StoreError> {
        use crate::scim::sql::{self, Dialect};
        let dialect = match self.backend {
            super::Backend::Sqlite(_) => Dialect::Sqlite,
            super::Backend::Postgres(_) => Dialect::Postgres,
        };
        let condition = sql::users(filter, dialect);
        if condition.exact {
            return self
                .users_counted(&condition.sql, &condition.binds, offset, limit)
                .await
                .map(Some);
        }
        // A bounded read of what the indexed parts allow; one more tells "too many".
        let read = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {} ORDER BY created_at, id LIMIT {}",
            condition.sql,
            SCAN_LIMIT + 1
        );
        let rows: Vec<UserRow> = with_pool!(self, pool => {
            bind_all!(sqlx::query_as(&read), &condition.binds).fetch_all(pool).await?
        });
        if rows.len() > SCAN_LIMIT {
            return Ok(None);
        }
        let mut matching = Vec::new();
        for row in rows {
            let user = User::try_from(row)?;
            if crate::scim::filter::matches(filter, &resource(&user)) {
                matching.push(user);
            }
        }
        let total = matching.len();
        let page = matching.into_iter().skip(offset).take(limit).collect();
        Ok(Some((page, total)))
    }

    /// Users meeting `where_` (its values `binds`, as `$1`…), in list order: `limit` from
    /// place `offset`, and how many there are in all, both counted in the database.
    async fn users_counted(
        &self,
        where_: &str,
        binds: &[crate::scim::sql::Bind],
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<User>, usize), StoreError> {
        let n = binds.len();
        let count_sql = format!("SELECT COUNT(*) FROM users WHERE {where_}");
        let page_sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {where_} ORDER BY created_at, id LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let (total, rows): (i64, Vec<UserRow>) = with_pool!(self, pool => {
            let total = bind_all!(sqlx::query_scalar(&count_sql), binds).fetch_one(pool).await?;
            let rows = bind_all!(sqlx::query_as(&page_sql), binds)
                .bind(limit as i64)
                .bind(offset as i64)
                .fetch_all(pool)
                .await?;
            (total, rows)
        });
        let users = rows
            .into_iter()
            .map(User::try_from)
            .collect::<Result<_, _>>()?;
        Ok((users, total as usize))
    }

    /// Users by id, from just after `after` (from the first when `None`): at most
    /// `limit`, for the REST API's cursor pages.
    pub async fn users_after(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE $1 IS NULL OR id > $1 ORDER BY id LIMIT $2"
        );
        let rows: Vec<UserRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(after).bind(limit as i64).fetch_all(pool).await?
        });
        rows.into_iter().map(User::try_from).collect()
    }

    /// The Directory page: users whose user name, shown name or email has `q` where a
    /// word starts ([`crate::directory::search_finds`]; lowercased; empty for all) with
    /// `status` (any when `None`), `limit` from place `offset` in list order, and how many
    /// there are in all. The search is a range of the search keys' index.
    pub async fn search_users(
        &self,
        q: &str,
        status: Option<UserStatus>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<User>, usize), StoreError> {
        let q: String = q
            .trim()
            .to_lowercase()
            .chars()
            .take(crate::directory::SEARCH_KEY_CHARS)
            .collect();
        // Only the filters in use are conditions, each with its values.
        let mut parts = Vec::new();
        let mut binds = Vec::new();
        if let Some(status) = status {
            binds.push(Bind::Text(status.as_str().to_string()));
            parts.push(format!("status = ${}", binds.len()));
        }
        if !q.is_empty() {
            binds.push(Bind::Text(crate::scim::sql::prefix_end(&q)));
            binds.push(Bind::Text(q));
            let (end, start) = (binds.len() - 1, binds.len());
            parts.push(format!(
                "users.id IN (SELECT user_id FROM user_keys WHERE kind = 'search' \
                 AND key >= ${start} AND key < ${end})"
            ));
        }
        if parts.is_empty() {
            return self.users_page(offset, limit).await;
        }
        self.users_counted(&parts.join(" AND "), &binds, offset, limit)
            .await
    }

    /// Gives the users whose keys were written by an older idflow (or before keys were
    /// kept) the keys of this one, a few hundred per transaction; how many it keyed.
    pub(crate) async fn key_unkeyed_users(&self) -> Result<usize, StoreError> {
        /// What a user's keys are made from.
        #[derive(sqlx::FromRow)]
        struct Unkeyed {
            id: Uuid,
            attributes: sqlx::types::Json<Map<String, Value>>,
            user_name: String,
            display_name: Option<String>,
            email: Option<String>,
            external_id: Option<String>,
        }
        let mut keyed = 0;
        loop {
            let rows: Vec<Unkeyed> = with_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT id, attributes, user_name, display_name, email, external_id FROM users \
                     WHERE keys_version < $1 LIMIT 500",
                )
                .bind(super::users::KEYS_VERSION)
                .fetch_all(pool)
                .await?
            });
            if rows.is_empty() {
                return Ok(keyed);
            }
            keyed += rows.len();
            with_pool!(self, pool => {
                let _turn = self.write_turn().await;
                let mut tx = pool.begin_write().await?;
                for row in &rows {
                    let names = (row.user_name.as_str(), row.display_name.as_deref(), row.email.as_deref());
                    write_user_keys_in!(tx, row.id, &row.attributes.0, names, row.external_id.as_deref());
                }
                tx.commit().await?;
            });
        }
    }

    pub async fn all_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id");
        let rows: Vec<UserRow> =
            with_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(User::try_from).collect()
    }

    /// The directory events about one subject, oldest first.
    /// The outbox: events no dispatcher has handed to flows yet, oldest first.
    pub async fn unprocessed_directory_events(
        &self,
        limit: i64,
    ) -> Result<Vec<DirectoryEvent>, StoreError> {
        let events: Vec<DirectoryEvent> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, occurred_at, event_type, subject_kind, subject_id, actor_kind, actor_id, actor_display, changes, causal_chain \
                 FROM directory_events WHERE processed_at IS NULL ORDER BY occurred_at, id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(events)
    }

    /// Marks an event as handed to every flow it starts.
    pub async fn mark_event_processed(&self, id: Uuid) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query("UPDATE directory_events SET processed_at = $2 WHERE id = $1 AND processed_at IS NULL")
                .bind(id)
                .bind(now())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The flows (by id) that made any of these events.
    pub async fn flows_behind(&self, events: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
        let mut flows = Vec::new();
        for event in events {
            let actor: Option<Option<String>> = with_pool!(self, pool => {
                sqlx::query_scalar("SELECT actor_id FROM directory_events WHERE id = $1 AND actor_kind = 'flow'")
                    .bind(event)
                    .fetch_optional(pool)
                    .await?
            });
            if let Some(id) = actor.flatten().and_then(|a| Uuid::parse_str(&a).ok())
                && !flows.contains(&id)
            {
                flows.push(id);
            }
        }
        Ok(flows)
    }

    pub async fn directory_events_about(
        &self,
        subject: Uuid,
    ) -> Result<Vec<DirectoryEvent>, StoreError> {
        let events: Vec<DirectoryEvent> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, occurred_at, event_type, subject_kind, subject_id, actor_kind, actor_id, actor_display, changes, causal_chain \
                 FROM directory_events WHERE subject_id = $1 ORDER BY occurred_at, id",
            )
            .bind(subject)
            .fetch_all(pool)
            .await?
        });
        Ok(events)
    }
}

pub(crate) use insert_event;

/// Where every `every`th user stands in SCIM's list order, as of one generation of that
/// order (`directory_counts.generation`, which the directory's triggers move on whenever
/// a user is added or removed): a deep page (an import walking all users) starts at the
/// nearest mark instead of skipping every user before it. Marks are made the second time
/// a deep page is asked at one generation, so a directory that keeps changing (a
/// provisioning burst) is paged by skipping, as before, instead of remade for each change.
#[derive(Debug)]
pub(crate) struct ListMarks {
    every: usize,
    marks: std::sync::Mutex<Marks>,
}

#[derive(Debug, Default)]
struct Marks {
    generation: i64,
    /// The ids at places 0, `every`, 2 × `every`, … at `generation`.
    ids: Option<Vec<Uuid>>,
    /// A deep page was asked at `generation` before there were marks.
    asked: bool,
}

/// Where a page starts.
#[derive(Debug, PartialEq)]
enum Start {
    /// At this user, skipping this many after it.
    Mark(Uuid, usize),
    /// Marks are to be made first.
    Make,
    /// From the list's start, skipping the offset.
    Skip,
}

impl Start {
    fn of(marks: &[Uuid], every: usize, offset: usize) -> Start {
        match marks.get(offset / every) {
            Some(id) => Start::Mark(*id, offset % every),
            None => Start::Skip,
        }
    }
}

impl Default for ListMarks {
    fn default() -> Self {
        ListMarks::every(1_000)
    }
}

impl ListMarks {
    pub(crate) fn every(every: usize) -> ListMarks {
        ListMarks {
            every: every.max(1),
            marks: Default::default(),
        }
    }

    /// Where the page from `offset` starts, the order being at `generation`.
    fn start(&self, generation: i64, offset: usize) -> Start {
        if offset < self.every {
            return Start::Skip;
        }
        let mut marks = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        if marks.generation != generation {
            *marks = Marks {
                generation,
                ids: None,
                asked: true,
            };
            return Start::Skip;
        }
        match &marks.ids {
            Some(ids) => Start::of(ids, self.every, offset),
            None if marks.asked => Start::Make,
            None => {
                marks.asked = true;
                Start::Skip
            }
        }
    }

    /// Keeps marks made at `generation`, unless the order has moved on since.
    fn keep(&self, generation: i64, ids: Vec<Uuid>) {
        let mut marks = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        if marks.generation == generation {
            marks.ids = Some(ids);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_made_the_second_time_a_deep_page_is_asked_at_one_generation() {
        let marks = ListMarks::every(10);
        // Shallow pages never need marks.
        assert_eq!(marks.start(1, 9), Start::Skip);
        assert_eq!(marks.start(1, 25), Start::Skip);
        assert_eq!(marks.start(1, 25), Start::Make);
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        marks.keep(1, ids.clone());
        assert_eq!(marks.start(1, 25), Start::Mark(ids[2], 5));
        assert_eq!(marks.start(1, 10), Start::Mark(ids[1], 0));
        // Past the last mark: skipped from the start (the page is empty anyway).
        assert_eq!(marks.start(1, 30), Start::Skip);
        // The order moved on: the marks are dropped, and made again only when asked twice.
        assert_eq!(marks.start(2, 25), Start::Skip);
        assert_eq!(marks.start(2, 25), Start::Make);
        // Marks made at a generation the order has since left are not kept.
        assert_eq!(marks.start(3, 25), Start::Skip);
        marks.keep(2, ids);
        assert_eq!(marks.start(3, 25), Start::Make);
    }
}
