//! The builder's server side: what it opens with (the flow's current version, the tables
//! and helper flows its cards can name), the catalog's validation of the flow being
//! edited, and saving it as a new version (or as a new flow). Definitions travel as JSON
//! text: a literal may be `null`, which a typed value would lose on the way.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const SETUP_PATH: &str = "/api/builder/setup";
pub const CHECK_PATH: &str = "/api/builder/check";
pub const SAVE_PATH: &str = "/api/builder/save";

/// A table a Tables card may name, with its columns (name, type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableColumns {
    pub name: String,
    pub columns: Vec<(String, domain::tables::ColumnType)>,
}

/// What the builder opens with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuilderData {
    /// `None` for a flow not saved yet.
    pub flow_id: Option<String>,
    /// The version the editor starts from (0 for a new flow).
    pub version: i64,
    /// The definition, as JSON.
    pub definition: String,
    pub enabled: bool,
    /// The caller may save (else the builder shows the flow read-only).
    pub can_edit: bool,
    pub tables: Vec<TableColumns>,
    /// The helper flows a Call Flow or For Each card may call (or that may be the
    /// flow's error flow): (id, name).
    pub helpers: Vec<(String, String)>,
    /// The connections a card may use: (id, name, kind).
    pub connections: Vec<(String, String, String)>,
    /// The definition's problems as it opens.
    pub problems: Vec<ProblemView>,
    /// The newest Test Flow run, shown on each card (for those who may read history).
    pub last_test: Option<LastTest>,
}

/// What one card did in the flow's newest Test Flow run, as the card shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestedCard {
    pub card: u32,
    pub status: String,
    /// Pretty JSON (a test keeps every card's inputs and outputs).
    pub inputs: Option<String>,
    pub outputs: Option<String>,
    pub error: Option<String>,
}

/// The flow's newest Test Flow run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastTest {
    pub execution_id: String,
    pub status: String,
    pub version: i64,
    pub cards: Vec<TestedCard>,
}

/// One problem of the flow being edited, where the builder shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemView {
    /// The card it is on; `None` for the trigger or the flow.
    pub card: Option<u32>,
    /// Whether it is the trigger's.
    pub trigger: bool,
    pub input: Option<String>,
    pub message: String,
    /// A warning (a loop), which does not keep the flow from being turned on.
    pub warning: bool,
}

/// What a save made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub flow_id: String,
    pub version: i64,
    pub enabled: bool,
    /// The flow was on and the new version has problems, so it is off now.
    pub turned_off: bool,
    /// How the saved flow can start itself again (loop warnings), each naming its card.
    pub warnings: Vec<String>,
}

