//! Bearer tokens for SCIM clients. Only a SHA-256 of each token is stored; the token is
//! shown once, when it is made.

use super::BeginWrite;
use super::{Store, StoreError, now, with_pool};
use crate::audit::NewEntry;
use crate::scim::self_check::{Check, SelfCheck};
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use uuid::Uuid;

pub use crate::scim::token::{ScimToken, TokenMaker};

const TOKEN_COLUMNS: &str = "id, name, created_at, last_used_at, revoked_at, created_by, \
     created_by_operator, self_check";

/// How many self-check reports are kept (the newest).
const KEPT_SELF_CHECKS: i64 = 20;

/// How long a self-check's token works: a run takes seconds, and a token left behind by a
/// run that never finished (the server stopped) must not stay live.
const SELF_CHECK_TOKEN_LIFE: chrono::Duration = chrono::Duration::minutes(10);

/// The SHA-256 of a token, hex: what is stored instead of a secret token.
pub(crate) fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token: `prefix` and 40 characters from a 62-letter alphabet
/// (about 238 bits).
pub(crate) fn random_token(prefix: &str) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    let body: String = (0..40)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{body}")
}

impl Store {
    /// Makes a token named `name` for `maker`; returns it with the secret, which is not
    /// kept.
    pub async fn create_scim_token(
        &self,
        name: &str,
        maker: TokenMaker,
        audit: &NewEntry,
    ) -> Result<(ScimToken, String), StoreError> {
        self.make_scim_token(name, maker, false, audit).await
    }

    /// Makes the SCIM self-check's temporary token, named `name`, for `maker`: what it
    /// changes starts no flow, and the token list leaves it out.
    pub async fn create_self_check_token(
        &self,
        name: &str,
        maker: TokenMaker,
        audit: &NewEntry,
    ) -> Result<(ScimToken, String), StoreError> {
        self.make_scim_token(name, maker, true, audit).await
    }

    async fn make_scim_token(
        &self,
        name: &str,
        maker: TokenMaker,
        self_check: bool,
        audit: &NewEntry,
    ) -> Result<(ScimToken, String), StoreError> {
        let secret = random_token("idf_scim_");
        let id = Uuid::now_v7();
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let (person, operator) = match maker {
                TokenMaker::Person(user) => (Some(user.0), false),
                TokenMaker::Operator => (None, true),
            };
            sqlx::query(
                "INSERT INTO scim_tokens (id, name, token_hash, created_at, created_by, created_by_operator, self_check) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
                .bind(id)
                .bind(name)
                .bind(digest(&secret))
                .bind(now())
                .bind(person)
                .bind(operator)
                .bind(self_check)
                .execute(&mut *tx)
                .await?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        let token: Option<ScimToken> = with_pool!(self, pool => {
            sqlx::query_as(&format!("SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        let token =
            token.ok_or_else(|| StoreError::Corrupt("token vanished after insert".into()))?;
        Ok((token, secret))
    }

    /// The live token whose secret is `secret`, noting that it was used. A self-check's
    /// token lives ten minutes at most, revoked or not.
    pub async fn authenticate_scim_token(
        &self,
        secret: &str,
    ) -> Result<Option<ScimToken>, StoreError> {
        let hash = digest(secret);
        let token: Option<ScimToken> = with_pool!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
                 AND (NOT self_check OR created_at > $2)"
            ))
            .bind(&hash)
            .bind(now() - SELF_CHECK_TOKEN_LIFE)
            .fetch_optional(pool)
            .await?
        });
        let Some(mut token) = token else {
            return Ok(None);
        };
        token.last_used_at = self
            .note_token_use("scim_tokens", token.id, token.last_used_at)
            .await?;
        Ok(Some(token))
    }

    /// Notes that the token `id` of `table` (`scim_tokens`, `api_tokens`) was used now;
    /// its last use as it stands after. Kept to the minute: a write on every request would
    /// cost more than the request itself during a burst.
    pub(crate) async fn note_token_use(
        &self,
        table: &'static str,
        id: Uuid,
        last: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let at = now();
        if last.is_some_and(|last| at - last <= chrono::Duration::seconds(60)) {
            return Ok(last);
        }
        let sql = format!("UPDATE {table} SET last_used_at = $2 WHERE id = $1");
        let _turn = self.write_turn().await;
        with_pool!(self, pool => {
            sqlx::query(&sql).bind(id).bind(at).execute(pool).await?;
        });
        Ok(Some(at))
    }

    /// The SCIM tokens people made (not the self-check's), oldest first.
    pub async fn scim_tokens(&self) -> Result<Vec<ScimToken>, StoreError> {
        let tokens: Vec<ScimToken> = with_pool!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE NOT self_check ORDER BY created_at"
            ))
                .fetch_all(pool)
                .await?
        });
        Ok(tokens)
    }

    /// Revokes a token; `false` when no live token has that id.
    pub async fn revoke_scim_token(&self, id: Uuid, audit: &NewEntry) -> Result<bool, StoreError> {
        let revoked = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("UPDATE scim_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(now())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 1 {
                super::audit::append_in!(tx, audit)?;
            }
            tx.commit().await?;
            done.rows_affected() == 1
        });
        Ok(revoked)
    }

    /// Keeps a self-check's report (and only the newest twenty), with its System Log entry.
    pub async fn record_self_check(
        &self,
        report: &SelfCheck,
        audit: &NewEntry,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO scim_self_checks (id, ran_at, ran_by, checks) VALUES ($1, $2, $3, $4)",
            )
            .bind(report.id)
            .bind(report.ran_at)
            .bind(&report.ran_by)
            .bind(Json(&report.checks))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM scim_self_checks WHERE id NOT IN \
                 (SELECT id FROM scim_self_checks ORDER BY ran_at DESC, id DESC LIMIT $1)",
            )
            .bind(KEPT_SELF_CHECKS)
            .execute(&mut *tx)
            .await?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The newest self-check's report, if one ran.
    pub async fn last_self_check(&self) -> Result<Option<SelfCheck>, StoreError> {
        type Row = (
            Uuid,
            chrono::DateTime<chrono::Utc>,
            String,
            Json<Vec<Check>>,
        );
        let row: Option<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, ran_at, ran_by, checks FROM scim_self_checks \
                 ORDER BY ran_at DESC, id DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(id, ran_at, ran_by, checks)| SelfCheck {
            id,
            ran_at,
            ran_by,
            checks: checks.0,
        }))
    }
}
