//! Form posts from the Flows tab: import a flow from its JSON, turn a flow on or off, run
//! a Manual flow by hand, delete a flow; and the JSON export. The entry-point table has
//! let the caller through on the permission somewhere; here it must hold on this flow's
//! folder, and a flow the caller may not see does not exist.

use crate::AppState;
use crate::forms::{
    Answer, Finding, InFolder, Origin, Post, action_failed, attachment, done, done_because, load,
    refused, refused_because, store_failed,
};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Permission;
use domain::actions::{ActionError, executions, flows};
use domain::flows::{Flow, FlowId};
use domain::store::{FlowSummary, Store, StoreError};

const FLOWS: &str = "/flows";
/// The largest flow JSON accepted, in bytes.
const MAX_DEFINITION: usize = 1 << 20;

impl InFolder for FlowSummary {
    const FINDING: Finding = Finding {
        page: FLOWS,
        missing: "no-flow-here",
        view: Permission::ViewFlows,
    };

    fn folder(&self) -> Option<uuid::Uuid> {
        self.folder
    }

    fn find(
        store: &Store,
        id: uuid::Uuid,
    ) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send {
        store.flow_summary(FlowId(id))
    }
}

/// `POST /flows/import`: a flow's export (the flow with its helper flows and the
/// schemas of its tables, or a single flow's JSON), at the top level. Tables missing
/// here are made (existing ones are used as they are); helper flows are turned on, the
/// rest created off. Refused, with nothing made, when a flow's name is taken.
pub async fn import(State(state): State<AppState>, post: Post) -> Answer {
    use domain::flows::bundle::Bundle;
    let Post { origin, fields } = post;
    // Into a folder (`folder`, its id) or at the top level; either way the caller edits
    // flows there.
    let folder = match fields.get("folder") {
        "" => None,
        id => match uuid::Uuid::parse_str(id) {
            Ok(id) if origin.rights().in_folder(id).is_some() => Some(id),
            _ => return Err(refused(FLOWS, "no-folder")),
        },
    };
    let page = folder.map_or_else(|| FLOWS.to_string(), |id| format!("{FLOWS}?folder={id}"));
    let page = page.as_str();
    if !origin.rights().on_flow(Permission::EditFlows, folder) {
        return Err(refused(page, "not-allowed"));
    }
    let text = fields.get("definition");
    if text.is_empty() {
        return Err(refused(page, "import-empty"));
    }
    if text.len() > MAX_DEFINITION {
        return Err(refused(page, "import-too-large"));
    }
    let bundle = match Bundle::read(text) {
        Ok(bundle) => bundle,
        Err(why) => {
            tracing::info!(%why, "a flow import was not a flow's JSON");
            return Err(refused_because(page, "import-not-a-flow", &why));
        }
    };
    Ok(
        match flows::install(&state.store, &origin.acting(), &bundle, folder).await {
            Ok(made) if made.len() > 1 => done(page, "flows-imported"),
            Ok(_) => done(page, "flow-imported"),
            Err(ActionError::Refused(r)) if r.code == "import-taken" => {
                refused_because(page, r.code, &r.reason)
            }
            Err(err) => action_failed(page, err),
        },
    )
}

/// `POST /flows/templates/{key}`: a reference use case's tables (those missing) and
/// flows, its helper flows on and the rest off, for the admin to adjust and turn on. The
/// form names a connection for each kind its cards use (`connection.<kind>`); one left
/// empty leaves those cards to be set in the builder, and the page says which. Refused
/// when one of its flows' names is taken or a connection named is not of its kind.
pub async fn install_template(
    State(state): State<AppState>,
    Path(key): Path<String>,
    post: Post,
) -> Answer {
    let Post { origin, fields } = post;
    if !origin.rights().on_flow(Permission::EditFlows, None) {
        return Err(refused(FLOWS, "not-allowed"));
    }
    let Some(template) = domain::flows::templates::template(&key) else {
        return Err(refused(FLOWS, "no-template"));
    };
    let mut chosen = std::collections::BTreeMap::new();
    let mut unchosen = Vec::new();
    for kind in template.connection_kinds() {
        let id = fields.get(&format!("connection.{}", kind.key)).trim();
        if id.is_empty() {
            unchosen.push(kind.name);
            continue;
        }
        let connection = match uuid::Uuid::parse_str(id) {
            Ok(id) => state
                .store
                .connection(id)
                .await
                .map_err(|e| store_failed(FLOWS, e))?,
            Err(_) => None,
        };
        match connection {
            Some(c) if c.kind == kind.key => chosen.insert(kind.key.to_string(), id.to_string()),
            _ => {
                return Err(refused_because(
                    FLOWS,
                    "template-connection",
                    &format!("choose a {} connection from the list", kind.name),
                ));
            }
        };
    }
    let bundle = template.bundle(&chosen);
    Ok(
        match flows::install(&state.store, &origin.acting(), &bundle, None).await {
            Ok(_) if unchosen.is_empty() => done(FLOWS, "template-installed"),
            Ok(_) => crate::forms::done_because(
                FLOWS,
                "template-installed-unconnected",
                &unchosen.join(", "),
            ),
            Err(ActionError::Refused(r)) if r.code == "import-taken" => {
                refused(FLOWS, "template-taken")
            }
            Err(err) => action_failed(FLOWS, err),
        },
    )
}

