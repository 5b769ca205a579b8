//! Executions and their card records: accepted (stored) before anything acknowledges
//! them, claimed by workers with a lease, and advanced one finished card at a time.
//!
//! A worker claims the oldest due execution: queued and due, or running under a lease
//! that ran out (its worker died). PostgreSQL lets several servers claim at once with
//! `FOR UPDATE SKIP LOCKED`; SQLite has one writer, the gate. Every write by a worker
//! checks it still holds the lease, so a worker that lost it (or whose execution was
//! cancelled) stops without writing.

use super::{Backend, Ended, Store, StoreError, now, with_pool};
use crate::directory::UserId;
use crate::engine::{ExecutionId, Progress, Status};
use crate::flows::FlowId;
use chrono::{DateTime, Utc};
use serde_json::Value;
use serde_json::value::RawValue;
use sqlx::types::Json;
use uuid::Uuid;

/// Binds an execution filter's values, in `execution_condition`'s order, with `limit` as
/// `$6`.
macro_rules! bind_filter {
    ($query:expr, $filter:expr, $limit:expr) => {
        $query
            .bind($filter.flow.map(|f| f.0))
            .bind($filter.status.map(Status::as_str))
            .bind($filter.subject.clone())
            .bind(carried_key($filter))
            .bind($filter.since)
            .bind($limit)
            .bind($filter.before.map(|b| b.0))
            .bind($filter.before.map(|b| b.1))
            .bind(
                carried_key($filter)
                    .as_deref()
                    .map(crate::scim::sql::prefix_end),
            )
            .bind(carried_key($filter).as_deref().map(not_yet_carried))
    };
}

