//! Appending to and reading the System Log.

use super::{Store, StoreError, now, with_pool};
use crate::audit::{Entry, NewEntry};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: Uuid,
    occurred_at: DateTime<Utc>,
    action: String,
    outcome: String,
    actor_kind: String,
    actor_id: Option<String>,
    actor_display: Option<String>,
    target_kind: Option<String>,
    target_id: Option<String>,
    target_display: Option<String>,
    client_address: Option<String>,
    request_id: Option<String>,
    reason: Option<String>,
}

/// The column values of one entry, computed once for either backend.
pub(crate) struct Row {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub action: &'static str,
    pub outcome: &'static str,
    pub actor_kind: &'static str,
    pub actor_id: Option<String>,
    pub actor_display: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target_display: Option<String>,
    pub client_address: Option<String>,
    pub request_id: Option<String>,
    pub reason: Option<String>,
}

impl Row {
    pub(crate) fn new(entry: &NewEntry) -> Row {
        let (actor_id, actor_display) = entry.actor.id_and_display();
        let actor_display = Some(actor_display);
        let target = entry.target.as_ref();
        Row {
            id: Uuid::now_v7(),
            occurred_at: now(),
            action: entry.action.as_str(),
            outcome: entry.outcome.as_str(),
            actor_kind: entry.actor.kind(),
            actor_id,
            actor_display,
            target_kind: target.map(|t| t.kind.clone()),
            target_id: target.map(|t| t.id.clone()),
            target_display: target.map(|t| t.display.clone()),
            client_address: entry.client_address.clone(),
            request_id: entry.request_id.clone(),
            reason: entry.reason.clone(),
        }
    }
}

/// Appends `$entry` inside the transaction `$tx` (either backend), so a log entry and the
/// change it records land together or not at all. Evaluates to the new entry's id.
macro_rules! append_in {
    ($tx:expr, $entry:expr) => {{
        let row = $crate::store::audit::Row::new($entry);
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
            let mut tx = pool.begin().await?;
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
            let mut tx = pool.begin().await?;
            let id = append_in!(tx, entry)?;
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// The most recent entries, newest first.
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<Entry>, StoreError> {
        let rows: Vec<EntryRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, occurred_at, action, outcome, actor_kind, actor_id, actor_display, target_kind, \
                 target_id, target_display, client_address, request_id, reason \
                 FROM audit_log ORDER BY occurred_at DESC, id DESC LIMIT $1",
            )
            .bind(limit.clamp(1, 500))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| Entry {
                id: r.id,
                occurred_at: r.occurred_at,
                action: r.action,
                outcome: r.outcome,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                actor_display: r.actor_display,
                target_kind: r.target_kind,
                target_id: r.target_id,
                target_display: r.target_display,
                client_address: r.client_address,
                request_id: r.request_id,
                reason: r.reason,
            })
            .collect())
    }
}
