//! The worker: claims an execution, runs its cards one after another, and stores each
//! card's record with the progress after it. A card runs at most once after its
//! completion is recorded; a card that was running when the worker died runs again
//! (at-least-once for the card in flight, exactly once for recorded ones).

use super::{
    AfterFailure, BlastRadius, ExecutionId, Progress, Status, Waiting, advance, after_failure,
    bind, card_at, child_key, enter_error_lane, enter_lane, inputs_of,
};
use crate::actions::{Acting, ActionError, directory};
use crate::audit::{Action, Actor};
use crate::directory::{DirectoryEvent, GroupId, User, UserId, UserStatus};
use crate::flows::{Card, functions};
use crate::scim::ENTERPRISE_USER;
use crate::store::UserWrite;
use crate::store::{
    ExecutionRecord, NewExecution, Parent, RowQuery, StepRecord, Store, StoreError,
};
use crate::tables::Row;
use chrono::{Duration, Utc};
use serde_json::{Map, Value, json};

/// How long a claim lasts without the worker writing; a worker that dies loses its
/// executions to others after this.
pub const LEASE: Duration = Duration::seconds(30);
/// A card's default time limit.
pub const CARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What a card did.
enum Done {
    /// Its outputs.
    Output(Value),
    /// A logic card chose a lane (by index), or none.
    Lane(Option<usize>),
    /// Return: the execution ends with this output.
    Return(Value),
    /// Continue If was false: the execution ends quietly, with this note.
    Stop(String),
    /// Wait: go on after this long.
    Wait(Duration),
    /// Call Flow, For Each, Pause: the execution waits (for its helper flows, or a
    /// resume) until this time at the latest; the card runs again when it wakes.
    Await(Waiting, chrono::DateTime<Utc>),
    /// Close: answer the API caller with this, and go on.
    Close(Value),
}

/// The longest a Pause card waits.
pub const MAX_PAUSE: Duration = Duration::days(30);
/// How deep helper flows may call helper flows.
pub const MAX_CALL_DEPTH: usize = 8;
/// The most items one For Each takes.
pub const MAX_FOR_EACH: usize = 10_000;

/// Why a card failed, and whether trying again could help.
struct CardError {
    message: String,
    retryable: bool,
}

impl CardError {
    fn fatal(message: impl Into<String>) -> CardError {
        CardError {
            message: message.into(),
            retryable: false,
        }
    }
}

/// A directory change a card asked for and was refused (the person the flow acts for may
/// not make it) fails the card with the reason; nothing was changed.
impl From<ActionError> for CardError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Refused(refusal) => CardError::fatal(format!(
                "refused: {refusal} (a flow may do only what the person it acts for may do in the console)"
            )),
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
            },
            StoreError::Database(_) | StoreError::Connect(_) => {
                tracing::warn!(error = %e, "a card's database work failed");
                CardError {
                    message: "idflow's database did not complete the card's work (the server's log has the details)".into(),
                    retryable: true,
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

/// "card 3 \"Read Row\" failed: …"
fn failure_reason(card: &Card, message: &str) -> String {
    let name = crate::flows::catalog::catalog()
        .get(&card.kind)
        .map(|s| s.name)
        .unwrap_or(card.kind.as_str());
    format!("{} \"{name}\" failed: {message}", card.id)
}

/// A user as cards give it (the catalog's user object).
pub fn user_value(user: &User) -> Value {
    let attrs = &user.attributes;
    let name = attrs.get("name");
    let enterprise = attrs.get(ENTERPRISE_USER);
    json!({
        "id": user.id.0.to_string(),
        "user_name": user.user_name,
        "email": user.email,
        "display_name": user.display_name,
        "given_name": name.and_then(|n| n.get("givenName")),
        "family_name": name.and_then(|n| n.get("familyName")),
        "title": attrs.get("title"),
        "department": enterprise.and_then(|e| e.get("department")),
        "manager": enterprise.and_then(|e| e.get("manager")).and_then(|m| m.get("value")),
        "status": user.status.as_str(),
        "external_id": user.external_id,
        "attributes": attrs,
    })
}

/// A user as Find Users' SCIM filters see it: the SCIM resource, with `meta.created` and
/// `meta.lastModified` (`meta.created lt "2026-11-20T00:00:00Z"` finds older accounts).
fn filterable(user: &User) -> Value {
    let mut resource = crate::scim::user::resource(user);
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": user.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": user.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }),
    );
    Value::Object(resource)
}

/// What of an execution is not stored yet: the records of cards that change nothing
/// (stored with the next card's record, or the ending, in one transaction; a crash before
/// then only runs them again) and, for an execution begun before it was stored, the
/// execution itself.
#[derive(Default)]
struct Unstored {
    steps: Vec<StepRecord>,
    execution: bool,
}

