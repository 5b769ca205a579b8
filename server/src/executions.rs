//! Form posts from an execution's page: cancel it, run its input again, or approve it past
//! the blast-radius guard (the domain's actions, which check the permission on the
//! execution's flow); and its JSON export. An execution the caller may not see does not
//! exist.

use crate::AppState;
use crate::forms::{
    Finding, Origin, action_failed, attachment, done, in_folder, refused, store_failed,
};
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Permission;
use domain::actions::{ActionError, executions};
use domain::engine::ExecutionId;
use domain::store::{ExecutionRecord, FlowSummary};

const EXECUTIONS: &str = "/executions";

fn execution_page(id: ExecutionId) -> String {
    format!("{EXECUTIONS}/{id}")
}

/// The execution and its flow, when the caller may see it; otherwise the answer to send
/// (back to the list: there is no such execution for them).
async fn load(
    state: &AppState,
    origin: &Origin,
    id: &str,
) -> Result<(ExecutionRecord, FlowSummary), Response> {
    let Ok(id) = uuid::Uuid::parse_str(id).map(ExecutionId) else {
        return Err(refused(EXECUTIONS, "no-execution"));
    };
    let found = async {
        let Some(execution) = state.store.execution(id).await? else {
            return Ok(None);
        };
        Ok(state
            .store
            .flow_summary(execution.flow)
            .await?
            .map(|flow| (execution, flow)))
    };
    let finding = Finding {
        page: EXECUTIONS,
        missing: "no-execution",
        view: Permission::ViewExecutions,
    };
    let view = Permission::ViewExecutions;
    in_folder(origin, found, |(_, flow)| flow.folder, finding, view).await
}

/// `POST /executions/{id}/cancel`: stops it before its next card (and the helper
/// executions it started).
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let (execution, flow) = match load(&state, &origin, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = execution_page(execution.id);
    match executions::cancel(&state.store, &origin.acting(), &execution, &flow).await {
        Ok(()) => done(&page, "execution-cancelled"),
        Err(ActionError::Refused(r)) if r.code == "execution-ended" => refused(&page, r.code),
        Err(err) => action_failed(&page, err),
    }
}

/// `POST /executions/{id}/rerun`: its input again, through the flow's current version;
/// to the new execution's page.
pub async fn rerun(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let (execution, flow) = match load(&state, &origin, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = execution_page(execution.id);
    match executions::rerun(&state.store, &origin.acting(), &execution, &flow).await {
        Ok(new) => {
            Redirect::to(&format!("{}?notice=execution-rerun", execution_page(new))).into_response()
        }
        Err(ActionError::NotFound { .. }) => refused(&page, "no-flow"),
        Err(err) => action_failed(&page, err),
    }
}

/// `POST /executions/{id}/approve`: a directory manager lets an execution the
/// blast-radius guard paused go on.
pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let (execution, flow) = match load(&state, &origin, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = execution_page(execution.id);
    match executions::approve(&state.store, &origin.acting(), &execution, &flow).await {
        Ok(()) => done(&page, "execution-approved"),
        Err(ActionError::Refused(r)) if r.code == "not-paused" => refused(&page, r.code),
        Err(err) => action_failed(&page, err),
    }
}

/// `GET /executions/{id}/export`: the execution and what each card did, as JSON, to
/// attach to a ticket or keep. Inputs and outputs are there only when the flow saves all
/// data, as on the page.
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let (execution, flow) = match load(&state, &origin, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let steps = match state.store.execution_steps(execution.id).await {
        Ok(steps) => steps,
        Err(err) => return store_failed(&execution_page(execution.id), err),
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
    attachment(
        "application/json",
        &format!("execution-{}", execution.id),
        ".json",
        text,
    )
}
