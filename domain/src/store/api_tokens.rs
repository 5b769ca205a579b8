//! API tokens for the REST API. Only a SHA-256 of each token is stored; the token is
//! shown once, when it is made (see `crate::api_tokens`).

use super::BeginWrite;
use super::scim_tokens::{digest, random_token};
use super::{Store, StoreError, now, with_pool};
use crate::api_tokens::{ApiToken, Idempotency, PREFIX, Scope, TokenKind};
use crate::audit::NewEntry;
use crate::directory::UserId;
use chrono::{DateTime, Utc};
use uuid::Uuid;

const TOKEN_COLUMNS: &str = "id, name, kind, owner_id, owner_name, role, scopes, created_at, expires_at, \
     last_used_at, revoked_at";

/// A token about to be made.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub name: String,
    pub kind: TokenKind,
    /// Personal: the person it acts as. Service: the person making it.
    pub owner: UserId,
    pub owner_name: String,
    /// A service token's role.
    pub role: Option<crate::access::Role>,
    pub scopes: Vec<Scope>,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Makes a token; returns it with its secret, which is not kept.
    pub async fn create_api_token(
        &self,
        new: &NewApiToken,
        audit: &NewEntry,
    ) -> Result<(ApiToken, String), StoreError> {
        let secret = random_token(PREFIX);
        let id = Uuid::now_v7();
        let scopes = new
            .scopes
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(" ");
        let mut audit = audit.clone();
        if let Some(target) = audit.target.as_mut() {
            target.id = id.to_string();
        }
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO api_tokens (id, name, kind, owner_id, owner_name, role, scopes, token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(id)
            .bind(&new.name)
            .bind(new.kind.as_str())
            .bind(new.owner.0)
            .bind(&new.owner_name)
            .bind(new.role.map(|r| r.as_str()))
            .bind(&scopes)
            .bind(digest(&secret))
            .bind(now())
            .bind(new.expires_at)
            .execute(&mut *tx)
            .await?;
            super::audit::append_in!(tx, &audit)?;
            tx.commit().await?;
        });
        let token = self
            .api_token(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("an API token vanished after insert".into()))?;
        Ok((token, secret))
    }

    pub async fn api_token(&self, id: Uuid) -> Result<Option<ApiToken>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The live token whose secret is `secret` (not revoked, not expired), noting that
    /// it was used (to the minute).
    pub async fn authenticate_api_token(
        &self,
        secret: &str,
    ) -> Result<Option<ApiToken>, StoreError> {
        if !secret.starts_with(PREFIX) {
            return Ok(None);
        }
        let at = now();
        let token: Option<ApiToken> = with_pool!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2"
            ))
            .bind(digest(secret))
            .bind(at)
            .fetch_optional(pool)
            .await?
        });
        let Some(mut token) = token else {
            return Ok(None);
        };
        token.last_used_at = self
            .note_token_use("api_tokens", token.id, token.last_used_at)
            .await?;
        Ok(Some(token))
    }

    /// Tokens, newest first: every one, or those of one person (theirs, and the service
    /// tokens they made).
    pub async fn api_tokens(&self, of: Option<UserId>) -> Result<Vec<ApiToken>, StoreError> {
        Ok(with_pool!(self, pool => {
            match of {
                Some(owner) => sqlx::query_as(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE owner_id = $1 ORDER BY created_at DESC"
                ))
                .bind(owner.0)
                .fetch_all(pool)
                .await?,
                None => sqlx::query_as(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at DESC"
                ))
                .fetch_all(pool)
                .await?,
            }
        }))
    }

    /// Revokes a token; `false` when no unrevoked token has that id.
    pub async fn revoke_api_token(&self, id: Uuid, audit: &NewEntry) -> Result<bool, StoreError> {
        Ok(super::audit::change_logged!(
            self,
            audit,
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"
            )
            .bind(id)
            .bind(now())
        ))
    }

    /// Claims `key` for a request of `token` with `fingerprint`, or says how it was
    /// claimed before.
    pub async fn claim_idempotency(
        &self,
        token: Uuid,
        key: &str,
        fingerprint: &str,
    ) -> Result<Idempotency, StoreError> {
        let inserted = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query(
                "INSERT INTO api_idempotency (token_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(token)
            .bind(key)
            .bind(fingerprint)
            .bind(now())
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted > 0 {
            return Ok(Idempotency::Claimed);
        }
        let row: Option<(String, Option<i64>, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT fingerprint, status, body FROM api_idempotency WHERE token_id = $1 AND key = $2")
                .bind(token)
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(match row {
            Some((fingerprint, Some(status), Some(body))) => Idempotency::Answered {
                fingerprint,
                status: u16::try_from(status).unwrap_or(200),
                body,
            },
            Some((fingerprint, _, _)) => Idempotency::Pending { fingerprint },
            // Released between the two reads: as if still pending; the caller retries.
            None => Idempotency::Pending {
                fingerprint: fingerprint.to_string(),
            },
        })
    }

    /// Keeps the answer to a claimed key (`Some`), or releases the key (`None`: the
    /// request failed, and may be retried with it).
    pub async fn finish_idempotency(
        &self,
        token: Uuid,
        key: &str,
        answer: Option<(u16, &str)>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            match answer {
                Some((status, body)) => sqlx::query(
                    "UPDATE api_idempotency SET status = $3, body = $4 WHERE token_id = $1 AND key = $2",
                )
                .bind(token)
                .bind(key)
                .bind(i64::from(status))
                .bind(body)
                .execute(pool)
                .await?,
                None => sqlx::query("DELETE FROM api_idempotency WHERE token_id = $1 AND key = $2")
                    .bind(token)
                    .bind(key)
                    .execute(pool)
                    .await?,
            };
        });
        Ok(())
    }

    /// Forgets idempotency keys claimed before `cutoff`.
    pub async fn prune_idempotency(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query("DELETE FROM api_idempotency WHERE created_at < $1")
                .bind(cutoff)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