/// The builder's starting point: flow `id`'s current version, or an empty flow when
/// `id` is `new`.
#[server(endpoint = "builder/setup")]
pub async fn builder_setup(id: String) -> Result<BuilderData, AppError> {
    use domain::access::Permission;
    use domain::flows::{Flow, FlowId};
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let rights = &caller.rights;
    let flows = store.flows().await.map_err(AppError::from_store)?;
    let helpers = flows
        .iter()
        .filter(|f| {
            f.trigger_kind == "trigger.helper" && rights.on_flow(Permission::ViewFlows, f.folder)
        })
        .map(|f| (f.id.to_string(), f.name.clone()))
        .collect();
    let tables = store
        .tables()
        .await
        .map_err(AppError::from_store)?
        .into_iter()
        .filter(|t| rights.on_flow(Permission::ViewTables, t.folder))
        .map(|t| TableColumns {
            name: t.schema.name,
            columns: t
                .schema
                .columns
                .into_iter()
                .map(|c| (c.name, c.ty))
                .collect(),
        })
        .collect();
    // Only the connections shared with the flow's folder: the others would be refused.
    let all_connections = store.connections().await.map_err(AppError::from_store)?;
    let connections_in = |folder: Option<uuid::Uuid>| -> Vec<(String, String, String)> {
        all_connections
            .iter()
            .filter(|c| c.usable_in(folder))
            .map(|c| (c.id.to_string(), c.name.clone(), c.kind.clone()))
            .collect()
    };
    if id == "new" {
        if !rights.on_flow(Permission::EditFlows, None) {
            return Err(AppError::Forbidden);
        }
        let empty = Flow::new("", "");
        return Ok(BuilderData {
            flow_id: None,
            version: 0,
            definition: empty.to_stable_json(),
            enabled: false,
            can_edit: true,
            problems: problem_views(&store, &caller, None, &empty).await?,
            last_test: None,
            tables,
            helpers,
            connections: connections_in(None),
        });
    }
    let missing = || AppError::NotFound("There is no such flow.".into());
    let id = FlowId(uuid::Uuid::parse_str(&id).map_err(|_| missing())?);
    let summary = flows
        .iter()
        .find(|f| f.id == id && rights.on_flow(Permission::ViewFlows, f.folder))
        .ok_or_else(missing)?;
    let current = store
        .flow_version(id, None)
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(missing)?;
    let last_test = if rights.on_flow(Permission::ViewExecutions, summary.folder) {
        last_test(&store, id).await?
    } else {
        None
    };
    Ok(BuilderData {
        last_test,
        problems: problem_views(&store, &caller, Some(id), &current.definition).await?,
        flow_id: Some(id.to_string()),
        version: current.version,
        definition: current.definition.to_stable_json(),
        enabled: summary.enabled,
        can_edit: rights.on_flow(Permission::EditFlows, summary.folder),
        tables,
        helpers,
        connections: connections_in(summary.folder),
    })
}

/// The newest Test Flow run of flow `id` among its latest executions.
#[cfg(feature = "ssr")]
async fn last_test(
    store: &domain::store::Store,
    id: domain::flows::FlowId,
) -> Result<Option<LastTest>, AppError> {
    let pretty = |v: Option<serde_json::Value>| {
        v.filter(|v| !v.is_null())
            .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
    };
    let recent = store
        .executions(&domain::store::ExecutionFilter {
            flow: Some(id),
            limit: 50,
            ..Default::default()
        })
        .await
        .map_err(AppError::from_store)?;
    let Some(test) = recent.into_iter().find(|e| e.test) else {
        return Ok(None);
    };
    let steps = store
        .execution_steps(test.id)
        .await
        .map_err(AppError::from_store)?;
    Ok(Some(LastTest {
        execution_id: test.id.to_string(),
        status: test.status.as_str().to_string(),
        version: test.flow_version,
        cards: steps
            .into_iter()
            .map(|s| TestedCard {
                card: s.card_id,
                status: s.status,
                inputs: pretty(s.inputs),
                outputs: pretty(s.outputs),
                error: s.error,
            })
            .collect(),
    }))
}

/// Reads a definition sent by the builder.
#[cfg(feature = "ssr")]
fn read_definition(text: &str) -> Result<domain::flows::Flow, AppError> {
    const MAX_DEFINITION: usize = 1 << 20;
    if text.len() > MAX_DEFINITION {
        return Err(AppError::BadRequest(
            "The flow is larger than 1 MB; split it into helper flows.".into(),
        ));
    }
    serde_json::from_str(text)
        .map_err(|e| AppError::BadRequest(format!("The flow could not be read: {e}.")))
}

/// The catalog's problems with `definition` (of flow `id`, when saved), each on its card,
/// then its loop warnings.
#[server(endpoint = "builder/check")]
pub async fn check_flow(
    id: Option<String>,
    definition: String,
) -> Result<Vec<ProblemView>, AppError> {
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let flow = read_definition(&definition)?;
    let id = id.and_then(|id| id.parse().ok()).map(domain::flows::FlowId);
    problem_views(&store, &caller, id, &flow).await
}

