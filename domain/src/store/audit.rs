//! Appending to and reading the System Log.

use super::BeginWrite;
use super::{Store, StoreError, now, with_pool};
use crate::audit::search::{Bind, Cursor, Dialect, Search};
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

/// How long the System Log keeps entries unless a Super Admin sets otherwise.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 365;

const ENTRY_COLUMNS: &str = "id, occurred_at, action, outcome, actor_kind, actor_id, actor_display, target_kind, \
     target_id, target_display, client_address, request_id, reason";

/// A page of a System Log search.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    pub entries: Vec<Entry>,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
}

/// `query` with the values `sql` (a search's clause) binds, in order.
macro_rules! bind_search {
    ($query:expr, $sql:expr) => {{
        let mut query = $query;
        for bind in &$sql.binds {
            query = match bind {
                Bind::Text(value) => query.bind(value.clone()),
                Bind::Time(value) => query.bind(*value),
                Bind::Id(value) => query.bind(*value),
            };
        }
        query
    }};
}

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

    /// One page of the entries `search` finds, in its order, and the cursor of the next
    /// page when there is one.
    pub async fn search_audit(&self, search: &Search) -> Result<AuditPage, StoreError> {
        let dialect = match self.kind() {
            super::BackendKind::Sqlite => Dialect::Sqlite,
            super::BackendKind::Postgres => Dialect::Postgres,
        };
        let sql = search.to_sql(dialect);
        let limit = search.limit.clamp(1, crate::audit::search::MOST_PER_PAGE);
        let text = format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE {} ORDER BY {} LIMIT {}",
            sql.clause,
            search.order_by(),
            limit + 1
        );
        let mut entries: Vec<Entry> = with_pool!(self, pool => {
            bind_search!(sqlx::query_as(&text), sql).fetch_all(pool).await?
        });
        let more = entries.len() as i64 > limit;
        entries.truncate(limit as usize);
        let next = more.then(|| entries.last()).flatten().map(|last| Cursor {
            at: last.occurred_at,
            id: last.id,
        });
        Ok(AuditPage { entries, next })
    }

    /// How many entries `search` finds on all its pages (from the first, whatever its
    /// cursor), counted up to `cap`.
    pub async fn count_audit(&self, search: &Search, cap: i64) -> Result<i64, StoreError> {
        let dialect = match self.kind() {
            super::BackendKind::Sqlite => Dialect::Sqlite,
            super::BackendKind::Postgres => Dialect::Postgres,
        };
        let whole = Search {
            after: None,
            ..search.clone()
        };
        let sql = whole.to_sql(dialect);
        let text = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM audit_log WHERE {} LIMIT {}) AS found",
            sql.clause,
            cap.max(0)
        );
        let count: i64 = with_pool!(self, pool => {
            bind_search!(sqlx::query_scalar(&text), sql).fetch_one(pool).await?
        });
        Ok(count)
    }

    /// Deletes the entries older than `cutoff`, a batch at a time (each its own short
    /// write), so the engine's writes go on between them. How many went.
    pub async fn prune_audit(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StoreError> {
        const BATCH: i64 = 5_000;
        let mut gone = 0;
        loop {
            let deleted = with_pool!(self, pool => {
                let _turn = self.write_turn().await;
                sqlx::query(
                    "DELETE FROM audit_log WHERE id IN \
                     (SELECT id FROM audit_log WHERE occurred_at < $1 ORDER BY occurred_at LIMIT $2)",
                )
                .bind(cutoff)
                .bind(BATCH)
                .execute(pool)
                .await?
                .rows_affected()
            });
            gone += deleted;
            if deleted < BATCH as u64 {
                return Ok(gone);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Days the System Log keeps its entries (0: forever).
    pub async fn log_retention_days(&self) -> Result<u32, StoreError> {
        let days: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT retention_days FROM log_settings WHERE id = 1")
                .fetch_optional(pool)
                .await?
        });
        Ok(days.map_or(DEFAULT_LOG_RETENTION_DAYS, |d| {
            d.clamp(0, i64::from(u32::MAX)) as u32
        }))
    }

    /// Sets how many days the System Log keeps its entries (0: forever), with `audit`.
    pub async fn set_log_retention_days(
        &self,
        days: u32,
        audit: &NewEntry,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO log_settings (id, retention_days, updated_at) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO UPDATE SET retention_days = $1, updated_at = $2",
            )
            .bind(i64::from(days))
            .bind(now())
            .execute(&mut *tx)
            .await?;
            append_in!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Writes `entries` as they are (times and ids included), many per statement: for
    /// seeding tests and benchmarks, never for a change (that is [`Store::append_audit`]).
    pub async fn insert_audit_entries(&self, entries: &[Entry]) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            for chunk in entries.chunks(500) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO audit_log (id, occurred_at, action, outcome, actor_kind, actor_id, actor_display, \
                     target_kind, target_id, target_display, client_address, request_id, reason) ",
                );
                insert.push_values(chunk, |mut row, e| {
                    row.push_bind(e.id)
                        .push_bind(e.occurred_at)
                        .push_bind(&e.action)
                        .push_bind(&e.outcome)
                        .push_bind(&e.actor_kind)
                        .push_bind(&e.actor_id)
                        .push_bind(&e.actor_display)
                        .push_bind(&e.target_kind)
                        .push_bind(&e.target_id)
                        .push_bind(&e.target_display)
                        .push_bind(&e.client_address)
                        .push_bind(&e.request_id)
                        .push_bind(&e.reason);
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
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
