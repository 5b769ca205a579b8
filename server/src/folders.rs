//! Form posts from the Flows tab about folders: create one, rename one, share one, and
//! move a flow into or out of one; and a folder's export. Each reads the form and calls
//! the domain's action (`domain::actions::folders`), which checks who may do it.

use crate::AppState;
use crate::forms::{
    Answer, Origin, Post, action_failed, action_failed_briefly, attachment, done, load, refused,
    refused_because, store_failed,
};
use axum::extract::{Path, State};
use axum::response::Response;
use domain::access::{FolderRole, Permission};
use domain::actions::ActionError;
use domain::actions::folders::{self as actions, Whom};
use domain::flows::FlowId;
use domain::store::{FlowSummary, Folder};
use uuid::Uuid;

const FLOWS: &str = "/flows";

fn folder_page(id: Uuid) -> String {
    format!("{FLOWS}?folder={id}")
}

/// The folder `id`, when the caller may see it (has any grant on it, or a role that sees
/// every folder); otherwise the answer to send.
async fn visible(state: &AppState, origin: &Origin, id: &str) -> Result<Folder, Response> {
    let folders = state
        .store
        .folders()
        .await
        .map_err(|err| store_failed(FLOWS, err))?;
    let rights = origin.rights();
    Uuid::parse_str(id)
        .ok()
        .and_then(|id| folders.into_iter().find(|f| f.id == id))
        .filter(|f| rights.in_folder(f.id).is_some())
        .ok_or_else(|| refused(FLOWS, "no-folder"))
}

/// `POST /folders` with `name`: a new, empty folder.
pub async fn create(State(state): State<AppState>, post: Post) -> Response {
    let Post { origin, fields } = post;
    match actions::create_folder(&state.store, &origin.acting(), fields.get("name")).await {
        Ok(id) => done(&folder_page(id), "folder-created"),
        Err(err) => action_failed_briefly(FLOWS, err),
    }
}

/// `POST /folders/{id}/rename` with `name`.
pub async fn rename(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let folder = visible(&state, &origin, &id).await?;
    let page = folder_page(folder.id);
    let acting = origin.acting();
    Ok(
        match actions::rename_folder(&state.store, &acting, &folder, fields.get("name")).await {
            Ok(()) => done(&page, "folder-renamed"),
            Err(ActionError::NotFound { .. }) => refused(FLOWS, "no-folder"),
            Err(err) => action_failed_briefly(&page, err),
        },
    )
}

/// `POST /folders/{id}/grants` with `kind` (`user` or `group`), `who` (a user name or a
/// group's name) and `role` (`reader`, `runner`, `editor`, `manager`, or `none` to take
/// the grant away). Whoever it reaches signs in again.
pub async fn share(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let folder = visible(&state, &origin, &id).await?;
    let page = folder_page(folder.id);
    actions::may_manage(&origin.acting(), &folder).map_err(|e| action_failed_briefly(&page, e))?;
    let who = fields.get("who");
    let whom = match fields.get("kind") {
        "group" => Whom::Group(who),
        _ => Whom::User(who),
    };
    let grant = match fields.get("role") {
        "none" => None,
        role => Some(
            role.parse::<FolderRole>()
                .map_err(|why| refused_because(&page, "invalid", &why))?,
        ),
    };
    Ok(
        match actions::share(&state.store, &origin.acting(), &folder, whom, grant).await {
            Ok(()) => done(&page, "folder-shared"),
            Err(ActionError::Refused(r)) if r.code == "not-allowed" => refused(&page, r.code),
            Err(err) => action_failed(&page, err),
        },
    )
}

/// `POST /flows/{id}/move` with `folder` (a folder's id, or empty for the top level).
pub async fn move_flow(
    State(state): State<AppState>,
    Path(id): Path<String>,
    post: Post,
) -> Answer {
    let Post { origin, fields } = post;
    let flow: FlowSummary = load(&state, &origin, &id, Permission::ViewFlows).await?;
    let to = match fields.get("folder") {
        "" => None,
        text => Some(Uuid::parse_str(text).map_err(|_| refused(FLOWS, "no-folder"))?),
    };
    let page = to.map_or_else(|| format!("{FLOWS}?folder=top"), folder_page);
    Ok(
        match actions::move_flow(&state.store, &origin.acting(), &flow, to).await {
            Ok(()) => done(&page, "flow-moved"),
            Err(ActionError::NotFound { kind: "folder", .. }) => refused(FLOWS, "no-folder"),
            Err(ActionError::NotFound { .. }) => refused(FLOWS, "no-flow-here"),
            Err(ActionError::Refused(r)) if r.code == "connection-not-shared" => {
                refused_because(FLOWS, r.code, &r.reason)
            }
            Err(err) => action_failed_briefly(FLOWS, err),
        },
    )
}

/// `GET /folders/{id}/export`: every flow of the folder the caller may see, with their
/// helper flows and the schemas of their tables, as one stable JSON export that the
/// Flows tab's import reads.
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Response {
    let rights = origin.rights();
    let (folders, flows) = match tokio::try_join!(state.store.folders(), state.store.flows()) {
        Ok(both) => both,
        Err(err) => return store_failed(FLOWS, err),
    };
    let Some(folder) = Uuid::parse_str(&id)
        .ok()
        .and_then(|id| folders.into_iter().find(|f| f.id == id))
        .filter(|f| rights.on_flow(Permission::ViewFlows, Some(f.id)))
    else {
        return refused(FLOWS, "no-folder");
    };
    let mut held: Vec<_> = flows
        .iter()
        .filter(|f| f.folder == Some(folder.id))
        .collect();
    held.sort_by_key(|f| f.name.to_lowercase());
    let ids: Vec<FlowId> = held.iter().map(|f| f.id).collect();
    match crate::flows::bundle_of(&state, &rights, &ids).await {
        Ok(bundle) => attachment(
            "application/json",
            &folder.name,
            ".folder.json",
            bundle.to_stable_json(),
        ),
        Err(err) => store_failed(&folder_page(folder.id), err),
    }
}
