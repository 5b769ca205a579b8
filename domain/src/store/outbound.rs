//! The outbound allow-list of Settings: the hosts and ranges a Super Admin lets flows
//! reach despite the guard, on top of each server's `IDFLOW_OUTBOUND_ALLOW`. Every server
//! reads it again when it is older than [`FRESH`], so a change reaches them all.

use super::BeginWrite;
use super::{Store, StoreError, now, with_pool};
use crate::audit::NewEntry;
use crate::outbound::Allowed;
use chrono::{DateTime, Utc};

/// How long a server trusts the list it read.
pub const FRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// The list as Settings keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundSetting {
    /// As [`Allowed::parse`] reads it.
    pub allow: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl Store {
    /// The list of Settings, if a Super Admin ever saved one.
    pub async fn outbound_setting(&self) -> Result<Option<OutboundSetting>, StoreError> {
        let row: Option<(String, DateTime<Utc>, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT allow, updated_at, updated_by FROM outbound_settings WHERE id = 1")
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(allow, updated_at, updated_by)| OutboundSetting {
            allow,
            updated_at,
            updated_by,
        }))
    }

    /// Keeps `allow` (checked) as the list of Settings, logging `audit`, and lets this
    /// server's requests through at once.
    pub async fn save_outbound_setting(
        &self,
        allow: &Allowed,
        by: &str,
        audit: &NewEntry,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO outbound_settings (id, allow, updated_at, updated_by) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET allow = excluded.allow, updated_at = excluded.updated_at, \
                 updated_by = excluded.updated_by",
            )
            .bind(allow.to_string())
            .bind(now())
            .bind(by)
            .execute(&mut *tx)
            .await?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        self.connectors().allow_setting(allow);
        Ok(())
    }

    /// Reads the list of Settings again when this server's copy is older than [`FRESH`];
    /// called before anything goes out.
    pub async fn refresh_outbound(&self) -> Result<(), StoreError> {
        if self.connectors().is_fresh(FRESH) {
            return Ok(());
        }
        let setting = self.outbound_setting().await?;
        let allowed = match setting {
            None => Allowed::default(),
            Some(s) => Allowed::parse(&s.allow).unwrap_or_else(|why| {
                tracing::warn!(%why, "the outbound allow-list of Settings does not read; allowing nothing from it");
                Allowed::default()
            }),
        };
        self.connectors().allow_setting(&allowed);
        Ok(())
    }
}
