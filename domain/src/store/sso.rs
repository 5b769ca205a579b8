//! Single sign-on: identity-provider accounts linked to users, and the identity provider
//! a Super Admin set up in Settings.

use super::BeginWrite;
use super::audit::append_in;
use super::users::{USER_COLUMNS, UserRow, insert_user_in};
use super::{NewUser, Store, StoreError, now, with_pool};
use crate::audit::NewEntry;
use crate::directory::{User, UserId, user_name_key};
use chrono::{DateTime, Utc};
use secrecy::SecretString;

/// An account at an identity provider: its issuer and the subject it names the person by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    pub issuer: String,
    pub subject: String,
}

/// The identity provider configured in Settings.
#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// What the sign-in button says: "Sign in with {display_name}".
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl SsoSettings {
    /// Whether a client secret is saved (a public client with PKCE only has none).
    pub fn has_client_secret(&self) -> bool {
        use secrecy::ExposeSecret;
        !self.client_secret.expose_secret().is_empty()
    }
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    display_name: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    client_secret_sealed: bool,
    updated_at: DateTime<Utc>,
    updated_by: String,
}

/// Where the SSO client secret is kept, as its sealing is bound.
pub(super) fn secret_place() -> String {
    crate::secrets::place("sso_settings", 1, "client_secret")
}

