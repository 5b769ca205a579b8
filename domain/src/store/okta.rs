//! Okta Event Hook deliveries: every event kept once per connection before the delivery
//! is answered, the queue of events not yet handed to flows (oldest published first),
//! and what each delivery held for the connection's page.

use super::{BeginWrite, Store, StoreError, now, with_pool};
use crate::okta::HookEvent;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

/// What a delivery brought: how many events were new and how many repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub new: usize,
    pub repeated: usize,
}

/// An accepted delivery, as the connection's page lists it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HookDelivery {
    pub received_at: DateTime<Utc>,
    pub events: i64,
    pub new_events: i64,
    /// The event types it held, comma-separated.
    pub event_types: String,
}

/// A received event waiting to be handed to flows.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingOktaEvent {
    pub id: Uuid,
    pub connection: Uuid,
    pub event: HookEvent,
}

#[derive(sqlx::FromRow)]
struct WaitingRow {
    id: Uuid,
    connection_id: Uuid,
    uuid: String,
    event_type: String,
    published: DateTime<Utc>,
    event: Json<Value>,
}

impl Store {
    /// Keeps the events of one delivery to connection `connection`, each once (a repeat
    /// of a kept event is counted and dropped), and the delivery itself, all together.
    pub async fn receive_okta_events(
        &self,
        connection: Uuid,
        events: &[HookEvent],
    ) -> Result<Received, StoreError> {
        let at = now();
        let mut types: Vec<&str> = Vec::new();
        for event in events {
            if !types.contains(&event.event_type.as_str()) {
                types.push(&event.event_type);
            }
        }
        let types = types.join(",");
        let new = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let mut new = 0usize;
            for event in events {
                let kept = sqlx::query(
                    "INSERT INTO okta_events (id, connection_id, uuid, event_type, published, received_at, event) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (connection_id, uuid) DO NOTHING",
                )
                .bind(Uuid::now_v7())
                .bind(connection)
                .bind(&event.uuid)
                .bind(&event.event_type)
                .bind(event.published)
                .bind(at)
                .bind(Json(&event.event))
                .execute(&mut *tx)
                .await?;
                new += usize::try_from(kept.rows_affected()).unwrap_or(0);
            }
            sqlx::query(
                "INSERT INTO okta_hook_deliveries (id, connection_id, received_at, events, new_events, event_types) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(Uuid::now_v7())
            .bind(connection)
            .bind(at)
            .bind(i64::try_from(events.len()).unwrap_or(i64::MAX))
            .bind(i64::try_from(new).unwrap_or(i64::MAX))
            .bind(&types)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            new
        });
        Ok(Received {
            new,
            repeated: events.len() - new,
        })
    }

    /// Up to `limit` events not yet handed to flows, received before `received_before`
    /// (a moment's wait lets an earlier event sent later catch up), oldest published
    /// first.
    pub async fn waiting_okta_events(
        &self,
        received_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<WaitingOktaEvent>, StoreError> {
        let rows: Vec<WaitingRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, connection_id, uuid, event_type, published, event FROM okta_events \
                 WHERE processed_at IS NULL AND received_at < $1 ORDER BY published, id LIMIT $2",
            )
            .bind(received_before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| WaitingOktaEvent {
                id: r.id,
                connection: r.connection_id,
                event: HookEvent {
                    uuid: r.uuid,
                    event_type: r.event_type,
                    published: r.published,
                    event: r.event.0,
                },
            })
            .collect())
    }

    /// Marks a received event as handed to every flow it starts.
    pub async fn mark_okta_event_processed(&self, id: Uuid) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query("UPDATE okta_events SET processed_at = $2 WHERE id = $1 AND processed_at IS NULL")
                .bind(id)
                .bind(now())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The newest `limit` deliveries to connection `connection`, newest first.
    pub async fn okta_hook_deliveries(
        &self,
        connection: Uuid,
        limit: i64,
    ) -> Result<Vec<HookDelivery>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT received_at, events, new_events, event_types FROM okta_hook_deliveries \
                 WHERE connection_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2",
            )
            .bind(connection)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Forgets handed-over events and deliveries from before `before`; their
    /// executions keep what they carried. Returns how many events went.
    pub async fn prune_okta_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let gone = sqlx::query("DELETE FROM okta_events WHERE processed_at IS NOT NULL AND processed_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM okta_hook_deliveries WHERE received_at < $1")
                .bind(before)
                .execute(pool)
                .await?;
            gone
        }))
    }
}
