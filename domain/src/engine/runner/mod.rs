//! The worker: claims an execution, runs its cards one after another, and stores each
//! card's record with the progress after it. A card runs at most once after its
//! completion is recorded; a card that was running when the worker died runs again
//! (at-least-once for the card in flight, exactly once for recorded ones).

pub(crate) mod directory;
mod email;
mod helpers;
mod http;
mod okta;
mod slack;
mod tables;

use super::control::{self, CardError, Done, failure_reason};
use super::{
    AfterFailure, BlastRadius, ExecutionId, Progress, Status, Waiting, advance, after_failure,
    card_at, enter_error_lane, enter_lane, inputs_of,
};
use crate::actions::{Acting, ActionError};
use crate::audit::Actor;
use crate::directory::UserStatus;
use crate::flows::Card;
use crate::store::{Connection, ExecutionRecord, NewExecution, StepRecord, Store, StoreError};
use chrono::{Duration, Utc};
use serde_json::{Map, Value, json};

/// How long a claim lasts without the worker writing; a worker that dies loses its
/// executions to others after this.
pub const LEASE: Duration = Duration::seconds(30);
/// A card's default time limit.
pub const CARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A change a card asked for and was refused fails the card with the reason (and, when
/// the person the flow acts for may not make it, says so); nothing was changed.
impl From<ActionError> for CardError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Refused(refusal) if refusal.is_about_rights() => {
                CardError::fatal(format!(
                    "refused: {refusal} (a flow may do only what the person it acts for may do in the console)"
                ))
            }
            ActionError::Refused(refusal) => CardError::fatal(refusal.reason),
            ActionError::NotFound { detail, .. } => CardError::fatal(detail),
            ActionError::Store(e) => e.into(),
        }
    }
}

/// What one execution's cards act as and what they may reach, worked out when a card
/// first needs it.
struct Context<'a> {
    actor: Actor,
    execution: &'a ExecutionRecord,
    /// The person the execution acts for, with their rights.
    acting: tokio::sync::OnceCell<Acting>,
    /// The folder of its flow.
    folder: tokio::sync::OnceCell<Option<uuid::Uuid>>,
}

impl Runner {
    /// The person `context`'s execution acts for, as an [`Acting`] with their rights now:
    /// nobody (no rights at all) when there is no such person or they are not active.
    async fn acting<'c>(&self, context: &'c Context<'_>) -> Result<&'c Acting, CardError> {
        Ok(context
            .acting
            .get_or_try_init(|| async {
                let person = match context.execution.acting_for {
                    Some(id) => self.store.user(id).await?,
                    None => None,
                };
                let rights = match person {
                    Some(user) if user.status == UserStatus::Active => {
                        self.store.rights_of(&user).await?
                    }
                    _ => crate::access::Rights::default(),
                };
                Ok::<_, StoreError>(Acting {
                    actor: context.actor.clone(),
                    rights,
                    person: context.execution.acting_for,
                    client_address: None,
                    request_id: None,
                    dry_run: context.execution.dry_run,
                })
            })
            .await?)
    }

    /// The connection a card names in its `connection` input, of `kind`, if it is shared
    /// with the folder of `context`'s flow.
    async fn connection_of(
        &self,
        context: &Context<'_>,
        inputs: &Map<String, Value>,
        kind: &str,
    ) -> Result<Connection, CardError> {
        let id = Some(input_text(inputs, "connection"))
            .filter(|id| !id.is_empty())
            .ok_or_else(|| CardError::fatal("connection: has no value"))?;
        let id = uuid::Uuid::parse_str(id)
            .map_err(|_| CardError::fatal("connection: is not a connection's id"))?;
        let connection = self
            .store
            .connection(id)
            .await?
            .ok_or_else(|| CardError::fatal("connection: the connection was deleted"))?;
        if connection.kind != kind {
            return Err(CardError::fatal(format!(
                "connection: {} is not a {kind} connection",
                connection.name
            )));
        }
        if !connection.usable_in(self.folder_of(context).await?) {
            return Err(CardError::fatal(format!(
                "connection: {} is not shared with this flow's folder (a Connection Manager can share it on its page)",
                connection.name
            )));
        }
        Ok(connection)
    }

