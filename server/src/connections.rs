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
use axum::response::IntoResponse;
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

/// Where the session keeps an Okta authorisation under way (its state and PKCE verifier).
const OKTA_PENDING: &str = "okta_authorization";

#[derive(serde::Serialize, serde::Deserialize)]
struct PendingOkta {
    connection: uuid::Uuid,
    state: String,
    verifier: String,
}

/// Where Okta sends the admin back after the consent page.
pub const OKTA_CALLBACK_PATH: &str = "/connections/okta/callback";

fn okta_redirect_uri(state: &AppState) -> String {
    format!(
        "{}{OKTA_CALLBACK_PATH}",
        state.public_url.trim_end_matches('/')
    )
}

/// `POST /connections/{id}/okta/authorize`: off to the Okta org's consent page
/// (authorization code with PKCE), to come back at [`OKTA_CALLBACK_PATH`].
pub async fn okta_authorize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session: tower_sessions::Session,
    post: Post,
) -> Answer {
    use domain::connectors::okta::{authorize_url, pkce, random_text};
    let connection = load(&state, &id).await?;
    let here = page(connection.id);
    if let Err(err) = act::may_authorize_okta(&post.origin.acting(), &connection) {
        return Err(action_failed(&here, err));
    }
    let (verifier, challenge) = pkce();
    let pending = PendingOkta {
        connection: connection.id,
        state: random_text(24),
        verifier,
    };
    let url = authorize_url(
        &connection,
        &okta_redirect_uri(&state),
        &pending.state,
        &challenge,
    )
    .map_err(|why| refused_because(&here, "okta-authorize-failed", &why))?;
    if let Err(err) = session.insert(OKTA_PENDING, pending).await {
        tracing::error!(error = %err, "could not keep an Okta authorisation in the session");
        return Err(refused(&here, "unavailable"));
    }
    Ok(axum::response::Redirect::to(&url).into_response())
}

/// `GET /connections/okta/callback`: Okta's answer to the consent page; the code is
/// exchanged for the connection's refresh token.
pub async fn okta_callback(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    origin: crate::forms::Origin,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Answer {
    let pending: Option<PendingOkta> = session.get(OKTA_PENDING).await.ok().flatten();
    let _ = session.remove_value(OKTA_PENDING).await;
    let Some(pending) = pending.filter(|p| query.get("state") == Some(&p.state)) else {
        return Err(refused_because(
            CONNECTIONS,
            "okta-authorize-failed",
            "this answer from Okta does not belong to an authorisation started here; press Authorize with Okta again",
        ));
    };
    let connection = load(&state, &pending.connection.to_string()).await?;
    let here = page(connection.id);
    if let Some(error) = query.get("error") {
        let why = query
            .get("error_description")
            .map_or(error.as_str(), String::as_str);
        return Err(refused_because(
            &here,
            "okta-authorize-failed",
            &format!("Okta said: {why}"),
        ));
    }
    let code = query.get("code").map(String::as_str).unwrap_or_default();
    match act::finish_okta_authorization(
        &state.store,
        &origin.acting(),
        &connection,
        code,
        &pending.verifier,
        &okta_redirect_uri(&state),
    )
    .await
    {
        Ok(()) => Ok(done(&here, "okta-authorized")),
        Err(err) => Err(action_failed(&here, err)),
    }
}
