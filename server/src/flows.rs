//! Form posts from the Flows tab: import a flow from its JSON, turn a flow on or off, run
//! a Manual flow by hand, delete a flow; and the JSON export. The entry-point table has
//! let the caller through on the permission somewhere; here it must hold on this flow's
//! folder, and a flow the caller may not see does not exist.

use crate::AppState;
use crate::forms::{Fields, Origin, done, refused, store_failed};
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Permission;
use domain::audit::{Action, Target};
use domain::flows::{Flow, FlowId};
use domain::store::{FlowSummary, NewExecution, StoreError};

const FLOWS: &str = "/flows";
/// The largest flow JSON accepted, in bytes.
const MAX_DEFINITION: usize = 1 << 20;

fn flow_target(flow: &FlowSummary) -> Target {
    Target {
        kind: "flow".into(),
        id: flow.id.to_string(),
        display: flow.name.clone(),
    }
}

/// The System Log's target for something being created (it has no id yet).
fn new_target(kind: &str, name: &str) -> Target {
    Target {
        kind: kind.into(),
        id: String::new(),
        display: name.to_string(),
    }
}

/// The flow `id`, when the caller holds `permission` on it; otherwise the answer to send.
async fn load(
    state: &AppState,
    origin: &Origin,
    id: &str,
    permission: Permission,
) -> Result<FlowSummary, Response> {
    let Ok(id) = uuid::Uuid::parse_str(id).map(FlowId) else {
        return Err(refused(FLOWS, "no-flow-here"));
    };
    let flow = match state.store.flow_summary(id).await {
        Ok(Some(flow)) => flow,
        Ok(None) => return Err(refused(FLOWS, "no-flow-here")),
        Err(err) => return Err(store_failed(FLOWS, err)),
    };
    let rights = origin.rights();
    if !rights.on_flow(Permission::ViewFlows, flow.folder) {
        return Err(refused(FLOWS, "no-flow-here"));
    }
    if !rights.on_flow(permission, flow.folder) {
        return Err(refused(FLOWS, "not-allowed"));
    }
    Ok(flow)
}

/// `POST /flows/import`: a flow from its JSON (as exported), created off, at the top
/// level.
pub async fn import(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    if !origin.rights().on_flow(Permission::EditFlows, None) {
        return refused(FLOWS, "not-allowed");
    }
    let fields = Fields::read(&state, request).await;
    let text = fields.get("definition");
    if text.is_empty() {
        return refused(FLOWS, "import-empty");
    }
    if text.len() > MAX_DEFINITION {
        return refused(FLOWS, "import-too-large");
    }
    let flow: Flow = match serde_json::from_str(text) {
        Ok(flow) => flow,
        Err(e) => {
            tracing::info!(error = %e, "a flow import was not a flow's JSON");
            return refused(FLOWS, "import-not-a-flow");
        }
    };
    if flow.name.trim().is_empty() {
        return refused(FLOWS, "import-no-name");
    }
    let author = origin
        .user()
        .map(|u| u.user_name.clone())
        .unwrap_or_default();
    let audit = origin.entry(Action::FlowCreate, new_target("flow", &flow.name));
    match state.store.create_flow(&flow, None, &author, &audit).await {
        Ok(_) => done(FLOWS, "flow-imported"),
        Err(err) => store_failed(FLOWS, err),
    }
}

/// `POST /flows/templates/{key}`: a reference use case's tables (those missing) and
/// flows, its helper flows on and the rest off, for the admin to adjust and turn on.
/// Refused when one of its flows' names is taken.
pub async fn install_template(
    State(state): State<AppState>,
    Path(key): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    if !origin.rights().on_flow(Permission::EditFlows, None) {
        return refused(FLOWS, "not-allowed");
    }
    let Some(template) = domain::flows::templates::template(&key) else {
        return refused(FLOWS, "no-template");
    };
    let existing = match state.store.flows().await {
        Ok(flows) => flows,
        Err(err) => return store_failed(FLOWS, err),
    };
    if template.flows.iter().any(|f| {
        existing
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case(&f.name))
    }) {
        return refused(FLOWS, "template-taken");
    }
    for schema in &template.tables {
        match state.store.table_by_name(&schema.name).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let audit = origin.entry(Action::TableCreate, new_target("table", &schema.name));
                if let Err(err) = state.store.create_table(schema, None, &audit).await {
                    return store_failed(FLOWS, err);
                }
            }
            Err(err) => return store_failed(FLOWS, err),
        }
    }
    let author = origin
        .user()
        .map(|u| u.user_name.clone())
        .unwrap_or_default();
    for flow in &template.flows {
        let audit = origin.entry(Action::FlowCreate, new_target("flow", &flow.name));
        let made = match state.store.create_flow(flow, None, &author, &audit).await {
            Ok(made) => made,
            Err(err) => return store_failed(FLOWS, err),
        };
        // Helper flows run only when called, and only when on.
        if flow.trigger.kind == "trigger.helper" {
            let audit = origin.entry(Action::FlowEnable, flow_target(&made));
            if let Err(err) = state.store.set_flow_enabled(made.id, true, &audit).await {
                return store_failed(FLOWS, err);
            }
        }
    }
    done(FLOWS, "template-installed")
}

