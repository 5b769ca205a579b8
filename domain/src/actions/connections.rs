//! Changes to connections: create, change (a secret left empty keeps the one kept),
//! rename, test and delete. Super Admins, Workflows Administrators and Connection
//! Managers manage connections. A connection that flows use is not deleted: the refusal
//! names them. Every change is in the System Log, never with a secret.

use super::{Acting, ActionError};
use crate::access::Permission;
use crate::audit::{Action, NewEntry, Outcome, Target};
use crate::connections::{self as kinds, Values};
use crate::store::{Connection, ConnectionTest, Store};
use uuid::Uuid;

pub fn connection_target(id: Uuid, name: &str) -> Target {
    Target {
        kind: "connection".into(),
        id: id.to_string(),
        display: name.trim().to_string(),
    }
}

fn may_manage(acting: &Acting) -> Result<(), ActionError> {
    if acting.rights.allows(Permission::ManageConnections) {
        Ok(())
    } else {
        Err(ActionError::refused(
            "not-allowed",
            "managing connections needs the Super Admin, Workflows Administrator or Connection Manager role",
        ))
    }
}

/// Whether `connection` is an Okta connection an admin authorises (authorization code),
/// and the caller may manage it: the start of its authorisation.
pub fn may_authorize_okta(acting: &Acting, connection: &Connection) -> Result<(), ActionError> {
    may_manage(acting)?;
    if connection.kind != kinds::OKTA.key
        || connection.settings.get("mode").map(String::as_str) != Some("authorization_code")
    {
        return Err(ActionError::refused(
            "okta-not-authorizable",
            "only an Okta connection set to be authorized by an Okta admin is authorized this way",
        ));
    }
    Ok(())
}

/// Completes an Okta admin's authorisation of `connection`: the code Okta gave (with
/// the PKCE verifier kept since it began) exchanged for a refresh token, kept sealed.
pub async fn finish_okta_authorization(
    store: &Store,
    acting: &Acting,
    connection: &Connection,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<(), ActionError> {
    use secrecy::ExposeSecret;
    may_authorize_okta(acting, connection)?;
    store.refresh_outbound().await?;
    let secrets = store.connection_secrets(connection.id).await?;
    let opened = crate::connectors::Opened {
        connection,
        secrets,
    };
    let refresh = store
        .connectors()
        .okta_exchange_code(&opened, code, verifier, redirect_uri)
        .await
        .map_err(|why| ActionError::refused("okta-authorize-failed", why))?;
    let entry = acting
        .entry(
            Action::ConnectionUpdate,
            connection_target(connection.id, &connection.name),
        )
        .reason("authorized by an Okta admin (authorization code with PKCE)");
    if !store
        .keep_connection_secret(
            connection.id,
            crate::connectors::okta::REFRESH_TOKEN,
            refresh.expose_secret(),
            &acting.actor.id_and_display().1,
            &entry,
        )
        .await?
    {
        return Err(gone(connection));
    }
    Ok(())
}

/// `values` as `spec` keeps them, or a refusal with every problem of them and of `name`;
/// `kept` names the secrets the connection holds already.
fn checked(
    spec: &kinds::Kind,
    name: &str,
    values: &Values,
    kept: &[String],
) -> Result<Values, ActionError> {
    let mut found: Vec<String> = kinds::name_problem(name).into_iter().collect();
    match kinds::checked(spec, values, kept) {
        Ok(checked) if found.is_empty() => Ok(checked),
        Ok(_) => Err(ActionError::refused("connection-problems", found.join(" "))),
        Err(more) => {
            found.extend(more);
            Err(ActionError::refused("connection-problems", found.join(" ")))
        }
    }
}

fn name_taken(name: &str) -> impl FnOnce(crate::store::StoreError) -> ActionError + '_ {
    move |err| match err {
        crate::store::StoreError::Conflict { .. } => ActionError::refused(
            "connection-taken",
            format!(
                "a connection named \"{}\" already exists; choose another name",
                name.trim()
            ),
        ),
        other => ActionError::Store(other),
    }
}

