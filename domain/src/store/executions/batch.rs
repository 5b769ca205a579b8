//! Executions' writes made together: whoever gets the turn writes every waiting end,
//! first write (an execution that ran before it was stored) and card records in one
//! transaction, with multi-row inserts; one that fails is then written alone, so its
//! problem stays its own. A card that adds a table row has the row written with its
//! record: both are stored, or neither.

use super::*;
use crate::store::BeginWrite;
use crate::store::tables::NewRow;

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
    dry_run: bool,
    acting_for: Option<Uuid>,
    steps: Vec<StepRecord>,
    left: Left,
    /// What it carried, when it ended (kept with it; see [`carried_of`]).
    carried: Option<Vec<String>>,
    /// The row its last card added, written with it.
    row: Option<NewRow>,
}

/// How it is left: held by a worker until a time, or ended.
enum Left {
    Held(String, DateTime<Utc>),
    Ended(Ended),
}

impl Ran {
    fn new(
        execution: &ExecutionRecord,
        steps: Vec<StepRecord>,
        progress: &Progress,
        left: Left,
    ) -> Result<Ran, StoreError> {
        let carried =
            matches!(left, Left::Ended(_)).then(|| carried_of(&execution.input, progress));
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
            dry_run: execution.dry_run,
            acting_for: execution.acting_for.map(|u| u.0),
            steps,
            left,
            carried,
            row: None,
        })
    }
}

/// The values an ended execution carried: its input's and its cards' outputs', as
/// [`Store::keep_carried`] would find them. Kept in the transaction that ends it, so the
/// background keeper need not read it back.
pub(crate) fn carried_of(input: &serde_json::Value, progress: &Progress) -> Vec<String> {
    // Cards in the order the keeper reads them from the stored JSON (keys as text: "1",
    // "10", "2"), so the same values are kept when there are more than can be.
    let mut outputs: Vec<(String, &serde_json::Value)> = progress
        .outputs
        .iter()
        .map(|(card, output)| (card.to_string(), output))
        .collect();
    outputs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    super::carried::carried_values(
        std::iter::once(input).chain(outputs.into_iter().map(|(_, v)| v)),
    )
}

/// Inserts `pairs` (value, execution) into `execution_values` in the transaction `tx`,
/// in the index's order.
macro_rules! insert_values_in {
    ($tx:expr, $pairs:expr) => {{
        let mut pairs: Vec<(&str, Uuid)> = $pairs;
        pairs.sort_unstable();
        for piece in pairs.chunks(400) {
            let mut insert =
                sqlx::QueryBuilder::new("INSERT INTO execution_values (value, execution_id) ");
            insert.push_values(piece, |mut row, (value, id)| {
                row.push_bind(*value).push_bind(*id);
            });
            insert.push(" ON CONFLICT DO NOTHING");
            insert.build().execute(&mut *$tx).await?;
        }
    }};
}

/// Adds a card's row in the transaction `tx`: `None` when it was added, else why not (its
/// key is taken, or its table was deleted), leaving the transaction usable either way.
macro_rules! add_row_in {
    ($tx:expr, $row:expr) => {{
        let row: &NewRow = $row;
        let added: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO table_rows (id, table_id, row_key, data, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $5 WHERE EXISTS (SELECT 1 FROM tables WHERE id = $2) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(row.id)
        .bind(row.table.0)
        .bind(&row.key)
        .bind(Json(&row.data))
        .bind(row.at)
        .fetch_optional(&mut *$tx)
        .await?;
        if added.is_some() {
            None
        } else {
            let table: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tables WHERE id = $1)")
                    .bind(row.table.0)
                    .fetch_one(&mut *$tx)
                    .await?;
            Some(if table {
                row.taken()
            } else {
                StoreError::Gone("its table".into())
            })
        }
    }};
}

