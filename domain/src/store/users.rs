//! Users and their local credentials.

use super::BeginWrite;
use super::{Store, StoreError, now, with_pool};
use crate::access::Role;
use crate::audit::NewEntry;
use crate::directory::{User, UserId, UserStatus, user_name_key};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What it takes to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub user_name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Role,
}

impl NewUser {
    /// The names the Directory's search looks in, as stored.
    pub(crate) fn names(&self) -> (&str, Option<&str>, Option<&str>) {
        (
            self.user_name.trim(),
            self.display_name.as_deref(),
            self.email.as_deref(),
        )
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    user_name: String,
    display_name: Option<String>,
    email: Option<String>,
    role: String,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_sign_in_at: Option<DateTime<Utc>>,
    sessions_valid_after: Option<DateTime<Utc>>,
    external_id: Option<String>,
    attributes: sqlx::types::Json<serde_json::Map<String, serde_json::Value>>,
    version: i64,
    last_provisioned_at: Option<DateTime<Utc>>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            id: UserId(row.id),
            user_name: row.user_name,
            display_name: row.display_name,
            email: row.email,
            role: row
                .role
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("user {}: {e}", row.id)))?,
            status: row
                .status
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("user {}: {e}", row.id)))?,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_sign_in_at: row.last_sign_in_at,
            sessions_valid_after: row.sessions_valid_after,
            external_id: row.external_id,
            attributes: row.attributes.0,
            version: row.version,
            last_provisioned_at: row.last_provisioned_at,
        })
    }
}

pub(crate) const USER_COLUMNS: &str = "id, user_name, display_name, email, role, status, created_at, \
     updated_at, last_sign_in_at, sessions_valid_after, external_id, attributes, version, last_provisioned_at";

/// Inserts the user `$new` with id `$id`, created at `$at`, inside the transaction `$tx`
/// (either backend). A taken `userName` is a [`StoreError::Conflict`].
macro_rules! insert_user_in {
    ($tx:expr, $id:expr, $new:expr, $at:expr) => {{
        let new: &$crate::store::NewUser = $new;
        sqlx::query(
            "INSERT INTO users (id, user_name, user_name_key, display_name, email, role, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7)",
        )
        .bind($id.0)
        .bind(new.user_name.trim())
        .bind($crate::directory::user_name_key(&new.user_name))
        .bind(&new.display_name)
        .bind(&new.email)
        .bind(new.role.as_str())
        .bind($at)
        .execute(&mut *$tx)
        .await
        .map_err(|e| {
            $crate::store::StoreError::conflict_or(e, format!("a user named {:?}", new.user_name.trim()))
        })
    }};
}
pub(crate) use insert_user_in;

/// The version of the keys [`write_user_keys_in`] writes: rows with an older one are
/// keyed again when the store opens.
pub(crate) const KEYS_VERSION: i64 = 3;