/// A new connection named `name` of the kind `kind` with `values`.
pub async fn create(
    store: &Store,
    acting: &Acting,
    name: &str,
    kind: &str,
    values: &Values,
) -> Result<Connection, ActionError> {
    may_manage(acting)?;
    let spec = kinds::kind(kind).ok_or_else(|| {
        ActionError::refused(
            "connection-kind",
            format!("there is no {kind:?} kind of connection"),
        )
    })?;
    let mut checked = checked(spec, name, values, &[])?;
    crate::connectors::okta::make_keys(spec, &mut checked, &[])
        .map_err(|e| ActionError::refused("connection-problems", e))?;
    let id = Uuid::now_v7();
    let entry = acting.entry(Action::ConnectionCreate, connection_target(id, name));
    store
        .create_connection(
            id,
            name,
            spec.key,
            &checked,
            &acting.actor.id_and_display().1,
            &entry,
        )
        .await
        .map_err(name_taken(name))
}

/// Changes `current` (as read at `version`) to `name` and `values`.
pub async fn update(
    store: &Store,
    acting: &Acting,
    current: &Connection,
    version: i64,
    name: &str,
    values: &Values,
) -> Result<Connection, ActionError> {
    may_manage(acting)?;
    let spec = kinds::kind(&current.kind).ok_or_else(|| {
        ActionError::refused(
            "connection-kind",
            format!("this idflow does not know {:?} connections", current.kind),
        )
    })?;
    let mut checked = checked(spec, name, values, &current.secret_fields)?;
    // Secrets kept: those that still apply and were not typed anew, and those idflow made.
    let mut keep: Vec<String> = spec
        .fields
        .iter()
        .filter(|f| f.is_secret() && f.applies(&checked.settings))
        .map(|f| f.name.to_string())
        .collect();
    keep.extend(
        crate::connectors::okta::make_keys(spec, &mut checked, &current.secret_fields)
            .map_err(|e| ActionError::refused("connection-problems", e))?,
    );
    let entry = acting.entry(
        Action::ConnectionUpdate,
        connection_target(current.id, name),
    );
    match store
        .update_connection(
            current.id,
            version,
            name,
            &checked,
            &keep,
            &acting.actor.id_and_display().1,
            &entry,
        )
        .await
    {
        Ok(Some(updated)) => Ok(updated),
        Ok(None) => Err(gone(current)),
        Err(crate::store::StoreError::PreconditionFailed { .. }) => Err(ActionError::refused(
            "connection-changed",
            "someone changed this connection meanwhile; your change was not saved — open it again",
        )),
        Err(other) => Err(name_taken(name)(other)),
    }
}

fn gone(connection: &Connection) -> ActionError {
    ActionError::gone(
        "connection",
        format!("the connection {} is gone", connection.name),
    )
}

