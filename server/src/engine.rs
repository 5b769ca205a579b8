//! The execution engine inside the server process: a dispatcher that hands new directory
//! events to the flows they start, a scheduler that fires Scheduled flows, and workers
//! that run executions. They poll the database, so several servers on one PostgreSQL
//! share the work (within one process, workers are also woken as work is queued); all state is in the
//! database, so stopping the process at any moment loses nothing (a claimed execution is
//! taken over by another worker when its lease runs out).

use domain::engine::BlastRadius;
use domain::engine::runner::Runner;
use domain::engine::schedules::fire_schedules;
use domain::engine::triggers::{
    OKTA_REORDER_WINDOW, dispatch_directory_events, dispatch_okta_events,
};
use domain::store::Store;
use std::sync::Arc;
use std::time::Duration;

/// How long an idle loop waits before looking again.
const IDLE: Duration = Duration::from_millis(200);
/// How long a loop waits after the database refused it.
const AFTER_ERROR: Duration = Duration::from_secs(2);
/// How often the scheduler looks for due ticks.
const SCHEDULE_ROUND: Duration = Duration::from_millis(500);
/// How many events the dispatcher reads at once.
const EVENTS_PER_ROUND: i64 = 200;
/// How long handed-over Okta events and Event Hook deliveries are kept.
const OKTA_EVENTS_KEPT: chrono::Duration = chrono::Duration::days(30);

/// The engine's tasks; dropping this stops them (executions in flight resume elsewhere or
/// after the next start).
pub struct Engine {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    inline: Option<Arc<Runner>>,
}

impl Engine {
    /// The runner for executions this process runs as it accepts them (a synchronous API
    /// call's), when the engine runs here.
    pub fn inline_runner(&self) -> Option<Arc<Runner>> {
        self.inline.clone()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts the dispatcher and `workers` workers. With no workers, the engine does not run
/// (another server runs the flows).
pub fn spawn(store: Store, workers: usize) -> Engine {
    spawn_with(store, workers, None, BlastRadius::default())
}

/// Like [`spawn`], also deleting executions that ended more than `retention` ago (checked
/// hourly), with the blast-radius guard `guard`.
/// Deletes the System Log's entries older than its retention (Settings: days; 0 keeps
/// them forever), a batch at a time, and says so in the log itself.
pub async fn prune_system_log(store: &Store) {
    use domain::audit::{Action, Actor, NewEntry, Outcome};
    let days = match store.log_retention_days().await {
        Ok(0) => return,
        Ok(days) => days,
        Err(err) => {
            tracing::warn!(error = %err, "could not read the System Log's retention");
            return;
        }
    };
    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    match store.prune_audit(cutoff).await {
        Ok(0) => {}
        Ok(gone) => {
            tracing::info!(gone, "old System Log entries deleted (retention)");
            let entry =
                NewEntry::new(Action::LogPrune, Outcome::Success, Actor::System).reason(format!(
                    "{gone} entries older than {} deleted (kept for {days} days)",
                    cutoff.format("%Y-%m-%d %H:%M UTC")
                ));
            if let Err(err) = store.append_audit(&entry).await {
                tracing::warn!(error = %err, "could not record the System Log's pruning");
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not delete old System Log entries"),
    }
}

pub fn spawn_with(
    store: Store,
    workers: usize,
    retention: Option<chrono::Duration>,
    guard: BlastRadius,
) -> Engine {
    let mut tasks = Vec::new();
    if workers == 0 {
        tracing::info!("the execution engine is off (IDFLOW_WORKERS=0)");
        return Engine {
            tasks,
            inline: None,
        };
    }
    let dispatcher = store.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            let settled = chrono::Utc::now() - OKTA_REORDER_WINDOW;
            let okta = match dispatch_okta_events(&dispatcher, settled, EVENTS_PER_ROUND).await {
                Ok(started) => started,
                Err(err) => {
                    tracing::warn!(error = %err, "could not hand Okta events to flows");
                    0
                }
            };
            match dispatch_directory_events(&dispatcher, EVENTS_PER_ROUND).await {
                Ok(0) if okta == 0 => tokio::time::sleep(IDLE).await,
                Ok(started) => tracing::debug!(
                    started,
                    okta,
                    "executions started by directory and Okta events"
                ),
                Err(err) => {
                    tracing::warn!(error = %err, "could not hand directory events to flows");
                    tokio::time::sleep(AFTER_ERROR).await;
                }
            }
        }
    }));
    let scheduler = store.clone();
    tasks.push(tokio::spawn(async move {
        // Ticks missed while no server ran are caught up for one minute back.
        let mut since = chrono::Utc::now() - chrono::Duration::minutes(1);
        loop {
            let now = chrono::Utc::now();
            match fire_schedules(&scheduler, since, now).await {
                Ok(started) => {
                    if started > 0 {
                        tracing::debug!(started, "scheduled executions started");
                    }
                    since = now;
                }
                Err(err) => tracing::warn!(error = %err, "could not fire schedules"),
            }
            tokio::time::sleep(SCHEDULE_ROUND).await;
        }
    }));
    if let Some(retention) = retention {
        let pruner = store.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                match pruner
                    .prune_executions(chrono::Utc::now() - retention)
                    .await
                {
                    Ok(0) => {}
                    Ok(gone) => tracing::info!(gone, "old executions deleted (retention)"),
                    Err(err) => tracing::warn!(error = %err, "could not delete old executions"),
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }));
    }
    // What ended executions carried, kept for the history's search, a batch at a time.
    let keeper = store.clone();
    tasks.push(tokio::spawn(async move {
        const BATCH: usize = 500;
        loop {
            match keeper.keep_carried(BATCH).await {
                Ok(BATCH) => tokio::task::yield_now().await,
                Ok(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                Err(err) => {
                    tracing::warn!(error = %err, "could not keep what executions carried");
                    tokio::time::sleep(AFTER_ERROR).await;
                }
            }
        }
    }));
    let log_pruner = store.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            prune_system_log(&log_pruner).await;
            // REST API idempotency keys are kept a day.
            if let Err(err) = log_pruner
                .prune_idempotency(chrono::Utc::now() - chrono::Duration::days(1))
                .await
            {
                tracing::warn!(error = %err, "could not forget old idempotency keys");
            }
            // Okta events handed to flows are kept 30 days (their executions keep what
            // they carried): long enough to tell a late repeat from a new event.
            if let Err(err) = log_pruner
                .prune_okta_events(chrono::Utc::now() - OKTA_EVENTS_KEPT)
                .await
            {
                tracing::warn!(error = %err, "could not forget old Okta events");
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }));
    let process = uuid::Uuid::new_v4();
    for n in 0..workers {
        let runner = Runner::new(store.clone(), format!("{process}/{n}")).with_guard(guard);
        let signals = store.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                // Listening before looking, so work queued meanwhile is not missed.
                let queued = signals.signals().queued.notified();
                tokio::pin!(queued);
                queued.as_mut().enable();
                match runner.run_one().await {
                    Ok(Some(id)) => tracing::debug!(execution = %id, "ran an execution"),
                    Ok(None) => {
                        if tokio::time::timeout(IDLE, queued).await.is_ok() {
                            runner.expect_work();
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "a worker could not run an execution");
                        tokio::time::sleep(AFTER_ERROR).await;
                    }
                }
            }
        }));
    }
    tracing::info!(workers, "the execution engine is running");
    let inline = Runner::new(store, format!("{process}/inline")).with_guard(guard);
    Engine {
        tasks,
        inline: Some(Arc::new(inline)),
    }
}
