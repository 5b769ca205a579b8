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
    /// Started by an API Endpoint trigger: other systems call it with a secret.
    pub api: bool,
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
    /// The folder it is in (id, name); none at the top level.
    pub folder: Option<(String, String)>,
    /// Who it acts for: whoever last saved it or turned it on.
    pub acts_for: String,
}

/// A folder as the Flows tab shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderItem {
    pub id: String,
    pub name: String,
    /// How many flows it holds that the caller may see.
    pub flows: usize,
    /// Who holds a grant on it ("ann@example.com · Runner", "group HR team · Reader").
    pub grants: Vec<String>,
    /// The caller may rename it and share it (Folder Manager, or an administrator).
    pub can_manage: bool,
    /// The caller may move flows into it.
    pub can_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowList {
    /// The flows on this page.
    pub flows: Vec<FlowRow>,
    /// How many flows the search found (on every page).
    pub matched: usize,
    /// This page's number, from 1.
    pub page: usize,
    /// How many flows the caller may see in all (before the search).
    pub total: usize,
    /// The caller may import flows (at the top level) and create folders.
    pub can_import: bool,
    /// The folders the caller may see, by name.
    pub folders: Vec<FolderItem>,
    /// The connections a template installed at the top level may use: (id, name, kind).
    pub connections: Vec<(String, String, String)>,
}

/// Flows on one page of the Flows tab.
pub const FLOWS_PAGE: usize = 50;

/// The flows the caller may see whose name, description or trigger contains `q`
/// (ignoring case); only those in `folder` when given (a folder's id, or `top` for the
/// top level); page `page` (from 1) of [`FLOWS_PAGE`], the most recently changed first
/// (or by name, with `sort` `name`).
#[server(endpoint = "flows/list")]
pub async fn list_flows(
    q: Option<String>,
    folder: Option<String>,
    sort: Option<String>,
    page: Option<usize>,
) -> Result<FlowList, AppError> {
    use domain::access::{FolderRole, Permission};
    use domain::assignments::Grantee;
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
    let folders = store.folders().await.map_err(AppError::from_store)?;
    let grants = store.folder_grants().await.map_err(AppError::from_store)?;
    let folder_name = |id: uuid::Uuid| folders.iter().find(|f| f.id == id).map(|f| f.name.clone());
    let mut folder_items = Vec::new();
    for f in &folders {
        let Some(held) = rights.in_folder(f.id) else {
            continue;
        };
        let mut who = Vec::new();
        for g in grants.iter().filter(|g| g.folder_id == f.id) {
            let name = match &g.to {
                Grantee::User(id) => store
                    .user(*id)
                    .await
                    .map_err(AppError::from_store)?
                    .map_or_else(|| "a removed user".to_string(), |u| u.user_name),
                Grantee::Group { name, .. } => format!("group {name}"),
            };
            who.push(format!("{name} · {}", g.grant.label()));
        }
        folder_items.push(FolderItem {
            id: f.id.to_string(),
            name: f.name.clone(),
            flows: visible.iter().filter(|v| v.folder == Some(f.id)).count(),
            grants: who,
            can_manage: held >= FolderRole::Manager,
            can_edit: rights.on_flow(Permission::EditFlows, Some(f.id)),
        });
    }
    let in_folder = |f: &domain::store::FlowSummary| match folder.as_deref() {
        None | Some("") => true,
        Some("top") => f.folder.is_none(),
        Some(id) => f.folder.is_some_and(|x| x.to_string() == id),
    };
    let q = q.map(|q| q.trim().to_lowercase()).unwrap_or_default();
    // The people the flows act for, each looked up once.
    let mut owners: std::collections::HashMap<Option<domain::directory::UserId>, String> =
        Default::default();
    for f in &visible {
        if let std::collections::hash_map::Entry::Vacant(slot) = owners.entry(f.owner) {
            slot.insert(crate::executions::person(&store, f.owner).await?);
        }
    }
    let mut visible = visible;
    match sort.as_deref() {
        Some("name") => visible.sort_by_key(|f| (f.name.to_lowercase(), f.id)),
        _ => visible.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.name.cmp(&b.name))),
    }
    let flows: Vec<FlowRow> = visible
        .into_iter()
        .filter_map(|f| {
            let definition = definitions.get(&f.id)?;
            let trigger = catalog
                .get(&f.trigger_kind)
                .map_or_else(|| f.trigger_kind.clone(), |c| c.name.to_string());
            let matches = in_folder(f)
                && (q.is_empty()
                    || f.name.to_lowercase().contains(&q)
                    || definition.description.to_lowercase().contains(&q)
                    || trigger.to_lowercase().contains(&q));
            matches.then(|| FlowRow {
                id: f.id.to_string(),
                name: f.name.clone(),
                description: definition.description.clone(),
                trigger,
                manual: f.trigger_kind == "trigger.manual",
                api: f.trigger_kind == "trigger.api_endpoint",
                enabled: f.enabled,
                version: f.version,
                updated_at: f.updated_at,
                last_run: last_runs
                    .get(&f.id)
                    .map(|(id, status, at)| (id.to_string(), status.clone(), *at)),
                used_by: used_by(f),
                can_edit: rights.on_flow(Permission::EditFlows, f.folder),
                can_run: rights.on_flow(Permission::RunFlows, f.folder),
                folder: f
                    .folder
                    .and_then(|id| folder_name(id).map(|name| (id.to_string(), name))),
                acts_for: owners.get(&f.owner).cloned().unwrap_or_default(),
            })
        })
        .collect();
    let matched = flows.len();
    let pages = matched.div_ceil(FLOWS_PAGE).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    let flows = flows
        .into_iter()
        .skip((page - 1) * FLOWS_PAGE)
        .take(FLOWS_PAGE)
        .collect();
    let can_import = rights.on_flow(Permission::EditFlows, None);
    let connections = if can_import {
        store
            .connections()
            .await
            .map_err(AppError::from_store)?
            .into_iter()
            .filter(|c| c.usable_in(None))
            .map(|c| (c.id.to_string(), c.name, c.kind))
            .collect()
    } else {
        Vec::new()
    };
    Ok(FlowList {
        flows,
        matched,
        page,
        total,
        can_import,
        folders: folder_items,
        connections,
    })
}