/// `POST /flows/{id}/enabled` with `enabled=true|false`. Turning on is refused while the
/// flow has problems (the page says so).
pub async fn set_enabled(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let flow = match load(&state, &origin, &id, Permission::EditFlows).await {
        Ok(flow) => flow,
        Err(response) => return response,
    };
    let fields = Fields::read(&state, request).await;
    let enabled = match fields.get("enabled") {
        "true" => true,
        "false" => false,
        _ => return refused(FLOWS, "invalid"),
    };
    if enabled == flow.enabled {
        return done(FLOWS, "unchanged");
    }
    let action = if enabled {
        Action::FlowEnable
    } else {
        Action::FlowDisable
    };
    let audit = origin.entry(action, flow_target(&flow));
    match state.store.set_flow_enabled(flow.id, enabled, &audit).await {
        Ok(true) if enabled => done(FLOWS, "flow-on"),
        Ok(true) => done(FLOWS, "flow-off"),
        Ok(false) => refused(FLOWS, "no-flow-here"),
        Err(StoreError::Invalid(reason)) => {
            tracing::info!(flow = %flow.id, %reason, "a flow with problems was not turned on");
            refused(FLOWS, "flow-has-problems")
        }
        Err(err) => store_failed(FLOWS, err),
    }
}

/// `POST /flows/{id}/run` with `input` (JSON, may be empty): runs a Manual flow by hand;
/// to the new execution's page.
pub async fn run(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let flow = match load(&state, &origin, &id, Permission::RunFlows).await {
        Ok(flow) => flow,
        Err(response) => return response,
    };
    if flow.trigger_kind != "trigger.manual" {
        return refused(FLOWS, "not-manual");
    }
    let fields = Fields::read(&state, request).await;
    let input = match fields.get("input") {
        "" => serde_json::Value::Null,
        text => match serde_json::from_str(text) {
            Ok(value) => value,
            Err(_) => return refused(FLOWS, "input-not-json"),
        },
    };
    let started = state
        .store
        .enqueue_execution(&NewExecution::by_hand(flow.id, flow.version, input))
        .await;
    match started {
        Ok(Some(execution)) => {
            Redirect::to(&format!("/executions/{execution}?notice=flow-started")).into_response()
        }
        Ok(None) => refused(FLOWS, "unavailable"),
        Err(err) => store_failed(FLOWS, err),
    }
}

/// `POST /flows/{id}/delete`: the flow, its versions and its history.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let flow = match load(&state, &origin, &id, Permission::EditFlows).await {
        Ok(flow) => flow,
        Err(response) => return response,
    };
    let audit = origin.entry(Action::FlowDelete, flow_target(&flow));
    match state.store.delete_flow(flow.id, &audit).await {
        Ok(true) => done(FLOWS, "flow-deleted"),
        Ok(false) => refused(FLOWS, "no-flow-here"),
        Err(err) => store_failed(FLOWS, err),
    }
}

/// `GET /flows/{id}/export`: the flow's current version as stable JSON, to keep in
/// version control or import elsewhere. Never a secret: a flow holds none.
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let flow = match load(&state, &origin, &id, Permission::ViewFlows).await {
        Ok(flow) => flow,
        Err(response) => return response,
    };
    let definition = match state.store.flow_definition(flow.id, flow.version).await {
        Ok(Some(definition)) => definition,
        Ok(None) => return refused(FLOWS, "no-flow-here"),
        Err(err) => return store_failed(FLOWS, err),
    };
    let file: String = flow
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.flow.json\""),
            ),
        ],
        definition.to_stable_json(),
    )
        .into_response()
}