impl Unstored {
    fn execution() -> Unstored {
        Unstored {
            steps: Vec::new(),
            execution: true,
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
        let Some(error_flow) = flow.settings.error_flow.filter(|_| ended) else {
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
        self.run_from(execution, Unstored::default()).await
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
                if matches!(progress.waiting, Some(Waiting::Children { .. })) {
                    self.store
                        .cancel_helpers(id, "the execution that started it timed out")
                        .await?;
                }
                return Ok(());
            }
            if let Some(reason) = self.guard_holds(execution.flow, card, &progress).await? {
                if !self.flush(&execution, &mut pending, &progress).await? {
                    return Ok(());
                }
                self.store
                    .pause_execution(id, &self.worker, &progress, &reason)
                    .await?;
                return Ok(());
            }
            let changes_nothing = crate::flows::catalog::catalog()
                .get(&card.kind)
                .is_some_and(|c| c.changes_nothing());
            // A card that changes something runs only once its execution is stored.
            if pending.execution
                && !changes_nothing
                && !self.flush(&execution, &mut pending, &progress).await?
            {
                return Ok(());
            }
            let started_at = Utc::now();
            let inputs = inputs_of(card, &progress);
            let result = match &inputs {
                Ok(inputs) => {
                    let limit = card
                        .timeout_seconds
                        .map(|s| std::time::Duration::from_secs(u64::from(s)))
                        .unwrap_or(CARD_TIMEOUT);
                    let timed_out = || CardError {
                        message: format!("timed out after {} seconds", limit.as_secs()),
                        retryable: true,
                    };
                    if limit.is_zero() {
                        // No time at all: the card cannot start.
                        Err(timed_out())
                    } else {
                        tokio::time::timeout(limit, self.execute(&context, card, inputs, &progress))
                            .await
                            .unwrap_or_else(|_| Err(timed_out()))
                    }
                }
                Err(e) => Err(CardError::fatal(format!(
                    "an input could not be filled: {e}"
                ))),
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
            match result {
                Ok(Done::Await(waiting, until)) => {
                    let until = match waiting {
                        Waiting::Resume { .. } => until,
                        Waiting::Children { .. } => until.min(deadline),
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
                    match done {
                        Done::Output(output) => {
                            step.outputs = Some(output.clone()).filter(|_| keep);
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
                        Done::Await(..) => unreachable!("handled above"),
                    }
                    if changes_nothing
                        && ending.is_none()
                        && wait.is_none()
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
                }
                Err(error) => {
                    let attempt = progress.attempt + 1;
                    step.status = "failed".into();
                    step.error = Some(error.message.clone());
                    let jitter = rand::random::<f64>();
                    match after_failure(card, attempt, error.retryable, jitter) {
                        AfterFailure::RetryIn(ms) => {
                            progress.attempt = attempt;
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
        if pending.execution {
            // It ran to its end before anything of it was stored: all of it in one go.
            self.store
                .accept_finished(execution, &pending.steps, progress, &ended)
                .await?;
        } else {
            self.store
                .finish_with_steps(
                    execution.id,
                    &self.worker,
                    (pending.steps.as_slice(), progress),
                    ended.status,
                    ended.output.as_ref(),
                    ended.error.as_deref(),
                )
                .await?;
        }
        *pending = Unstored::default();
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

    /// Stores what is not stored yet (the execution itself, pending records) with the
    /// progress; `false` when this worker no longer holds the execution.
    async fn flush(
        &self,
        execution: &ExecutionRecord,
        pending: &mut Unstored,
        progress: &Progress,
    ) -> Result<bool, StoreError> {
        let lease = Utc::now() + LEASE;
        let held = if pending.execution {
            self.store
                .accept_running(execution, &self.worker, lease, &pending.steps, progress)
                .await?
        } else if pending.steps.is_empty() {
            return Ok(true);
        } else {
            self.store
                .record_steps(execution.id, &self.worker, &pending.steps, progress, lease)
                .await?
        };
        *pending = Unstored::default();
        Ok(held)
    }

    async fn execute(
        &self,
        context: &Context<'_>,
        card: &Card,
        inputs: &Map<String, Value>,
        progress: &Progress,
    ) -> Result<Done, CardError> {
        if let Some(result) = functions::run(&card.kind, inputs) {
            return result
                .map(|o| Done::Output(Value::Object(o)))
                .map_err(CardError::fatal);
        }
        let text = |name: &str| -> Result<String, CardError> {
            match inputs.get(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => Err(CardError::fatal(format!("{name}: has no value"))),
            }
        };
        let truth = |name: &str| -> Result<bool, CardError> {
            match inputs.get(name) {
                Some(Value::Bool(b)) => Ok(*b),
                Some(other) => Err(CardError::fatal(format!(
                    "{name}: expects true or false, got {other}"
                ))),
                None => Err(CardError::fatal(format!("{name}: has no value"))),
            }
        };
        match card.kind.as_str() {
            "flow.if_else" => Ok(Done::Lane(Some(if truth("condition")? { 0 } else { 1 }))),
            "flow.branch" => {
                for (index, lane) in card.lanes.iter().enumerate() {
                    let holds = match &lane.condition {
                        Some(binding) => bind(binding, progress).map_err(CardError::fatal)?,
                        None => Value::Bool(false),
                    };
                    if holds == Value::Bool(true) {
                        return Ok(Done::Lane(Some(index)));
                    }
                }
                Ok(Done::Lane(None))
            }
            "flow.continue_if" => {
                if truth("condition")? {
                    Ok(Done::Output(json!({ "continued": true })))
                } else {
                    Ok(Done::Stop(format!("{} \"Continue If\" was false", card.id)))
                }
            }
            "flow.return" => Ok(Done::Return(
                inputs.get("output").cloned().unwrap_or(Value::Null),
            )),
            "flow.raise_error" => Err(CardError::fatal(text("message")?)),
            "flow.wait" => {
                let seconds = inputs
                    .get("seconds")
                    .and_then(Value::as_f64)
                    .unwrap_or(-1.0);
                if !(0.0..=30.0 * 86_400.0).contains(&seconds) {
                    return Err(CardError::fatal("seconds: give 0 to 2,592,000 (30 days)"));
                }
                Ok(Done::Wait(Duration::milliseconds(
                    (seconds * 1000.0) as i64,
                )))
            }
            "flow.lookup" => {
                let value = text("value")?;
                let pairs = inputs.get("pairs").and_then(Value::as_object);
                let found = pairs.and_then(|p| p.get(&value)).cloned();
                Ok(Done::Output(
                    json!({ "output": found.or_else(|| inputs.get("default").cloned()) }),
                ))
            }
            "flow.call_flow" | "flow.for_each" => {
                self.helpers(context, card, inputs, progress).await
            }
            "flow.pause" => {
                if let Some(Waiting::Resume {
                    card: waited,
                    input,
                    resumed,
                    ..
                }) = &progress.waiting
                    && *waited == card.id.0
                {
                    return Ok(Done::Output(
                        json!({ "input": input.clone().unwrap_or(Value::Null), "resumed": resumed }),
                    ));
                }
                let now = Utc::now();
                let until = match inputs.get("until") {
                    None | Some(Value::Null) => now + MAX_PAUSE,
                    Some(Value::String(s)) if s.trim().is_empty() => now + MAX_PAUSE,
                    Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s.trim())
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| {
                            CardError::fatal(format!(
                                "until: {s:?} is not a date and time (such as 2026-12-01T09:00:00Z)"
                            ))
                        })?,
                    Some(other) => {
                        return Err(CardError::fatal(format!(
                            "until: expects a date and time, got {other}"
                        )));
                    }
                };
                if until > now + MAX_PAUSE {
                    return Err(CardError::fatal(
                        "until: a Pause card waits at most 30 days",
                    ));
                }
                if until <= now {
                    return Ok(Done::Output(json!({ "input": null, "resumed": false })));
                }
                Ok(Done::Await(
                    Waiting::Resume {
                        card: card.id.0,
                        input: None,
                        resumed: false,
                        since_ms: now.timestamp_millis(),
                    },
                    until,
                ))
            }
            "flow.close" => Ok(Done::Close(
                inputs.get("output").cloned().unwrap_or(Value::Null),
            )),
            kind if kind.starts_with("directory.") => {
                self.directory_card(kind, context, inputs).await
            }
            kind if kind.starts_with("tables.") => self.tables_card(kind, context, inputs).await,
            kind => Err(CardError::fatal(format!(
                "the {kind:?} card cannot run in this version of idflow yet"
            ))),
        }
    }

    /// Call Flow and For Each: the first time, starts the helper flow's executions (one,
    /// or one per item) and waits; woken when they have all ended, gives their outputs.
    async fn helpers(
        &self,
        context: &Context<'_>,
        card: &Card,
        inputs: &Map<String, Value>,
        progress: &Progress,
    ) -> Result<Done, CardError> {
        let chain = &context.execution.causal_chain;
        let parent = context.execution.id;
        let attempt = progress.attempt;
        let prefix = format!("call:{parent}:{}:{attempt}:", card.id.0);
        let for_each = card.kind == "flow.for_each";
        if let Some(Waiting::Children {
            card: waited,
            attempt: on,
            count,
        }) = &progress.waiting
            && *waited == card.id.0
            && *on == attempt
        {
            let children = self
                .store
                .child_executions(parent, card.id.0, &prefix)
                .await?;
            if children.len() < *count || children.iter().any(|c| !c.status.is_final()) {
                // Woken before they all ended (a helper was started elsewhere): wait on.
                return Ok(Done::Await(
                    Waiting::Children {
                        card: card.id.0,
                        attempt,
                        count: *count,
                    },
                    Utc::now() + MAX_PAUSE,
                ));
            }
            let failed: Vec<String> = children
                .iter()
                .filter(|c| c.status != Status::Succeeded)
                .map(|c| {
                    let why = c.error.as_deref().unwrap_or("no reason given");
                    if for_each {
                        format!("item {}: {why}", c.parent.map_or(0, |p| p.index) + 1)
                    } else {
                        why.to_string()
                    }
                })
                .collect();
            if !failed.is_empty() {
                let shown = failed
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ");
                let more = if failed.len() > 3 { "; …" } else { "" };
                return Err(CardError::fatal(if for_each {
                    format!(
                        "{} of {} helper executions failed: {shown}{more}",
                        failed.len(),
                        children.len()
                    )
                } else {
                    format!("the helper flow failed: {shown}")
                }));
            }
            let outputs: Vec<Value> = children
                .into_iter()
                .map(|c| c.output.unwrap_or(Value::Null))
                .collect();
            return Ok(Done::Output(if for_each {
                json!({ "count": outputs.len(), "outputs": outputs })
            } else {
                json!({ "output": outputs.into_iter().next().unwrap_or(Value::Null) })
            }));
        }

        let helper = self.helper_flow(context, inputs).await?;
        let shared = inputs.get("input").cloned().unwrap_or(Value::Null);
        let items: Vec<Value> = if for_each {
            match inputs.get("items") {
                Some(Value::Array(items)) => items.clone(),
                None | Some(Value::Null) => vec![],
                Some(other) => {
                    return Err(CardError::fatal(format!(
                        "items: expects a list, got {other}"
                    )));
                }
            }
        } else {
            vec![Value::Null]
        };
        if items.len() > MAX_FOR_EACH {
            return Err(CardError::fatal(format!(
                "items: {} items; For Each takes at most {MAX_FOR_EACH}",
                items.len()
            )));
        }
        if items.is_empty() {
            return Ok(Done::Output(json!({ "count": 0, "outputs": [] })));
        }
        // Helper flows calling helper flows: not without end.
        let mut depth = 1;
        let mut above = self.store.execution(parent).await?.and_then(|e| e.parent);
        while let Some(up) = above {
            depth += 1;
            if depth > MAX_CALL_DEPTH {
                return Err(CardError::fatal(format!(
                    "flow: helper flows call each other more than {MAX_CALL_DEPTH} deep"
                )));
            }
            above = self
                .store
                .execution(up.execution)
                .await?
                .and_then(|e| e.parent);
        }
        let count = items.len();
        for (index, item) in items.into_iter().enumerate() {
            let input = if for_each {
                json!({ "input": shared, "item": item, "index": index })
            } else {
                json!({ "input": shared })
            };
            self.store
                .enqueue_execution(&NewExecution {
                    flow: helper.flow,
                    flow_version: helper.version,
                    trigger_kind: "trigger.helper".into(),
                    input,
                    subject: None,
                    dedupe_key: Some(child_key(parent, card.id.0, attempt, index)),
                    causal_chain: chain.clone(),
                    parent: Some(Parent {
                        execution: parent,
                        card: card.id.0,
                        index: index as i64,
                    }),
                    test: false,
                    // A helper acts for whoever its caller acts for: calling a flow never
                    // borrows its owner's rights.
                    acting_for: context.execution.acting_for,
                })
                .await?;
        }
        Ok(Done::Await(
            Waiting::Children {
                card: card.id.0,
                attempt,
                count,
            },
            Utc::now() + MAX_PAUSE,
        ))
    }

    /// The helper flow a Call Flow or For Each card names (by ID or name): on, and
    /// started by the Helper Flow trigger.
    async fn helper_flow(
        &self,
        context: &Context<'_>,
        inputs: &Map<String, Value>,
    ) -> Result<crate::store::FlowVersion, CardError> {
        let key = inputs
            .get("flow")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CardError::fatal("flow: has no value"))?;
        let by_id = match uuid::Uuid::parse_str(key) {
            Ok(id) => self.store.flow_summary(crate::flows::FlowId(id)).await?,
            Err(_) => None,
        };
        let found = match by_id {
            Some(flow) => Some(flow),
            None => self.store.flow_by_name(key).await?,
        };
        let folder = self.folder_of(context).await?;
        // Only what the flow's own folder holds (the top level for a flow at the top
        // level): a name never reaches into a folder the flow's people may not see.
        let summary = found.filter(|f| f.folder == folder).ok_or_else(|| {
            CardError::fatal(format!("flow: there is no flow {key:?} {}", where_(folder)))
        })?;
        if summary.trigger_kind != "trigger.helper" {
            return Err(CardError::fatal(format!(
                "flow: \"{}\" is not a helper flow (its trigger must be Helper Flow)",
                summary.name
            )));
        }
        if !summary.enabled {
            return Err(CardError::fatal(format!(
                "flow: the helper flow \"{}\" is off; turn it on",
                summary.name
            )));
        }
        self.store
            .flow_version(summary.id, None)
            .await?
            .ok_or_else(|| CardError::fatal("flow: the helper flow was deleted meanwhile"))
    }

    async fn find_user(&self, inputs: &Map<String, Value>, field: &str) -> Result<User, CardError> {
        let key = match inputs.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Object(o)) => o
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| CardError::fatal(format!("{field}: a user object without an id")))?,
            _ => return Err(CardError::fatal(format!("{field}: has no value"))),
        };
        let user = match uuid::Uuid::parse_str(&key) {
            Ok(id) => self.store.user(UserId(id)).await?,
            Err(_) => self.store.user_by_name(&key).await?,
        };
        user.ok_or_else(|| CardError::fatal(format!("{field}: there is no user {key:?}")))
    }

    async fn find_group(
        &self,
        inputs: &Map<String, Value>,
    ) -> Result<(GroupId, String), CardError> {
        let key = inputs
            .get("group")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CardError::fatal("group: has no value"))?;
        if let Ok(id) = uuid::Uuid::parse_str(key)
            && let Some(name) = self.store.group_name(GroupId(id)).await?
        {
            return Ok((GroupId(id), name));
        }
        let group = self
            .store
            .group_by_name(key)
            .await?
            .ok_or_else(|| CardError::fatal(format!("group: there is no group {key:?}")))?;
        Ok((group.id, group.display_name))
    }

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
                })
            })
            .await?)
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

    async fn directory_card(
        &self,
        kind: &str,
        context: &Context<'_>,
        inputs: &Map<String, Value>,
    ) -> Result<Done, CardError> {
        let acting = self.acting(context).await?;
        // Reading the directory hands its data to the flow and its history: only for a
        // flow acting for someone who may see it.
        if !acting
            .rights
            .allows(crate::access::Permission::ViewDirectory)
        {
            return Err(CardError::fatal(format!(
                "{}: this flow acts for {}, who may not see the directory",
                kind,
                self.person_named(acting).await
            )));
        }
        let limit = || {
            inputs
                .get("limit")
                .and_then(Value::as_u64)
                .unwrap_or(200)
                .clamp(1, 10_000) as usize
        };
        match kind {
            "directory.find_users" => {
                let text = inputs
                    .get("filter")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| CardError::fatal("filter: has no value"))?;
                let filter = crate::scim::filter::parse(text)
                    .map_err(|e| CardError::fatal(format!("filter: {}", e.detail)))?;
                let matching: Vec<User> = self
                    .store
                    .all_users()
                    .await?
                    .into_iter()
                    .filter(|u| crate::scim::filter::matches(&filter, &filterable(u)))
                    .collect();
                let users: Vec<Value> = matching.iter().take(limit()).map(user_value).collect();
                return Ok(Done::Output(
                    json!({ "count": matching.len(), "users": users }),
                ));
            }
            "directory.list_group_members" => {
                let (group, name) = self.find_group(inputs).await?;
                let group = self.store.group(group).await?.ok_or_else(|| {
                    CardError::fatal(format!("group: {name} was deleted meanwhile"))
                })?;
                let mut users = Vec::new();
                for member in &group.members {
                    if let Some(user) = self.store.user(member.user_id).await? {
                        users.push(user_value(&user));
                    }
                }
                return Ok(Done::Output(
                    json!({ "count": users.len(), "users": users }),
                ));
            }
            _ => {}
        }
        let user = self.find_user(inputs, "user").await?;
        let user_entry = |what: &str| {
            acting
                .entry(Action::FlowUserChange, crate::actions::user_target(&user))
                .reason(what)
        };
        let changed =
            |outcome: crate::store::WriteOutcome| json!({ "user": user_value(outcome.user()) });
        let output = match kind {
            "directory.read_user" => json!({ "user": user_value(&user) }),
            "directory.update_profile" => {
                let attributes = inputs
                    .get("attributes")
                    .and_then(Value::as_object)
                    .ok_or_else(|| CardError::fatal("attributes: expects an object"))?;
                let mut write = UserWrite::from(&user);
                for (name, value) in attributes {
                    apply_attribute(&mut write, name, value.clone());
                }
                changed(
                    directory::update_user(
                        &self.store,
                        acting,
                        &user,
                        &write,
                        None,
                        &user_entry("profile updated"),
                    )
                    .await?,
                )
            }
            "directory.activate_user"
            | "directory.unsuspend_user"
            | "directory.deactivate_user"
            | "directory.suspend_user" => {
                let (status, what) = match kind {
                    "directory.deactivate_user" => (UserStatus::Deprovisioned, "deactivated"),
                    "directory.suspend_user" => (UserStatus::Suspended, "suspended"),
                    _ => (UserStatus::Active, "activated"),
                };
                changed(
                    directory::set_user_status(
                        &self.store,
                        acting,
                        &user,
                        status,
                        &user_entry(what),
                    )
                    .await?,
                )
            }
            "directory.assign_app" => {
                let role = crate::scim::user::role(inputs.get("role").unwrap_or(&Value::Null))
                    .map_err(|e| CardError::fatal(format!("role: {}", e.detail)))?;
                if role == crate::access::Role::SuperAdmin {
                    return Err(CardError::fatal(
                        "role: a flow cannot give the Super Admin role",
                    ));
                }
                changed(
                    directory::set_user_role(
                        &self.store,
                        acting,
                        &user,
                        role,
                        &user_entry("assigned"),
                    )
                    .await?,
                )
            }
            "directory.unassign_app" => changed(
                directory::set_user_role(
                    &self.store,
                    acting,
                    &user,
                    crate::access::Role::UnassignedUser,
                    &user_entry("unassigned"),
                )
                .await?,
            ),
            "directory.clear_sessions" => {
                directory::end_sessions(
                    &self.store,
                    acting,
                    &user,
                    &user_entry("sessions cleared"),
                )
                .await?;
                json!({})
            }
            "directory.add_to_group" | "directory.remove_from_group" => {
                let (group, _) = self.find_group(inputs).await?;
                let add = kind == "directory.add_to_group";
                directory::change_membership(
                    &self.store,
                    acting,
                    group,
                    &user,
                    add,
                    Action::FlowGroupChange,
                )
                .await?;
                json!({})
            }
            "directory.remove_from_all_groups" => {
                let mut removed = Vec::new();
                for (id, name) in self.store.groups_of(user.id).await? {
                    directory::change_membership(
                        &self.store,
                        acting,
                        id,
                        &user,
                        false,
                        Action::FlowGroupChange,
                    )
                    .await?;
                    removed.push(json!({ "id": id.0.to_string(), "name": name }));
                }
                json!({ "count": removed.len(), "groups": removed })
            }
            "directory.list_user_groups" => {
                let groups: Vec<Value> = self
                    .store
                    .groups_of(user.id)
                    .await?
                    .into_iter()
                    .map(|(id, name)| json!({ "id": id.0.to_string(), "name": name }))
                    .collect();
                json!({ "count": groups.len(), "groups": groups })
            }
            other => {
                return Err(CardError::fatal(format!(
                    "the {other:?} card cannot run in this version of idflow yet"
                )));
            }
        };
        Ok(Done::Output(output))
    }

    /// How an execution's record names the person it acts for.
    async fn person_named(&self, acting: &Acting) -> String {
        match acting.person {
            Some(id) => match self.store.user(id).await {
                Ok(Some(user)) if user.status == UserStatus::Active => user.user_name,
                Ok(Some(user)) => format!("{} ({})", user.user_name, user.status),
                _ => "a user who no longer exists".into(),
            },
            None => "nobody (save or turn the flow on to make it act for you)".into(),
        }
    }

    async fn tables_card(
        &self,
        kind: &str,
        context: &Context<'_>,
        inputs: &Map<String, Value>,
    ) -> Result<Done, CardError> {
        let name = inputs
            .get("table")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CardError::fatal("table: has no value"))?;
        let folder = self.folder_of(context).await?;
        // Only a table in the flow's own folder (or, for a flow at the top level, at the
        // top level): a name never reaches into a folder the flow's people may not see.
        let table = self
            .store
            .table_by_name(name)
            .await?
            .filter(|t| t.folder == folder)
            .ok_or_else(|| {
                CardError::fatal(format!(
                    "table: there is no table named {name:?} {}",
                    where_(folder)
                ))
            })?;
        let schema = &table.schema;
        let object = |field: &str| -> Result<Row, CardError> {
            match inputs.get(field) {
                Some(Value::Object(o)) => Ok(o.clone()),
                None | Some(Value::Null) => Ok(Row::new()),
                Some(other) => Err(CardError::fatal(format!(
                    "{field}: expects an object, got {other}"
                ))),
            }
        };
        let checked = |row: &Row| {
            schema
                .check_row(row)
                .map_err(|reasons| CardError::fatal(reasons.join("; ")))
        };
        let key = || -> Result<String, CardError> {
            inputs
                .get("key")
                .filter(|v| !v.is_null())
                .map(crate::tables::key_text)
                .ok_or_else(|| CardError::fatal("key: has no value"))
        };
        match kind {
            "tables.create_row" => {
                let row = checked(&object("row")?)?;
                let record = self.store.insert_row(&table, &row, None).await?;
                Ok(Done::Output(json!({ "row": record.data })))
            }
            "tables.read_row" => {
                // No key names no row.
                let found = match key() {
                    Ok(key) => self.store.row_by_key(table.id, &key).await?,
                    Err(_) => None,
                };
                Ok(Done::Output(
                    json!({ "found": found.is_some(), "row": found.map(|r| r.data) }),
                ))
            }
            "tables.update_row" => {
                let found = self
                    .store
                    .row_by_key(table.id, &key()?)
                    .await?
                    .ok_or_else(|| {
                        CardError::fatal(format!(
                            "key: no row with the key {:?}",
                            key().unwrap_or_default()
                        ))
                    })?;
                let mut row = found.data.clone();
                row.extend(object("row")?);
                let row = checked(&row)?;
                let updated = self
                    .store
                    .update_row(&table, found.id, &row, None)
                    .await?
                    .ok_or_else(|| CardError::fatal("the row was deleted meanwhile"))?;
                Ok(Done::Output(json!({ "row": updated.data })))
            }
            "tables.delete_row" => {
                let found = self.store.row_by_key(table.id, &key()?).await?;
                let deleted = match found {
                    Some(row) => self.store.delete_row(table.id, row.id, None).await?,
                    None => false,
                };
                Ok(Done::Output(json!({ "deleted": deleted })))
            }
            "tables.find_or_create_row" => {
                if let Some(found) = self.store.row_by_key(table.id, &key()?).await? {
                    return Ok(Done::Output(json!({ "row": found.data, "created": false })));
                }
                let mut row = object("row")?;
                if let Some(key_column) = &schema.key {
                    row.insert(key_column.clone(), Value::String(key()?));
                }
                let record = self.store.insert_row(&table, &checked(&row)?, None).await?;
                Ok(Done::Output(json!({ "row": record.data, "created": true })))
            }
            "tables.search_rows" | "tables.count_rows" => {
                let equals = object("where")?.into_iter().next();
                let limit = inputs.get("limit").and_then(Value::as_i64).unwrap_or(100);
                let query = RowQuery {
                    equals,
                    limit: if kind == "tables.count_rows" {
                        1
                    } else {
                        limit
                    },
                    ..RowQuery::default()
                };
                let (rows, total) = self.store.rows(&table, &query).await?;
                if kind == "tables.count_rows" {
                    return Ok(Done::Output(json!({ "output": total })));
                }
                let rows: Vec<Value> = rows.into_iter().map(|r| Value::Object(r.data)).collect();
                Ok(Done::Output(json!({ "rows": rows, "count": total })))
            }
            other => Err(CardError::fatal(format!(
                "the {other:?} card does not exist"
            ))),
        }
    }
}

