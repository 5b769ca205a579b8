//! Form posts from an execution's page: cancel it, run its input again, or approve it past
//! the blast-radius guard (the domain's actions, which check the permission on the
//! execution's flow); and its JSON export. An execution the caller may not see does not
//! exist.

use crate::AppState;
use crate::forms::{
    Answer, Finding, InFolder, Origin, action_failed, attachment, load, refused, store_failed,
};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Permission;
use domain::actions::{ActionError, executions};
use domain::engine::ExecutionId;
use domain::store::{ExecutionRecord, FlowSummary, Store, StoreError};

const EXECUTIONS: &str = "/executions";

fn execution_page(id: ExecutionId) -> String {
    format!("{EXECUTIONS}/{id}")
}

/// An execution with its flow: seen, run and exported through its flow's folder.
impl InFolder for (ExecutionRecord, FlowSummary) {
    const FINDING: Finding = Finding {
        page: EXECUTIONS,
        missing: "no-execution",
        view: Permission::ViewExecutions,
    };

    fn folder(&self) -> Option<uuid::Uuid> {
        self.1.folder
    }

    async fn find(store: &Store, id: uuid::Uuid) -> Result<Option<Self>, StoreError> {
        let Some(execution) = store.execution(ExecutionId(id)).await? else {
            return Ok(None);
        };
        Ok(store
            .flow_summary(execution.flow)
            .await?
            .map(|flow| (execution, flow)))
    }
}

/// The execution `id` with its flow, when the caller may see it; otherwise the answer to
/// send (back to the list: there is no such execution for them).
async fn found(
    state: &AppState,
    origin: &Origin,
    id: &str,
) -> Result<(ExecutionRecord, FlowSummary), Response> {
    load(state, origin, id, Permission::ViewExecutions).await
}

/// What a person does to an execution from its page.
enum Change {
    Cancel,
    Rerun,
    Approve,
}

/// Calls the action for `change` on execution `id`; to the page it leads to (the new
/// execution's, for a re-run), or back with the reason it did not happen.
async fn change(state: AppState, id: String, origin: Origin, change: Change) -> Answer {
    let (execution, flow) = found(&state, &origin, &id).await?;
    let page = execution_page(execution.id);
    let (store, acting) = (&state.store, origin.acting());
    let to = match change {
        Change::Cancel => executions::cancel(store, &acting, &execution, &flow)
            .await
            .map(|()| format!("{page}?notice=execution-cancelled")),
        Change::Rerun => executions::rerun(store, &acting, &execution, &flow)
            .await
            .map(|new| format!("{}?notice=execution-rerun", execution_page(new))),
        Change::Approve => executions::approve(store, &acting, &execution, &flow)
            .await
            .map(|()| format!("{page}?notice=execution-approved")),
    };
    Ok(match to {
        Ok(to) => Redirect::to(&to).into_response(),
        // The page says these in a sentence of its own.
        Err(ActionError::Refused(r)) if matches!(r.code, "execution-ended" | "not-paused") => {
            refused(&page, r.code)
        }
        Err(ActionError::NotFound { kind: "flow", .. }) => refused(&page, "no-flow"),
        Err(err) => action_failed(&page, err),
    })
}

/// `POST /executions/{id}/cancel`: stops it before its next card (and the helper
/// executions it started).
pub async fn cancel(state: State<AppState>, id: Path<String>, origin: Origin) -> Answer {
    change(state.0, id.0, origin, Change::Cancel).await
}

/// `POST /executions/{id}/rerun`: its input again, through the flow's current version;
/// to the new execution's page.
pub async fn rerun(state: State<AppState>, id: Path<String>, origin: Origin) -> Answer {
    change(state.0, id.0, origin, Change::Rerun).await
}

/// `POST /executions/{id}/approve`: a directory manager lets an execution the
/// blast-radius guard paused go on.
pub async fn approve(state: State<AppState>, id: Path<String>, origin: Origin) -> Answer {
    change(state.0, id.0, origin, Change::Approve).await
}

/// `GET /executions/{id}/export`: the execution and what each card did, as JSON, to
/// attach to a ticket or keep. Inputs and outputs are there only when the flow saves all
/// data, as on the page.
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Answer {
    let (execution, flow) = found(&state, &origin, &id).await?;
    let steps = match state.store.execution_steps(execution.id).await {
        Ok(steps) => steps,
        Err(err) => return Err(store_failed(&execution_page(execution.id), err)),
    };
    let steps: Vec<serde_json::Value> = steps
        .iter()
        .map(|s| {
            serde_json::json!({
                "card": s.card_id,
                "kind": s.card_kind,
                "status": s.status,
                "attempt": s.attempt,
                "inputs": s.inputs,
                "outputs": s.outputs,
                "error": s.error,
                "started_at": s.started_at,
                "finished_at": s.finished_at,
                "milliseconds": (s.finished_at - s.started_at).num_milliseconds(),
            })
        })
        .collect();
    let document = serde_json::json!({
        "id": execution.id.to_string(),
        "flow": { "id": flow.id.to_string(), "name": flow.name, "version": execution.flow_version },
        "status": execution.status.as_str(),
        "trigger": execution.trigger_kind,
        "subject": execution.subject,
        "input": execution.input,
        "output": execution.output,
        "error": execution.error,
        "queued_at": execution.queued_at,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
        "parent": execution.parent.map(|p| serde_json::json!({
            "execution": p.execution.to_string(), "card": p.card, "index": p.index,
        })),
        "steps": steps,
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    Ok(attachment(
        "application/json",
        &format!("execution-{}", execution.id),
        ".json",
        text,
    ))
}
