//! Form posts from the Connections tab: create, change (and rename), test and delete a
//! connection. Each reads the form, calls the domain's action
//! (`domain::actions::connections`, which checks the caller may manage connections) and
//! answers with a redirect, so the tab works without JavaScript. Secrets arrive as
//! `secret.<field>`, settings as `s.<field>`; a secret left empty keeps the one kept.

use crate::AppState;
use crate::forms::{
    Answer, Fields, Post, action_failed, done, done_because, refused, refused_because, store_failed,
};
use axum::extract::{Path, State};
use domain::actions::connections as act;
use domain::connections::Values;
use domain::store::Connection;

const CONNECTIONS: &str = "/connections";

fn page(id: uuid::Uuid) -> String {
    format!("{CONNECTIONS}/{id}")
}

/// The settings and secrets a form carries.
fn values(fields: &Fields) -> Values {
    let mut values = Values::default();
    for (name, value) in fields.pairs() {
        if let Some(setting) = name.strip_prefix("s.") {
            values
                .settings
                .insert(setting.to_string(), value.trim().to_string());
        } else if let Some(secret) = name.strip_prefix("secret.") {
            // Secrets are taken as typed: spaces may be part of them.
            values.secrets.insert(secret.to_string(), value.to_string());
        }
    }
    values
}

async fn load(state: &AppState, id: &str) -> Result<Connection, axum::response::Response> {
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return Err(refused(CONNECTIONS, "no-connection"));
    };
    match state.store.connection(id).await {
        Ok(Some(connection)) => Ok(connection),
        Ok(None) => Err(refused(CONNECTIONS, "no-connection")),
        Err(err) => Err(store_failed(CONNECTIONS, err)),
    }
}

/// `POST /connections`: a new connection of the kind `kind`.
pub async fn create(State(state): State<AppState>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let made = act::create(
        &state.store,
        &origin.acting(),
        fields.get("name"),
        fields.get("kind"),
        &values(&fields),
    )
    .await;
    Ok(match made {
        Ok(connection) => done(&page(connection.id), "connection-created"),
        Err(err) => action_failed(CONNECTIONS, err),
    })
}

/// `POST /connections/{id}`: its name, settings and any secret typed anew.
pub async fn update(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let current = load(&state, &id).await?;
    let here = page(current.id);
    let Ok(version) = fields.get("version").parse::<i64>() else {
        return Err(refused(&here, "invalid"));
    };
    let saved = act::update(
        &state.store,
        &origin.acting(),
        &current,
        version,
        fields.get("name"),
        &values(&fields),
    )
    .await;
    Ok(match saved {
        Ok(_) => done(&here, "connection-saved"),
        Err(err) => action_failed(&here, err),
    })
}

/// `POST /connections/{id}/test`.
pub async fn test(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> Answer {
    let connection = load(&state, &id).await?;
    let here = page(connection.id);
    Ok(
        match act::test(&state.store, &post.origin.acting(), &connection).await {
            Ok(outcome) if outcome.ok => done(&here, "connection-works"),
            Ok(outcome) => refused_because(&here, "connection-test-failed", &outcome.message),
            Err(err) => action_failed(&here, err),
        },
    )
}

/// `POST /connections/{id}/sharing`: `who=every` (every flow may use it) or
/// `who=folders` with a `folder` field for each folder whose flows may.
pub async fn share(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> Answer {
    let Post { origin, fields } = post;
    let connection = load(&state, &id).await?;
    let here = page(connection.id);
    let folders = match fields.get("who") {
        "every" => None,
        "folders" => {
            let mut chosen = Vec::new();
            for (name, value) in fields.pairs() {
                if name == "folder" {
                    let Ok(folder) = uuid::Uuid::parse_str(value.trim()) else {
                        return Err(refused(&here, "invalid"));
                    };
                    chosen.push(folder);
                }
            }
            Some(chosen)
        }
        _ => return Err(refused(&here, "invalid")),
    };
    Ok(
        match act::share(&state.store, &origin.acting(), &connection, folders).await {
            Ok(stranded) if stranded.is_empty() => done(&here, "connection-shared"),
            Ok(stranded) => done_because(&here, "connection-shared-stranded", &stranded.join(", ")),
            Err(err) => action_failed(&here, err),
        },
    )
}

/// `POST /connections/{id}/delete`: refused, with their names, while flows use it.
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> Answer {
    let connection = load(&state, &id).await?;
    Ok(
        match act::delete(&state.store, &post.origin.acting(), &connection).await {
            Ok(()) => done(CONNECTIONS, "connection-deleted"),
            Err(err) => action_failed(&page(connection.id), err),
        },
    )
}
