//! Execution history as server functions: lists by flow, status, time, subject and a
//! value an execution carried, and one execution with every card's record. The
//! Executions tab is built on these; a caller who sees executions only through folder
//! grants sees only the executions of flows in those folders.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const LIST_PATH: &str = "/api/executions/list";
pub const DETAIL_PATH: &str = "/api/executions/detail";

/// An execution as a list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionSummary {
    pub id: String,
    pub flow_id: String,
    pub flow_name: String,
    pub flow_version: i64,
    pub status: String,
    pub trigger: String,
    pub subject: Option<String>,
    pub queued_at: chrono::DateTime<chrono::Utc>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why it failed, was cancelled, or stopped early.
    pub reason: Option<String>,
    pub cards_run: i64,
}

/// One card's record in an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardRecord {
    pub card_id: u32,
    pub card_kind: String,
    pub card_name: String,
    pub status: String,
    pub attempt: u32,
    pub inputs: Option<Value>,
    pub outputs: Option<Value>,
    pub error: Option<String>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
}

/// One execution with everything it recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionView {
    pub summary: ExecutionSummary,
    pub input: Value,
    pub output: Option<Value>,
    pub cards: Vec<CardRecord>,
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use domain::access::Permission;
    use domain::flows::FlowId;
    use domain::store::{ExecutionRecord, FlowSummary};
    use std::collections::HashMap;

    /// The flows whose executions the caller may see, by id.
    pub async fn visible_flows() -> Result<HashMap<FlowId, FlowSummary>, AppError> {
        let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
        let flows = crate::session::store()?
            .flows()
            .await
            .map_err(AppError::from_store)?;
        let every = caller
            .rights
            .roles()
            .iter()
            .any(|r| r.allows(Permission::ViewExecutions));
        Ok(flows
            .into_iter()
            .filter(|f| {
                every
                    || f.folder.is_some_and(|folder| {
                        caller
                            .rights
                            .in_folder(folder)
                            .is_some_and(|g| g.opens(Permission::ViewExecutions))
                    })
            })
            .map(|f| (f.id, f))
            .collect())
    }

    pub fn summary(e: &ExecutionRecord, flow: &FlowSummary) -> ExecutionSummary {
        ExecutionSummary {
            id: e.id.to_string(),
            flow_id: e.flow.to_string(),
            flow_name: flow.name.clone(),
            flow_version: e.flow_version,
            status: e.status.as_str().to_string(),
            trigger: e.trigger_kind.clone(),
            subject: e.subject.clone(),
            queued_at: e.queued_at,
            started_at: e.started_at,
            finished_at: e.finished_at,
            reason: e.error.clone(),
            cards_run: e.steps,
        }
    }
}

/// Executions, newest first: of one flow, in one status, about one subject, carrying a
/// value (a user id or an email), since a time. At most 200.
#[server(endpoint = "executions/list")]
pub async fn list_executions(
    flow: Option<String>,
    status: Option<String>,
    subject: Option<String>,
    carried: Option<String>,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<ExecutionSummary>, AppError> {
    use domain::flows::FlowId;
    use domain::store::ExecutionFilter;
    let flows = server::visible_flows().await?;
    let flow = match flow.filter(|f| !f.is_empty()) {
        Some(f) => {
            Some(FlowId(uuid::Uuid::parse_str(&f).map_err(|_| {
                AppError::BadRequest(format!("{f:?} is not a flow id"))
            })?))
        }
        None => None,
    };
    let status = match status.filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse().map_err(AppError::BadRequest)?),
        None => None,
    };
    let filter = ExecutionFilter {
        flow,
        status,
        subject: subject.filter(|s| !s.is_empty()),
        carried: carried
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty()),
        since,
        limit: 200,
    };
    let executions = crate::session::store()?
        .executions(&filter)
        .await
        .map_err(AppError::from_store)?;
    Ok(executions
        .iter()
        .filter_map(|e| flows.get(&e.flow).map(|f| server::summary(e, f)))
        .collect())
}

/// One execution with every card's record.
#[server(endpoint = "executions/detail")]
pub async fn execution_detail(id: String) -> Result<ExecutionView, AppError> {
    use domain::engine::ExecutionId;
    let missing = || AppError::NotFound("There is no such execution.".into());
    let id = ExecutionId(uuid::Uuid::parse_str(&id).map_err(|_| missing())?);
    let store = crate::session::store()?;
    let execution = store
        .execution(id)
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(missing)?;
    let flows = server::visible_flows().await?;
    let flow = flows.get(&execution.flow).ok_or_else(missing)?;
    let steps = store
        .execution_steps(id)
        .await
        .map_err(AppError::from_store)?;
    let catalog = domain::flows::catalog::catalog();
    Ok(ExecutionView {
        summary: server::summary(&execution, flow),
        input: execution.input.clone(),
        output: execution.output.clone(),
        cards: steps
            .into_iter()
            .map(|s| CardRecord {
                card_name: catalog
                    .get(&s.card_kind)
                    .map(|c| c.name.to_string())
                    .unwrap_or_else(|| s.card_kind.clone()),
                card_id: s.card_id,
                card_kind: s.card_kind,
                status: s.status,
                attempt: s.attempt,
                inputs: s.inputs,
                outputs: s.outputs,
                error: s.error,
                started_at: s.started_at,
                finished_at: s.finished_at,
            })
            .collect(),
    })
}