    /// The folder of `context`'s flow: the only place its cards reach by name.
    async fn folder_of(&self, context: &Context<'_>) -> Result<Option<uuid::Uuid>, CardError> {
        Ok(*context
            .folder
            .get_or_try_init(|| async {
                let flow = self.store.recent_flow(context.execution.flow).await?;
                Ok::<_, StoreError>(flow.and_then(|f| f.folder))
            })
            .await?)
    }
}

/// Why a card's row could not be written with its record, as the card's failure.
fn refused_row(refused: StoreError) -> CardError {
    match refused {
        gone @ StoreError::Gone(_) => CardError::fatal(format!("table: {gone}")),
        taken => crate::actions::tables::key_taken(taken).into(),
    }
}

/// What a card's record keeps of its outputs when the flow does not save all data: the
/// id a service gave the request (Okta's request id, which its support asks for), never
/// the data itself.
fn receipt(kind: &str, output: &Value) -> Option<Value> {
    if !kind.starts_with("okta.") {
        return None;
    }
    output
        .get("request_id")
        .filter(|id| !id.is_null())
        .map(|id| json!({ "request_id": id }))
}

/// A dry run does not wait: a Wait or a Pause says how long it would have, and the dry
/// run goes on at once (a Pause with no input).
fn dry_run_steered(result: Result<Done, CardError>) -> Result<Done, CardError> {
    use crate::engine::dry_run::Note;
    match result {
        Ok(Done::Wait(duration)) => Ok(Done::Output(
            Note::new(format!(
                "Would wait {} here; a dry run goes on at once",
                spoken(duration)
            ))
            .on(Value::Null),
        )),
        Ok(Done::Await(Waiting::Resume { .. }, until)) => Ok(Done::Output(
            Note::new(format!(
                "Would pause here until {} or until resumed; a dry run goes on at once, with no input",
                until.format("%Y-%m-%d %H:%M UTC")
            ))
            .on(json!({ "input": null, "resumed": false })),
        )),
        other => other,
    }
}

/// A duration as a person says it: "90 seconds", "3 days".
fn spoken(duration: Duration) -> String {
    let seconds = duration.num_seconds();
    let (n, unit) = match seconds {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Counts an execution of `flow` that ended with `outcome` (test runs are not counted).
fn ended_metric(execution: &ExecutionRecord, flow: &crate::flows::Flow, outcome: &'static str) {
    if !execution.test {
        metrics::counter!("idflow_executions_ended_total", "flow" => flow.name.clone(), "outcome" => outcome)
            .increment(1);
    }
}

/// A card's text input `name`, trimmed; empty when it has none.
fn input_text<'i>(inputs: &'i Map<String, Value>, name: &str) -> &'i str {
    inputs
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
}

/// Where a name was looked for, for a card's error.
fn where_(folder: Option<uuid::Uuid>) -> &'static str {
    match folder {
        Some(_) => "in this flow's folder",
        None => "at the top level, where this flow is",
    }
}

/// A card's store failure as its record (and an API caller) sees it: what the person can
/// act on (a taken name, a value that does not fit), never the database's own words, which
/// go to the server's log.
impl From<StoreError> for CardError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(_) | StoreError::Conflict { .. } => CardError::fatal(e.to_string()),
            StoreError::PreconditionFailed { .. } => CardError {
                message: "what the card changes was changed by someone else at the same moment"
                    .into(),
                retryable: true,
                retry_after_ms: None,
            },
            StoreError::Database(_) | StoreError::Connect(_) => {
                tracing::warn!(error = %e, "a card's database work failed");
                CardError {
                    message: "idflow's database did not complete the card's work (the server's log has the details)".into(),
                    retryable: true,
                    retry_after_ms: None,
                }
            }
            other => {
                tracing::error!(error = %other, "a card failed inside idflow");
                CardError::fatal(
                    "idflow could not complete the card (the server's log has the details)",
                )
            }
        }
    }
}

/// What of an execution is not stored yet: the records of cards that change nothing
/// (stored with the next card's record, or the ending, in one transaction; a crash before
/// then only runs them again) and, for an execution begun before it was stored, the
/// execution itself.
struct Unstored {
    steps: Vec<StepRecord>,
    execution: bool,
    /// How many of its card records are stored: the next write adds to exactly these,
    /// so a write retried after a commit whose outcome was unclear records nothing twice.
    stored: i64,
}

impl Unstored {
    fn execution() -> Unstored {
        Unstored {
            steps: Vec::new(),
            execution: true,
            stored: 0,
        }
    }