/// `POST /flows/{id}/enabled` with `enabled=true|false`. Turning on is refused while the
/// flow has problems (the page says so).
pub async fn set_enabled(
    State(state): State<AppState>,
    Path(id): Path<String>,
    post: Post,
) -> Answer {
    let Post { origin, fields } = post;
    let flow: FlowSummary = load(&state, &origin, &id, Permission::EditFlows).await?;
    let enabled = match fields.get("enabled") {
        "true" => true,
        "false" => false,
        _ => return Err(refused(FLOWS, "invalid")),
    };
    Ok(
        match flows::set_enabled(&state.store, &origin.acting(), &flow, enabled).await {
            Ok(false) => done(FLOWS, "unchanged"),
            Ok(true) if enabled => match loop_warnings(&state, &origin, &flow).await {
                Some(warnings) => done_because(FLOWS, "flow-on-loops", &warnings),
                None => done(FLOWS, "flow-on"),
            },
            Ok(true) => done(FLOWS, "flow-off"),
            Err(ActionError::NotFound { .. }) => refused(FLOWS, "no-flow-here"),
            Err(ActionError::Store(StoreError::Invalid(reason))) => {
                tracing::info!(flow = %flow.id, %reason, "a flow with problems was not turned on");
                refused_because(FLOWS, "flow-has-problems", &reason)
            }
            Err(err) => action_failed(FLOWS, err),
        },
    )
}