/// Locks execution `id`'s row in transaction `tx` (on PostgreSQL; a SQLite write holds
/// the whole database already) before a statement that looks at its helpers. Whoever
/// waited for the lock then reads the helpers afresh: PostgreSQL rechecks a row an
/// `UPDATE` waited for against the helpers as the statement first saw them, so without
/// the lock a helper's end committed meanwhile would go unseen.
macro_rules! lock_execution_in {
    ($store:expr, $tx:expr, $id:expr) => {{
        if let Backend::Postgres(_) = &$store.backend {
            sqlx::query("SELECT id FROM executions WHERE id = $1 FOR UPDATE")
                .bind($id)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// Wakes `parent` (in transaction `tx`) when it waits for helper executions and none is
/// left running. The parent's row is locked first (as a parent that begins to wait
/// locks it), so of two helpers ending at once the second sees the first as ended, and
/// a parent and its last helper do not miss each other.
macro_rules! wake_parent_in {
    ($store:expr, $tx:expr, $parent:expr) => {{
        lock_execution_in!($store, $tx, $parent);
        let woke = sqlx::query(&format!(
            "UPDATE executions SET status = 'queued', run_after = $2 WHERE id = $1 AND status = 'waiting' \
             AND NOT EXISTS (SELECT 1 FROM executions c WHERE c.parent_id = $1 AND c.status NOT IN {FINAL})"
        ))
        .bind($parent)
        .bind(now())
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        woke > 0
    }};
}

/// Inserts card records, each `(execution, seq, record)`, in transaction `tx`.
macro_rules! insert_steps_in {
    ($tx:expr, $rows:expr) => {{
        // A few hundred rows per statement keeps within both databases' parameter limits.
        let rows: &[(Uuid, i64, &StepRecord)] = $rows;
        for chunk in rows.chunks(STEPS_PER_STATEMENT) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO execution_steps (execution_id, seq, card_id, card_kind, status, attempt, inputs, outputs, \
                 error, started_at, finished_at) ",
            );
            insert.push_values(chunk, |mut row, (id, seq, step)| {
                row.push_bind(*id)
                    .push_bind(*seq)
                    .push_bind(i64::from(step.card_id))
                    .push_bind(&step.card_kind)
                    .push_bind(&step.status)
                    .push_bind(i64::from(step.attempt))
                    .push_bind(step.inputs.as_ref().map(Json))
                    .push_bind(step.outputs.as_ref().map(Json))
                    .push_bind(&step.error)
                    .push_bind(step.started_at)
                    .push_bind(step.finished_at);
            });
            insert.build().execute(&mut *$tx).await?;
        }
    }};
}

/// The records of `steps` as rows for [`insert_steps_in`], numbered so the last is
/// `count` (the execution's number of records with them).
fn numbered(
    id: Uuid,
    count: i64,
    steps: &[StepRecord],
) -> impl Iterator<Item = (Uuid, i64, &StepRecord)> {
    (count - steps.len() as i64 + 1..)
        .zip(steps)
        .map(move |(seq, step)| (id, seq, step))
}

/// Step records written by one statement.
const STEPS_PER_STATEMENT: usize = 500;
/// Executions written by one statement.
const EXECUTIONS_PER_STATEMENT: usize = 200;

/// A new execution to accept.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub flow: FlowId,
    pub flow_version: i64,
    pub trigger_kind: String,
    pub input: Value,
    pub subject: Option<String>,
    /// Repeated events with the same key start the flow once.
    pub dedupe_key: Option<String>,
    /// The directory events that led here, oldest first.
    pub causal_chain: Vec<Uuid>,
    /// The execution and card that started this one as a helper flow.
    pub parent: Option<Parent>,
    /// Started by Test Flow: every card's inputs and outputs are kept.
    pub test: bool,
    /// A dry run (a test whose changes are judged and not made; see
    /// `engine::runner::dry_run`).
    pub dry_run: bool,
    /// The person it acts for; `None`: the flow's owner when it is accepted.
    pub acting_for: Option<UserId>,
}

impl NewExecution {
    /// An execution of version `flow_version` of `flow`, started by `trigger_kind` with
    /// `input`, about no one in particular, not deduplicated, with no events behind it.
    pub fn new(
        flow: FlowId,
        flow_version: i64,
        trigger_kind: impl Into<String>,
        input: Value,
    ) -> NewExecution {
        NewExecution {
            flow,
            flow_version,
            trigger_kind: trigger_kind.into(),
            input,
            subject: None,
            dedupe_key: None,
            causal_chain: vec![],
            parent: None,
            test: false,
            dry_run: false,
            acting_for: None,
        }
    }

    /// Someone pressed Run on a Manual flow, with `input`.
    pub fn by_hand(flow: FlowId, flow_version: i64, input: Value) -> NewExecution {
        NewExecution::new(
            flow,
            flow_version,
            "trigger.manual",
            serde_json::json!({ "input": input }),
        )
    }

    /// `tester` pressed Test on a flow, with `input` as its trigger would give it: the
    /// test acts for them (they are trying out what they may have just saved).
    pub fn test(
        flow: FlowId,
        flow_version: i64,
        trigger_kind: &str,
        input: Value,
        tester: Option<UserId>,
    ) -> NewExecution {
        NewExecution {
            test: true,
            acting_for: tester,
            ..NewExecution::new(flow, flow_version, trigger_kind, input)
        }
    }

    /// `tester` pressed Dry run: a test whose cards that change something say what they
    /// would do instead of doing it.
    pub fn dry_run(
        flow: FlowId,
        flow_version: i64,
        trigger_kind: &str,
        input: Value,
        tester: Option<UserId>,
    ) -> NewExecution {
        NewExecution {
            dry_run: true,
            ..NewExecution::test(flow, flow_version, trigger_kind, input, tester)
        }
    }
}

/// Where a helper flow's execution was started: by card `card` of execution `execution`,
/// for item `index` of a For Each (0 for Call Flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parent {
    pub execution: ExecutionId,
    pub card: u32,
    pub index: i64,
}

/// An execution as the history shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    pub id: ExecutionId,
    pub flow: FlowId,
    pub flow_version: i64,
    pub status: Status,
    pub trigger_kind: String,
    pub input: Value,
    pub subject: Option<String>,
    pub causal_chain: Vec<Uuid>,
    pub progress: Progress,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub steps: i64,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Set when a Call Flow or For Each card started it.
    pub parent: Option<Parent>,
    /// Started by Test Flow.
    pub test: bool,
    /// A dry run: its cards changed nothing.
    pub dry_run: bool,
    /// The person it acts for (its flow's owner when it was accepted, the tester for a
    /// test, the execution that called it for a helper): its directory cards may do only
    /// what they may do in the console, judged on their rights when each card runs.
    pub acting_for: Option<UserId>,
}

impl ExecutionRecord {
    /// `new` as this process begins running it at once, before anything of it is stored
    /// (see `Runner::run_unstored`). Such an execution is not deduplicated: `new`'s
    /// dedupe key is not kept; it acts for `new.acting_for` (the caller sets the flow's
    /// owner there).
    pub fn starting(id: ExecutionId, new: NewExecution) -> ExecutionRecord {
        let at = now();
        ExecutionRecord {
            id,
            flow: new.flow,
            flow_version: new.flow_version,
            status: Status::Running,
            trigger_kind: new.trigger_kind,
            progress: Progress::new(new.input.clone()),
            input: new.input,
            subject: new.subject,
            causal_chain: new.causal_chain,
            output: None,
            error: None,
            steps: 0,
            queued_at: at,
            started_at: Some(at),
            finished_at: None,
            parent: new.parent,
            test: new.test,
            dry_run: new.dry_run,
            acting_for: new.acting_for,
        }
    }
}