/// Sets one attribute of a user write by the name cards use: the console's fields by
/// their own names, the SCIM core and enterprise attributes by friendly names, anything
/// else as a top-level SCIM attribute.
fn apply_attribute(write: &mut UserWrite, name: &str, value: Value) {
    fn nested(write: &mut UserWrite, outer: &str, inner: &str, value: Value) {
        let entry = write
            .attributes
            .entry(outer.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(inner.to_string(), value);
        }
    }
    let text = value.as_str().map(str::to_string).filter(|s| !s.is_empty());
    match name {
        "display_name" => write.display_name = text,
        "email" => write.email = text,
        "given_name" => nested(write, "name", "givenName", value),
        "family_name" => nested(write, "name", "familyName", value),
        "department" => nested(write, ENTERPRISE_USER, "department", value),
        "manager" => nested(write, ENTERPRISE_USER, "manager", json!({ "value": value })),
        other => {
            write.attributes.insert(other.to_string(), value);
        }
    }
}

/// The loop guard's reason, on an execution that did not run.
pub const LOOP_STOPPED: &str = "Stopped before it ran: the event came from a change this flow made \
     (directly or through other flows), so running it would re-trigger itself";

/// What a directory event gives a flow's trigger.
async fn trigger_input(store: &Store, event: &DirectoryEvent) -> Result<Value, StoreError> {
    let user = match event.subject_kind.as_str() {
        "user" => store
            .user(UserId(event.subject_id))
            .await?
            .map(|u| user_value(&u))
            .unwrap_or_else(|| json!({ "id": event.subject_id.to_string() })),
        _ => Value::Null,
    };
    let mut input = json!({
        "user": user,
        "event_id": event.id.to_string(),
        "occurred_at": event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "actor": event.actor_display,
        "changed": event.changes.iter().map(|c| c.attribute.clone()).collect::<Vec<_>>(),
        "old_values": event.changes.iter().map(|c| (c.attribute.clone(), c.old.clone())).collect::<Map<_, _>>(),
    });
    if let Some(group) = event.changes.iter().find(|c| c.attribute == "group") {
        let group = if group.new.is_null() {
            &group.old
        } else {
            &group.new
        };
        input["group"] = json!({ "id": group.get("id"), "name": group.get("displayName") });
    }
    Ok(input)
}

