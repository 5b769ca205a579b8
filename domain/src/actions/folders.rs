//! Changes to folders: create one, rename one, share one (give a user or a group a Reader,
//! Runner, Editor or Folder Manager grant on it, or take it away), and move a flow into or
//! out of one. Administrators may do all of it; a Folder Manager may rename and share
//! their folder; moving a flow needs the Editor grant on both sides.

use super::{Acting, ActionError};
use crate::access::{FolderRole, Permission};
use crate::assignments::Grantee;
use crate::audit::{Action, Target};
use crate::store::{FlowSummary, Folder, Store, StoreError};
use uuid::Uuid;

pub fn folder_target(id: impl ToString, name: &str) -> Target {
    Target {
        kind: "folder".into(),
        id: id.to_string(),
        display: name.to_string(),
    }
}

fn taken(name: &str) -> ActionError {
    ActionError::refused(
        "folder-taken",
        format!(
            "a folder named \"{}\" already exists; choose another name",
            name.trim()
        ),
    )
}

fn gone(folder: &Folder) -> ActionError {
    ActionError::gone("folder", format!("the folder {} is gone", folder.name))
}

/// Refused unless the one acting manages `folder` (a Folder Manager grant, or a role
/// that manages every folder).
pub fn may_manage(acting: &Acting, folder: &Folder) -> Result<(), ActionError> {
    if acting.rights.in_folder(folder.id) >= Some(FolderRole::Manager) {
        Ok(())
    } else {
        Err(ActionError::refused(
            "not-allowed",
            "renaming and sharing a folder needs the Folder Manager grant on it",
        ))
    }
}

/// A new, empty folder named `name`; its id.
pub async fn create_folder(
    store: &Store,
    acting: &Acting,
    name: &str,
) -> Result<Uuid, ActionError> {
    if !acting.rights.on_flow(Permission::EditFlows, None) {
        return Err(ActionError::refused(
            "not-allowed",
            "making folders needs a role that edits every flow",
        ));
    }
    let entry = acting.entry(Action::FolderCreate, folder_target("", name.trim()));
    match store.create_folder(name, &entry).await {
        Err(StoreError::Conflict { .. }) => Err(taken(name)),
        made => Ok(made?),
    }
}

/// Renames `folder` to `name`.
pub async fn rename_folder(
    store: &Store,
    acting: &Acting,
    folder: &Folder,
    name: &str,
) -> Result<(), ActionError> {
    may_manage(acting, folder)?;
    let entry = acting
        .entry(Action::FolderRename, folder_target(folder.id, &folder.name))
        .reason(format!("renamed to {:?}", name.trim()));
    match store.rename_folder(folder.id, name, &entry).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(gone(folder)),
        Err(StoreError::Conflict { .. }) => Err(taken(name)),
        Err(err) => Err(err.into()),
    }
}

/// Who a folder is shared with, by the name a person types.
#[derive(Debug, Clone, Copy)]
pub enum Whom<'a> {
    /// A user, by user name.
    User(&'a str),
    /// A group, by display name.
    Group(&'a str),
}

/// Gives `whom` the `grant` on `folder`, or takes their grant away (`None`). Whoever it
/// reaches signs in again.
pub async fn share(
    store: &Store,
    acting: &Acting,
    folder: &Folder,
    whom: Whom<'_>,
    grant: Option<FolderRole>,
) -> Result<(), ActionError> {
    may_manage(acting, folder)?;
    let unknown = |who: &str| ActionError::refused("grantee-unknown", who.to_string());
    let (grantee, who) = match whom {
        Whom::Group(name) => match store.group_by_name(name).await? {
            Some(group) => (
                Grantee::Group {
                    id: group.id,
                    name: group.display_name,
                },
                name,
            ),
            None => return Err(unknown(name)),
        },
        Whom::User(name) => match store.user_by_name(name).await? {
            Some(user) => (Grantee::User(user.id), name),
            None => return Err(unknown(name)),
        },
    };
    let action = if grant.is_some() {
        Action::FolderGrant
    } else {
        Action::FolderGrantRevoke
    };
    let entry = acting
        .entry(action, folder_target(folder.id, &folder.name))
        .reason(match grant {
            Some(role) => format!("{who} · {}", role.label()),
            None => format!("{who} · no access"),
        });
    Ok(store
        .set_folder_grant(folder.id, &grantee, grant, &entry)
        .await?)
}

/// Moves `flow` into the folder `to` (`None`: the top level).
pub async fn move_flow(
    store: &Store,
    acting: &Acting,
    flow: &FlowSummary,
    to: Option<Uuid>,
) -> Result<(), ActionError> {
    if !acting.rights.on_flow(Permission::EditFlows, flow.folder)
        || !acting.rights.on_flow(Permission::EditFlows, to)
    {
        return Err(ActionError::refused(
            "not-allowed",
            "moving a flow needs the Editor grant where it is and where it goes",
        ));
    }
    if let Some(definition) = store.flow_definition(flow.id, flow.version).await? {
        super::connections::check_usable(store, &definition, to).await?;
    }
    let entry = acting
        .entry(
            Action::FlowMove,
            super::flows::flow_target(flow.id, &flow.name),
        )
        .reason(match to {
            Some(folder) => format!("to folder {folder}"),
            None => "to the top level".to_string(),
        });
    match store.move_flow(flow.id, to, &entry).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ActionError::gone(
            "flow",
            format!("the flow {} is gone", flow.name),
        )),
        Err(StoreError::Invalid(_)) => Err(ActionError::gone("folder", "that folder is gone")),
        Err(err) => Err(err.into()),
    }
}
