//! Connections, with their secrets sealed under the store's key (see `crate::secrets`):
//! each secret is sealed for its row and field, so it opens nowhere else, and is opened
//! only for a card that uses it or a test of the connection.

use super::BeginWrite;
use super::{Store, StoreError, now, with_pool};
use crate::audit::NewEntry;
use crate::connections::Values;
use crate::secrets::{SecretKey, place};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The last test of a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionTest {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub message: String,
}

/// A connection as lists and pages show it: never a secret, only which it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub settings: BTreeMap<String, String>,
    /// The fields whose secrets it holds.
    pub secret_fields: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who changed it last, as the System Log names them.
    pub updated_by: String,
    pub last_test: Option<ConnectionTest>,
    /// The folders whose flows may use it; `None`: every flow, wherever it is.
    pub folders: Option<Vec<Uuid>>,
}

impl Connection {
    /// Whether a flow in `folder` (`None`: at the top level) may use it.
    pub fn usable_in(&self, folder: Option<Uuid>) -> bool {
        match &self.folders {
            None => true,
            Some(shared) => folder.is_some_and(|f| shared.contains(&f)),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    id: Uuid,
    name: String,
    kind: String,
    settings: Json<BTreeMap<String, String>>,
    secrets: Json<BTreeMap<String, String>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    updated_by: String,
    last_test_at: Option<DateTime<Utc>>,
    last_test_ok: Option<bool>,
    last_test_message: Option<String>,
    folders: Option<Json<Vec<Uuid>>>,
}

impl From<ConnectionRow> for Connection {
    fn from(r: ConnectionRow) -> Connection {
        Connection {
            id: r.id,
            name: r.name,
            kind: r.kind,
            settings: r.settings.0,
            secret_fields: r.secrets.0.into_keys().collect(),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
            last_test: match (r.last_test_at, r.last_test_ok) {
                (Some(at), Some(ok)) => Some(ConnectionTest {
                    at,
                    ok,
                    message: r.last_test_message.unwrap_or_default(),
                }),
                _ => None,
            },
            folders: r.folders.map(|f| f.0),
        }
    }
}

const COLUMNS: &str = "id, name, kind, settings, secrets, version, created_at, updated_at, updated_by, \
     last_test_at, last_test_ok, last_test_message, folders";

fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn taken(err: sqlx::Error, name: &str) -> StoreError {
    StoreError::conflict_or(err, format!("a connection named {:?}", name.trim()))
}

/// `secrets` sealed for connection `id` under `key`.
fn sealed(
    key: &SecretKey,
    id: Uuid,
    secrets: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    secrets
        .iter()
        .map(|(field, plain)| {
            (
                field.clone(),
                key.seal(plain, &place("connections", id, field)),
            )
        })
        .collect()
}

impl Store {
    /// Creates the connection `id`, named `name`, of `kind` with checked `values`, its
    /// secrets sealed, logging `audit` in the same transaction.
    pub async fn create_connection(
        &self,
        id: Uuid,
        name: &str,
        kind: &str,
        values: &Values,
        by: &str,
        audit: &NewEntry,
    ) -> Result<Connection, StoreError> {
        let at = now();
        let secrets = sealed(self.secret_key()?, id, &values.secrets);
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO connections (id, name, name_key, kind, settings, secrets, version, created_at, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8)",
            )
            .bind(id)
            .bind(name.trim())
            .bind(name_key(name))
            .bind(kind)
            .bind(Json(&values.settings))
            .bind(Json(&secrets))
            .bind(at)
            .bind(by)
            .execute(&mut *tx)
            .await
            .map_err(|e| taken(e, name))?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        self.connection(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("connection {id} vanished after insert")))
    }

