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
pub const PROGRESS_PATH: &str = "/api/executions/progress";

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
    /// Started by Test Flow.
    #[serde(default)]
    pub test: bool,
    /// A dry run: its cards changed nothing.
    #[serde(default)]
    pub dry_run: bool,
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
    /// In a dry run: what the card would have done, had it not been one.
    #[serde(default)]
    pub would: Option<domain::engine::dry_run::Note>,
}

/// A helper flow's execution, linked from the card that started it (Call Flow, For
/// Each), or the execution that started this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelperLink {
    pub execution_id: String,
    /// The card of the calling execution that started the helper.
    pub card_id: u32,
    /// The item's place in a For Each (0 for Call Flow).
    pub index: i64,
    /// The helper's flow (for `helpers`) or the caller's (for `parent`).
    pub flow_name: String,
    pub status: String,
}

/// One execution with everything it recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionView {
    pub summary: ExecutionSummary,
    pub input: Value,
    pub output: Option<Value>,
    pub cards: Vec<CardRecord>,
    /// The execution that started this one, when a helper flow's.
    pub parent: Option<HelperLink>,
    /// The helper executions its cards started, by card and item (those the caller may
    /// see).
    pub helpers: Vec<HelperLink>,
    /// The caller may cancel and re-run it.
    pub can_run: bool,
    /// The caller may approve it past the blast-radius guard.
    pub can_approve: bool,
    /// While the guard holds it: the card waiting ("1 · Deactivate User") and the users
    /// it would act on ("Ada Lovelace (ada@example.com)").
    pub at_stake: Option<(String, Vec<String>)>,
    /// Whom it acted for: its directory cards may do only what this person may do.
    pub acted_for: String,
}

#[cfg(feature = "ssr")]
pub use server::{SeenFlows, person, seen_flows};

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use domain::access::Permission;
    use domain::flows::FlowId;
    use domain::store::{ExecutionRecord, FlowSummary};
    use std::collections::HashMap;

    /// How the console names the person a flow or an execution acts for.
    pub async fn person(
        store: &domain::store::Store,
        id: Option<domain::directory::UserId>,
    ) -> Result<String, AppError> {
        Ok(match id {
            None => "nobody (it may not change the directory)".to_string(),
            Some(id) => match store.user(id).await.map_err(AppError::from_store)? {
                Some(user) => user.user_name,
                None => "a user who no longer exists".to_string(),
            },
        })
    }

    /// What the paused `execution` waits to do, and to whom (names looked up where the
    /// directory has them).
    pub async fn at_stake(
        store: &domain::store::Store,
        execution: &ExecutionRecord,
    ) -> Result<Option<(String, Vec<String>)>, AppError> {
        let Some(definition) = store
            .flow_definition(execution.flow, execution.flow_version)
            .await
            .map_err(AppError::from_store)?
        else {
            return Ok(None);
        };
        let Some((card, kind, users)) =
            domain::engine::users_at_stake(&definition, &execution.progress)
        else {
            return Ok(None);
        };
        let name = domain::flows::catalog::catalog()
            .get(&kind)
            .map_or(kind.clone(), |c| c.name.to_string());
        let mut shown = Vec::new();
        for user in users {
            let found = match uuid::Uuid::parse_str(&user) {
                Ok(id) => store.user(domain::directory::UserId(id)).await,
                Err(_) => store.user_by_name(&user).await,
            }
            .map_err(AppError::from_store)?;
            shown.push(match found {
                Some(u) => match u.display_name.filter(|d| !d.trim().is_empty()) {
                    Some(name) => format!("{name} ({})", u.user_name),
                    None => u.user_name,
                },
                None => format!("{user} (not in the directory)"),
            });
        }
        Ok(Some((format!("{} · {name}", card.0), shown)))
    }

    /// The flows whose executions the caller may see, by id.
    pub async fn visible_flows() -> Result<HashMap<FlowId, FlowSummary>, AppError> {
        Ok(seen_flows().await?.by_id)
    }

    /// The flows whose executions the caller may see, and what a store search of
    /// executions is limited to for them (`None`: they see every flow's).
    pub struct SeenFlows {
        pub by_id: HashMap<FlowId, FlowSummary>,
        pub only: Option<Vec<FlowId>>,
    }

    /// The caller's [`SeenFlows`], from one read of the flows.
    pub async fn seen_flows() -> Result<SeenFlows, AppError> {
        let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
        let all = crate::session::store()?
            .flows()
            .await
            .map_err(AppError::from_store)?;
        let count = all.len();
        let by_id: HashMap<FlowId, FlowSummary> = all
            .into_iter()
            .filter(|f| caller.rights.on_flow(Permission::ViewExecutions, f.folder))
            .map(|f| (f.id, f))
            .collect();
        let only = (by_id.len() < count).then(|| by_id.keys().copied().collect());
        Ok(SeenFlows { by_id, only })
    }

    /// The flows the caller holds `permission` on: every flow through a role, or the
    /// flows in folders whose grant opens it.
    pub async fn flows_where(
        permission: Permission,
    ) -> Result<HashMap<FlowId, FlowSummary>, AppError> {
        let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
        let flows = crate::session::store()?
            .flows()
            .await
            .map_err(AppError::from_store)?;
        Ok(flows
            .into_iter()
            .filter(|f| caller.rights.on_flow(permission, f.folder))
            .map(|f| (f.id, f))
            .collect())
    }

    /// The execution `id`, if the caller holds `permission` on its flow (else: not found).
    pub async fn execution_where(
        id: &str,
        permission: Permission,
    ) -> Result<ExecutionRecord, AppError> {
        let missing = || AppError::NotFound("There is no such execution.".into());
        let id = domain::engine::ExecutionId(uuid::Uuid::parse_str(id).map_err(|_| missing())?);
        let execution = crate::session::store()?
            .execution(id)
            .await
            .map_err(AppError::from_store)?
            .ok_or_else(missing)?;
        if !flows_where(permission).await?.contains_key(&execution.flow) {
            return Err(missing());
        }
        Ok(execution)
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
            test: e.test,
            dry_run: e.dry_run,
        }
    }
}