/// Keeps the lookup keys (`user_keys`) of user `$id` in step with its SCIM `$attributes`,
/// its user name, display name and email (`$names`) and its external id (`$external`),
/// inside the transaction `$tx`: what SCIM filters run in the database on
/// ([`crate::scim::filter::FILTER_PATHS`]), and what the Directory's search finds the user
/// by. A value too long to index is refused, naming the attribute.
macro_rules! write_user_keys_in {
    ($tx:expr, $id:expr, $attributes:expr, $names:expr, $external:expr) => {{
        let id: uuid::Uuid = $id;
        sqlx::query("DELETE FROM user_keys WHERE user_id = $1")
            .bind(id)
            .execute(&mut *$tx)
            .await?;
        let (user_name, display_name, email): (&str, Option<&str>, Option<&str>) = $names;
        let external: Option<&str> = $external;
        let resource =
            serde_json::Value::Object($crate::scim::user::named($attributes, user_name, external));
        let mut keys = $crate::scim::filter::filter_keys(&resource);
        keys.extend(
            $crate::directory::search_keys(user_name, display_name, email)
                .into_iter()
                .map(|key| ("search", key)),
        );
        keys.sort();
        keys.dedup();
        if let Some((kind, _)) = keys
            .iter()
            .find(|(_, key)| key.len() > $crate::scim::filter::MAX_KEY_BYTES)
        {
            return Err($crate::store::StoreError::Invalid(format!(
                "{} holds a value longer than {} bytes, more than idflow keeps for filters",
                match *kind {
                    "search" => "the user name, display name or email",
                    kind => kind.trim_start_matches("f:"),
                },
                $crate::scim::filter::MAX_KEY_BYTES
            )));
        }
        for (kind, key) in keys {
            sqlx::query("INSERT INTO user_keys (user_id, kind, key) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(kind)
                .bind(key)
                .execute(&mut *$tx)
                .await?;
        }
        sqlx::query("UPDATE users SET keys_version = $2 WHERE id = $1")
            .bind(id)
            .bind($crate::store::users::KEYS_VERSION)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use write_user_keys_in;

impl Store {
    /// Creates a user, with a password hash when they sign in locally, and appends
    /// `audit` in the same transaction.
    pub async fn create_user(
        &self,
        new: &NewUser,
        password_hash: Option<&str>,
        audit: Option<&NewEntry>,
    ) -> Result<User, StoreError> {
        let id = UserId::new();
        let at = now();
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            insert_user_in!(tx, id, new, at)?;
            write_user_keys_in!(tx, id.0, &serde_json::Map::new(), new.names(), None);
            if let Some(hash) = password_hash {
                sqlx::query("INSERT INTO local_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3)")
                    .bind(id.0)
                    .bind(hash)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(entry) = audit {
                super::audit::append_in!(tx, entry)?;
            }
            tx.commit().await?;
        });
        self.inserted_user(id).await
    }

    /// The user just inserted with `id`, read back as stored.
    pub(crate) async fn inserted_user(&self, id: UserId) -> Result<User, StoreError> {
        self.user(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("user {id} vanished after insert")))
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await?
        });
        row.map(User::try_from).transpose()
    }

    /// Finds a user by `userName`, ignoring case.
    pub async fn user_by_name(&self, user_name: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE user_name_key = $1");
        let row: Option<UserRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(user_name_key(user_name)).fetch_optional(pool).await?
        });
        row.map(User::try_from).transpose()
    }

    /// How many users there are (kept by the database as users come and go).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(self.directory_count("users").await?.0 as i64)
    }

    /// The stored password hash of a user who signs in locally.
    pub async fn password_hash(&self, id: UserId) -> Result<Option<String>, StoreError> {
        let hash: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT password_hash FROM local_credentials WHERE user_id = $1")
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(hash)
    }

    /// Sets a user's password hash and ends every session they had, appending `audit` in
    /// the same transaction.
    pub async fn set_password_hash(
        &self,
        id: UserId,
        hash: &str,
        audit: &NewEntry,
    ) -> Result<(), StoreError> {
        let at = now();
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO local_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
            )
            .bind(id.0)
            .bind(hash)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE users SET sessions_valid_after = $2, updated_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn record_sign_in(&self, id: UserId, audit: &NewEntry) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE users SET last_sign_in_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(now())
                .execute(&mut *tx)
                .await?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Ends every session a user has (they sign in again), logging `audit` with it.
    /// `false` when there is no such user.
    pub async fn end_user_sessions(
        &self,
        id: UserId,
        audit: &NewEntry,
    ) -> Result<bool, StoreError> {
        let ended = super::audit::change_logged!(
            self,
            audit,
            sqlx::query("UPDATE users SET sessions_valid_after = $2 WHERE id = $1")
                .bind(id.0)
                .bind(now())
        );
        Ok(ended)
    }

    /// Changes a user's status; anything but `Active` ends their sessions.
    pub async fn set_user_status(&self, id: UserId, status: UserStatus) -> Result<(), StoreError> {
        let at = now();
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE users SET status = $2, updated_at = $3, \
                 sessions_valid_after = CASE WHEN $2 = 'active' THEN sessions_valid_after ELSE $3 END \
                 WHERE id = $1",
            )
            .bind(id.0)
            .bind(status.as_str())
            .bind(at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Changes a user's role and ends their sessions, so the change holds from their next
    /// request.
    pub async fn set_user_role(&self, id: UserId, role: Role) -> Result<(), StoreError> {
        let at = now();
        with_pool!(self, pool => {
            sqlx::query("UPDATE users SET role = $2, updated_at = $3, sessions_valid_after = $3 WHERE id = $1")
                .bind(id.0)
                .bind(role.as_str())
                .bind(at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