    /// Changes connection `id` (at `version`): its name, its settings, the secrets typed
    /// anew (sealed), keeping of the others only those named in `keep`. `None` when it is
    /// gone; a precondition failure when someone changed it meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_connection(
        &self,
        id: Uuid,
        version: i64,
        name: &str,
        values: &Values,
        keep: &[String],
        by: &str,
        audit: &NewEntry,
    ) -> Result<Option<Connection>, StoreError> {
        let new = sealed(self.secret_key()?, id, &values.secrets);
        let done = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let current: Option<(i64, Json<BTreeMap<String, String>>)> = sqlx::query_as(
                "SELECT version, secrets FROM connections WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((current, Json(mut secrets))) = current else {
                return Ok(None);
            };
            if current != version {
                return Err(StoreError::PreconditionFailed { current });
            }
            secrets.retain(|field, _| keep.contains(field));
            secrets.extend(new);
            let done = sqlx::query(
                "UPDATE connections SET name = $2, name_key = $3, settings = $4, secrets = $5, version = version + 1, \
                 updated_at = $6, updated_by = $7 WHERE id = $1 AND version = $8",
            )
            .bind(id)
            .bind(name.trim())
            .bind(name_key(name))
            .bind(Json(&values.settings))
            .bind(Json(&secrets))
            .bind(now())
            .bind(by)
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(|e| taken(e, name))?;
            if done.rows_affected() == 0 {
                return Err(StoreError::PreconditionFailed { current: version + 1 });
            }
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
            true
        });
        if !done {
            return Ok(None);
        }
        self.connection(id).await
    }

    /// Keeps `plain` sealed as connection `id`'s secret `field` (a refresh token an
    /// Okta admin's authorisation brought), as a new version of the connection. `false`
    /// when there is no such connection.
    pub async fn keep_connection_secret(
        &self,
        id: Uuid,
        field: &str,
        plain: &str,
        by: &str,
        audit: &NewEntry,
    ) -> Result<bool, StoreError> {
        self.seal_secret_into(id, field, plain, Some((by, audit)))
            .await
    }

    /// Keeps the refresh token Okta rotated connection `id`'s to, if it did: sealed in
    /// place of the old one, without a new version (nobody changed the connection).
    pub async fn keep_rotated_okta_token(&self, id: Uuid) -> Result<(), StoreError> {
        use secrecy::ExposeSecret;
        if let Some(rotated) = self.connectors().okta().take_rotated(id) {
            let field = crate::connectors::okta::REFRESH_TOKEN;
            self.seal_secret_into(id, field, rotated.expose_secret(), None)
                .await?;
        }
        Ok(())
    }

    /// Seals `plain` as connection `id`'s secret `field`. A change someone made
    /// (`changed`: by whom, and its log entry) makes a new version; otherwise the
    /// version stays. `false` when there is no such connection.
    async fn seal_secret_into(
        &self,
        id: Uuid,
        field: &str,
        plain: &str,
        changed: Option<(&str, &NewEntry)>,
    ) -> Result<bool, StoreError> {
        let one = BTreeMap::from([(field.to_string(), plain.to_string())]);
        let new = sealed(self.secret_key()?, id, &one);
        Ok(with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let current: Option<(Json<BTreeMap<String, String>>,)> =
                sqlx::query_as("SELECT secrets FROM connections WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((Json(mut secrets),)) = current else {
                return Ok(false);
            };
            secrets.extend(new);
            match changed {
                Some((by, audit)) => {
                    sqlx::query(
                        "UPDATE connections SET secrets = $2, version = version + 1, updated_at = $3, updated_by = $4 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(Json(&secrets))
                    .bind(now())
                    .bind(by)
                    .execute(&mut *tx)
                    .await?;
                    super::audit::append_in!(tx, audit)?;
                }
                None => {
                    sqlx::query("UPDATE connections SET secrets = $2 WHERE id = $1")
                        .bind(id)
                        .bind(Json(&secrets))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            true
        }))
    }

    pub async fn connection(&self, id: Uuid) -> Result<Option<Connection>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM connections WHERE id = $1");
        let row: Option<ConnectionRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(Connection::from))
    }

    /// Every connection, by name.
    pub async fn connections(&self) -> Result<Vec<Connection>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM connections ORDER BY name_key");
        let rows: Vec<ConnectionRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(Connection::from).collect())
    }

    /// The secrets of connection `id`, opened; for a card that uses it or its test only.
    pub async fn connection_secrets(
        &self,
        id: Uuid,
    ) -> Result<BTreeMap<String, SecretString>, StoreError> {
        let row: Option<(Json<BTreeMap<String, String>>,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT secrets FROM connections WHERE id = $1").bind(id).fetch_optional(pool).await?
        });
        let key = self.secret_key()?;
        let Some((Json(secrets),)) = row else {
            return Ok(BTreeMap::new());
        };
        secrets
            .into_iter()
            .map(|(field, sealed)| {
                let open = key.open(&sealed, &place("connections", id, &field))?;
                Ok((field, open))
            })
            .collect()
    }

    /// Keeps the outcome of a test of connection `id`.
    pub async fn record_connection_test(
        &self,
        id: Uuid,
        ok: bool,
        message: &str,
        audit: &NewEntry,
    ) -> Result<bool, StoreError> {
        let changed = super::audit::change_logged!(
            self,
            audit,
            sqlx::query(
                "UPDATE connections SET last_test_at = $2, last_test_ok = $3, last_test_message = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(now())
            .bind(ok)
            .bind(message)
        );
        Ok(changed)
    }

    /// Shares connection `id` with the flows of `folders` (`None`: every flow), logging
    /// `audit`; `false` when it is gone.
    pub async fn share_connection(
        &self,
        id: Uuid,
        folders: Option<&[Uuid]>,
        by: &str,
        audit: &NewEntry,
    ) -> Result<bool, StoreError> {
        let changed = super::audit::change_logged!(
            self,
            audit,
            sqlx::query(
                "UPDATE connections SET folders = $2, version = version + 1, updated_at = $3, updated_by = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(folders.map(Json))
            .bind(now())
            .bind(by)
        );
        Ok(changed)
    }

    /// Deletes connection `id`, logging `audit`; `false` when it was not there.
    pub async fn delete_connection(&self, id: Uuid, audit: &NewEntry) -> Result<bool, StoreError> {
        let deleted = super::audit::change_logged!(
            self,
            audit,
            sqlx::query("DELETE FROM connections WHERE id = $1").bind(id)
        );
        Ok(deleted)
    }

    /// Re-seals every secret (connections' and the single sign-on client secret) under
    /// `new`, in one transaction, logging `audit` in it: after it, only `new` opens them.
    /// How many values were re-sealed.
    pub async fn reseal_secrets(
        &self,
        new: &SecretKey,
        audit: &NewEntry,
    ) -> Result<usize, StoreError> {
        use secrecy::ExposeSecret;
        let current = self.secret_key()?;
        let count = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let mut count = 0;
            let rows: Vec<(Uuid, Json<BTreeMap<String, String>>)> =
                sqlx::query_as("SELECT id, secrets FROM connections")
                    .fetch_all(&mut *tx)
                    .await?;
            for (id, Json(secrets)) in rows {
                let mut resealed = BTreeMap::new();
                for (field, sealed) in secrets {
                    let bound = place("connections", id, &field);
                    let open = current.open(&sealed, &bound)?;
                    resealed.insert(field, new.seal(open.expose_secret(), &bound));
                    count += 1;
                }
                sqlx::query("UPDATE connections SET secrets = $2 WHERE id = $1")
                    .bind(id)
                    .bind(Json(&resealed))
                    .execute(&mut *tx)
                    .await?;
            }
            let sso: Option<String> = sqlx::query_scalar(
                "SELECT client_secret FROM sso_settings WHERE id = 1 AND client_secret_sealed",
            )
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(sealed) = sso {
                let bound = super::sso::secret_place();
                let open = current.open(&sealed, &bound)?;
                sqlx::query("UPDATE sso_settings SET client_secret = $1 WHERE id = 1")
                    .bind(new.seal(open.expose_secret(), &bound))
                    .execute(&mut *tx)
                    .await?;
                count += 1;
            }
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
            count
        });
        Ok(count)
    }
}