pub const VERSIONS_PATH: &str = "/api/flows/versions";

/// A version as the versions page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    pub version: i64,
    pub author: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// How many cards it has, lanes included.
    pub cards: usize,
}

/// One version shown whole: its cards in order and its stable JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShownVersion {
    pub version: i64,
    /// "1 · Remove User from All Groups", indented by lane.
    pub cards: Vec<String>,
    pub json: String,
}

/// Two versions compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub older: i64,
    pub newer: i64,
    pub changes: Vec<domain::flows::compare::Change>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionsView {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub current: i64,
    /// Newest first.
    pub versions: Vec<VersionRow>,
    pub shown: Option<ShownVersion>,
    pub compared: Option<Comparison>,
    /// The current version's problems, each a sentence.
    pub problems: Vec<String>,
    /// The current version's JSON, for editing.
    pub current_json: String,
    /// The caller may save new versions and restore old ones.
    pub can_edit: bool,
}

/// The versions of flow `id`, newest first; with version `view` shown whole, and
/// versions `a` and `b` compared (the older one first, whichever way they are given).
#[server(endpoint = "flows/versions")]
pub async fn versions_of_flow(
    id: String,
    view: Option<i64>,
    a: Option<i64>,
    b: Option<i64>,
) -> Result<VersionsView, AppError> {
    use domain::access::Permission;
    use domain::flows::{Card, OnError};
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let summary = crate::session::visible_flow(&store, &caller, &id).await?;
    let id = summary.id;
    let versions = store
        .flow_versions(id)
        .await
        .map_err(AppError::from_store)?;
    let find = |n: i64| {
        versions
            .iter()
            .find(|v| v.version == n)
            .ok_or_else(|| AppError::NotFound(format!("{} has no version {n}.", summary.name)))
    };
    let catalog = domain::flows::catalog::catalog();
    let shown = match view {
        Some(n) => {
            let version = find(n)?;
            fn walk(cards: &[Card], depth: usize, out: &mut Vec<String>) {
                let catalog = domain::flows::catalog::catalog();
                for card in cards {
                    let name = catalog
                        .get(&card.kind)
                        .map_or_else(|| card.kind.clone(), |s| s.name.to_string());
                    out.push(format!("{}{} · {name}", "    ".repeat(depth), card.id.0));
                    for lane in &card.lanes {
                        out.push(format!("{}lane {}:", "    ".repeat(depth + 1), lane.name));
                        walk(&lane.cards, depth + 2, out);
                    }
                    if let OnError::ErrorLane { cards } = &card.on_error {
                        out.push(format!("{}error lane:", "    ".repeat(depth + 1)));
                        walk(cards, depth + 2, out);
                    }
                }
            }
            let mut cards = Vec::new();
            walk(&version.definition.cards, 0, &mut cards);
            Some(ShownVersion {
                version: n,
                cards,
                json: version.definition.to_stable_json(),
            })
        }
        None => None,
    };
    let compared = match (a, b) {
        (Some(a), Some(b)) => {
            let (older, newer) = (a.min(b), a.max(b));
            Some(Comparison {
                older,
                newer,
                changes: domain::flows::compare::compare(
                    &find(older)?.definition,
                    &find(newer)?.definition,
                ),
            })
        }
        _ => None,
    };
    let current = find(summary.version)?;
    let problems = domain::flows::validate::validate(&current.definition, catalog)
        .into_iter()
        .map(|p| p.message)
        .collect();
    Ok(VersionsView {
        id: summary.id.to_string(),
        name: summary.name.clone(),
        enabled: summary.enabled,
        current: summary.version,
        current_json: current.definition.to_stable_json(),
        problems,
        shown,
        compared,
        can_edit: caller.rights.on_flow(Permission::EditFlows, summary.folder),
        versions: versions
            .iter()
            .map(|v| VersionRow {
                version: v.version,
                author: v.author.clone(),
                created_at: v.created_at,
                cards: v.definition.all_cards().len(),
            })
            .collect(),
    })
}