/// Executions on one page of the Executions tab.
pub const PAGE_SIZE: i64 = 50;

/// Executions are counted up to this many; beyond it the page says "more than".
pub const COUNT_CAP: i64 = 10_000;

/// One page of executions, newest first, with where it stands among all that match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionList {
    pub items: Vec<ExecutionSummary>,
    /// How many match in all, counted up to [`COUNT_CAP`].
    pub total: i64,
    /// The count stopped at [`COUNT_CAP`]: there are at least that many.
    pub more_than: bool,
    /// The position of the page's first execution among them, from 1.
    pub first: i64,
    /// The next (older) page's cursor, when there is one.
    pub older: Option<String>,
}

/// Executions, newest first: of one flow, in one status, about one subject, carrying a
/// value (a user id or an email), within the last hours; a page of
/// [`PAGE_SIZE`], older than the cursor `before` (whose page starts at position `first`).
#[server(endpoint = "executions/list")]
pub async fn list_executions(
    flow: Option<String>,
    status: Option<String>,
    subject: Option<String>,
    carried: Option<String>,
    within_hours: Option<i64>,
    before: Option<String>,
    first: Option<i64>,
) -> Result<ExecutionList, AppError> {
    use domain::flows::FlowId;
    use domain::store::{ExecutionFilter, execution_cursor, parse_execution_cursor};
    let store = crate::session::store()?;
    let server::SeenFlows { by_id: flows, only } = server::seen_flows().await?;
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
    let before = match before.filter(|b| !b.is_empty()) {
        Some(b) => Some(parse_execution_cursor(&b).ok_or_else(|| {
            AppError::BadRequest(
                "That page link is not one idflow made; start again from the newest.".into(),
            )
        })?),
        None => None,
    };
    let filter = ExecutionFilter {
        flow,
        status,
        subject: subject.filter(|s| !s.is_empty()),
        carried: carried
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty()),
        // "The last N hours", reckoned on the server's clock.
        since: within_hours
            .filter(|h| *h > 0)
            .map(|hours| chrono::Utc::now() - chrono::Duration::hours(hours)),
        before,
        // One more than a page: whether an older page exists.
        limit: PAGE_SIZE + 1,
        // Only the flows the caller may see, chosen in the database.
        flows: only,
    };
    let mut executions = store
        .executions(&filter)
        .await
        .map_err(AppError::from_store)?;
    let older = (executions.len() as i64 > PAGE_SIZE).then(|| {
        executions.truncate(PAGE_SIZE as usize);
        executions.last().map(execution_cursor)
    });
    let total = store
        .count_executions(&filter, COUNT_CAP)
        .await
        .map_err(AppError::from_store)?;
    Ok(ExecutionList {
        items: executions
            .iter()
            .filter_map(|e| flows.get(&e.flow).map(|f| server::summary(e, f)))
            .collect(),
        total,
        more_than: total >= COUNT_CAP,
        first: if filter.before.is_some() {
            first.unwrap_or(1).max(1)
        } else {
            1
        },
        older: older.flatten(),
    })
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
    let link = |e: &domain::store::ExecutionRecord, card_id: u32, index: i64| {
        flows.get(&e.flow).map(|f| HelperLink {
            execution_id: e.id.to_string(),
            card_id,
            index,
            flow_name: f.name.clone(),
            status: e.status.as_str().to_string(),
        })
    };
    let parent = match execution.parent {
        Some(p) => store
            .execution(p.execution)
            .await
            .map_err(AppError::from_store)?
            .and_then(|caller| link(&caller, p.card, p.index)),
        None => None,
    };
    let helpers = store
        .helper_executions(id)
        .await
        .map_err(AppError::from_store)?
        .iter()
        .filter_map(|h| {
            let p = h.parent?;
            link(h, p.card, p.index)
        })
        .collect();
    let rights = crate::session::request_caller()
        .map(|c| c.rights)
        .unwrap_or_default();
    let at_stake = match execution.status {
        domain::engine::Status::Paused => server::at_stake(&store, &execution).await?,
        _ => None,
    };
    let acted_for = server::person(&store, execution.acting_for).await?;
    Ok(ExecutionView {
        acted_for,
        at_stake,
        parent,
        helpers,
        can_run: rights.on_flow(domain::access::Permission::RunFlows, flow.folder),
        can_approve: rights.allows(domain::access::Permission::ManageDirectory),
        summary: server::summary(&execution, flow),
        input: execution.input.clone(),
        // `Some(null)` would come back as `None` on the client and break hydration.
        output: execution.output.clone().filter(|o| !o.is_null()),
        cards: steps
            .into_iter()
            .map(|s| CardRecord {
                card_name: catalog
                    .get(&s.card_kind)
                    .map(|c| c.name.to_string())
                    .unwrap_or_else(|| s.card_kind.clone()),
                card_id: s.card_id,
                would: s
                    .outputs
                    .as_ref()
                    .and_then(domain::engine::dry_run::Note::of),
                card_kind: s.card_kind,
                status: s.status,
                attempt: s.attempt,
                inputs: s.inputs.filter(|v| !v.is_null()),
                outputs: s.outputs.filter(|v| !v.is_null()),
                error: s.error,
                started_at: s.started_at,
                finished_at: s.finished_at,
            })
            .collect(),
    })
}

/// How far execution `id` is: its status and how many cards it has run. The execution's
/// page asks this every two seconds while the execution has not ended, and reloads what
/// it shows when the answer changes.
#[server(endpoint = "executions/progress")]
pub async fn execution_progress(id: String) -> Result<(String, i64), AppError> {
    use domain::access::Permission;
    let execution = server::execution_where(&id, Permission::ViewExecutions).await?;
    Ok((execution.status.as_str().to_string(), execution.steps))
}
