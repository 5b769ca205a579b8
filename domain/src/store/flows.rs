//! Flows and their versions. Saving writes the next version (whole definitions, never
//! changed afterwards); a save based on an older version than the current one is refused,
//! so two editors never overwrite each other silently. Turning a flow on checks it first.

use super::BeginWrite;
use super::{Store, StoreError, now, with_pool};
use crate::audit::NewEntry;
use crate::directory::UserId;
use crate::flows::catalog::catalog;
use crate::flows::validate::validate;
use crate::flows::{Flow, FlowId};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

/// Who saves a flow or turns it on: they become the person it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// `None` for someone who is not a user (the command line, a test): a flow owned by
    /// nobody acts with no rights at all.
    pub id: Option<UserId>,
    /// Their user name, as each version names its author.
    pub name: String,
}

impl Author {
    pub fn user(user: &crate::directory::User) -> Author {
        Author {
            id: Some(user.id),
            name: user.user_name.clone(),
        }
    }

    /// Someone who is not a user of the console.
    pub fn nobody(name: impl Into<String>) -> Author {
        Author {
            id: None,
            name: name.into(),
        }
    }
}

/// A flow as lists show it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowSummary {
    pub id: FlowId,
    pub name: String,
    pub folder: Option<Uuid>,
    pub enabled: bool,
    /// Who the flow acts for: whoever last saved it or turned it on.
    pub owner: Option<UserId>,
    pub trigger_kind: String,
    /// The current version.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One of a flow's API secrets, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSecret {
    pub made_at: DateTime<Utc>,
    /// Who made it (their user name), or empty when not known.
    pub made_by: String,
    /// When a rotation's grace period ends it; `None`: until rotated or revoked.
    pub valid_until: Option<DateTime<Utc>>,
}