pub const API_ACCESS_PATH: &str = "/api/flows/api-access";

/// How other systems call a flow: its invoke and resume URLs and its API secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiAccess {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// It starts with an API Endpoint trigger (so it can be called).
    pub api_trigger: bool,
    /// Its API Endpoint answers with what the flow returns.
    pub synchronous: bool,
    /// It has a Pause card, resumed through the resume URL.
    pub pauses: bool,
    pub invoke_url: String,
    /// The resume URL, with `{execution_id}` for the paused execution's id.
    pub resume_url: String,
    /// The secrets that work now, newest first.
    pub secrets: Vec<SecretRow>,
    /// A secret just made, shown this once.
    pub new_secret: Option<String>,
    /// The viewer may make and revoke secrets.
    pub can_edit: bool,
}

/// One of a flow's API secrets (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRow {
    pub made_at: chrono::DateTime<chrono::Utc>,
    /// Who made it, or empty.
    pub made_by: String,
    /// When a rotation's grace period ends it; `None`: until rotated or revoked.
    pub valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// The API page of flow `id`.
#[server(endpoint = "flows/api-access")]
pub async fn flow_api_access(id: String) -> Result<ApiAccess, AppError> {
    use domain::access::Permission;
    use domain::flows::Binding;
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let summary = crate::session::visible_flow(&store, &caller, &id).await?;
    let definition = store
        .flow_definition(summary.id, summary.version)
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(|| AppError::NotFound("There is no such flow.".into()))?;
    let secrets = store
        .flow_secrets(summary.id)
        .await
        .map_err(AppError::from_store)?
        .into_iter()
        .map(|secret| SecretRow {
            made_at: secret.made_at,
            made_by: secret.made_by,
            valid_until: secret.valid_until,
        })
        .collect();
    let can_edit = caller.rights.on_flow(Permission::EditFlows, summary.folder);
    let new_secret = if can_edit {
        crate::session::take_new_secret(&crate::session::flow_secret_about(summary.id))
            .await?
            .map(|shown| shown.secret)
    } else {
        None
    };
    let base = use_context::<crate::session::PublicUrl>()
        .map(|u| u.0)
        .unwrap_or_default();
    let base = base.trim_end_matches('/');
    Ok(ApiAccess {
        id: summary.id.to_string(),
        name: summary.name.clone(),
        enabled: summary.enabled,
        api_trigger: definition.trigger.kind == "trigger.api_endpoint",
        synchronous: matches!(
            definition.trigger.options.get("synchronous"),
            Some(Binding::Literal {
                value: serde_json::Value::Bool(true)
            })
        ),
        pauses: definition
            .all_cards()
            .iter()
            .any(|card| card.kind == "flow.pause"),
        invoke_url: format!("{base}/api/v1/flows/{}/invoke", summary.id),
        resume_url: format!("{base}/api/v1/executions/{{execution_id}}/resume"),
        secrets,
        new_secret,
        can_edit,
    })
}

pub const TEST_FORM_PATH: &str = "/api/flows/test-form";