/// What one card did in an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub card_id: u32,
    pub card_kind: String,
    /// `succeeded`, `failed` (and the execution went on or retried), `skipped`.
    pub status: String,
    pub attempt: u32,
    /// Kept only when the flow saves all data.
    pub inputs: Option<Value>,
    pub outputs: Option<Value>,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// A page cursor after `e`: its queue time (microseconds) and id.
pub fn execution_cursor(e: &ExecutionRecord) -> String {
    format!("{}_{}", e.queued_at.timestamp_micros(), e.id.0.simple())
}

/// The queue time and id an [`execution_cursor`] stands for; `None` when it is not one.
pub fn parse_execution_cursor(text: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (micros, id) = text.split_once('_')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Some((at, Uuid::parse_str(id).ok()?))
}

/// Which executions the history lists.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    pub flow: Option<FlowId>,
    pub status: Option<Status>,
    pub subject: Option<String>,
    /// Executions whose input or outputs carry a value that starts with this text,
    /// ignoring case (a user id, an email, the start of one).
    pub carried: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// Only those queued before this execution (its time and id): the next page.
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
    /// Only these flows' executions (those the reader may see); `None`: any flow's.
    pub flows: Option<Vec<FlowId>>,
}

#[derive(sqlx::FromRow)]
struct ExecutionRow {
    id: Uuid,
    flow_id: Uuid,
    flow_version: i64,
    status: String,
    trigger_kind: String,
    input: Json<Value>,
    subject: Option<String>,
    causal_chain: Json<Vec<Uuid>>,
    progress: Json<Progress>,
    output: Option<Json<Value>>,
    error: Option<String>,
    steps: i64,
    queued_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    parent_id: Option<Uuid>,
    parent_card: Option<i64>,
    child_index: Option<i64>,
    test: bool,
    dry_run: bool,
    acting_for: Option<Uuid>,
}

impl TryFrom<ExecutionRow> for ExecutionRecord {
    type Error = StoreError;
    fn try_from(r: ExecutionRow) -> Result<Self, Self::Error> {
        Ok(ExecutionRecord {
            id: ExecutionId(r.id),
            flow: FlowId(r.flow_id),
            flow_version: r.flow_version,
            status: r.status.parse().map_err(StoreError::Corrupt)?,
            trigger_kind: r.trigger_kind,
            input: r.input.0,
            subject: r.subject,
            causal_chain: r.causal_chain.0,
            progress: r.progress.0,
            output: r.output.map(|o| o.0),
            error: r.error,
            steps: r.steps,
            queued_at: r.queued_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            parent: r.parent_id.map(|p| Parent {
                execution: ExecutionId(p),
                card: r.parent_card.unwrap_or_default() as u32,
                index: r.child_index.unwrap_or_default(),
            }),
            test: r.test,
            dry_run: r.dry_run,
            acting_for: r.acting_for.map(UserId),
        })
    }
}

#[derive(sqlx::FromRow)]
struct StepRow {
    card_id: i64,
    card_kind: String,
    status: String,
    attempt: i64,
    inputs: Option<Json<Value>>,
    outputs: Option<Json<Value>>,
    error: Option<String>,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
}

/// Whether execution `e`'s flow already runs as many executions as it allows (live
/// leases only; `$1` is now).
const AT_LIMIT: &str = "EXISTS (SELECT 1 FROM flows f WHERE f.id = e.flow_id AND f.max_concurrent IS NOT NULL \
     AND (SELECT COUNT(*) FROM executions r WHERE r.flow_id = e.flow_id AND r.status = 'running' \
     AND r.locked_until >= $1) >= f.max_concurrent)";

const EXECUTION_COLUMNS: &str = "id, flow_id, flow_version, status, trigger_kind, input, subject, causal_chain, \
     progress, output, error, steps, queued_at, started_at, finished_at, parent_id, parent_card, child_index, test, dry_run, acting_for";

/// Executions that have ended.
const FINAL: &str = "('succeeded', 'failed', 'cancelled')";

mod batch;
mod carried;
mod lifecycle;

pub(crate) use batch::{Ending, FinishedQueue, raw};

