//! Running flows by hand and steering their executions: run a Manual flow, test a flow,
//! cancel, re-run, approve past the blast-radius guard. Each needs its permission on the
//! flow's folder (a folder Runner only in their folders) and is in the System Log.

use super::{Acting, ActionError};
use crate::access::Permission;
use crate::audit::{Action, NewEntry, Target};
use crate::engine::ExecutionId;
use crate::store::{ExecutionRecord, FlowSummary, NewExecution, Store};
use serde_json::Value;

fn may(acting: &Acting, permission: Permission, flow: &FlowSummary) -> Result<(), ActionError> {
    if acting.rights.on_flow(permission, flow.folder) {
        Ok(())
    } else {
        Err(ActionError::refused(
            "not-allowed",
            format!(
                "this needs a right on the flow {} that is not held",
                flow.name
            ),
        ))
    }
}

/// The System Log's target for an execution: its id, shown with its flow's name.
fn target(execution: ExecutionId, flow: &FlowSummary) -> Target {
    Target {
        kind: "execution".into(),
        id: execution.to_string(),
        display: format!("{} ({execution})", flow.name),
    }
}

/// Writes what was done to the System Log; the change itself already happened, so a log
/// that cannot be written is reported in the server log only.
async fn log(store: &Store, entry: NewEntry) {
    if let Err(err) = store.append_audit(&entry).await {
        tracing::error!(error = %err, "an execution change could not be written to the System Log");
    }
}

async fn accepted(store: &Store, new: &NewExecution) -> Result<ExecutionId, ActionError> {
    store.enqueue_execution(new).await?.ok_or_else(|| {
        crate::store::StoreError::Corrupt("a new execution was taken for a repeat".into()).into()
    })
}

/// Runs `flow`, started by the Manual trigger, with `input`; it acts for its owner.
pub async fn run_by_hand(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
    input: Value,
) -> Result<ExecutionId, ActionError> {
    may(acting, Permission::RunFlows, flow)?;
    if flow.trigger_kind != "trigger.manual" {
        return Err(ActionError::refused(
            "not-manual",
            "only flows started by the Manual trigger can be run by hand",
        ));
    }
    let id = accepted(store, &NewExecution::by_hand(flow.id, flow.version, input)).await?;
    log(
        store,
        acting
            .entry(Action::FlowRun, target(id, flow))
            .reason("run by hand"),
    )
    .await;
    Ok(id)
}

/// Runs `flow`'s current version (on or off) with `input` as its trigger would give it,
/// keeping every card's inputs and outputs: Test Flow. It acts for the one testing.
pub async fn test(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
    input: Value,
) -> Result<ExecutionId, ActionError> {
    let new = NewExecution::test(
        flow.id,
        flow.version,
        &flow.trigger_kind,
        input,
        acting.person,
    );
    start_test(store, acting, flow, &new, "Test Flow").await
}

/// Dry-runs `flow`'s current version (on or off) with `input`: as Test Flow, but each
/// card that would change something (the directory, a table, a connected service) is
/// judged on the tester's rights and not made; its record says what it would have done.
pub async fn dry_run(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
    input: Value,
) -> Result<ExecutionId, ActionError> {
    let new = NewExecution::dry_run(
        flow.id,
        flow.version,
        &flow.trigger_kind,
        input,
        acting.person,
    );
    start_test(store, acting, flow, &new, "Dry run").await
}

/// Starts a test (`why`: Test Flow or Dry run) of `flow`, for those who may edit it.
async fn start_test(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
    new: &NewExecution,
    why: &str,
) -> Result<ExecutionId, ActionError> {
    may(acting, Permission::EditFlows, flow)?;
    let id = accepted(store, new).await?;
    log(
        store,
        acting.entry(Action::FlowRun, target(id, flow)).reason(why),
    )
    .await;
    Ok(id)
}

/// Stops `execution` before its next card, and the helper executions it started.
pub async fn cancel(
    store: &Store,
    acting: &Acting,
    execution: &ExecutionRecord,
    flow: &FlowSummary,
) -> Result<(), ActionError> {
    may(acting, Permission::RunFlows, flow)?;
    let who = acting.actor.id_and_display().1;
    if !store
        .cancel_execution(execution.id, &format!("Cancelled by {who}"))
        .await?
    {
        return Err(ActionError::refused(
            "execution-ended",
            format!("the execution had already ended ({})", execution.status),
        ));
    }
    log(
        store,
        acting.entry(Action::ExecutionCancel, target(execution.id, flow)),
    )
    .await;
    Ok(())
}

/// Runs `execution`'s input again through the flow's current version; the new one.
pub async fn rerun(
    store: &Store,
    acting: &Acting,
    execution: &ExecutionRecord,
    flow: &FlowSummary,
) -> Result<ExecutionId, ActionError> {
    may(acting, Permission::RunFlows, flow)?;
    let new = store
        .rerun_execution(execution.id)
        .await?
        .ok_or_else(|| ActionError::gone("flow", "the flow no longer exists"))?;
    log(
        store,
        acting
            .entry(Action::ExecutionRerun, target(execution.id, flow))
            .reason(format!("as execution {new}")),
    )
    .await;
    Ok(new)
}

/// Resumes `execution`, waiting at a Pause card, with `input` as the card's `input`.
pub async fn resume(
    store: &Store,
    acting: &Acting,
    execution: &ExecutionRecord,
    flow: &FlowSummary,
    input: serde_json::Value,
) -> Result<(), ActionError> {
    may(acting, Permission::RunFlows, flow)?;
    if !store.resume_execution(execution.id, input).await? {
        return Err(ActionError::refused(
            "not-paused",
            format!(
                "the execution is not waiting at a Pause card (it is {})",
                execution.status
            ),
        ));
    }
    log(
        store,
        acting.entry(Action::ExecutionResume, target(execution.id, flow)),
    )
    .await;
    Ok(())
}

/// Lets `execution`, paused by the blast-radius guard, go on: for those who manage the
/// directory it is about to change.
pub async fn approve(
    store: &Store,
    acting: &Acting,
    execution: &ExecutionRecord,
    flow: &FlowSummary,
) -> Result<(), ActionError> {
    may(acting, Permission::ViewExecutions, flow)?;
    if !acting.rights.allows(Permission::ManageDirectory) {
        return Err(ActionError::refused(
            "not-allowed",
            "approving a paused execution needs a role that manages the directory",
        ));
    }
    if !store.approve_execution(execution.id).await? {
        return Err(ActionError::refused(
            "not-paused",
            format!(
                "only a paused execution can be approved; this one is {}",
                execution.status
            ),
        ));
    }
    log(
        store,
        acting.entry(Action::ExecutionApprove, target(execution.id, flow)),
    )
    .await;
    Ok(())
}