impl Store {
    /// The user an identity-provider account was linked to.
    pub async fn user_by_sso(&self, identity: &SsoIdentity) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "SELECT {} FROM users WHERE id = (SELECT user_id FROM sso_identities WHERE issuer = $1 AND subject = $2)",
            USER_COLUMNS
        );
        let row: Option<UserRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(&identity.issuer)
                .bind(&identity.subject)
                .fetch_optional(pool)
                .await?
        });
        row.map(User::try_from).transpose()
    }

    /// Users whose `userName` or email is `email`, ignoring case: those named by it first.
    pub async fn users_by_email(&self, email: &str) -> Result<Vec<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE user_name_key = $1 OR LOWER(email) = $1 \
             ORDER BY CASE WHEN user_name_key = $1 THEN 0 ELSE 1 END, created_at"
        );
        let rows: Vec<UserRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(user_name_key(email)).fetch_all(pool).await?
        });
        rows.into_iter().map(User::try_from).collect()
    }

    /// Records a single sign-on of `user` through `identity`: links the account to the
    /// user when it was not linked yet (logging `link` with it), stamps the sign-in and
    /// appends `audit`, all in one transaction. An account already linked to someone else
    /// is never moved.
    pub async fn record_sso_sign_in(
        &self,
        identity: &SsoIdentity,
        user: UserId,
        link: Option<&NewEntry>,
        audit: &NewEntry,
    ) -> Result<(), StoreError> {
        let at = now();
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let linked = sqlx::query(
                "INSERT INTO sso_identities (issuer, subject, user_id, linked_at, last_sign_in_at) \
                 VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (issuer, subject) DO UPDATE SET last_sign_in_at = excluded.last_sign_in_at \
                 WHERE sso_identities.user_id = excluded.user_id",
            )
            .bind(&identity.issuer)
            .bind(&identity.subject)
            .bind(user.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if linked.rows_affected() == 0 {
                return Err(StoreError::Conflict {
                    what: format!("a link from this {} account to another user", identity.issuer),
                });
            }
            sqlx::query("UPDATE users SET last_sign_in_at = $2 WHERE id = $1")
                .bind(user.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            if let Some(entry) = link {
                append_in!(tx, entry)?;
            }
            append_in!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Creates the user `new` for someone signing on for the first time whom no directory
    /// user matched, linked to `identity`, with `entries` logged in the same transaction.
    pub async fn create_sso_user(
        &self,
        new: &NewUser,
        identity: &SsoIdentity,
        entries: &[NewEntry],
    ) -> Result<User, StoreError> {
        let id = UserId::new();
        let at = now();
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            insert_user_in!(tx, id, new, at)?;
            super::users::write_user_keys_in!(tx, id.0, &serde_json::Map::new(), new.names(), None);
            sqlx::query("UPDATE users SET last_sign_in_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO sso_identities (issuer, subject, user_id, linked_at, last_sign_in_at) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(&identity.issuer)
            .bind(&identity.subject)
            .bind(id.0)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::conflict_or(e, format!("a link to this {} account", identity.issuer)))?;
            for entry in entries {
                append_in!(tx, entry)?;
            }
            tx.commit().await?;
        });
        self.inserted_user(id).await
    }

    /// The identity-provider accounts linked to a user.
    pub async fn sso_identities_of(&self, user: UserId) -> Result<Vec<SsoIdentity>, StoreError> {
        let rows: Vec<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT issuer, subject FROM sso_identities WHERE user_id = $1 ORDER BY linked_at")
                .bind(user.0)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(issuer, subject)| SsoIdentity { issuer, subject })
            .collect())
    }

    /// The identity provider set up in Settings, if any.
    pub async fn sso_settings(&self) -> Result<Option<SsoSettings>, StoreError> {
        let row: Option<SettingsRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT display_name, issuer, client_id, client_secret, client_secret_sealed, updated_at, updated_by \
                 FROM sso_settings WHERE id = 1",
            )
            .fetch_optional(pool)
            .await?
        });
        let Some(r) = row else { return Ok(None) };
        let client_secret = if r.client_secret_sealed {
            self.secret_key()?.open(&r.client_secret, &secret_place())?
        } else {
            // Kept before secrets were sealed; sealed at the next start.
            SecretString::from(r.client_secret)
        };
        Ok(Some(SsoSettings {
            display_name: r.display_name,
            issuer: r.issuer,
            client_id: r.client_id,
            client_secret,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        }))
    }

    /// Seals an SSO client secret kept in the clear (by a version before secrets were
    /// sealed); whether there was one.
    pub async fn seal_plain_secrets(&self) -> Result<bool, StoreError> {
        use secrecy::ExposeSecret;
        let plain: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT client_secret FROM sso_settings WHERE id = 1 AND NOT client_secret_sealed")
                .fetch_optional(pool)
                .await?
        });
        let Some(plain) = plain else { return Ok(false) };
        let sealed = self
            .secret_key()?
            .seal(SecretString::from(plain).expose_secret(), &secret_place());
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query("UPDATE sso_settings SET client_secret = $1, client_secret_sealed = TRUE WHERE id = 1 AND NOT client_secret_sealed")
                .bind(sealed)
                .execute(pool)
                .await?;
        });
        Ok(true)
    }

    /// Sets (or with `None`, removes) the identity provider of Settings, logging `audit`
    /// in the same transaction.
    pub async fn save_sso_settings(
        &self,
        settings: Option<&SsoSettings>,
        audit: &NewEntry,
    ) -> Result<(), StoreError> {
        use secrecy::ExposeSecret;
        let sealed = match settings {
            Some(s) => Some(
                self.secret_key()?
                    .seal(s.client_secret.expose_secret(), &secret_place()),
            ),
            None => None,
        };
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            match settings {
                Some(s) => {
                    sqlx::query(
                        "INSERT INTO sso_settings (id, display_name, issuer, client_id, client_secret, client_secret_sealed, updated_at, updated_by) \
                         VALUES (1, $1, $2, $3, $4, TRUE, $5, $6) \
                         ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, issuer = excluded.issuer, \
                         client_id = excluded.client_id, client_secret = excluded.client_secret, \
                         client_secret_sealed = TRUE, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    )
                    .bind(&s.display_name)
                    .bind(&s.issuer)
                    .bind(&s.client_id)
                    .bind(sealed.as_deref().unwrap_or_default())
                    .bind(s.updated_at)
                    .bind(&s.updated_by)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM sso_settings WHERE id = 1").execute(&mut *tx).await?;
                }
            }
            append_in!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }
}