    /// Nothing unstored of a stored execution with `stored` card records.
    fn after(stored: i64) -> Unstored {
        Unstored {
            steps: Vec::new(),
            execution: false,
            stored,
        }
    }
}

/// Runs executions for one worker.
pub struct Runner {
    store: Store,
    worker: String,
    guard: BlastRadius,
    /// The next claim goes straight to the write (work was found, or announced).
    expecting: std::sync::atomic::AtomicBool,
}

impl Runner {
    pub fn new(store: Store, worker: impl Into<String>) -> Runner {
        Runner {
            store,
            worker: worker.into(),
            guard: BlastRadius::default(),
            expecting: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The same runner with another blast-radius guard.
    pub fn with_guard(mut self, guard: BlastRadius) -> Runner {
        self.guard = guard;
        self
    }

    /// Whether the card under the cursor would pass the blast-radius guard; the reason to
    /// pause when not.
    async fn guard_holds(
        &self,
        flow: crate::flows::FlowId,
        card: &Card,
        progress: &Progress,
    ) -> Result<Option<String>, StoreError> {
        let catalog = crate::flows::catalog::catalog();
        let destructive = catalog.get(&card.kind).is_some_and(|c| c.destructive);
        if !destructive || progress.approved {
            return Ok(None);
        }
        let kinds: Vec<&str> = catalog
            .all()
            .iter()
            .filter(|c| c.destructive)
            .map(|c| c.key)
            .collect();
        let since = Utc::now() - self.guard.window;
        let done = self.store.flow_changes_since(flow, since, &kinds).await?;
        let directory = self.store.count_users().await?;
        if self.guard.allows(done, directory) {
            return Ok(None);
        }
        Ok(Some(format!(
            "Paused by the blast-radius guard: this flow already deactivated, suspended or removed users {done} times in the last {} minutes (the limit is {} users or {}% of the directory). An admin can approve it to go on, or cancel it.",
            self.guard.window.num_minutes(),
            self.guard.max_users,
            self.guard.max_percent
        )))
    }

    /// Claims one due execution and runs it as far as it goes now (to its end, or to a
    /// retry's or Wait's pause). `Ok(None)` when nothing was due.
    pub async fn run_one(&self) -> Result<Option<ExecutionId>, StoreError> {
        use std::sync::atomic::Ordering;
        let look_first = !self.expecting.swap(false, Ordering::Relaxed);
        let Some(execution) = self
            .store
            .claim(&self.worker, Utc::now() + LEASE, look_first)
            .await?
        else {
            return Ok(None);
        };
        self.expecting.store(true, Ordering::Relaxed);
        let id = execution.id;
        self.run(execution).await?;
        Ok(Some(id))
    }

    /// Work was announced (queued in this process): the next claim skips its look.
    pub fn expect_work(&self) {
        self.expecting
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Runs until nothing is due.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let mut ran = 0;
        while self.run_one().await?.is_some() {
            ran += 1;
        }
        Ok(ran)
    }

    async fn fail(&self, id: ExecutionId, reason: &str) -> Result<(), StoreError> {
        self.store
            .finish_execution(id, &self.worker, Status::Failed, None, Some(reason))
            .await
            .map(|_| ())
    }

    /// Fails an execution of `flow`, then starts the flow's error flow (a helper flow, if
    /// the settings name one) with what failed.
    async fn fail_flow(
        &self,
        execution: &ExecutionRecord,
        flow: &crate::flows::Flow,
        reason: &str,
    ) -> Result<(), StoreError> {
        let ended = self
            .store
            .finish_execution(
                execution.id,
                &self.worker,
                Status::Failed,
                None,
                Some(reason),
            )
            .await?;
        if ended {
            ended_metric(execution, flow, "failed");
        }
        // A dry run's failure is its tester's to read, not the error flow's to handle.
        let Some(error_flow) = flow
            .settings
            .error_flow
            .filter(|_| ended && !execution.dry_run)
        else {
            return Ok(());
        };
        let helper = match self.store.flow_summary(error_flow).await? {
            Some(h) if h.enabled && h.trigger_kind == "trigger.helper" => h,
            _ => {
                tracing::warn!(flow = %execution.flow, error_flow = %error_flow,
                    "the error flow is missing, off or not a helper flow; it was not started");
                return Ok(());
            }
        };
        self.store
            .enqueue_execution(&NewExecution {
                flow: helper.id,
                flow_version: helper.version,
                trigger_kind: "trigger.helper".into(),
                input: json!({ "input": {
                    "execution_id": execution.id.to_string(),
                    "flow_id": execution.flow.to_string(),
                    "flow_name": flow.name,
                    "error": reason,
                }}),
                subject: execution.subject.clone(),
                dedupe_key: Some(format!("error:{}", execution.id)),
                causal_chain: execution.causal_chain.clone(),
                parent: None,
                test: false,
                dry_run: false,
                acting_for: execution.acting_for,
            })
            .await?;
        Ok(())
    }

    /// Runs an execution this process began without storing it (a synchronous API call):
    /// the cards that change nothing outside it run first, and the execution is stored,
    /// held by this worker, before the first card that changes something runs (or with
    /// its end, when no card does). Until then, stopping loses nothing that happened.
    pub async fn run_unstored(&self, execution: ExecutionRecord) -> Result<(), StoreError> {
        self.run_from(execution, Unstored::execution()).await
    }

    async fn run(&self, execution: ExecutionRecord) -> Result<(), StoreError> {
        let stored = execution.steps;
        self.run_from(execution, Unstored::after(stored)).await
    }

    async fn run_from(
        &self,
        execution: ExecutionRecord,
        mut pending: Unstored,
    ) -> Result<(), StoreError> {
        let id = execution.id;
        let Some(flow) = self
            .store
            .flow_definition(execution.flow, execution.flow_version)
            .await?
        else {
            if !self
                .flush(&execution, &mut pending, &execution.progress)
                .await?
            {
                return Ok(());
            }
            return self.fail(id, "its flow was deleted").await;
        };
        if execution.steps == 0 && !execution.test {
            metrics::counter!("idflow_executions_started_total", "flow" => flow.name.clone())
                .increment(1);
        }
        let context = Context {
            actor: Actor::Flow {
                flow: execution.flow.0,
                execution: id.0,
                name: flow.name.clone(),
                chain: execution.causal_chain.clone(),
            },
            execution: &execution,
            acting: Default::default(),
            folder: Default::default(),
        };
        let mut progress = execution.progress.clone();
        loop {
            let Some(card) = card_at(&flow, &progress.cursor) else {
                return self
                    .end(
                        &execution,
                        &flow,
                        &mut pending,
                        &progress,
                        Value::Null,
                        None,
                    )
                    .await;
            };
            // Time spent at Pause cards does not count against the execution's limit.
            let paused_now = match &progress.waiting {
                Some(Waiting::Resume { since_ms, .. }) => Utc::now().timestamp_millis() - since_ms,
                _ => 0,
            };
            let deadline = execution.started_at.unwrap_or_else(Utc::now)
                + Duration::seconds(i64::from(flow.settings.timeout_seconds))
                + Duration::milliseconds(progress.paused_ms + paused_now);
            if Utc::now() > deadline {
                let reason = format!(
                    "timed out: the flow allows {} seconds per execution",
                    flow.settings.timeout_seconds
                );
                if !self.flush(&execution, &mut pending, &progress).await? {
                    return Ok(());
                }
                self.fail_flow(&execution, &flow, &reason).await?;
                // Helpers it was waiting for are no use any more.
                if matches!(
                    progress.waiting,
                    Some(Waiting::Children { .. } | Waiting::Stream { .. })
                ) {
                    self.store
                        .cancel_helpers(id, "the execution that started it timed out")
                        .await?;
                }
                return Ok(());
            }
            // A dry run changes no one: the guard has nothing to hold back.
            if !execution.dry_run
                && let Some(reason) = self.guard_holds(execution.flow, card, &progress).await?
            {
                if !self.flush(&execution, &mut pending, &progress).await? {
                    return Ok(());
                }
                self.store
                    .pause_execution(id, &self.worker, &progress, &reason)
                    .await?;
                return Ok(());
            }
            let inputs = inputs_of(card, &progress);
            // A list card in Stream mode reads, but starts helper flows.
            let changes_nothing = crate::flows::catalog::catalog()
                .get(&card.kind)
                .is_some_and(|c| c.changes_nothing())
                && !inputs.as_ref().is_ok_and(okta::streams);
            // A card that adds a table row, with a card after it, has the row written with
            // its record (both or neither: see `Done::Adds`), so it need not wait for its
            // execution to be stored first.
            let adds_with_record = card.kind == "tables.create_row"
                && !execution.dry_run
                && advance(&flow, &mut progress.cursor.clone());
            // A card that changes something runs only once its execution is stored.
            if pending.execution
                && !changes_nothing
                && !adds_with_record
                && !self.flush(&execution, &mut pending, &progress).await?
            {
                return Ok(());
            }
            let started_at = Utc::now();
            let result = match &inputs {
                Ok(inputs) => {
                    let limit = card
                        .timeout_seconds
                        .map(|s| std::time::Duration::from_secs(u64::from(s)))
                        .unwrap_or(CARD_TIMEOUT);
                    let timed_out = || CardError {
                        message: format!("timed out after {} seconds", limit.as_secs()),
                        retryable: true,
                        retry_after_ms: None,
                    };
                    if limit.is_zero() {
                        // No time at all: the card cannot start.
                        Err(timed_out())
                    } else {
                        let run = self.execute(&context, card, inputs, &progress, adds_with_record);
                        tokio::time::timeout(limit, run)
                            .await
                            .unwrap_or_else(|_| Err(timed_out()))
                    }
                }
                Err(e) => Err(CardError::fatal(format!(
                    "an input could not be filled: {e}"
                ))),
            };
            let result = if execution.dry_run {
                dry_run_steered(result)
            } else {
                result
            };
            let keep = flow.settings.save_all_data || execution.test;
            let mut step = StepRecord {
                card_id: card.id.0,
                card_kind: card.kind.clone(),
                status: "succeeded".into(),
                attempt: progress.attempt + 1,
                inputs: inputs.ok().filter(|_| keep).map(Value::Object),
                outputs: None,
                error: None,
                started_at,
                finished_at: Utc::now(),
            };
            // A card that waited (helper flows, Pause) is done waiting.
            let waited = progress.waiting.take();
            if !matches!(result, Ok(Done::Await(..))) {
                progress.paused_ms += paused_now;
            }
            // The row a card adds is written with its record and the progress after it.
            let result = match result {
                Ok(Done::Adds(output, row)) => {
                    let (cursor, attempt) = (progress.cursor.clone(), progress.attempt);
                    progress.attempt = 0;
                    step.outputs = Some(output.clone()).filter(|_| keep);
                    progress.outputs.insert(card.id.0, output);
                    // It has a card after it (`adds_with_record`).
                    advance(&flow, &mut progress.cursor);
                    match self
                        .flush_adding(&execution, &mut pending, step.clone(), &progress, row)
                        .await
                    {
                        Ok(held) if held => continue,
                        Ok(_) => return Ok(()),
                        // Nothing was written: the card failed, as it would have alone.
                        Err(refused @ (StoreError::Conflict { .. } | StoreError::Gone(_))) => {
                            (progress.cursor, progress.attempt) = (cursor, attempt);
                            progress.outputs.remove(&card.id.0);
                            step.outputs = None;
                            Err(refused_row(refused))
                        }
                        Err(other) => return Err(other),
                    }
                }
                other => other,
            };
            match result {
                Ok(Done::Await(waiting, until)) => {
                    let until = match waiting {
                        Waiting::Resume { .. } => until,
                        Waiting::Children { .. } | Waiting::Stream { .. } => until.min(deadline),
                    };
                    if !self.flush(&execution, &mut pending, &progress).await? {
                        return Ok(());
                    }
                    progress.waiting = Some(waiting);
                    if waited.is_none() {
                        tracing::debug!(execution = %id, card = %card.id, "waiting");
                    }
                    self.store
                        .wait_execution(id, &self.worker, &progress, until)
                        .await?;
                    return Ok(());
                }
                Ok(done) => {
                    progress.attempt = 0;
                    let mut ending = None;
                    let mut wait = None;
                    let mut later = None;
                    match done {
                        Done::Output(output) => {
                            step.outputs = Some(output.clone())
                                .filter(|_| keep)
                                .or_else(|| receipt(&card.kind, &output));
                            progress.outputs.insert(card.id.0, output);
                            if !advance(&flow, &mut progress.cursor) {
                                ending = Some((Value::Null, None));
                            }
                        }
                        Done::Lane(lane) => {
                            let name = lane.and_then(|l| card.lanes.get(l)).map(|l| l.name.clone());
                            step.outputs = Some(json!({ "lane": name }));
                            let entered =
                                lane.is_some_and(|l| enter_lane(&flow, &mut progress.cursor, l));
                            if !entered && !advance(&flow, &mut progress.cursor) {
                                ending = Some((Value::Null, None));
                            }
                        }
                        Done::Return(output) => {
                            step.outputs = Some(output.clone()).filter(|_| keep);
                            ending = Some((output, None));
                        }
                        Done::Stop(note) => {
                            step.outputs = Some(json!({ "continued": false }));
                            ending = Some((Value::Null, Some(note)));
                        }
                        Done::Wait(duration) => {
                            if advance(&flow, &mut progress.cursor) {
                                wait = Some(duration);
                            } else {
                                ending = Some((Value::Null, None));
                            }
                        }
                        Done::Close(answer) => {
                            step.outputs = Some(json!({ "closed": true }));
                            progress.closed = Some(answer);
                            if !advance(&flow, &mut progress.cursor) {
                                ending = Some((Value::Null, None));
                            }
                        }
                        Done::Later(until, why) => {
                            // A stream goes on from the page it reached.
                            progress.waiting = waited.clone();
                            step.status = "rate_limited".into();
                            step.error = Some(why);
                            later = Some(until);
                        }
                        Done::Await(..) | Done::Adds(..) => unreachable!("handled above"),
                    }
                    if changes_nothing
                        && ending.is_none()
                        && wait.is_none()
                        && later.is_none()
                        && pending.steps.len() < 32
                    {
                        pending.steps.push(step);
                        continue;
                    }
                    // The last cards' records and the ending go in one transaction.
                    if let Some((output, note)) = ending {
                        pending.steps.push(step);
                        return self
                            .end(&execution, &flow, &mut pending, &progress, output, note)
                            .await;
                    }
                    if !self
                        .record(&execution, &mut pending, step, &progress)
                        .await?
                    {
                        return Ok(());
                    }
                    if card.kind == "flow.close" {
                        self.store.signals().finished(
                            id,
                            crate::store::Ended {
                                status: Status::Running,
                                output: progress.closed.clone(),
                                error: None,
                            },
                        );
                    }
                    if let Some(duration) = wait {
                        self.store
                            .postpone_execution(id, &self.worker, &progress, Utc::now() + duration)
                            .await?;
                        return Ok(());
                    }
                    if let Some(until) = later {
                        self.store
                            .postpone_execution(id, &self.worker, &progress, until)
                            .await?;
                        return Ok(());
                    }
                }
                Err(error) => {
                    let attempt = progress.attempt + 1;
                    step.status = "failed".into();
                    step.error = Some(error.message.clone());
                    let jitter = rand::random::<f64>();
                    match after_failure(card, attempt, &error, jitter) {
                        AfterFailure::RetryIn(ms) => {
                            progress.attempt = attempt;
                            // A stream retries the page it reached, not the first.
                            if matches!(waited, Some(Waiting::Stream { .. })) {
                                progress.waiting = waited.clone();
                            }
                            if !self
                                .record(&execution, &mut pending, step, &progress)
                                .await?
                            {
                                return Ok(());
                            }
                            let at = Utc::now() + Duration::milliseconds(ms as i64);
                            self.store
                                .postpone_execution(id, &self.worker, &progress, at)
                                .await?;
                            return Ok(());
                        }
                        AfterFailure::Continue => {
                            progress.attempt = 0;
                            progress.outputs.insert(card.id.0, Value::Null);
                            let more = advance(&flow, &mut progress.cursor);
                            if !self
                                .record(&execution, &mut pending, step, &progress)
                                .await?
                            {
                                return Ok(());
                            }
                            if !more {
                                return self
                                    .end(
                                        &execution,
                                        &flow,
                                        &mut pending,
                                        &progress,
                                        Value::Null,
                                        None,
                                    )
                                    .await;
                            }
                        }
                        AfterFailure::ErrorLane => {
                            let reason = failure_reason(card, &error.message);
                            progress.attempt = 0;
                            // The lane's cards can read what went wrong as card_<n>.error.
                            progress
                                .outputs
                                .insert(card.id.0, json!({ "error": error.message }));
                            progress.failing = Some(reason);
                            enter_error_lane(&flow, &mut progress.cursor);
                            if !self
                                .record(&execution, &mut pending, step, &progress)
                                .await?
                            {
                                return Ok(());
                            }
                        }
                        AfterFailure::Fail => {
                            if !self
                                .record(&execution, &mut pending, step, &progress)
                                .await?
                            {
                                return Ok(());
                            }
                            let mut reason = failure_reason(card, &error.message);
                            if let Some(first) = &progress.failing {
                                reason = format!("{first}; then in its error lane, {reason}");
                            }
                            return self.fail_flow(&execution, &flow, &reason).await;
                        }
                    }
                }
            }
        }
    }

    /// Ends an execution that ran out of cards (or returned), storing the records not
    /// stored yet: succeeded, unless it ran an error lane, after which it fails with the
    /// error the lane handled.
    async fn end(
        &self,
        execution: &ExecutionRecord,
        flow: &crate::flows::Flow,
        pending: &mut Unstored,
        progress: &Progress,
        output: Value,
        note: Option<String>,
    ) -> Result<(), StoreError> {
        if let Some(reason) = &progress.failing {
            if !self.flush(execution, pending, progress).await? {
                return Ok(());
            }
            return self.fail_flow(execution, flow, reason).await;
        }
        let ended = crate::store::Ended {
            status: Status::Succeeded,
            output: Some(output),
            error: note,
        };
        ended_metric(execution, flow, "succeeded");
        let steps = std::mem::take(&mut pending.steps);
        if std::mem::take(&mut pending.execution) {
            // It ran to its end before anything of it was stored: all of it in one go.
            self.store
                .accept_finished(execution, steps, progress, ended)
                .await?;
        } else {
            self.store
                .finish_with_steps(execution, &self.worker, (steps, progress), ended)
                .await?;
        }
        Ok(())
    }

    /// Stores `step` after the pending records, with the progress; `false` when this
    /// worker no longer holds the execution.
    async fn record(
        &self,
        execution: &ExecutionRecord,
        pending: &mut Unstored,
        step: StepRecord,
        progress: &Progress,
    ) -> Result<bool, StoreError> {
        pending.steps.push(step);
        self.flush(execution, pending, progress).await
    }

    /// Stores what is not stored yet (the execution itself, pending records) with `step`,
    /// the record of a card that added `row`, the progress after it, and the row, in one
    /// transaction; `false` when this worker no longer holds the execution (then the row
    /// is not added either). Refused (`Conflict`: the row's key is taken; `Gone`: its
    /// table was deleted) with nothing written and `pending` as it was.
    async fn flush_adding(
        &self,
        execution: &ExecutionRecord,
        pending: &mut Unstored,
        step: StepRecord,
        progress: &Progress,
        row: crate::store::NewRow,
    ) -> Result<bool, StoreError> {
        self.write_pending(execution, pending, progress, Some((step, row)))
            .await
    }

    /// Stores what is not stored yet (the execution itself, pending records) with the
    /// progress; `false` when this worker no longer holds the execution.
    async fn flush(
        &self,
        execution: &ExecutionRecord,
        pending: &mut Unstored,
        progress: &Progress,
    ) -> Result<bool, StoreError> {
        self.write_pending(execution, pending, progress, None).await
    }

    /// What [`Runner::flush`] and [`Runner::flush_adding`] share: the pending records (and
    /// the added card's record with its row) written as the execution's first write or
    /// after the records stored before them.
    async fn write_pending(
        &self,
        execution: &ExecutionRecord,
        pending: &mut Unstored,
        progress: &Progress,
        adding: Option<(StepRecord, crate::store::NewRow)>,
    ) -> Result<bool, StoreError> {
        let lease = Utc::now() + LEASE;
        let (steps, row) = match adding {
            None => (std::mem::take(&mut pending.steps), None),
            // A refused row writes nothing: the pending records stay pending.
            Some((step, row)) => {
                let mut steps = pending.steps.clone();
                steps.push(step);
                (steps, Some(row))
            }
        };
        let count = steps.len() as i64;
        let held = if pending.execution {
            self.store
                .accept_running(execution, &self.worker, lease, (steps, row), progress)
                .await?
        } else if steps.is_empty() {
            return Ok(true);
        } else {
            self.store
                .record_steps(
                    execution.id,
                    &self.worker,
                    (pending.stored, steps, row),
                    progress,
                    lease,
                )
                .await?
        };
        *pending = Unstored::after(pending.stored + count);
        Ok(held)
    }

    async fn execute(
        &self,
        context: &Context<'_>,
        card: &Card,
        inputs: &Map<String, Value>,
        progress: &Progress,
        adds_with_record: bool,
    ) -> Result<Done, CardError> {
        let started = std::time::Instant::now();
        let connector = crate::connections::kind_for_card(&card.kind);
        if connector.is_some() {
            // What Settings lets through may have changed on another server.
            self.store.refresh_outbound().await?;
        }
        let done = self
            .execute_card(context, card, inputs, progress, adds_with_record)
            .await;
        metrics::histogram!("idflow_card_duration_seconds", "kind" => card.kind.clone())
            .record(started.elapsed().as_secs_f64());
        // A dry run sends nothing: no outbound request to count.
        if let Some(kind) = connector.filter(|_| !context.execution.dry_run) {
            let outcome = if done.is_ok() { "ok" } else { "failed" };
            metrics::counter!("idflow_outbound_requests_total", "connector" => kind.key, "outcome" => outcome)
                .increment(1);
        }
        done
    }

    async fn execute_card(
        &self,
        context: &Context<'_>,
        card: &Card,
        inputs: &Map<String, Value>,
        progress: &Progress,
        adds_with_record: bool,
    ) -> Result<Done, CardError> {
        if let Some(done) = control::run(card, inputs, progress, Utc::now()) {
            return done;
        }
        match card.kind.as_str() {
            "flow.call_flow" | "flow.for_each" => {
                self.helpers(context, card, inputs, progress).await
            }
            kind if kind.starts_with("directory.") => {
                self.directory_card(kind, context, inputs).await
            }
            kind if kind.starts_with("tables.") => {
                self.tables_card(kind, context, inputs, adds_with_record)
                    .await
            }
            "http.request" => self.http_card(context, card.id.0, inputs).await,
            kind if kind.starts_with("slack.") => self.slack_card(kind, context, inputs).await,
            kind if kind.starts_with("okta.") => {
                self.okta_card(kind, context, card, inputs, progress).await
            }
            "email.send" => self.email_card(context, inputs).await,
            kind => Err(CardError::fatal(format!(
                "the {kind:?} card cannot run in this version of idflow yet"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_run_goes_on_at_once_where_it_would_wait() {
        assert_eq!(spoken(Duration::seconds(90)), "90 seconds");
        assert_eq!(spoken(Duration::minutes(1)), "1 minute");
        assert_eq!(spoken(Duration::days(3)), "3 days");
        let waited = dry_run_steered(Ok(Done::Wait(Duration::hours(2))));
        let Ok(Done::Output(output)) = waited else {
            panic!("a Wait goes on");
        };
        let note = crate::engine::dry_run::Note::of(&output).unwrap();
        assert_eq!(
            note.summary,
            "Would wait 2 hours here; a dry run goes on at once"
        );
        let until = Utc::now() + Duration::days(1);
        let paused = dry_run_steered(Ok(Done::Await(
            Waiting::Resume {
                card: 1,
                input: None,
                resumed: false,
                since_ms: 0,
            },
            until,
        )));
        let Ok(Done::Output(output)) = paused else {
            panic!("a Pause goes on");
        };
        assert_eq!(output["input"], Value::Null);
        assert!(
            crate::engine::dry_run::Note::of(&output)
                .unwrap()
                .summary
                .starts_with("Would pause here until")
        );
        // Anything else is as it was.
        assert!(matches!(
            dry_run_steered(Ok(Done::Output(json!(1)))),
            Ok(Done::Output(v)) if v == json!(1)
        ));
    }

    #[test]
    fn error_bodies_hold_no_internals() {
        // What the database says stays in the server's log: a card (and an API caller
        // waiting for the flow) reads a sentence about idflow, not SQL.
        let refused =
            sqlx::Error::Protocol("relation \"secret_table\" violates constraint xyz".into());
        let card = CardError::from(StoreError::Database(refused));
        assert!(card.retryable);
        assert!(!card.message.contains("secret_table"), "{}", card.message);
        assert!(card.message.contains("database"));
        let corrupt = CardError::from(StoreError::Corrupt(
            "row 7 column progress: bad json".into(),
        ));
        assert!(!corrupt.message.contains("row 7"), "{}", corrupt.message);
        // What the person can act on is kept.
        let taken = CardError::from(StoreError::Conflict {
            what: "a row with the key \"ada\"".into(),
        });
        assert!(taken.message.contains("ada"));
    }
}