/// One saved version of a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowVersion {
    pub flow: FlowId,
    pub version: i64,
    pub definition: Flow,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    name: String,
    folder_id: Option<Uuid>,
    enabled: bool,
    owner_id: Option<Uuid>,
    trigger_kind: String,
    current_version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<SummaryRow> for FlowSummary {
    fn from(r: SummaryRow) -> Self {
        FlowSummary {
            id: FlowId(r.id),
            name: r.name,
            folder: r.folder_id,
            enabled: r.enabled,
            owner: r.owner_id.map(UserId),
            trigger_kind: r.trigger_kind,
            version: r.current_version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    flow_id: Uuid,
    version: i64,
    definition: Json<Flow>,
    author: String,
    created_at: DateTime<Utc>,
}

impl From<VersionRow> for FlowVersion {
    fn from(r: VersionRow) -> Self {
        FlowVersion {
            flow: FlowId(r.flow_id),
            version: r.version,
            definition: r.definition.0,
            author: r.author,
            created_at: r.created_at,
        }
    }
}

const SUMMARY_COLUMNS: &str =
    "id, name, folder_id, enabled, owner_id, trigger_kind, current_version, created_at, updated_at";

impl Store {
    /// Creates a flow (off) with its first version, acting for `author`.
    pub async fn create_flow(
        &self,
        definition: &Flow,
        folder: Option<Uuid>,
        author: &Author,
        audit: &NewEntry,
    ) -> Result<FlowSummary, StoreError> {
        let id = FlowId::new();
        let at = now();
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO flows (id, name, folder_id, enabled, trigger_kind, current_version, created_at, updated_at, max_concurrent, owner_id) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7, $8)",
            )
            .bind(id.0)
            .bind(definition.name.trim())
            .bind(folder)
            .bind(false)
            .bind(&definition.trigger.kind)
            .bind(at)
            .bind(definition.settings.max_concurrent.map(i64::from))
            .bind(author.id.map(|u| u.0))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO flow_versions (flow_id, version, definition, author, created_at) VALUES ($1, 1, $2, $3, $4)",
            )
            .bind(id.0)
            .bind(Json(definition))
            .bind(&author.name)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        self.flow_summary(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("flow {id} vanished after insert")))
    }

    /// Saves `definition` as the next version of flow `id`, which the editor based on
    /// version `based_on`. `None` when there is no such flow; `PreconditionFailed` when
    /// someone saved a newer version meanwhile. An enabled flow stays enabled only if the
    /// new version has no problems. The flow acts for `author` from now on.
    pub async fn save_flow(
        &self,
        id: FlowId,
        definition: &Flow,
        based_on: i64,
        author: &Author,
        audit: &NewEntry,
    ) -> Result<Option<FlowSummary>, StoreError> {
        let at = now();
        let valid = validate(definition, catalog()).is_empty();
        let saved = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let current: Option<i64> =
                sqlx::query_scalar("SELECT current_version FROM flows WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            match current {
                None => false,
                Some(current) if current != based_on => {
                    return Err(StoreError::PreconditionFailed { current });
                }
                Some(current) => {
                    let next = current + 1;
                    sqlx::query(
                        "INSERT INTO flow_versions (flow_id, version, definition, author, created_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id.0)
                    .bind(next)
                    .bind(Json(definition))
                    .bind(&author.name)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE flows SET name = $2, trigger_kind = $3, current_version = $4, updated_at = $5, \
                         enabled = CASE WHEN $6 THEN enabled ELSE $6 END, max_concurrent = $7, owner_id = $8 WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(definition.name.trim())
                    .bind(&definition.trigger.kind)
                    .bind(next)
                    .bind(at)
                    .bind(valid)
                    .bind(definition.settings.max_concurrent.map(i64::from))
                    .bind(author.id.map(|u| u.0))
                    .execute(&mut *tx)
                    .await?;
                    super::audit::append_in!(tx, audit)?;
                    tx.commit().await?;
                    true
                }
            }
        });
        if !saved {
            return Ok(None);
        }
        self.flows_changed();
        self.flow_summary(id).await
    }

    /// This process changed a flow (its secret, switch, version, owner, folder, or its
    /// existence): what was remembered of flows is forgotten.
    pub(crate) fn flows_changed(&self) {
        self.callers.forget_all();
        self.flows_by_id.forget_all();
    }

    /// The flow `id`, remembered for a second (see [`super::Recent`]): for the engine,
    /// which asks for the same flow's folder with each execution.
    pub async fn recent_flow(&self, id: FlowId) -> Result<Option<FlowSummary>, StoreError> {
        if let Some(known) = self.flows_by_id.get(&id) {
            return Ok(Some(known));
        }
        let generation = self.flows_by_id.generation();
        let found = self.flow_summary(id).await?;
        if let Some(flow) = &found {
            self.flows_by_id.keep(generation, id, flow.clone());
        }
        Ok(found)
    }

    pub async fn flow_summary(&self, id: FlowId) -> Result<Option<FlowSummary>, StoreError> {
        let sql = format!("SELECT {SUMMARY_COLUMNS} FROM flows WHERE id = $1");
        let row: Option<SummaryRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await?
        });
        Ok(row.map(FlowSummary::from))
    }

    /// The flow named `name`, ignoring case (the first by id when several share it).
    pub async fn flow_by_name(&self, name: &str) -> Result<Option<FlowSummary>, StoreError> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM flows WHERE LOWER(name) = $1 ORDER BY id LIMIT 1"
        );
        let row: Option<SummaryRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(name.trim().to_lowercase())
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(FlowSummary::from))
    }

    /// Every flow, by name.
    pub async fn flows(&self) -> Result<Vec<FlowSummary>, StoreError> {
        let sql = format!("SELECT {SUMMARY_COLUMNS} FROM flows ORDER BY LOWER(name), id");
        let rows: Vec<SummaryRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(FlowSummary::from).collect())
    }

    /// A version of a flow; the current one when `version` is `None`.
    pub async fn flow_version(
        &self,
        id: FlowId,
        version: Option<i64>,
    ) -> Result<Option<FlowVersion>, StoreError> {
        let row: Option<VersionRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT v.flow_id, v.version, v.definition, v.author, v.created_at FROM flow_versions v \
                 JOIN flows f ON f.id = v.flow_id \
                 WHERE v.flow_id = $1 AND v.version = COALESCE($2, f.current_version)",
            )
            .bind(id.0)
            .bind(version)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(FlowVersion::from))
    }

    /// A flow's definition at `version`, kept in memory once read (a saved version never
    /// changes).
    pub async fn flow_definition(
        &self,
        id: FlowId,
        version: i64,
    ) -> Result<Option<std::sync::Arc<Flow>>, StoreError> {
        /// Beyond this many, the cache starts afresh.
        const KEPT: usize = 512;
        if let Some(found) = self
            .definitions
            .lock()
            .ok()
            .and_then(|d| d.get(&(id, version)).cloned())
        {
            return Ok(Some(found));
        }
        let Some(stored) = self.flow_version(id, Some(version)).await? else {
            return Ok(None);
        };
        let definition = std::sync::Arc::new(stored.definition);
        if let Ok(mut kept) = self.definitions.lock() {
            if kept.len() >= KEPT {
                kept.clear();
            }
            kept.insert((id, version), definition.clone());
        }
        Ok(Some(definition))
    }

    /// The current definition of every flow, in one read (for the Flows tab: what uses
    /// what).
    pub async fn current_definitions(&self) -> Result<Vec<(FlowId, Flow)>, StoreError> {
        let rows: Vec<(Uuid, Json<Flow>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT v.flow_id, v.definition FROM flows f \
                 JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id, d)| (FlowId(id), d.0)).collect())
    }

    /// Each flow's newest execution: its id, status and when it was queued.
    pub async fn last_runs(
        &self,
    ) -> Result<
        std::collections::HashMap<FlowId, (crate::engine::ExecutionId, String, DateTime<Utc>)>,
        StoreError,
    > {
        let rows: Vec<(Uuid, Uuid, String, DateTime<Utc>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.flow_id, e.id, e.status, e.queued_at FROM executions e \
                 JOIN (SELECT flow_id, MAX(queued_at) AS newest FROM executions GROUP BY flow_id) n \
                 ON n.flow_id = e.flow_id AND n.newest = e.queued_at",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(flow, id, status, at)| {
                (FlowId(flow), (crate::engine::ExecutionId(id), status, at))
            })
            .collect())
    }

    /// Every version of a flow, newest first.
    pub async fn flow_versions(&self, id: FlowId) -> Result<Vec<FlowVersion>, StoreError> {
        let rows: Vec<VersionRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT flow_id, version, definition, author, created_at FROM flow_versions \
                 WHERE flow_id = $1 ORDER BY version DESC",
            )
            .bind(id.0)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(FlowVersion::from).collect())
    }

    /// The current versions of the enabled flows a trigger starts.
    pub async fn enabled_flows_for(
        &self,
        trigger_kind: &str,
    ) -> Result<Vec<FlowVersion>, StoreError> {
        let rows: Vec<VersionRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT v.flow_id, v.version, v.definition, v.author, v.created_at FROM flows f \
                 JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version \
                 WHERE f.trigger_kind = $1 AND f.enabled ORDER BY f.id",
            )
            .bind(trigger_kind)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(FlowVersion::from).collect())
    }

    /// Turns a flow on or off. Turning on is refused (`Invalid`, naming the problems) while
    /// its current version has problems; whoever turns it on (`by`) is who it acts for from
    /// then on. `false` when there is no such flow.
    pub async fn set_flow_enabled(
        &self,
        id: FlowId,
        enabled: bool,
        by: &Author,
        audit: &NewEntry,
    ) -> Result<bool, StoreError> {
        if enabled {
            let Some(current) = self.flow_version(id, None).await? else {
                return Ok(false);
            };
            let problems = validate(&current.definition, catalog());
            if !problems.is_empty() {
                let list: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{:?}: {}", p.at, p.message))
                    .collect();
                return Err(StoreError::Invalid(format!(
                    "the flow cannot be turned on until its problems are fixed: {}",
                    list.join("; ")
                )));
            }
        }
        let changed = super::audit::change_logged!(
            self,
            audit,
            sqlx::query(
                "UPDATE flows SET enabled = $2, updated_at = $3, \
                 owner_id = CASE WHEN $2 THEN $4 ELSE owner_id END WHERE id = $1"
            )
            .bind(id.0)
            .bind(enabled)
            .bind(now())
            .bind(by.id.map(|u| u.0))
        );
        self.flows_changed();
        Ok(changed)
    }

    /// Makes a new secret for calling the flow's API endpoint (and resuming its paused
    /// executions) and returns it; only its hash is kept. The flow's other secrets stop
    /// working at once, or — with a `grace` — at the end of it, so callers can move to
    /// the new one. `None` when there is no such flow.
    pub async fn new_flow_secret(
        &self,
        id: FlowId,
        made_by: &str,
        grace: Option<chrono::Duration>,
        audit: &NewEntry,
    ) -> Result<Option<String>, StoreError> {
        let token = super::scim_tokens::random_token("idf_flow_");
        let at = now();
        let made = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let there: Option<Uuid> = sqlx::query_scalar("SELECT id FROM flows WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
            if there.is_some() {
                match grace.filter(|g| *g > chrono::Duration::zero()) {
                    Some(grace) => {
                        // Those already ending sooner keep their end; gone ones go.
                        sqlx::query(
                            "DELETE FROM flow_secrets WHERE flow_id = $1 AND valid_until IS NOT NULL AND valid_until <= $2",
                        )
                        .bind(id.0)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE flow_secrets SET valid_until = $2 WHERE flow_id = $1 \
                             AND (valid_until IS NULL OR valid_until > $2)",
                        )
                        .bind(id.0)
                        .bind(at + grace)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM flow_secrets WHERE flow_id = $1")
                            .bind(id.0)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                sqlx::query(
                    "INSERT INTO flow_secrets (id, flow_id, hash, made_at, made_by) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(Uuid::now_v7())
                .bind(id.0)
                .bind(super::scim_tokens::digest(&token))
                .bind(at)
                .bind(made_by)
                .execute(&mut *tx)
                .await?;
                super::audit::append_in!(tx, audit)?;
            }
            tx.commit().await?;
            there.is_some()
        });
        self.flows_changed();
        Ok(made.then_some(token))
    }

    /// Revokes every secret of the flow: nobody can call it or resume its executions
    /// until a new one is made. Whether there was one.
    pub async fn revoke_flow_secrets(
        &self,
        id: FlowId,
        audit: &NewEntry,
    ) -> Result<bool, StoreError> {
        let revoked = super::audit::change_logged!(
            self,
            audit,
            sqlx::query("DELETE FROM flow_secrets WHERE flow_id = $1").bind(id.0)
        );
        self.flows_changed();
        Ok(revoked)
    }

    /// The flow's secrets that still work, newest first (never the secrets themselves).
    pub async fn flow_secrets(&self, id: FlowId) -> Result<Vec<FlowSecret>, StoreError> {
        let rows: Vec<(DateTime<Utc>, String, Option<DateTime<Utc>>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT made_at, made_by, valid_until FROM flow_secrets WHERE flow_id = $1 \
                 AND (valid_until IS NULL OR valid_until > $2) ORDER BY made_at DESC",
            )
            .bind(id.0)
            .bind(now())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(made_at, made_by, valid_until)| FlowSecret {
                made_at,
                made_by,
                valid_until,
            })
            .collect())
    }

    /// The flow `id` if `token` is its API endpoint secret. A secret that matched is
    /// remembered for a second (see [`super::Recent`]): callers that call often do not
    /// read the database each time.
    pub async fn flow_for_invoke_token(
        &self,
        id: FlowId,
        token: &str,
    ) -> Result<Option<FlowSummary>, StoreError> {
        let key = (id, super::scim_tokens::digest(token));
        if let Some(known) = self.callers.get(&key) {
            return Ok(Some(known));
        }
        let generation = self.callers.generation();
        let columns = SUMMARY_COLUMNS
            .split(", ")
            .map(|c| format!("f.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM flows f JOIN flow_secrets s ON s.flow_id = f.id \
             WHERE f.id = $1 AND s.hash = $2 AND (s.valid_until IS NULL OR s.valid_until > $3)"
        );
        let row: Option<SummaryRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id.0).bind(&key.1).bind(now()).fetch_optional(pool).await?
        });
        let found = row.map(FlowSummary::from);
        if let Some(summary) = &found {
            self.callers.keep(generation, key, summary.clone());
        }
        Ok(found)
    }

    /// How many executions of a flow were accepted since `since` (its rate limit).
    pub async fn executions_since(
        &self,
        id: FlowId,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM executions WHERE flow_id = $1 AND queued_at >= $2")
                .bind(id.0)
                .bind(since)
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }

    /// Deletes a flow and all its versions. `false` when there is no such flow.
    pub async fn delete_flow(&self, id: FlowId, audit: &NewEntry) -> Result<bool, StoreError> {
        let deleted = super::audit::change_logged!(
            self,
            audit,
            sqlx::query("DELETE FROM flows WHERE id = $1").bind(id.0)
        );
        self.flows_changed();
        Ok(deleted)
    }
}
