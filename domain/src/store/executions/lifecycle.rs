//! An execution's life: accepted (stored before anything acknowledges it), claimed by a
//! worker with a lease, advanced a card's record at a time, waiting, paused, resumed,
//! cancelled, ended, pruned.

use super::*;
use crate::store::BeginWrite;

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
                 causal_chain, progress, queued_at, run_after, error, finished_at, parent_id, parent_card, child_index, test, dry_run, acting_for) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, $17, $18, \
                 COALESCE($19, (SELECT owner_id FROM flows WHERE id = $2))) ON CONFLICT DO NOTHING",
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
            .bind(new.dry_run)
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
    /// Records finished cards, in order, after the `after` records stored already, and
    /// the progress after the last, in one transaction shared with other executions'
    /// writes (see [`Store::write_ending`]); `false` when `worker` no longer holds the
    /// execution (the lease ran out or it was cancelled: stop) or its records are no
    /// longer `after` (they were written already).
    ///
    /// With `row`, the row the last of `steps` added is written in the same transaction;
    /// if it cannot be (its key is taken: `Conflict`; its table was deleted: `Gone`),
    /// nothing else is written either.
    pub async fn record_steps(
        &self,
        id: ExecutionId,
        worker: &str,
        (after, steps, row): (i64, Vec<StepRecord>, Option<crate::store::NewRow>),
        progress: &Progress,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write_ending(Ending::Step {
            id: id.0,
            worker: worker.to_string(),
            after,
            steps,
            progress: raw(progress)?,
            lease_until,
            row,
        })
        .await
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
            carried: None,
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
            let mut tx = pool.begin_write().await?;
            // Locked first, as a helper that ends locks it (`wake_parent_in!`): a helper
            // ending at this moment either finds it waiting and wakes it, or has committed
            // before the statement below looks at the helpers.
            lock_execution_in!(self, tx, id.0);
            let done = sqlx::query(&format!(
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
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            done
        });
        // Its helpers may all have ended: then it is queued already.
        self.signals.queued.notify_waiters();
        Ok(done > 0)
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
        self.let_go(id, worker, Status::Queued, progress, Some(run_after), None)
            .await
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
            let mut tx = pool.begin_write().await?;
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
        self.let_go(id, worker, Status::Paused, progress, None, Some(reason))
            .await
    }
    /// Lets go of an execution `worker` holds while it runs: it becomes `status` with
    /// `progress`, and `run_after` and `error` where given. `false` when `worker` no
    /// longer holds it.
    async fn let_go(
        &self,
        id: ExecutionId,
        worker: &str,
        status: Status,
        progress: &Progress,
        run_after: Option<DateTime<Utc>>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            sqlx::query(
                "UPDATE executions SET status = $3, progress = $4, run_after = COALESCE($5, run_after), \
                 error = COALESCE($6, error), locked_by = NULL, locked_until = NULL \
                 WHERE id = $1 AND locked_by = $2 AND status = 'running'",
            )
            .bind(id.0)
            .bind(worker)
            .bind(status.as_str())
            .bind(Json(progress))
            .bind(run_after)
            .bind(error)
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
    /// Deletes the executions (and their card records) that ended before `cutoff`: the
    /// history's retention. Returns how many went.
    pub async fn prune_executions(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        // A few hundred at a time, each in its own short write, so the engine's writes
        // go on in between however much there is to delete.
        const BATCH: i64 = 500;
        let mut gone = 0;
        loop {
            let done = with_pool!(self, pool => {
                let _turn = self.write_turn().await;
                sqlx::query(&format!(
                    "DELETE FROM executions WHERE id IN (SELECT id FROM executions \
                     WHERE status IN {FINAL} AND finished_at < $1 LIMIT $2)"
                ))
                .bind(cutoff)
                .bind(BATCH)
                .execute(pool)
                .await?
                .rows_affected()
            });
            gone += done;
            if done < BATCH as u64 {
                return Ok(gone);
            }
            tokio::task::yield_now().await;
        }
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
            // A dry run again is a dry run.
            dry_run: old.dry_run,
            acting_for: old.acting_for.filter(|_| old.test),
        })
        .await
    }
}
