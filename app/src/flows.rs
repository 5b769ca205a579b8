//! The Flows tab's data: every flow the caller may see, with its trigger, on/off state,
//! newest execution and which flows use it. Changes (import, on/off, run, delete) are
//! plain form posts to the server's `flows` module.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const LIST_PATH: &str = "/api/flows/list";

/// A flow as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowRow {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The trigger's name ("User Deactivated").
    pub trigger: String,
    pub manual: bool,
    pub enabled: bool,
    pub version: i64,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The newest execution: id, status, when.
    pub last_run: Option<(String, String, chrono::DateTime<chrono::Utc>)>,
    /// The flows that call this one (Call Flow, For Each) or name it as their error flow.
    pub used_by: Vec<String>,
    /// The caller may turn it on or off and delete it.
    pub can_edit: bool,
    /// The caller may run it by hand (Manual flows).
    pub can_run: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowList {
    pub flows: Vec<FlowRow>,
    /// How many flows the caller may see in all (before the search).
    pub total: usize,
    /// The caller may import flows (at the top level).
    pub can_import: bool,
}

/// The flows the caller may see whose name, description or trigger contains `q`
/// (ignoring case), by name.
#[server(endpoint = "flows/list")]
pub async fn list_flows(q: Option<String>) -> Result<FlowList, AppError> {
    use domain::access::Permission;
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let catalog = domain::flows::catalog::catalog();
    let summaries = store.flows().await.map_err(AppError::from_store)?;
    let definitions: std::collections::HashMap<_, _> = store
        .current_definitions()
        .await
        .map_err(AppError::from_store)?
        .into_iter()
        .collect();
    let last_runs = store.last_runs().await.map_err(AppError::from_store)?;
    // Who uses whom, read once: each flow's references (a helper's id or name,
    // lowercased) to the names of the flows that make them.
    let mut users_of: std::collections::HashMap<String, Vec<String>> = Default::default();
    for other in &summaries {
        let Some(definition) = definitions.get(&other.id) else {
            continue;
        };
        for reference in definition.helper_references() {
            let names = users_of.entry(reference).or_default();
            if !names.contains(&other.name) {
                names.push(other.name.clone());
            }
        }
    }
    let used_by = |f: &domain::store::FlowSummary| -> Vec<String> {
        let mut names: Vec<String> = [f.id.to_string(), f.name.trim().to_lowercase()]
            .iter()
            .filter_map(|key| users_of.get(key))
            .flatten()
            .filter(|name| **name != f.name)
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let rights = &caller.rights;
    let visible: Vec<_> = summaries
        .iter()
        .filter(|f| rights.on_flow(Permission::ViewFlows, f.folder))
        .collect();
    let total = visible.len();
    let q = q.map(|q| q.trim().to_lowercase()).unwrap_or_default();
    let flows = visible
        .into_iter()
        .filter_map(|f| {
            let definition = definitions.get(&f.id)?;
            let trigger = catalog
                .get(&f.trigger_kind)
                .map_or_else(|| f.trigger_kind.clone(), |c| c.name.to_string());
            let matches = q.is_empty()
                || f.name.to_lowercase().contains(&q)
                || definition.description.to_lowercase().contains(&q)
                || trigger.to_lowercase().contains(&q);
            matches.then(|| FlowRow {
                id: f.id.to_string(),
                name: f.name.clone(),
                description: definition.description.clone(),
                trigger,
                manual: f.trigger_kind == "trigger.manual",
                enabled: f.enabled,
                version: f.version,
                updated_at: f.updated_at,
                last_run: last_runs
                    .get(&f.id)
                    .map(|(id, status, at)| (id.to_string(), status.clone(), *at)),
                used_by: used_by(f),
                can_edit: rights.on_flow(Permission::EditFlows, f.folder),
                can_run: rights.on_flow(Permission::RunFlows, f.folder),
            })
        })
        .collect();
    Ok(FlowList {
        flows,
        total,
        can_import: rights.on_flow(Permission::EditFlows, None),
    })
}
