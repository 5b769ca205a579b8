//! Form posts from the Flows tab about folders: create one, rename one, share one (give a
//! user or a group a Reader, Runner, Editor or Folder Manager grant on it, or take it
//! away), and move a flow into or out of one. Administrators may do all of it; a Folder
//! Manager may rename and share their folder; moving a flow needs Editor on both sides.

use crate::AppState;
use crate::forms::{Fields, Origin, attachment, done, refused, refused_because, store_failed};
use axum::extract::{Path, Request, State};
use axum::response::Response;
use domain::access::{FolderRole, Permission};
use domain::assignments::Grantee;
use domain::audit::{Action, Target};
use domain::flows::FlowId;
use domain::store::{Folder, StoreError};
use uuid::Uuid;

const FLOWS: &str = "/flows";

fn folder_target(id: Uuid, name: &str) -> Target {
    Target {
        kind: "folder".into(),
        id: id.to_string(),
        display: name.to_string(),
    }
}

fn folder_page(id: Uuid) -> String {
    format!("{FLOWS}?folder={id}")
}

/// The folder `id`, when the caller manages it; otherwise the answer to send.
async fn managed(state: &AppState, origin: &Origin, id: &str) -> Result<Folder, Response> {
    let folders = match state.store.folders().await {
        Ok(folders) => folders,
        Err(err) => return Err(store_failed(FLOWS, err)),
    };
    let rights = origin.rights();
    let Some(folder) = Uuid::parse_str(id)
        .ok()
        .and_then(|id| folders.into_iter().find(|f| f.id == id))
        .filter(|f| rights.in_folder(f.id).is_some())
    else {
        return Err(refused(FLOWS, "no-folder"));
    };
    if rights.in_folder(folder.id) < Some(FolderRole::Manager) {
        return Err(refused(&folder_page(folder.id), "not-allowed"));
    }
    Ok(folder)
}

/// `POST /folders` with `name`: a new, empty folder.
pub async fn create(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    if !origin.rights().on_flow(Permission::EditFlows, None) {
        return refused(FLOWS, "not-allowed");
    }
    let fields = Fields::read(&state, request).await;
    let name = fields.get("name");
    let audit = origin.entry(
        Action::FolderCreate,
        Target {
            kind: "folder".into(),
            id: String::new(),
            display: name.to_string(),
        },
    );
    match state.store.create_folder(name, &audit).await {
        Ok(id) => done(&folder_page(id), "folder-created"),
        Err(StoreError::Conflict { .. }) => refused(FLOWS, "folder-taken"),
        Err(err) => store_failed(FLOWS, err),
    }
}

/// `POST /folders/{id}/rename` with `name`.
pub async fn rename(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let folder = match managed(&state, &origin, &id).await {
        Ok(folder) => folder,
        Err(response) => return response,
    };
    let page = folder_page(folder.id);
    let fields = Fields::read(&state, request).await;
    let audit = origin
        .entry(Action::FolderRename, folder_target(folder.id, &folder.name))
        .reason(format!("renamed to {:?}", fields.get("name")));
    match state
        .store
        .rename_folder(folder.id, fields.get("name"), &audit)
        .await
    {
        Ok(true) => done(&page, "folder-renamed"),
        Ok(false) => refused(FLOWS, "no-folder"),
        Err(StoreError::Conflict { .. }) => refused(&page, "folder-taken"),
        Err(err) => store_failed(&page, err),
    }
}

/// `POST /folders/{id}/grants` with `kind` (`user` or `group`), `who` (a user name or a
/// group's name) and `role` (`reader`, `runner`, `editor`, `manager`, or `none` to take
/// the grant away). Whoever it reaches signs in again.
pub async fn share(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let folder = match managed(&state, &origin, &id).await {
        Ok(folder) => folder,
        Err(response) => return response,
    };
    let page = folder_page(folder.id);
    let fields = Fields::read(&state, request).await;
    let who = fields.get("who");
    let grantee = match fields.get("kind") {
        "group" => match state.store.group_by_name(who).await {
            Ok(Some(group)) => Grantee::Group {
                id: group.id,
                name: group.display_name,
            },
            Ok(None) => return refused_because(&page, "grantee-unknown", who),
            Err(err) => return store_failed(&page, err),
        },
        _ => match state.store.user_by_name(who).await {
            Ok(Some(user)) => Grantee::User(user.id),
            Ok(None) => return refused_because(&page, "grantee-unknown", who),
            Err(err) => return store_failed(&page, err),
        },
    };
    let grant = match fields.get("role") {
        "none" => None,
        role => match role.parse::<FolderRole>() {
            Ok(role) => Some(role),
            Err(why) => return refused_because(&page, "invalid", &why),
        },
    };
    let action = if grant.is_some() {
        Action::FolderGrant
    } else {
        Action::FolderGrantRevoke
    };
    let audit = origin
        .entry(action, folder_target(folder.id, &folder.name))
        .reason(match grant {
            Some(role) => format!("{who} · {}", role.label()),
            None => format!("{who} · no access"),
        });
    match state
        .store
        .set_folder_grant(folder.id, &grantee, grant, &audit)
        .await
    {
        Ok(()) => done(&page, "folder-shared"),
        Err(err) => store_failed(&page, err),
    }
}

/// `POST /flows/{id}/move` with `folder` (a folder's id, or empty for the top level).
pub async fn move_flow(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let rights = origin.rights();
    let Ok(id) = Uuid::parse_str(&id).map(FlowId) else {
        return refused(FLOWS, "no-flow-here");
    };
    let flow = match state.store.flow_summary(id).await {
        Ok(Some(flow)) if rights.on_flow(Permission::ViewFlows, flow.folder) => flow,
        Ok(_) => return refused(FLOWS, "no-flow-here"),
        Err(err) => return store_failed(FLOWS, err),
    };
    let fields = Fields::read(&state, request).await;
    let target = match fields.get("folder") {
        "" => None,
        text => match Uuid::parse_str(text) {
            Ok(folder) => Some(folder),
            Err(_) => return refused(FLOWS, "no-folder"),
        },
    };
    if !rights.on_flow(Permission::EditFlows, flow.folder)
        || !rights.on_flow(Permission::EditFlows, target)
    {
        return refused(FLOWS, "not-allowed");
    }
    let audit = origin
        .entry(
            Action::FlowMove,
            Target {
                kind: "flow".into(),
                id: flow.id.to_string(),
                display: flow.name.clone(),
            },
        )
        .reason(match target {
            Some(folder) => format!("to folder {folder}"),
            None => "to the top level".to_string(),
        });
    let page = target.map_or_else(|| format!("{FLOWS}?folder=top"), folder_page);
    match state.store.move_flow(flow.id, target, &audit).await {
        Ok(true) => done(&page, "flow-moved"),
        Ok(false) => refused(FLOWS, "no-flow-here"),
        Err(StoreError::Invalid(_)) => refused(FLOWS, "no-folder"),
        Err(err) => store_failed(FLOWS, err),
    }
}

/// `GET /folders/{id}/export`: every flow of the folder the caller may see, with their
/// helper flows and the schemas of their tables, as one stable JSON export that the
/// Flows tab's import reads.
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
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