/// Hands the directory's new events to the enabled flows they start, each accepted as an
/// execution (deduplicated by event, so handing an event over twice starts nothing
/// twice), then marks them handed over. A flow whose own change led to the event gets an
/// execution that says it stopped, instead of running again. Returns how many
/// executions were started.
pub async fn dispatch_directory_events(store: &Store, limit: i64) -> Result<usize, StoreError> {
    let mut started = 0;
    for event in store.unprocessed_directory_events(limit).await? {
        let trigger = format!("directory.{}", event.event_type.replace('.', "_"));
        let flows = store.enabled_flows_for(&trigger).await?;
        if !flows.is_empty() {
            let input = trigger_input(store, &event).await?;
            let mut chain = event.causal_chain.clone();
            chain.push(event.id);
            let behind = store.flows_behind(&chain).await?;
            for flow in flows {
                let new = NewExecution {
                    flow: flow.flow,
                    flow_version: flow.version,
                    trigger_kind: trigger.clone(),
                    input: input.clone(),
                    subject: (event.subject_kind == "user").then(|| event.subject_id.to_string()),
                    dedupe_key: Some(event.id.to_string()),
                    causal_chain: chain.clone(),
                    parent: None,
                    test: false,
                    acting_for: None,
                };
                if behind.contains(&flow.flow.0) {
                    store.enqueue_stopped_execution(&new, LOOP_STOPPED).await?;
                    continue;
                }
                match trigger_filter(&flow.definition, &input) {
                    Ok(true) => {
                        if store.enqueue_execution(&new).await?.is_some() {
                            started += 1;
                        }
                    }
                    Ok(false) => {}
                    Err(why) => {
                        let reason =
                            format!("Stopped before it ran: the trigger's condition {why}");
                        store.enqueue_stopped_execution(&new, &reason).await?;
                    }
                }
            }
        }
        store.mark_event_processed(event.id).await?;
    }
    Ok(started)
}