/// What Test Flow needs: the trigger's fields to type sample input into (filled from a
/// past execution when one is chosen), and the recent executions to choose from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestInput {
    pub id: String,
    pub name: String,
    /// The trigger's name ("User Deactivated").
    pub trigger: String,
    pub version: i64,
    /// Each field with the value to show.
    pub fields: Vec<(domain::flows::sample::SampleField, String)>,
    /// Recent executions whose input can be taken: id and a label.
    pub past: Vec<(String, String)>,
    /// The execution the values were taken from.
    pub from: Option<String>,
    /// The directory user the trigger's user fields were filled from.
    #[serde(default)]
    pub user: Option<String>,
    /// The trigger gives a user (its fields can be filled from the directory).
    #[serde(default)]
    pub gives_user: bool,
    /// The current version's problems, each a sentence.
    pub problems: Vec<String>,
}

/// The Test Flow form of flow `id`, with the values of execution `from` when given, or
/// with the trigger's user as the directory has user `user` now (for those who may see
/// the directory).
#[server(endpoint = "flows/test-form")]
pub async fn test_setup(
    id: String,
    from: Option<String>,
    user: Option<String>,
) -> Result<TestInput, AppError> {
    use domain::access::Permission;
    use domain::flows::sample::{sample_fields, sample_value};
    use domain::store::ExecutionFilter;
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let summary = crate::session::visible_flow(&store, &caller, &id).await?;
    let id = summary.id;
    if !caller.rights.on_flow(Permission::EditFlows, summary.folder) {
        return Err(AppError::Forbidden);
    }
    let definition = store
        .flow_definition(id, summary.version)
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(|| AppError::NotFound("There is no such flow.".into()))?;
    let catalog = domain::flows::catalog::catalog();
    let trigger = catalog.get(&definition.trigger.kind).ok_or_else(|| {
        AppError::BadRequest(format!(
            "The trigger {:?} is not one idflow knows, so it has no fields to test with.",
            definition.trigger.kind
        ))
    })?;
    let recent = store
        .executions(&ExecutionFilter {
            flow: Some(id),
            limit: 20,
            ..ExecutionFilter::default()
        })
        .await
        .map_err(AppError::from_store)?;
    let chosen = match from.as_deref().filter(|f| !f.is_empty()) {
        Some(from) => {
            let execution = uuid::Uuid::parse_str(from)
                .ok()
                .map(domain::engine::ExecutionId);
            let found = match execution {
                Some(e) => store.execution(e).await.map_err(AppError::from_store)?,
                None => None,
            };
            Some(found.filter(|e| e.flow == id).ok_or_else(|| {
                AppError::NotFound("That execution is not one of this flow's.".into())
            })?)
        }
        None => None,
    };
    let person = match user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(name) => {
            if !caller.rights.allows(Permission::ViewDirectory) {
                return Err(AppError::Forbidden);
            }
            let found = store
                .user_by_name(name)
                .await
                .map_err(AppError::from_store)?;
            Some(found.ok_or_else(|| {
                AppError::NotFound(format!("There is no user with the user name {name:?}."))
            })?)
        }
        None => None,
    };
    let filled = person
        .as_ref()
        .map(|u| serde_json::json!({ "user": domain::engine::user_value(u) }));
    let fields: Vec<_> = sample_fields(trigger)
        .into_iter()
        .map(|field| {
            let from_user = filled
                .as_ref()
                .filter(|_| field.path.starts_with("user."))
                .map(|input| sample_value(input, &field.path));
            let value = from_user
                .or_else(|| chosen.as_ref().map(|e| sample_value(&e.input, &field.path)))
                .unwrap_or_default();
            (field, value)
        })
        .collect();
    let gives_user = fields
        .iter()
        .any(|(field, _)| field.path.starts_with("user."));
    Ok(TestInput {
        id: summary.id.to_string(),
        name: summary.name.clone(),
        trigger: trigger.name.to_string(),
        version: summary.version,
        fields,
        past: recent
            .iter()
            .map(|e| {
                let label = format!(
                    "{} · {}{}",
                    e.queued_at.format("%Y-%m-%d %H:%M UTC"),
                    e.status,
                    e.subject
                        .as_ref()
                        .map(|s| format!(" · {s}"))
                        .unwrap_or_default()
                );
                (e.id.to_string(), label)
            })
            .collect(),
        from: chosen.map(|e| e.id.to_string()),
        user: person.map(|u| u.user_name),
        gives_user,
        problems: domain::flows::validate::validate(&definition, catalog)
            .into_iter()
            .map(|p| p.message)
            .collect(),
    })
}