/// The catalog's problems with `flow` (flow `id`, when saved), as the builder places them,
/// then how it can start itself again, as warnings.
#[cfg(feature = "ssr")]
async fn problem_views(
    store: &domain::store::Store,
    caller: &crate::session::Caller,
    id: Option<domain::flows::FlowId>,
    flow: &domain::flows::Flow,
) -> Result<Vec<ProblemView>, AppError> {
    use domain::flows::validate::{Place, Problem, validate};
    let view = |p: Problem, warning: bool| ProblemView {
        card: match p.at {
            Place::Card(id) => Some(id.0),
            _ => None,
        },
        trigger: p.at == Place::Trigger,
        input: p.input,
        message: p.message,
        warning,
    };
    let loops = loop_warnings(store, caller, id, flow).await?;
    Ok(validate(flow, domain::flows::catalog::catalog())
        .into_iter()
        .map(|p| view(p, false))
        .chain(loops.into_iter().map(|p| view(p, true)))
        .collect())
}

/// How `flow` (flow `id`, when saved) can start itself again.
#[cfg(feature = "ssr")]
async fn loop_warnings(
    store: &domain::store::Store,
    caller: &crate::session::Caller,
    id: Option<domain::flows::FlowId>,
    flow: &domain::flows::Flow,
) -> Result<Vec<domain::flows::validate::Problem>, AppError> {
    let acting = crate::session::acting(caller);
    domain::actions::flows::loop_warnings(store, &acting, id, flow)
        .await
        .map_err(crate::error::action_error)
}

/// The loop warnings of `flow` as sentences.
#[cfg(feature = "ssr")]
async fn warning_lines(
    store: &domain::store::Store,
    caller: &crate::session::Caller,
    id: Option<domain::flows::FlowId>,
    flow: &domain::flows::Flow,
) -> Result<Vec<String>, AppError> {
    Ok(loop_warnings(store, caller, id, flow)
        .await?
        .into_iter()
        .map(|p| format!("{}.", p.message))
        .collect())
}

/// Saves `definition` as the next version of flow `id`, edited from version `based_on`;
/// or, without `id`, as a new flow (off) at the top level. Refused with a sentence when
/// the name is missing or taken, or someone saved a newer version meanwhile.
#[server(endpoint = "builder/save")]
pub async fn save_flow(
    id: Option<String>,
    based_on: i64,
    definition: String,
) -> Result<Saved, AppError> {
    use domain::actions::{ActionError, flows};
    use domain::store::StoreError;
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let acting = crate::session::acting(&caller);
    let flow = read_definition(&definition)?;
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        let made = flows::create_flow(&store, &acting, &flow, None, None)
            .await
            .map_err(crate::error::action_error)?;
        return Ok(Saved {
            flow_id: made.id.to_string(),
            version: made.version,
            enabled: made.enabled,
            turned_off: false,
            warnings: warning_lines(&store, &caller, Some(made.id), &flow).await?,
        });
    };
    let summary = crate::session::visible_flow(&store, &caller, &id).await?;
    let why = format!("saved in the builder from version {based_on}");
    match flows::save_version(&store, &acting, &summary, &flow, based_on, why).await {
        Ok(saved) => Ok(Saved {
            flow_id: saved.flow.id.to_string(),
            version: saved.flow.version,
            enabled: saved.flow.enabled,
            turned_off: saved.turned_off,
            warnings: warning_lines(&store, &caller, Some(saved.flow.id), &flow).await?,
        }),
        Err(ActionError::Store(StoreError::PreconditionFailed { current })) => {
            Err(AppError::BadRequest(format!(
                "Someone saved version {current} while you were editing version {based_on}. \
                 Nothing was saved: open the flow again to see their change (copy yours from \
                 the JSON first if you need it)."
            )))
        }
        Err(ActionError::Store(StoreError::Conflict { .. })) => Err(AppError::BadRequest(format!(
            "A flow named \"{}\" already exists; choose another name.",
            flow.name.trim()
        ))),
        Err(err) => Err(crate::error::action_error(err)),
    }
}
