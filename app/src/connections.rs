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

/// An accepted Event Hook delivery, as the Okta connection's page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub events: i64,
    pub new_events: i64,
    pub event_types: String,
}

/// An Okta connection's Event Hook: what to enter at Okta, and what arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaHookView {
    /// The endpoint URL to enter at Okta.
    pub url: String,
    /// The authentication field to enter at Okta.
    pub header: String,
    /// Whether its secret is set (deliveries are refused until it is).
    pub secret_set: bool,
    /// The event types to subscribe to, with the trigger each starts.
    pub event_types: Vec<(String, String)>,
    /// The newest deliveries, newest first.
    pub deliveries: Vec<DeliveryView>,
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
    /// An Okta connection's Event Hook.
    pub okta_hook: Option<OktaHookView>,
    /// An Okta service app's public key (a JWK) to paste into Okta.
    pub okta_public_jwk: Option<String>,
    /// The Okta org's rate-limit budget as it last answered this server.
    pub okta_rate: Option<String>,
}

/// How many deliveries an Okta connection's page lists.
pub const DELIVERIES_SHOWN: i64 = 20;

#[cfg(feature = "ssr")]
async fn okta_hook(
    store: &domain::store::Store,
    connection: &domain::store::Connection,
) -> Result<OktaHookView, AppError> {
    let base = use_context::<crate::session::PublicUrl>()
        .map(|u| u.0)
        .unwrap_or_default();
    let deliveries = store
        .okta_hook_deliveries(connection.id, DELIVERIES_SHOWN)
        .await
        .map_err(AppError::from_store)?
        .into_iter()
        .map(|d| DeliveryView {
            received_at: d.received_at,
            events: d.events,
            new_events: d.new_events,
            event_types: d.event_types,
        })
        .collect();
    Ok(OktaHookView {
        url: format!(
            "{}/hooks/okta/{}",
            base.trim_end_matches('/'),
            connection.id
        ),
        header: match connection.settings.get("hook_header").map(String::as_str) {
            None | Some("") => "Authorization".to_string(),
            Some(named) => named.to_string(),
        },
        secret_set: connection.secret_fields.iter().any(|f| f == "hook_secret"),
        event_types: domain::okta::EVENT_TRIGGERS
            .iter()
            .map(|t| (t.event_type.to_string(), t.name.to_string()))
            .collect(),
        deliveries,
    })
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
    let is_okta = connection.kind == domain::connections::OKTA.key;
    let okta_hook = if is_okta {
        Some(okta_hook(&store, &connection).await?)
    } else {
        None
    };
    let okta_public_jwk = if is_okta {
        let secrets = store
            .connection_secrets(connection.id)
            .await
            .map_err(AppError::from_store)?;
        domain::connectors::okta::public_jwk_of(&secrets)
            .map(|jwk| serde_json::to_string_pretty(&jwk).unwrap_or_default())
    } else {
        None
    };
    let okta_rate = store.connectors().okta().rate(connection.id).map(|r| {
        let reset = chrono::DateTime::from_timestamp(r.reset, 0)
            .map(|t| t.format("%H:%M:%S UTC").to_string())
            .unwrap_or_default();
        format!(
            "{} of {} requests left; the budget resets at {reset}",
            r.remaining, r.limit
        )
    });
    Ok(ConnectionPageData {
        okta_hook,
        okta_public_jwk,
        okta_rate,
        folders: choices,
        version: connection.version,
        settings: connection.settings.clone(),
        secrets_held: connection.secret_fields.clone(),
        item: item(connection, users, &folders),
        can_manage: may_manage(&caller),
    })
}