/// Whether a trigger's "Only when" condition lets `input` through (no condition: yes).
fn trigger_filter(flow: &crate::flows::Flow, input: &Value) -> Result<bool, String> {
    match flow.trigger.options.get("filter") {
        Some(crate::flows::Binding::Literal {
            value: Value::String(condition),
        }) if !condition.trim().is_empty() => {
            crate::flows::template::holds(condition, &json!({ "trigger": input }))
        }
        _ => Ok(true),
    }
}

/// At most this many fire times of one schedule are caught up in one round.
const MAX_FIRES_PER_ROUND: usize = 100;

/// A Scheduled flow's schedule: its cron line (five fields, or six with seconds) in its
/// time zone (UTC when none is given).
pub fn schedule_of(flow: &crate::flows::Flow) -> Result<(croner::Cron, chrono_tz::Tz), String> {
    let text = |name: &str| match flow.trigger.options.get(name) {
        Some(crate::flows::Binding::Literal {
            value: Value::String(s),
        }) => Some(s.trim().to_string()),
        _ => None,
    };
    let line = text("cron")
        .filter(|c| !c.is_empty())
        .ok_or("the schedule has no cron line")?;
    let cron: croner::Cron = line
        .parse()
        .map_err(|e| format!("the cron line {line:?} is not valid ({e})"))?;
    let zone = match text("time_zone").filter(|z| !z.is_empty()) {
        Some(zone) => zone
            .parse()
            .map_err(|_| format!("{zone:?} is not a time zone (such as Europe/Paris)"))?,
        None => chrono_tz::UTC,
    };
    Ok((cron, zone))
}

