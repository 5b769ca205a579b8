//! Appending to and reading the System Log.

use super::BeginWrite;
use super::{Store, StoreError, now, with_pool};
use crate::audit::{Entry, NewEntry};
use uuid::Uuid;

/// The row of `entry` as it is recorded now, with a new id.
pub(crate) fn row(entry: &NewEntry) -> Entry {
    let (actor_id, actor_display) = entry.actor.id_and_display();
    let target = entry.target.as_ref();
    Entry {
        id: Uuid::now_v7(),
        occurred_at: now(),
        action: entry.action.as_str().to_string(),
        outcome: entry.outcome.as_str().to_string(),
        actor_kind: entry.actor.kind().to_string(),
        actor_id,
        actor_display: Some(actor_display),
        target_kind: target.map(|t| t.kind.clone()),
        target_id: target.map(|t| t.id.clone()),
        target_display: target.map(|t| t.display.clone()),
        client_address: entry.client_address.clone(),
        request_id: entry.request_id.clone(),
        reason: entry.reason.clone(),
    }
}

/// Appends `$entry` inside the transaction `$tx` (either backend), so a log entry and the
/// change it records land together or not at all. Evaluates to the new entry's id.
macro_rules! append_in {
    ($tx:expr, $entry:expr) => {{
        let row = $crate::store::audit::row($entry);
        sqlx::query(
            "INSERT INTO audit_log (id, occurred_at, action, outcome, actor_kind, actor_id, actor_display, \
             target_kind, target_id, target_display, client_address, request_id, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(row.id)
        .bind(row.occurred_at)
        .bind(row.action)
        .bind(row.outcome)
        .bind(row.actor_kind)
        .bind(row.actor_id)
        .bind(row.actor_display)
        .bind(row.target_kind)
        .bind(row.target_id)
        .bind(row.target_display)
        .bind(row.client_address)
        .bind(row.request_id)
        .bind(row.reason)
        .execute(&mut *$tx)
        .await
        .map(|_| row.id)
    }};
}
pub(crate) use append_in;

/// Runs the bound query `$query` in a transaction (on the write gate) and appends
/// `$audit` in it when the query changed a row. Evaluates to whether it did.
macro_rules! change_logged {
    ($store:expr, $audit:expr, $query:expr) => {{
        $crate::store::with_pool!($store, pool => {
            let _turn = $store.write_turn().await;
            let mut tx = $crate::store::BeginWrite::begin_write(pool).await?;
            let changed = $query.execute(&mut *tx).await?.rows_affected() > 0;
            if changed {
                $crate::store::audit::append_in!(tx, $audit)?;
            }
            tx.commit().await?;
            changed
        })
    }};
}
pub(crate) use change_logged;

impl Store {
    /// Appends one entry to the System Log.
    pub async fn append_audit(&self, entry: &NewEntry) -> Result<Uuid, StoreError> {
        let id = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let id = append_in!(tx, entry)?;
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// The most recent entries, newest first.
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<Entry>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, occurred_at, action, outcome, actor_kind, actor_id, actor_display, target_kind, \
                 target_id, target_display, client_address, request_id, reason \
                 FROM audit_log ORDER BY occurred_at DESC, id DESC LIMIT $1",
            )
            .bind(limit.clamp(1, 500))
            .fetch_all(pool)
            .await?
        }))
    }
}