/// How the flow just turned on can start itself again, as sentences; `None` when it cannot
/// (or that could not be read: the flow is on either way).
async fn loop_warnings(state: &AppState, origin: &Origin, flow: &FlowSummary) -> Option<String> {
    let definition = state
        .store
        .flow_definition(flow.id, flow.version)
        .await
        .ok()
        .flatten()?;
    let warnings = flows::loop_warnings(&state.store, &origin.acting(), Some(flow.id), &definition)
        .await
        .inspect_err(|err| tracing::warn!(flow = %flow.id, error = %err, "loop check failed"))
        .ok()?;
    (!warnings.is_empty()).then(|| {
        warnings
            .iter()
            .map(|w| format!("{}.", w.message))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// `POST /flows/{id}/run` with `input` (JSON, may be empty): runs a Manual flow by hand;
/// to the new execution's page.
pub async fn run(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let flow: FlowSummary = load(&state, &origin, &id, Permission::RunFlows).await?;
    let input = match fields.get("input") {
        "" => serde_json::Value::Null,
        text => match serde_json::from_str(text) {
            Ok(value) => value,
            Err(_) => return Err(refused(FLOWS, "input-not-json")),
        },
    };
    Ok(
        match executions::run_by_hand(&state.store, &origin.acting(), &flow, input).await {
            Ok(execution) => Redirect::to(&format!("/executions/{execution}?notice=flow-started"))
                .into_response(),
            Err(ActionError::Refused(r)) if r.code == "not-manual" => refused(FLOWS, r.code),
            Err(err) => action_failed(FLOWS, err),
        },
    )
}

/// `POST /flows/{id}/clone`: a copy of the flow's current version, turned off, named
/// "… (copy)" (or "… (copy 2)", … when that is taken), at the same level.
pub async fn clone(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Answer {
    let flow: FlowSummary = load(&state, &origin, &id, Permission::EditFlows).await?;
    Ok(
        match flows::clone_flow(&state.store, &origin.acting(), &flow).await {
            Ok(copy) => done(
                &format!("{FLOWS}?q={}", urlencoding::encode(&copy.name)),
                "flow-cloned",
            ),
            Err(ActionError::NotFound { .. }) => refused(FLOWS, "no-flow-here"),
            Err(err) => action_failed(FLOWS, err),
        },
    )
}

/// `POST /flows/{id}/test` with the sample form's fields (`s.<path>`): runs the flow's
/// current version (on or off) with that input as its trigger would give it, keeping
/// every card's inputs and outputs; to the execution's page. With `run=dry` (the Dry run
/// button), a dry run: its cards change nothing and say what they would have done.
pub async fn test(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> Answer {
    use domain::flows::sample::{build_sample, sample_fields};
    let Post { origin, fields } = post;
    let flow: FlowSummary = load(&state, &origin, &id, Permission::EditFlows).await?;
    let page = format!("{FLOWS}/{}/test", flow.id);
    let Some(trigger) = domain::flows::catalog::catalog().get(&flow.trigger_kind) else {
        return Err(refused(&page, "invalid"));
    };
    let sample = build_sample(&sample_fields(trigger), |path| {
        fields.get(&format!("s.{path}")).to_string()
    });
    let input = match sample {
        Ok(input) => input,
        Err(reasons) => {
            return Err(refused_because(
                &page,
                "sample-invalid",
                &reasons.join("; "),
            ));
        }
    };
    let dry = fields.get("run") == "dry";
    let acting = origin.acting();
    let (started, notice) = if dry {
        (
            executions::dry_run(&state.store, &acting, &flow, input).await,
            "dry-run-started",
        )
    } else {
        (
            executions::test(&state.store, &acting, &flow, input).await,
            "test-started",
        )
    };
    Ok(match started {
        Ok(execution) => {
            Redirect::to(&format!("/executions/{execution}?notice={notice}")).into_response()
        }
        Err(err) => action_failed(&page, err),
    })
}

/// Saves `definition` as the next version of `flow`, which the caller based on version
/// `based_on`; back to the versions page with `notice`.
async fn save_version(
    state: &AppState,
    origin: &Origin,
    flow: &FlowSummary,
    definition: &Flow,
    based_on: i64,
    notice: &str,
    why: String,
) -> Response {
    let page = format!("{FLOWS}/{}/versions", flow.id);
    match flows::save_version(
        &state.store,
        &origin.acting(),
        flow,
        definition,
        based_on,
        why,
    )
    .await
    {
        Ok(saved) if saved.turned_off => done(&page, "version-saved-turned-off"),
        Ok(_) => done(&page, notice),
        Err(ActionError::NotFound { .. }) => refused(FLOWS, "no-flow-here"),
        Err(err) => action_failed(&page, err),
    }
}

/// `POST /flows/{id}/versions` with `definition` (the flow's JSON) and `based_on` (the
/// version it was edited from): a new version. Refused when someone saved another
/// version meanwhile, so nobody's change is lost unseen.
pub async fn save(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let flow: FlowSummary = load(&state, &origin, &id, Permission::EditFlows).await?;
    let page = format!("{FLOWS}/{}/versions", flow.id);
    let text = fields.get("definition");
    if text.len() > MAX_DEFINITION {
        return Err(refused(&page, "import-too-large"));
    }
    let definition: Flow = match serde_json::from_str(text) {
        Ok(flow) => flow,
        Err(e) => return Err(refused_because(&page, "import-not-a-flow", &e.to_string())),
    };
    let Ok(based_on) = fields.get("based_on").parse::<i64>() else {
        return Err(refused(&page, "invalid"));
    };
    let why = format!("saved as a new version from version {based_on}");
    Ok(save_version(
        &state,
        &origin,
        &flow,
        &definition,
        based_on,
        "version-saved",
        why,
    )
    .await)
}

/// `POST /flows/{id}/versions/{version}/restore`: an older version's definition saved
/// as the newest version (history is never rewritten).
pub async fn restore(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, String)>,
    origin: Origin,
) -> Answer {
    let flow: FlowSummary = load(&state, &origin, &id, Permission::EditFlows).await?;
    let page = format!("{FLOWS}/{}/versions", flow.id);
    let Ok(version) = version.parse::<i64>() else {
        return Err(refused(&page, "no-version"));
    };
    let definition = match state.store.flow_definition(flow.id, version).await {
        Ok(Some(definition)) => definition,
        Ok(None) => return Err(refused(&page, "no-version")),
        Err(err) => return Err(store_failed(&page, err)),
    };
    let why = format!("restored version {version}");
    Ok(save_version(
        &state,
        &origin,
        &flow,
        &definition,
        flow.version,
        "version-restored",
        why,
    )
    .await)
}

/// `POST /flows/{id}/secret` with `grace` (hours the flow's current secrets keep working;
/// empty or 0: they stop now): makes a new API secret and keeps it in the session until
/// the flow's API page shows it, once.
pub async fn make_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session: tower_sessions::Session,
    post: Post,
) -> Answer {
    let Post { origin, fields } = post;
    let flow: FlowSummary = load(&state, &origin, &id, Permission::EditFlows).await?;
    let page = format!("{FLOWS}/{}/api", flow.id);
    let grace = match fields.get("grace") {
        "" => None,
        hours => match hours.parse::<u32>() {
            Ok(hours) => Some(chrono::Duration::hours(i64::from(hours))),
            Err(_) => return Err(refused(&page, "secret-grace")),
        },
    };
    let secret = flows::make_secret(&state.store, &origin.acting(), &flow, grace)
        .await
        .map_err(|err| action_failed(&page, err))?;
    let shown = app::session::NewSecret {
        about: app::session::flow_secret_about(flow.id),
        name: flow.name.clone(),
        secret,
    };
    crate::forms::keep_to_show(&session, shown, &page).await?;
    Ok(Redirect::to(&page).into_response())
}

/// `POST /flows/{id}/secret/revoke`: revokes every API secret of the flow.
pub async fn revoke_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Answer {
    let flow: FlowSummary = load(&state, &origin, &id, Permission::EditFlows).await?;
    let page = format!("{FLOWS}/{}/api", flow.id);
    Ok(
        match flows::revoke_secrets(&state.store, &origin.acting(), &flow).await {
            Ok(()) => done(&page, "secret-revoked"),
            Err(err) => action_failed(&page, err),
        },
    )
}

/// `POST /flows/{id}/delete`: the flow, its versions and its history.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Answer {
    let flow: FlowSummary = load(&state, &origin, &id, Permission::EditFlows).await?;
    Ok(
        match flows::delete_flow(&state.store, &origin.acting(), &flow).await {
            Ok(()) => done(FLOWS, "flow-deleted"),
            Err(ActionError::NotFound { .. }) => refused(FLOWS, "no-flow-here"),
            Err(err) => action_failed(FLOWS, err),
        },
    )
}

/// `GET /flows/{id}/export`: the flow's current version with its helper flows and the
/// schemas of the tables their cards name, as stable JSON, to keep in version control or
/// import elsewhere. Never a secret: a flow holds none.
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Answer {
    let flow: FlowSummary = load(&state, &origin, &id, Permission::ViewFlows).await?;
    let bundle = match bundle_of(&state, &origin.rights(), &[flow.id]).await {
        Ok(bundle) => bundle,
        Err(err) => return Err(store_failed(FLOWS, err)),
    };
    Ok(attachment(
        "application/json",
        &flow.name,
        ".flow.json",
        bundle.to_stable_json(),
    ))
}

/// The export of the flows `mains` (current versions, in this order) with their helper
/// flows and the schemas of the tables they name: only those the caller, with `rights`,
/// may see (a name never pulls in another folder's flow or table).
pub async fn bundle_of(
    state: &AppState,
    rights: &domain::access::Rights,
    mains: &[FlowId],
) -> Result<domain::flows::bundle::Bundle, StoreError> {
    use domain::flows::bundle::Bundle;
    let (summaries, definitions, tables) = tokio::try_join!(
        state.store.flows(),
        state.store.current_definitions(),
        state.store.tables()
    )?;
    let summaries: Vec<FlowSummary> = summaries
        .into_iter()
        .filter(|f| rights.on_flow(Permission::ViewFlows, f.folder))
        .collect();
    let tables: Vec<_> = tables
        .into_iter()
        .filter(|t| rights.on_flow(Permission::ViewTables, t.folder))
        .collect();
    let definitions: std::collections::HashMap<_, _> = definitions.into_iter().collect();
    let lookup = |key: &str| {
        summaries
            .iter()
            .find(|f| f.id.to_string() == key || f.name.trim().to_lowercase() == key)
            .and_then(|f| definitions.get(&f.id).map(|d| (f.id, d.clone())))
    };
    let schema = |name: &str| {
        tables
            .iter()
            .find(|t| t.schema.name.trim().to_lowercase() == name)
            .map(|t| t.schema.clone())
    };
    let mains = mains
        .iter()
        .filter_map(|id| definitions.get(id).map(|d| (*id, d.clone())))
        .collect();
    Ok(Bundle::gather_all(mains, lookup, schema))
}