/// Fires the schedules of enabled Scheduled flows for every tick after `since` up to
/// `until`: each tick is one execution, deduplicated by its time, so several servers
/// firing the same tick start it once. Returns how many executions were started here.
pub async fn fire_schedules(
    store: &Store,
    since: chrono::DateTime<Utc>,
    until: chrono::DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut started = 0;
    for flow in store.enabled_flows_for("trigger.scheduled").await? {
        let (cron, zone) = match schedule_of(&flow.definition) {
            Ok(schedule) => schedule,
            Err(why) => {
                tracing::warn!(flow = %flow.flow, reason = %why, "a schedule cannot fire");
                continue;
            }
        };
        // Never a tick from before the flow was turned on (or last changed).
        let changed = store.flow_summary(flow.flow).await?.map(|f| f.updated_at);
        let since = changed.map_or(since, |c| since.max(c));
        let ticks = cron
            .iter_after(since.with_timezone(&zone))
            .take_while(|t| t.with_timezone(&Utc) <= until)
            .take(MAX_FIRES_PER_ROUND);
        for tick in ticks {
            let at = tick
                .with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            let new = NewExecution {
                flow: flow.flow,
                flow_version: flow.version,
                trigger_kind: "trigger.scheduled".into(),
                input: json!({ "fired_at": at }),
                subject: None,
                dedupe_key: Some(format!("schedule:{at}")),
                causal_chain: vec![],
                parent: None,
                test: false,
                acting_for: None,
            };
            if store.enqueue_execution(&new).await?.is_some() {
                started += 1;
            }
        }
    }
    Ok(started)
}

#[cfg(test)]
mod tests {
    use super::*;

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