/// Takes back, in the transaction `tx`, a card's row added by [`add_row_in`] when its
/// record could not be written (the execution is no longer this worker's).
macro_rules! take_back_row_in {
    ($tx:expr, $row:expr) => {{
        let row: Option<&NewRow> = $row;
        if let Some(row) = row {
            sqlx::query("DELETE FROM table_rows WHERE id = $1")
                .bind(row.id)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// `value` as JSON text, kept as is until it is written.
pub(crate) fn raw<T: serde::Serialize + ?Sized>(value: &T) -> Result<Box<RawValue>, StoreError> {
    serde_json::value::to_raw_value(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// An execution's write waiting to be written with others (see [`Store::write_ending`]):
/// its end, or where it has got to.
pub(crate) enum Ending {
    /// An execution that ran to its end before anything of it was stored.
    Ran(Box<Ran>),
    /// A stored execution a worker holds, ending with its last cards' records and the
    /// progress after them (if any).
    Held {
        id: Uuid,
        worker: String,
        steps: Vec<StepRecord>,
        progress: Option<Box<RawValue>>,
        ended: Ended,
        /// What it carried, when known (see [`carried_of`]); else the keeper finds it.
        carried: Option<Vec<String>>,
    },
    /// A stored execution a worker holds and goes on running: the records of the cards
    /// it finished since it was last written, the progress after them, and the lease.
    Step {
        id: Uuid,
        worker: String,
        /// How many records it has stored before these: written only then, so a write
        /// retried after a commit whose outcome was unclear adds nothing twice.
        after: i64,
        steps: Vec<StepRecord>,
        progress: Box<RawValue>,
        lease_until: DateTime<Utc>,
        /// The row the last of `steps` added, written with them.
        row: Option<NewRow>,
    },
}

impl Ending {
    fn id(&self) -> Uuid {
        match self {
            Ending::Ran(ran) => ran.id,
            Ending::Held { id, .. } | Ending::Step { id, .. } => *id,
        }
    }

    /// The row written with it, if any.
    fn row(&self) -> Option<&NewRow> {
        match self {
            Ending::Ran(ran) => ran.row.as_ref(),
            Ending::Step { row, .. } => row.as_ref(),
            Ending::Held { .. } => None,
        }
    }

    fn ended(&self) -> Option<&Ended> {
        match self {
            Ending::Ran(ran) => match &ran.left {
                Left::Ended(ended) => Some(ended),
                Left::Held(..) => None,
            },
            Ending::Held { ended, .. } => Some(ended),
            Ending::Step { .. } => None,
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
                 locked_by, locked_until, parent_id, parent_card, child_index, test, dry_run, acting_for, carried) ",
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
                    .push_bind(ran.dry_run)
                    .push_bind(ran.acting_for)
                    .push_bind(ran.carried.is_some());
            });
            insert.push(" ON CONFLICT DO NOTHING RETURNING id");
            let ids: Vec<Uuid> = insert.build_query_scalar().fetch_all(&mut *$tx).await?;
            inserted.extend(ids);
        }
        let steps: Vec<(Uuid, i64, &StepRecord)> = rows
            .iter()
            .filter(|ran| inserted.contains(&ran.id))
            .flat_map(|ran| numbered(ran.id, ran.steps.len() as i64, &ran.steps))
            .collect();
        insert_steps_in!($tx, &steps);
        let values: Vec<(&str, Uuid)> = rows
            .iter()
            .filter(|ran| inserted.contains(&ran.id))
            .flat_map(|ran| ran.carried.iter().flatten().map(|v| (v.as_str(), ran.id)))
            .collect();
        insert_values_in!($tx, values);
        inserted
    }};
}

impl Store {
    /// Stores an execution this process took and began running without queueing it (a
    /// synchronous API call), held by `worker` until `lease_until`, with the records of
    /// the cards it ran so far and its progress, written with other executions' ends and
    /// first writes (see [`Store::write_ending`]); it returns once committed. From here
    /// on it is like any claimed execution: if this process dies, another worker takes it
    /// over when the lease runs out. `false` when an execution with its id exists already.
    ///
    /// With `row`, the row the last of `steps` added is written in the same transaction;
    /// if it cannot be (its key is taken: `Conflict`; its table was deleted: `Gone`),
    /// nothing of the execution is written either.
    pub async fn accept_running(
        &self,
        execution: &ExecutionRecord,
        worker: &str,
        lease_until: DateTime<Utc>,
        (steps, row): (Vec<StepRecord>, Option<NewRow>),
        progress: &Progress,
    ) -> Result<bool, StoreError> {
        let ran = Ran {
            row,
            ..Ran::new(
                execution,
                steps,
                progress,
                Left::Held(worker.into(), lease_until),
            )?
        };
        self.write_ending(Ending::Ran(Box::new(ran))).await
    }
    /// Stores an execution that ran to its end before anything of it was stored (every
    /// card it ran changes nothing outside it, so nothing was lost had it stopped midway):
    /// the execution, its cards' records and its end, written with other executions'
    /// ends (see [`Store::finish_with_steps`]). `false` when an execution with its id
    /// exists already.
    pub async fn accept_finished(
        &self,
        execution: &ExecutionRecord,
        steps: Vec<StepRecord>,
        progress: &Progress,
        ended: Ended,
    ) -> Result<bool, StoreError> {
        let ran = Ran::new(execution, steps, progress, Left::Ended(ended))?;
        self.write_ending(Ending::Ran(Box::new(ran))).await
    }
    /// Executions that end together are written together: whoever gets the turn writes
    /// every ending waiting, in one transaction (one commit for many); should that fail,
    /// each is written alone, so one execution's problem stays its own.
    pub(super) async fn write_ending(&self, ending: Ending) -> Result<bool, StoreError> {
        let (done, mut answer) = tokio::sync::oneshot::channel();
        self.finished.push(ending, done);
        let _turn = self.finished.turn.lock().await;
        if let Ok(written) = answer.try_recv() {
            return written;
        }
        let batch = self.finished.take();
        let written = match self.write_endings(&batch).await {
            Ok(written) => written,
            Err(_) if batch.len() > 1 => {
                let mut each = Vec::with_capacity(batch.len());
                for one in batch.chunks(1) {
                    each.push(self.write_endings(one).await.and_then(|mut w| w.remove(0)));
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
    /// that ran before it was stored: not there already; a held one: still held), or why
    /// the row written with it could not be (then nothing of it is written).
    async fn write_endings(
        &self,
        batch: &[(Ending, FinishedSender)],
    ) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
        let (written, woke) = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            // Cards' rows first: an ending whose row cannot be added is left out.
            let mut refused: Vec<Option<StoreError>> = Vec::with_capacity(batch.len());
            for (ending, _) in batch {
                refused.push(match ending.row() {
                    Some(row) => add_row_in!(tx, row),
                    None => None,
                });
            }
            let ran: Vec<&Ran> = batch
                .iter()
                .zip(&refused)
                .filter_map(|((ending, _), refused)| match ending {
                    Ending::Ran(ran) if refused.is_none() => Some(&**ran),
                    _ => None,
                })
                .collect();
            let inserted = if ran.is_empty() { Vec::new() } else { insert_ran_in!(tx, &ran) };
            let mut steps: Vec<(Uuid, i64, &StepRecord)> = Vec::new();
            let mut values: Vec<(&str, Uuid)> = Vec::new();
            let mut written = Vec::with_capacity(batch.len());
            let mut woke = false;
            for ((ending, _), refused) in batch.iter().zip(refused) {
                if let Some(why) = refused {
                    written.push(Err(why));
                    continue;
                }
                let held = match ending {
                    Ending::Ran(ran) => inserted.contains(&ran.id),
                    Ending::Step { id, worker, after, steps: last, progress, lease_until, row: _ } => {
                        let count: Option<i64> = sqlx::query_scalar(
                            "UPDATE executions SET steps = steps + $5, progress = $3, locked_until = $4 \
                             WHERE id = $1 AND locked_by = $2 AND status = 'running' AND steps = $6 RETURNING steps",
                        )
                        .bind(*id)
                        .bind(worker)
                        .bind(Json(&**progress))
                        .bind(*lease_until)
                        .bind(last.len() as i64)
                        .bind(*after)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if let Some(count) = count {
                            steps.extend(numbered(*id, count, last));
                        }
                        count.is_some()
                    }
                    Ending::Held { id, worker, steps: last, progress, ended, carried } => {
                        let ended_row: Option<(i64, Option<Uuid>)> = sqlx::query_as(
                            "UPDATE executions SET status = $3, output = $4, error = $5, finished_at = $6, locked_by = NULL, \
                             locked_until = NULL, steps = steps + $7, progress = COALESCE($8, progress), carried = $9 \
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
                        .bind(carried.is_some())
                        .fetch_optional(&mut *tx)
                        .await?;
                        if let Some((count, parent)) = ended_row {
                            steps.extend(numbered(*id, count, last));
                            values.extend(carried.iter().flatten().map(|v| (v.as_str(), *id)));
                            if let Some(parent) = parent {
                                woke |= wake_parent_in!(self, tx, parent);
                            }
                        }
                        ended_row.is_some()
                    }
                };
                if !held {
                    take_back_row_in!(tx, ending.row());
                }
                written.push(Ok(held));
            }
            insert_steps_in!(tx, &steps);
            insert_values_in!(tx, values);
            tx.commit().await?;
            (written, woke)
        });
        if woke {
            self.signals.queued.notify_waiters();
        }
        Ok(written)
    }
    /// Records the last cards' records and ends the execution, in one transaction,
    /// written with other executions' ends (see [`Store::write_ending`]). `false` when
    /// `worker` no longer holds it.
    pub async fn finish_with_steps(
        &self,
        execution: &ExecutionRecord,
        worker: &str,
        last: (Vec<StepRecord>, &Progress),
        ended: Ended,
    ) -> Result<bool, StoreError> {
        let (steps, progress) = last;
        self.write_ending(Ending::Held {
            id: execution.id.0,
            worker: worker.to_string(),
            steps,
            progress: Some(raw(progress)?),
            ended,
            carried: Some(carried_of(&execution.input, progress)),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn an_ending_keeps_what_the_keeper_would_even_past_the_limit() {
        let input = json!({"user": {"email": "Ada@Example.com"}});
        let mut progress = Progress::new(input.clone());
        // 12 cards of 20 values each: more than are kept, so the order decides which.
        for card in 1..=12u32 {
            let values: Vec<String> = (0..20).map(|n| format!("card {card} value {n}")).collect();
            progress.outputs.insert(card, json!({ "values": values }));
        }
        // What the keeper reads: the progress as stored, read back.
        let stored: Value =
            serde_json::from_str(&serde_json::to_string(&progress).unwrap()).unwrap();
        let outputs = stored["outputs"].as_object().unwrap();
        let kept =
            super::super::carried::carried_values(std::iter::once(&input).chain(outputs.values()));
        assert_eq!(kept.len(), super::super::carried::VALUES_PER_EXECUTION);
        assert_eq!(carried_of(&input, &progress), kept);
        assert_eq!(kept[0], "ada@example.com");
    }
}
