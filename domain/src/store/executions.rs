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

/// Wakes `parent` (in transaction `tx`) when it waits for helper executions and none is
/// left running. The parent's row is locked first, so of two helpers ending at once the
/// second sees the first as ended.
macro_rules! wake_parent_in {
    ($store:expr, $tx:expr, $parent:expr) => {{
        if let Backend::Postgres(_) = &$store.backend {
            sqlx::query("SELECT id FROM executions WHERE id = $1 FOR UPDATE")
                .bind($parent)
                .execute(&mut *$tx)
                .await?;
        }
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

/// Step records written by one statement.
const STEPS_PER_STATEMENT: usize = 500;
/// Executions written by one statement.
const EXECUTIONS_PER_STATEMENT: usize = 200;

/// The records of `steps`, numbered from `first`, as rows for [`insert_steps_in`].
fn numbered(id: ExecutionId, first: i64, steps: &[StepRecord]) -> Vec<(Uuid, i64, &StepRecord)> {
    (first..)
        .zip(steps)
        .map(|(seq, step)| (id.0, seq, step))
        .collect()
}

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

/// Which executions the history lists.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    pub flow: Option<FlowId>,
    pub status: Option<Status>,
    pub subject: Option<String>,
    /// Executions whose input or outputs carry this text (a user id, an email).
    pub carried: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
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
     progress, output, error, steps, queued_at, started_at, finished_at, parent_id, parent_card, child_index, test, acting_for";

/// An execution that ran before it was stored, ready to write: its row's values (JSON
/// already serialized) and its cards' records.
pub(crate) struct Ran {
    id: Uuid,
    flow: Uuid,
    flow_version: i64,
    trigger_kind: String,
    input: Box<RawValue>,
    subject: Option<String>,
    causal_chain: Box<RawValue>,
    progress: Box<RawValue>,
    queued_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    parent: Option<Parent>,
    test: bool,
    acting_for: Option<Uuid>,
    steps: Vec<StepRecord>,
    left: Left,
}

/// How it is left: held by a worker until a time, or ended.
enum Left {
    Held(String, DateTime<Utc>),
    Ended(Ended),
}

impl Ran {
    fn new(
        execution: &ExecutionRecord,
        steps: &[StepRecord],
        progress: &Progress,
        left: Left,
    ) -> Result<Ran, StoreError> {
        Ok(Ran {
            id: execution.id.0,
            flow: execution.flow.0,
            flow_version: execution.flow_version,
            trigger_kind: execution.trigger_kind.clone(),
            input: raw(&execution.input)?,
            subject: execution.subject.clone(),
            causal_chain: raw(&execution.causal_chain)?,
            progress: raw(progress)?,
            queued_at: execution.queued_at,
            started_at: execution.started_at,
            parent: execution.parent,
            test: execution.test,
            acting_for: execution.acting_for.map(|u| u.0),
            steps: steps.to_vec(),
            left,
        })
    }
}

/// `value` as JSON text, kept as is until it is written.
fn raw<T: serde::Serialize + ?Sized>(value: &T) -> Result<Box<RawValue>, StoreError> {
    serde_json::value::to_raw_value(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// An execution's end waiting to be written with others (see [`Store::write_ending`]).
pub(crate) enum Ending {
    /// An execution that ran to its end before anything of it was stored.
    Ran(Ran),
    /// A stored execution a worker holds, ending with its last cards' records and the
    /// progress after them (if any).
    Held {
        id: Uuid,
        worker: String,
        steps: Vec<StepRecord>,
        progress: Option<Box<RawValue>>,
        ended: Ended,
    },
}

impl Ending {
    fn id(&self) -> Uuid {
        match self {
            Ending::Ran(ran) => ran.id,
            Ending::Held { id, .. } => *id,
        }
    }

    fn ended(&self) -> Option<&Ended> {
        match self {
            Ending::Ran(Ran {
                left: Left::Ended(ended),
                ..
            })
            | Ending::Held { ended, .. } => Some(ended),
            Ending::Ran(_) => None,
        }
    }
}

/// Where a waiting writer hears whether its ending was written.
type FinishedSender = tokio::sync::oneshot::Sender<Result<bool, StoreError>>;

/// Executions' ends waiting to be written together.
#[derive(Default)]
pub struct FinishedQueue {
    waiting: std::sync::Mutex<Vec<(Ending, FinishedSender)>>,
    /// Held by whoever writes what is waiting.
    turn: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for FinishedQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FinishedQueue")
    }
}

impl FinishedQueue {
    fn push(&self, ending: Ending, done: FinishedSender) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.push((ending, done));
        }
    }

    fn take(&self) -> Vec<(Ending, FinishedSender)> {
        self.waiting
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}

/// Inserts executions that ran before they were stored, with their cards' records, in
/// the transaction `tx`; the ids of those inserted (not there already).
macro_rules! insert_ran_in {
    ($tx:expr, $rows:expr) => {{
        let rows: &[&Ran] = $rows;
        let mut inserted: Vec<Uuid> = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(EXECUTIONS_PER_STATEMENT) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO executions (id, flow_id, flow_version, status, trigger_kind, input, subject, \
                 causal_chain, progress, output, error, steps, queued_at, started_at, finished_at, run_after, \
                 locked_by, locked_until, parent_id, parent_card, child_index, test, acting_for) ",
            );
            let at = now();
            insert.push_values(chunk, |mut row, ran| {
                let (status, locked_by, locked_until, output, error, finished_at) = match &ran.left {
                    Left::Held(worker, until) => {
                        (Status::Running, Some(worker.as_str()), Some(*until), None, None, None)
                    }
                    Left::Ended(ended) => (
                        ended.status,
                        None,
                        None,
                        ended.output.as_ref(),
                        ended.error.as_deref(),
                        Some(at),
                    ),
                };
                row.push_bind(ran.id)
                    .push_bind(ran.flow)
                    .push_bind(ran.flow_version)
                    .push_bind(status.as_str())
                    .push_bind(&ran.trigger_kind)
                    .push_bind(Json(&*ran.input))
                    .push_bind(&ran.subject)
                    .push_bind(Json(&*ran.causal_chain))
                    .push_bind(Json(&*ran.progress))
                    .push_bind(output.map(Json))
                    .push_bind(error)
                    .push_bind(ran.steps.len() as i64)
                    .push_bind(ran.queued_at)
                    .push_bind(ran.started_at)
                    .push_bind(finished_at)
                    .push_bind(ran.queued_at)
                    .push_bind(locked_by)
                    .push_bind(locked_until)
                    .push_bind(ran.parent.map(|p| p.execution.0))
                    .push_bind(ran.parent.map(|p| i64::from(p.card)))
                    .push_bind(ran.parent.map(|p| p.index))
                    .push_bind(ran.test)
                    .push_bind(ran.acting_for);
            });
            insert.push(" ON CONFLICT DO NOTHING RETURNING id");
            let ids: Vec<Uuid> = insert.build_query_scalar().fetch_all(&mut *$tx).await?;
            inserted.extend(ids);
        }
        let steps: Vec<(Uuid, i64, &StepRecord)> = rows
            .iter()
            .filter(|ran| inserted.contains(&ran.id))
            .flat_map(|ran| (1i64..).zip(&ran.steps).map(|(seq, step)| (ran.id, seq, step)))
            .collect();
        insert_steps_in!($tx, &steps);
        inserted
    }};
}

/// Executions that have ended.
const FINAL: &str = "('succeeded', 'failed', 'cancelled')";

impl Store {
    /// Accepts an execution: once this returns, it will run (or has been deduplicated:
    /// `None` when an execution of the flow with the same key exists).
    pub async fn enqueue_execution(
        &self,
        new: &NewExecution,
    ) -> Result<Option<ExecutionId>, StoreError> {
        self.accept(ExecutionId::new(), new, None).await
    }

    /// Like [`Store::enqueue_execution`], with the id chosen by the caller (who may then
    /// watch for its end before it is queued).
    pub async fn enqueue_execution_as(
        &self,
        id: ExecutionId,
        new: &NewExecution,
    ) -> Result<Option<ExecutionId>, StoreError> {
        self.accept(id, new, None).await
    }

    /// Records an execution that stops before its first card, saying why (the loop
    /// guard). Deduplicated like any other.
    pub async fn enqueue_stopped_execution(
        &self,
        new: &NewExecution,
        reason: &str,
    ) -> Result<Option<ExecutionId>, StoreError> {
        self.accept(ExecutionId::new(), new, Some(reason)).await
    }

    async fn accept(
        &self,
        id: ExecutionId,
        new: &NewExecution,
        stopped: Option<&str>,
    ) -> Result<Option<ExecutionId>, StoreError> {
        let at = now();
        let status = if stopped.is_some() {
            Status::Cancelled
        } else {
            Status::Queued
        };
        let inserted: u64 = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query(
                "INSERT INTO executions (id, flow_id, flow_version, status, trigger_kind, input, subject, dedupe_key, \
                 causal_chain, progress, queued_at, run_after, error, finished_at, parent_id, parent_card, child_index, test, acting_for) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, $17, \
                 COALESCE($18, (SELECT owner_id FROM flows WHERE id = $2))) ON CONFLICT DO NOTHING",
            )
            .bind(id.0)
            .bind(new.flow.0)
            .bind(new.flow_version)
            .bind(status.as_str())
            .bind(&new.trigger_kind)
            .bind(Json(&new.input))
            .bind(&new.subject)
            .bind(&new.dedupe_key)
            .bind(Json(&new.causal_chain))
            .bind(Json(Progress::new(new.input.clone())))
            .bind(at)
            .bind(stopped)
            .bind(stopped.map(|_| at))
            .bind(new.parent.map(|p| p.execution.0))
            .bind(new.parent.map(|p| i64::from(p.card)))
            .bind(new.parent.map(|p| p.index))
            .bind(new.test)
            .bind(new.acting_for.map(|u| u.0))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted > 0 && stopped.is_none() {
            self.signals.queued.notify_waiters();
        }
        Ok((inserted > 0).then_some(id))
    }

    /// Stores an execution this process took and began running without queueing it (a
    /// synchronous API call), held by `worker` until `lease_until`, with the records of
    /// the cards it ran so far and its progress, in one transaction. From here on it is
    /// like any claimed execution: if this process dies, another worker takes it over
    /// when the lease runs out. `false` when an execution with its id exists already.
    pub async fn accept_running(
        &self,
        execution: &ExecutionRecord,
        worker: &str,
        lease_until: DateTime<Utc>,
        steps: &[StepRecord],
        progress: &Progress,
    ) -> Result<bool, StoreError> {
        let ran = Ran::new(
            execution,
            steps,
            progress,
            Left::Held(worker.into(), lease_until),
        )?;
        let inserted = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let inserted = insert_ran_in!(tx, &[&ran]);
            tx.commit().await?;
            !inserted.is_empty()
        });
        Ok(inserted)
    }

    /// Stores an execution that ran to its end before anything of it was stored (every
    /// card it ran changes nothing outside it, so nothing was lost had it stopped midway):
    /// the execution, its cards' records and its end, written with other executions'
    /// ends (see [`Store::finish_with_steps`]). `false` when an execution with its id
    /// exists already.
    pub async fn accept_finished(
        &self,
        execution: &ExecutionRecord,
        steps: &[StepRecord],
        progress: &Progress,
        ended: &Ended,
    ) -> Result<bool, StoreError> {
        let ran = Ran::new(execution, steps, progress, Left::Ended(ended.clone()))?;
        self.write_ending(Ending::Ran(ran)).await
    }

    /// Executions that end together are written together: whoever gets the turn writes
    /// every ending waiting, in one transaction (one commit for many); should that fail,
    /// each is written alone, so one execution's problem stays its own.
    async fn write_ending(&self, ending: Ending) -> Result<bool, StoreError> {
        let (done, mut answer) = tokio::sync::oneshot::channel();
        self.finished.push(ending, done);
        let _turn = self.finished.turn.lock().await;
        if let Ok(written) = answer.try_recv() {
            return written;
        }
        let batch = self.finished.take();
        let written = match self.write_endings(&batch).await {
            Ok(written) => written.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(_) if batch.len() > 1 => {
                let mut each = Vec::with_capacity(batch.len());
                for one in batch.chunks(1) {
                    each.push(self.write_endings(one).await.map(|w| w[0]));
                }
                each
            }
            Err(e) => vec![Err(e)],
        };
        for ((ending, done), written) in batch.into_iter().zip(written) {
            if let (Ok(true), Some(ended)) = (&written, ending.ended()) {
                self.signals
                    .finished(ExecutionId(ending.id()), ended.clone());
            }
            let _ = done.send(written);
        }
        answer
            .try_recv()
            .unwrap_or_else(|_| Err(StoreError::Invalid("the execution was not stored".into())))
    }

    /// Writes `batch` in one transaction; for each, whether it was written (an execution
    /// that ran before it was stored: not there already; a held one: still held).
    async fn write_endings(
        &self,
        batch: &[(Ending, FinishedSender)],
    ) -> Result<Vec<bool>, StoreError> {
        let ran: Vec<&Ran> = batch
            .iter()
            .filter_map(|(ending, _)| match ending {
                Ending::Ran(ran) => Some(ran),
                Ending::Held { .. } => None,
            })
            .collect();
        let (written, woke) = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let inserted = if ran.is_empty() { Vec::new() } else { insert_ran_in!(tx, &ran) };
            let mut steps: Vec<(Uuid, i64, &StepRecord)> = Vec::new();
            let mut written = Vec::with_capacity(batch.len());
            let mut woke = false;
            for (ending, _) in batch {
                let Ending::Held { id, worker, steps: last, progress, ended } = ending else {
                    written.push(inserted.contains(&ending.id()));
                    continue;
                };
                let held: Option<(i64, Option<Uuid>)> = sqlx::query_as(
                    "UPDATE executions SET status = $3, output = $4, error = $5, finished_at = $6, locked_by = NULL, \
                     locked_until = NULL, steps = steps + $7, progress = COALESCE($8, progress) \
                     WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING steps, parent_id",
                )
                .bind(*id)
                .bind(worker)
                .bind(ended.status.as_str())
                .bind(ended.output.as_ref().map(Json))
                .bind(&ended.error)
                .bind(now())
                .bind(last.len() as i64)
                .bind(progress.as_ref().map(|p| Json(&**p)))
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((seq, parent)) = held {
                    let first = seq - last.len() as i64 + 1;
                    steps.extend((first..).zip(last).map(|(seq, step)| (*id, seq, step)));
                    if let Some(parent) = parent {
                        woke |= wake_parent_in!(self, tx, parent);
                    }
                }
                written.push(held.is_some());
            }
            insert_steps_in!(tx, &steps);
            tx.commit().await?;
            (written, woke)
        });
        if woke {
            self.signals.queued.notify_waiters();
        }
        Ok(written)
    }

    /// Claims the oldest due execution for `worker` until `lease_until`.
    pub async fn claim_execution(
        &self,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        self.claim(worker, lease_until, true).await
    }

    /// Like [`Store::claim_execution`]; `look_first: false` skips the plain read that
    /// keeps idle workers off the write path (for a worker that expects work).
    pub async fn claim(
        &self,
        worker: &str,
        lease_until: DateTime<Utc>,
        look_first: bool,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let at = now();
        if look_first && !self.any_due(at).await? {
            return Ok(None);
        }
        self.claim_due(worker, lease_until, at).await
    }

    async fn any_due(&self, at: DateTime<Utc>) -> Result<bool, StoreError> {
        // Idle workers look often: a plain read first keeps them off the write path.
        let due: Option<Uuid> = with_pool!(self, pool => {
            sqlx::query_scalar(&format!(
                "SELECT e.id FROM executions e WHERE ((e.status IN ('queued', 'waiting') AND e.run_after <= $1) \
                 OR (e.status = 'running' AND e.locked_until < $1)) AND NOT {AT_LIMIT} LIMIT 1"
            ))
            .bind(at)
            .fetch_optional(pool)
            .await?
        });
        Ok(due.is_some())
    }

    async fn claim_due(
        &self,
        worker: &str,
        lease_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let pick = match &self.backend {
            Backend::Sqlite(_) => "",
            Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let at_limit = AT_LIMIT.replace("$1", "$3");
        let sql = format!(
            "UPDATE executions SET status = 'running', locked_by = $1, locked_until = $2, \
             started_at = COALESCE(started_at, $3) \
             WHERE id = (SELECT e.id FROM executions e \
                 WHERE ((e.status IN ('queued', 'waiting') AND e.run_after <= $3) OR (e.status = 'running' AND e.locked_until < $3)) \
                 AND NOT {at_limit} \
                 ORDER BY e.run_after, e.id LIMIT 1{pick}) \
             RETURNING {EXECUTION_COLUMNS}"
        );
        let row: Option<ExecutionRow> = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query_as(&sql)
                .bind(worker)
                .bind(lease_until)
                .bind(at)
                .fetch_optional(pool)
                .await?
        });
        row.map(ExecutionRecord::try_from).transpose()
    }

    /// Records a finished card and the progress after it, if `worker` still holds the
    /// execution (`false` otherwise: the lease ran out or it was cancelled; stop).
    pub async fn record_step(
        &self,
        id: ExecutionId,
        worker: &str,
        step: &StepRecord,
        progress: &Progress,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.record_steps(
            id,
            worker,
            std::slice::from_ref(step),
            progress,
            lease_until,
        )
        .await
    }

    /// Records finished cards, in order, and the progress after the last, in one
    /// transaction; `false` when `worker` no longer holds the execution.
    pub async fn record_steps(
        &self,
        id: ExecutionId,
        worker: &str,
        steps: &[StepRecord],
        progress: &Progress,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let held = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let last: Option<i64> = sqlx::query_scalar(
                "UPDATE executions SET steps = steps + $5, progress = $3, locked_until = $4 \
                 WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING steps",
            )
            .bind(id.0)
            .bind(worker)
            .bind(Json(progress))
            .bind(lease_until)
            .bind(steps.len() as i64)
            .fetch_optional(&mut *tx)
            .await?;
            match last {
                None => false,
                Some(last) => {
                    let first = last - steps.len() as i64 + 1;
                    insert_steps_in!(tx, &numbered(id, first, steps));
                    tx.commit().await?;
                    true
                }
            }
        });
        Ok(held)
    }

    /// Ends an execution `worker` holds: succeeded with `output`, or failed with `error`.
    /// A helper flow's execution that ends last of its siblings wakes its parent.
    pub async fn finish_execution(
        &self,
        id: ExecutionId,
        worker: &str,
        status: Status,
        output: Option<&Value>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.write_ending(Ending::Held {
            id: id.0,
            worker: worker.to_string(),
            steps: Vec::new(),
            progress: None,
            ended: Ended {
                status,
                output: output.cloned(),
                error: error.map(str::to_string),
            },
        })
        .await
    }

    /// Records the last cards' records and ends the execution, in one transaction,
    /// written with other executions' ends (see [`Store::write_ending`]). `false` when
    /// `worker` no longer holds it.
    pub async fn finish_with_steps(
        &self,
        id: ExecutionId,
        worker: &str,
        last: (&[StepRecord], &Progress),
        status: Status,
        output: Option<&Value>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (steps, progress) = last;
        self.write_ending(Ending::Held {
            id: id.0,
            worker: worker.to_string(),
            steps: steps.to_vec(),
            progress: Some(raw(progress)?),
            ended: Ended {
                status,
                output: output.cloned(),
                error: error.map(str::to_string),
            },
        })
        .await
    }

    /// Leaves an execution `worker` holds waiting (for its helper flows, or a Pause card's
    /// resume) until `until` at the latest, with its progress. Waiting for helper flows
    /// that have all ended already, it is queued again at once.
    pub async fn wait_execution(
        &self,
        id: ExecutionId,
        worker: &str,
        progress: &Progress,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query(&format!(
                "UPDATE executions SET status = CASE WHEN EXISTS (SELECT 1 FROM executions c WHERE c.parent_id = $1 \
                 AND c.status NOT IN {FINAL}) OR $5 THEN 'waiting' ELSE 'queued' END, \
                 progress = $3, run_after = CASE WHEN EXISTS (SELECT 1 FROM executions c WHERE c.parent_id = $1 \
                 AND c.status NOT IN {FINAL}) OR $5 THEN $4 ELSE $6 END, locked_by = NULL, locked_until = NULL \
                 WHERE id = $1 AND locked_by = $2 AND status = 'running'"
            ))
            .bind(id.0)
            .bind(worker)
            .bind(Json(progress))
            .bind(until)
            .bind(matches!(progress.waiting, Some(crate::engine::Waiting::Resume { .. })))
            .bind(now())
            .execute(pool)
            .await?
            .rows_affected()
        });
        // Its helpers may all have ended: then it is queued already.
        self.signals.queued.notify_waiters();
        Ok(done > 0)
    }

    /// The helper executions card `card` of `parent` started, by their place in its list,
    /// whose deduplication keys start with `key_prefix` (one attempt's).
    pub async fn child_executions(
        &self,
        parent: ExecutionId,
        card: u32,
        key_prefix: &str,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE parent_id = $1 AND parent_card = $2 \
             AND dedupe_key LIKE $3 ORDER BY child_index"
        );
        let rows: Vec<ExecutionRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(parent.0)
                .bind(i64::from(card))
                .bind(format!("{key_prefix}%"))
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

    /// Resumes an execution waiting at a Pause card, with `input` for the card's output.
    /// `false` when it is not waiting at a Pause card.
    pub async fn resume_execution(
        &self,
        id: ExecutionId,
        input: Value,
    ) -> Result<bool, StoreError> {
        let Some(execution) = self.execution(id).await? else {
            return Ok(false);
        };
        let mut progress = execution.progress;
        let Some(crate::engine::Waiting::Resume { card, since_ms, .. }) = progress.waiting else {
            return Ok(false);
        };
        if execution.status != Status::Waiting {
            return Ok(false);
        }
        progress.waiting = Some(crate::engine::Waiting::Resume {
            card,
            input: Some(input),
            resumed: true,
            since_ms,
        });
        let done = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            // Only the pause this read saw: a second resume finds it queued.
            sqlx::query(
                "UPDATE executions SET status = 'queued', progress = $2, run_after = $3 \
                 WHERE id = $1 AND status = 'waiting' AND steps = $4",
            )
            .bind(id.0)
            .bind(Json(&progress))
            .bind(now())
            .bind(execution.steps)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done > 0 {
            self.signals.queued.notify_waiters();
        }
        Ok(done > 0)
    }

    /// Puts an execution `worker` holds back in the queue until `run_after` (a retry's
    /// backoff, a Wait card), with its progress.
    pub async fn postpone_execution(
        &self,
        id: ExecutionId,
        worker: &str,
        progress: &Progress,
        run_after: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query(
                "UPDATE executions SET status = 'queued', progress = $3, run_after = $4, locked_by = NULL, locked_until = NULL \
                 WHERE id = $1 AND locked_by = $2 AND status = 'running'",
            )
            .bind(id.0)
            .bind(worker)
            .bind(Json(progress))
            .bind(run_after)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    /// Cancels an execution that has not ended, and the helper executions it started;
    /// its worker stops before the next card. `false` when it had already ended or does
    /// not exist.
    pub async fn cancel_execution(
        &self,
        id: ExecutionId,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let cancelled = self.cancel_one(id, reason).await?;
        if cancelled {
            self.cancel_helpers(id, "cancelled with the execution that started it")
                .await?;
            self.signals.finished(
                id,
                super::Ended {
                    status: Status::Cancelled,
                    output: None,
                    error: Some(reason.to_string()),
                },
            );
        }
        Ok(cancelled)
    }

    /// Cancels the helper executions `parent` started that have not ended, level by level
    /// (each statement on its own: no lock is held while a helper's worker ends it and
    /// looks for its parent). How many were cancelled.
    pub async fn cancel_helpers(
        &self,
        parent: ExecutionId,
        reason: &str,
    ) -> Result<usize, StoreError> {
        let mut cancelled = 0;
        let mut parents = vec![parent];
        while let Some(parent) = parents.pop() {
            let helpers: Vec<Uuid> = with_pool!(self, pool => {
                let _turn = self.write_turn().await;
                sqlx::query_scalar(&format!(
                    "UPDATE executions SET status = 'cancelled', error = $2, finished_at = $3, locked_by = NULL, locked_until = NULL \
                     WHERE parent_id = $1 AND status NOT IN {FINAL} RETURNING id"
                ))
                .bind(parent.0)
                .bind(reason)
                .bind(now())
                .fetch_all(pool)
                .await?
            });
            cancelled += helpers.len();
            parents.extend(helpers.into_iter().map(ExecutionId));
        }
        Ok(cancelled)
    }

    async fn cancel_one(&self, id: ExecutionId, reason: &str) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let ended: Option<Option<Uuid>> = sqlx::query_scalar(
                "UPDATE executions SET status = 'cancelled', error = $2, finished_at = $3, locked_by = NULL, locked_until = NULL \
                 WHERE id = $1 AND status IN ('queued', 'running', 'paused', 'waiting') RETURNING parent_id",
            )
            .bind(id.0)
            .bind(reason)
            .bind(now())
            .fetch_optional(&mut *tx)
            .await?;
            let woke = match ended {
                Some(Some(parent)) => wake_parent_in!(self, tx, parent),
                _ => false,
            };
            tx.commit().await?;
            if woke {
                self.signals.queued.notify_waiters();
            }
            ended.is_some()
        });
        Ok(done)
    }

    /// Holds an execution `worker` holds for an admin's approval (the blast-radius guard).
    pub async fn pause_execution(
        &self,
        id: ExecutionId,
        worker: &str,
        progress: &Progress,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query(
                "UPDATE executions SET status = 'paused', progress = $3, error = $4, locked_by = NULL, locked_until = NULL \
                 WHERE id = $1 AND locked_by = $2 AND status = 'running'",
            )
            .bind(id.0)
            .bind(worker)
            .bind(Json(progress))
            .bind(reason)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    /// An admin approves a paused execution: it goes on, past the guard. `false` when it
    /// is not paused.
    pub async fn approve_execution(&self, id: ExecutionId) -> Result<bool, StoreError> {
        let Some(execution) = self.execution(id).await? else {
            return Ok(false);
        };
        let mut progress = execution.progress;
        progress.approved = true;
        let done = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query(
                "UPDATE executions SET status = 'queued', progress = $2, error = NULL, run_after = $3 \
                 WHERE id = $1 AND status = 'paused'",
            )
            .bind(id.0)
            .bind(Json(&progress))
            .bind(now())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
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

    /// Deletes the executions (and their card records) that ended before `cutoff`: the
    /// history's retention. Returns how many went.
    pub async fn prune_executions(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let gone = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query(
                "DELETE FROM executions WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < $1",
            )
            .bind(cutoff)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(gone)
    }

    /// Makes a queued execution due now (an admin's "retry now", instead of waiting out a
    /// retry's backoff or a Wait). `false` when it is not queued.
    pub async fn run_now(&self, id: ExecutionId) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query("UPDATE executions SET run_after = $2 WHERE id = $1 AND status = 'queued'")
                .bind(id.0)
                .bind(now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Runs an execution's input again, through the flow's current version, as a new
    /// execution. `None` when the execution or its flow no longer exists.
    pub async fn rerun_execution(
        &self,
        id: ExecutionId,
    ) -> Result<Option<ExecutionId>, StoreError> {
        let Some(old) = self.execution(id).await? else {
            return Ok(None);
        };
        let Some(flow) = self.flow_summary(old.flow).await? else {
            return Ok(None);
        };
        self.enqueue_execution(&NewExecution {
            flow: old.flow,
            flow_version: flow.version,
            trigger_kind: old.trigger_kind,
            input: old.input,
            subject: old.subject,
            dedupe_key: None,
            causal_chain: old.causal_chain,
            parent: None,
            // Re-running a test is another test, for the same person; anything else acts
            // for the flow's owner now.
            test: old.test,
            acting_for: old.acting_for.filter(|_| old.test),
        })
        .await
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
        let text = match &self.backend {
            Backend::Sqlite(_) => "LOWER(input || ' ' || progress)",
            Backend::Postgres(_) => "LOWER(input::text || ' ' || progress::text)",
        };
        // Ignoring case: "Ada@Example.com" finds "ada@example.com".
        let carried = filter.carried.as_ref().map(|c| {
            format!(
                "%{}%",
                c.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE \
             ($1 IS NULL OR flow_id = $1) AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR subject = $3) \
             AND ($4 IS NULL OR {text} LIKE $4 ESCAPE '\\') AND ($5 IS NULL OR queued_at >= $5) \
             ORDER BY queued_at DESC, id DESC LIMIT $6"
        );
        let rows: Vec<ExecutionRow> = match &self.backend {
            Backend::Sqlite(pool) => {
                sqlx::query_as(&sql)
                    .bind(filter.flow.map(|f| f.0))
                    .bind(filter.status.map(Status::as_str))
                    .bind(&filter.subject)
                    .bind(&carried)
                    .bind(filter.since)
                    .bind(filter.limit.clamp(1, 1000))
                    .fetch_all(pool)
                    .await?
            }
            Backend::Postgres(pool) => {
                let sql = sql
                    .replace("$1 IS NULL", "$1::uuid IS NULL")
                    .replace("$2 IS NULL", "$2::text IS NULL")
                    .replace("$3 IS NULL", "$3::text IS NULL")
                    .replace("$4 IS NULL", "$4::text IS NULL")
                    .replace("$5 IS NULL", "$5::timestamptz IS NULL");
                sqlx::query_as(&sql)
                    .bind(filter.flow.map(|f| f.0))
                    .bind(filter.status.map(Status::as_str))
                    .bind(&filter.subject)
                    .bind(&carried)
                    .bind(filter.since)
                    .bind(filter.limit.clamp(1, 1000))
                    .fetch_all(pool)
                    .await?
            }
        };
        rows.into_iter().map(ExecutionRecord::try_from).collect()
    }
}