/// Reading executions and their records.
impl Store {
    /// The helper executions card `card` of `parent` started, by their place in its list,
    /// whose deduplication keys start with `key_prefix` (one attempt's).
    pub async fn child_executions(
        &self,
        parent: ExecutionId,
        card: u32,
        key_prefix: &str,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        self.child_executions_from(parent, card, key_prefix, 0)
            .await
    }
    /// Those of [`Store::child_executions`] from place `from` in the list on (a Stream
    /// card's current page).
    pub async fn child_executions_from(
        &self,
        parent: ExecutionId,
        card: u32,
        key_prefix: &str,
        from: usize,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE parent_id = $1 AND parent_card = $2 \
             AND dedupe_key LIKE $3 AND child_index >= $4 ORDER BY child_index"
        );
        let rows: Vec<ExecutionRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(parent.0)
                .bind(i64::from(card))
                .bind(format!("{key_prefix}%"))
                .bind(from as i64)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(ExecutionRecord::try_from).collect()
    }
    /// Every helper execution an execution started, for the history's links.
    pub async fn helper_executions(
        &self,
        parent: ExecutionId,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE parent_id = $1 ORDER BY parent_card, child_index, queued_at"
        );
        let rows: Vec<ExecutionRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(parent.0).fetch_all(pool).await?
        });
        rows.into_iter().map(ExecutionRecord::try_from).collect()
    }
    /// How many cards of `kinds` a flow's executions finished since `since` (what the
    /// blast-radius guard counts).
    pub async fn flow_changes_since(
        &self,
        flow: FlowId,
        since: DateTime<Utc>,
        kinds: &[&str],
    ) -> Result<i64, StoreError> {
        let list = format!(",{},", kinds.join(","));
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM execution_steps s JOIN executions e ON e.id = s.execution_id \
                 WHERE e.flow_id = $1 AND s.status = 'succeeded' AND s.finished_at >= $2 \
                 AND $3 LIKE '%,' || s.card_kind || ',%'",
            )
            .bind(flow.0)
            .bind(since)
            .bind(list)
            .fetch_one(pool)
            .await?
        });
        Ok(n)
    }
    /// The execution of `flow` accepted with `dedupe_key` (an event's id, an API call's
    /// `Idempotency-Key`), if there is one.
    pub async fn execution_by_dedupe_key(
        &self,
        flow: FlowId,
        dedupe_key: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE flow_id = $1 AND dedupe_key = $2"
        );
        let row: Option<ExecutionRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(flow.0).bind(dedupe_key).fetch_optional(pool).await?
        });
        row.map(ExecutionRecord::try_from).transpose()
    }
    pub async fn execution(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>, StoreError> {
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = $1");
        let row: Option<ExecutionRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await?
        });
        row.map(ExecutionRecord::try_from).transpose()
    }
    /// Every card record of an execution, in the order they finished.
    pub async fn execution_steps(&self, id: ExecutionId) -> Result<Vec<StepRecord>, StoreError> {
        let rows: Vec<StepRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT card_id, card_kind, status, attempt, inputs, outputs, error, started_at, finished_at \
                 FROM execution_steps WHERE execution_id = $1 ORDER BY seq",
            )
            .bind(id.0)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| StepRecord {
                card_id: r.card_id as u32,
                card_kind: r.card_kind,
                status: r.status,
                attempt: r.attempt as u32,
                inputs: r.inputs.map(|j| j.0),
                outputs: r.outputs.map(|j| j.0),
                error: r.error,
                started_at: r.started_at,
                finished_at: r.finished_at,
            })
            .collect())
    }
    /// Executions, newest first, as `filter` narrows them.
    pub async fn executions(
        &self,
        filter: &ExecutionFilter,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE {} \
             ORDER BY queued_at DESC, id DESC LIMIT $6",
            self.execution_condition(filter)
        );
        let limit = filter.limit.clamp(1, 1000);
        let rows: Vec<ExecutionRow> = match &self.backend {
            Backend::Sqlite(pool) => {
                bind_filter!(sqlx::query_as(&sql), filter, limit)
                    .fetch_all(pool)
                    .await?
            }
            Backend::Postgres(pool) => {
                bind_filter!(sqlx::query_as(&postgres_casts(&sql)), filter, limit)
                    .fetch_all(pool)
                    .await?
            }
        };
        rows.into_iter().map(ExecutionRecord::try_from).collect()
    }

    /// How many executions `filter` finds, ignoring its page (`before`, `limit`), counted
    /// up to `cap`: `cap` means "at least that many".
    pub async fn count_executions(
        &self,
        filter: &ExecutionFilter,
        cap: i64,
    ) -> Result<i64, StoreError> {
        let whole = ExecutionFilter {
            before: None,
            ..filter.clone()
        };
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM executions WHERE {} LIMIT $6) AS found",
            self.execution_condition(&whole)
        );
        let count: i64 = match &self.backend {
            Backend::Sqlite(pool) => {
                bind_filter!(sqlx::query_scalar(&sql), &whole, cap)
                    .fetch_one(pool)
                    .await?
            }
            Backend::Postgres(pool) => {
                bind_filter!(sqlx::query_scalar(&postgres_casts(&sql)), &whole, cap)
                    .fetch_one(pool)
                    .await?
            }
        };
        Ok(count)
    }

    /// The `WHERE` condition of `filter`, with its values as `$1`–`$5` and `$7`–`$10`
    /// (see `bind_filter!`); the flows it is limited to are written in (ids only).
    fn execution_condition(&self, filter: &ExecutionFilter) -> String {
        // The partial index of executions whose values are not kept yet, as written there.
        let (text, not_carried) = match &self.backend {
            Backend::Sqlite(_) => ("LOWER(input || ' ' || progress)", "carried = 0"),
            Backend::Postgres(_) => ("LOWER(input::text || ' ' || progress::text)", "NOT carried"),
        };
        let flows = match &filter.flows {
            None => String::new(),
            Some(flows) if flows.is_empty() => " AND 1 = 0".to_string(),
            Some(flows) => {
                let ids: Vec<String> = flows
                    .iter()
                    .map(|f| match &self.backend {
                        Backend::Sqlite(_) => format!("X'{}'", f.0.simple()),
                        Backend::Postgres(_) => format!("'{}'", f.0),
                    })
                    .collect();
                format!(" AND flow_id IN ({})", ids.join(", "))
            }
        };
        // A carried value is looked up in the index of what ended executions carried;
        // those whose values are not kept yet (running, or just ended) are read.
        let carried = if filter.carried.is_some() {
            format!(
                "id IN (SELECT execution_id FROM execution_values WHERE value >= $4 AND value < $9 \
                 UNION ALL SELECT id FROM executions WHERE {not_carried} AND {text} LIKE $10 ESCAPE '\\')"
            )
        } else {
            "($4 IS NULL AND $9 IS NULL AND $10 IS NULL)".to_string()
        };
        // Only the filters in use are conditions (an index serves each, such as the
        // subject's); the others' values are NULL and said to be.
        let when = |used: bool, condition: &str, unused: &str| {
            if used {
                condition.to_string()
            } else {
                unused.to_string()
            }
        };
        let flow = when(filter.flow.is_some(), "flow_id = $1", "$1 IS NULL");
        let status = when(filter.status.is_some(), "status = $2", "$2 IS NULL");
        let subject = when(filter.subject.is_some(), "subject = $3", "$3 IS NULL");
        let since = when(filter.since.is_some(), "queued_at >= $5", "$5 IS NULL");
        let before = when(
            filter.before.is_some(),
            "(queued_at < $7 OR (queued_at = $7 AND id < $8))",
            "$7 IS NULL AND $8 IS NULL",
        );
        format!("{flow} AND {status} AND {subject} AND {carried} AND {since} AND {before}{flows}")
    }
}

/// The carried value `filter` looks for, as values are kept.
fn carried_key(filter: &ExecutionFilter) -> Option<String> {
    filter.carried.as_deref().map(carried::value_key)
}

/// How a carried value (as kept) is looked for in the JSON of executions whose values
/// are not kept yet: a `LIKE` pattern for a string that starts with it.
fn not_yet_carried(value: &str) -> String {
    format!(
        "%\"{}%",
        value
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// PostgreSQL's types for the filter's values that may be NULL.
fn postgres_casts(sql: &str) -> String {
    sql.replace("$1 IS NULL", "$1::uuid IS NULL")
        .replace("$2 IS NULL", "$2::text IS NULL")
        .replace("$3 IS NULL", "$3::text IS NULL")
        .replace("$4 IS NULL", "$4::text IS NULL")
        .replace("$5 IS NULL", "$5::timestamptz IS NULL")
        .replace("$7 IS NULL", "$7::timestamptz IS NULL")
        .replace("$8 IS NULL", "$8::uuid IS NULL")
        .replace("$9 IS NULL", "$9::text IS NULL")
        .replace("$10 IS NULL", "$10::text IS NULL")
}
