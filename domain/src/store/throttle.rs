//! Counters of failed sign-ins, per account and per client address.
//!
//! The policy (how many failures, for how long) lives in `auth`; this only keeps the
//! numbers, so they hold across restarts and across servers.

use super::BeginWrite;
use super::{Store, StoreError, with_pool};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ThrottleState {
    pub failures: i64,
    pub window_started_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Store {
    pub async fn throttle_state(&self, key: &str) -> Result<Option<ThrottleState>, StoreError> {
        let row: Option<ThrottleState> = with_pool!(self, pool => {
            sqlx::query_as("SELECT failures, window_started_at, locked_until FROM sign_in_throttle WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// Reads the state under `key`, lets `next` compute the new one, and stores it, in one
    /// transaction that holds the key: of two updates at once, the second reads what the
    /// first wrote (the row is locked on PostgreSQL; SQLite's writers take turns).
    pub async fn update_throttle(
        &self,
        key: &str,
        next: impl FnOnce(Option<ThrottleState>) -> ThrottleState,
    ) -> Result<ThrottleState, StoreError> {
        let state = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            // Writing first takes the key (PostgreSQL locks the row below; SQLite makes
            // this a write transaction at once, so no other writer can slip in between
            // the read and the write and fail it as "database is locked").
            let created = sqlx::query(
                "INSERT INTO sign_in_throttle (key, failures, window_started_at, locked_until) \
                 VALUES ($1, 0, $2, NULL) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(super::now())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            let lock = match &self.backend {
                super::Backend::Postgres(_) => " FOR UPDATE",
                super::Backend::Sqlite(_) => "",
            };
            let current: Option<ThrottleState> = sqlx::query_as(&format!(
                "SELECT failures, window_started_at, locked_until FROM sign_in_throttle WHERE key = $1{lock}"
            ))
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?
            .filter(|_| !created);
            let state = next(current);
            sqlx::query(
                "INSERT INTO sign_in_throttle (key, failures, window_started_at, locked_until) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
                 window_started_at = excluded.window_started_at, locked_until = excluded.locked_until",
            )
            .bind(key)
            .bind(state.failures)
            .bind(state.window_started_at)
            .bind(state.locked_until)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            state
        });
        Ok(state)
    }

    pub async fn clear_throttle(&self, key: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM sign_in_throttle WHERE key = $1").bind(key).execute(pool).await?;
        });
        Ok(())
    }
}