/// The names of the flows whose current version uses connection `id`.
pub async fn used_by(store: &Store, id: Uuid) -> Result<Vec<String>, ActionError> {
    Ok(users_of(store, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default())
}

/// For each of `ids`, the names of the flows whose current version uses it, sorted: the
/// flows' definitions read once for all of them.
pub async fn users_of(
    store: &Store,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<String>>, ActionError> {
    let definitions = store.current_definitions().await?;
    Ok(ids
        .iter()
        .map(|id| {
            let key = id.to_string();
            let mut names: Vec<String> = definitions
                .iter()
                .filter(|(_, flow)| flow.uses_connection(&key))
                .map(|(_, flow)| flow.name.clone())
                .collect();
            names.sort();
            (*id, names)
        })
        .collect())
}

/// Shares `connection` with the flows of `folders` (`None`: every flow). Flows elsewhere
/// that use it already are refused when they next run; the answer names them.
pub async fn share(
    store: &Store,
    acting: &Acting,
    connection: &Connection,
    folders: Option<Vec<Uuid>>,
) -> Result<Vec<String>, ActionError> {
    may_manage(acting)?;
    if folders.as_ref().is_some_and(Vec::is_empty) {
        return Err(ActionError::refused(
            "connection-share-none",
            "tick at least one folder, or choose Every flow",
        ));
    }
    let mut names = Vec::new();
    if let Some(folders) = &folders {
        let all = store.folders().await?;
        for id in folders {
            let folder = all.iter().find(|f| f.id == *id).ok_or_else(|| {
                ActionError::refused(
                    "no-folder",
                    "one of the folders chosen is gone; reload the page",
                )
            })?;
            names.push(folder.name.clone());
        }
    }
    let reason = match &folders {
        None => "usable by every flow".to_string(),
        Some(_) => format!("usable by the flows in {}", names.join(", ")),
    };
    let entry = acting
        .entry(
            Action::ConnectionUpdate,
            connection_target(connection.id, &connection.name),
        )
        .reason(reason);
    if !store
        .share_connection(
            connection.id,
            folders.as_deref(),
            &acting.actor.id_and_display().1,
            &entry,
        )
        .await?
    {
        return Err(gone(connection));
    }
    let shared = Connection {
        folders,
        ..connection.clone()
    };
    let stranded = store
        .flows()
        .await?
        .into_iter()
        .filter(|f| !shared.usable_in(f.folder))
        .map(|f| f.id)
        .collect::<Vec<_>>();
    let definitions = store.current_definitions().await?;
    let key = connection.id.to_string();
    let mut names: Vec<String> = definitions
        .iter()
        .filter(|(id, flow)| stranded.contains(id) && flow.uses_connection(&key))
        .map(|(_, flow)| flow.name.clone())
        .collect();
    names.sort();
    Ok(names)
}

/// Refused when the trigger or a card of `definition`, a flow in `folder`, uses a connection that is
/// not shared with that folder (or is gone): the refusal names them.
pub async fn check_usable(
    store: &Store,
    definition: &crate::flows::Flow,
    folder: Option<Uuid>,
) -> Result<(), ActionError> {
    let named = definition.connection_references();
    if named.is_empty() {
        return Ok(());
    }
    let all = store.connections().await?;
    let mut problems = Vec::new();
    for id in named {
        match all.iter().find(|c| c.id.to_string() == id) {
            Some(c) if c.usable_in(folder) => {}
            Some(c) => problems.push(format!(
                "the connection {} is not shared with this flow's folder (a Connection Manager can share it on its page)",
                c.name
            )),
            None => problems.push(format!("no connection has the id {id}")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ActionError::refused(
            "connection-not-shared",
            problems.join("; "),
        ))
    }
}

/// Deletes `connection`; refused, naming them, while flows use it.
pub async fn delete(
    store: &Store,
    acting: &Acting,
    connection: &Connection,
) -> Result<(), ActionError> {
    may_manage(acting)?;
    let users = used_by(store, connection.id).await?;
    if !users.is_empty() {
        return Err(ActionError::refused(
            "connection-in-use",
            format!(
                "{} is used by {}; change those flows first",
                connection.name,
                users.join(", ")
            ),
        ));
    }
    let entry = acting.entry(
        Action::ConnectionDelete,
        connection_target(connection.id, &connection.name),
    );
    if store.delete_connection(connection.id, &entry).await? {
        Ok(())
    } else {
        Err(gone(connection))
    }
}

/// Tests `connection` as its kind says (an HTTP connection: its base URL answers, with
/// its credentials accepted), keeping and returning the outcome.
pub async fn test(
    store: &Store,
    acting: &Acting,
    connection: &Connection,
) -> Result<ConnectionTest, ActionError> {
    may_manage(acting)?;
    store.refresh_outbound().await?;
    let outcome = store.connectors().test(store, connection).await;
    store.keep_rotated_okta_token(connection.id).await?;
    let (ok, message) = match outcome {
        Ok(message) => (true, message),
        Err(message) => (false, message),
    };
    let outcome = if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    let entry = NewEntry::new(Action::ConnectionTest, outcome, acting.actor.clone())
        .target(connection_target(connection.id, &connection.name))
        .from_request(acting.client_address.clone(), acting.request_id.clone())
        .reason(message.clone());
    if !store
        .record_connection_test(connection.id, ok, &message, &entry)
        .await?
    {
        return Err(gone(connection));
    }
    Ok(ConnectionTest {
        at: chrono::Utc::now(),
        ok,
        message,
    })
}
