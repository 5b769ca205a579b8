//! The Connections tab's data: every connection with the flows that use it, who changed
//! it last and its last test; and one connection's settings (never its secrets: only
//! which it holds). Changes are plain form posts to the server's `connections` module.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const LIST_PATH: &str = "/api/connections/list";
pub const DETAIL_PATH: &str = "/api/connections/detail";

/// The last test of a connection, as pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestView {
    pub at: chrono::DateTime<chrono::Utc>,
    pub ok: bool,
    pub message: String,
}

/// A connection as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionItem {
    pub id: String,
    pub name: String,
    /// Its kind's key (`http`).
    pub kind: String,
    pub used_by: Vec<String>,
    pub updated_by: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub last_test: Option<TestView>,
    /// The names of the folders whose flows may use it; `None`: every flow.
    pub shared_with: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionItem>,
    pub can_manage: bool,
}

/// One connection: its settings by field, the secrets it holds by field name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionPageData {
    pub item: ConnectionItem,
    pub version: i64,
    pub settings: std::collections::BTreeMap<String, String>,
    pub secrets_held: Vec<String>,
    pub can_manage: bool,
    /// Every folder, (id, name), and whether the connection is shared with it.
    pub folders: Vec<(String, String, bool)>,
}

#[cfg(feature = "ssr")]
fn item(
    connection: domain::store::Connection,
    used_by: Vec<String>,
    folders: &[domain::store::Folder],
) -> ConnectionItem {
    let shared_with = connection.folders.as_ref().map(|ids| {
        folders
            .iter()
            .filter(|f| ids.contains(&f.id))
            .map(|f| f.name.clone())
            .collect()
    });
    ConnectionItem {
        shared_with,
        id: connection.id.to_string(),
        name: connection.name,
        kind: connection.kind,
        used_by,
        updated_by: connection.updated_by,
        updated_at: connection.updated_at,
        last_test: connection.last_test.map(|t| TestView {
            at: t.at,
            ok: t.ok,
            message: t.message,
        }),
    }
}

#[cfg(feature = "ssr")]
fn may_manage(caller: &crate::session::Caller) -> bool {
    caller
        .rights
        .allows(domain::access::Permission::ManageConnections)
}

/// Every connection, by name.
#[server(endpoint = "connections/list")]
pub async fn list_connections() -> Result<ConnectionList, AppError> {
    use domain::actions::connections::users_of;
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let all = store.connections().await.map_err(AppError::from_store)?;
    let folders = store.folders().await.map_err(AppError::from_store)?;
    let ids: Vec<uuid::Uuid> = all.iter().map(|c| c.id).collect();
    let mut users = users_of(&store, &ids)
        .await
        .map_err(crate::error::action_error)?;
    let connections = all
        .into_iter()
        .map(|c| {
            let names = users.remove(&c.id).unwrap_or_default();
            item(c, names, &folders)
        })
        .collect();
    Ok(ConnectionList {
        connections,
        can_manage: may_manage(&caller),
    })
}

/// The connection `id`.
#[server(endpoint = "connections/detail")]
pub async fn connection_detail(id: String) -> Result<ConnectionPageData, AppError> {
    use domain::actions::connections::used_by;
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let missing = || AppError::NotFound("There is no such connection.".into());
    let id = uuid::Uuid::parse_str(&id).map_err(|_| missing())?;
    let connection = store
        .connection(id)
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(missing)?;
    let users = used_by(&store, id)
        .await
        .map_err(crate::error::action_error)?;
    let folders = store.folders().await.map_err(AppError::from_store)?;
    let choices = folders
        .iter()
        .map(|f| {
            let shared = connection
                .folders
                .as_ref()
                .is_some_and(|ids| ids.contains(&f.id));
            (f.id.to_string(), f.name.clone(), shared)
        })
        .collect();
    Ok(ConnectionPageData {
        folders: choices,
        version: connection.version,
        settings: connection.settings.clone(),
        secrets_held: connection.secret_fields.clone(),
        item: item(connection, users, &folders),
        can_manage: may_manage(&caller),
    })
}
