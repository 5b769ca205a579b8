//! Form posts from the Settings page: make and revoke SCIM tokens. Each answers with a
//! redirect back to Settings, so the page works without JavaScript. The entry-point
//! table has already checked the caller may manage tokens.

use crate::AppState;
use crate::forms::Origin;
use app::session::{NEW_SCIM_TOKEN_KEY, NewScimToken};
use axum::Form;
use axum::extract::{FromRequest, Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::audit::{Action, Target};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    name: String,
}

fn failed(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "settings change failed");
    Redirect::to("/settings?error=unavailable").into_response()
}

/// `POST /settings/scim-tokens`: makes a token and keeps its secret in the session
/// until the Settings page shows it, once.
pub async fn create_scim_token(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let Ok(Form(form)) = Form::<NewTokenForm>::from_request(request, &state).await else {
        return Redirect::to("/settings?error=name").into_response();
    };
    let name = form.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Redirect::to("/settings?error=name").into_response();
    }
    let entry = origin.entry(
        Action::ScimTokenCreate,
        Target {
            kind: "scim_token".into(),
            id: String::new(),
            display: name.clone(),
        },
    );
    let (_, secret) = match state.store.create_scim_token(&name, &entry).await {
        Ok(made) => made,
        Err(err) => return failed(err),
    };
    if let Err(err) = session
        .insert(NEW_SCIM_TOKEN_KEY, NewScimToken { name, secret })
        .await
    {
        return failed(err);
    }
    Redirect::to("/settings").into_response()
}

/// `POST /settings/scim-tokens/{id}/revoke`.
pub async fn revoke_scim_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let Ok(id) = Uuid::parse_str(&id) else {
        return Redirect::to("/settings?error=gone").into_response();
    };
    let name = match state.store.scim_tokens().await {
        Ok(tokens) => tokens
            .into_iter()
            .find(|t| t.id == id)
            .map(|t| t.name)
            .unwrap_or_default(),
        Err(err) => return failed(err),
    };
    let entry = origin.entry(
        Action::ScimTokenRevoke,
        Target {
            kind: "scim_token".into(),
            id: id.to_string(),
            display: name,
        },
    );
    match state.store.revoke_scim_token(id, &entry).await {
        Ok(true) => Redirect::to("/settings?notice=revoked").into_response(),
        Ok(false) => Redirect::to("/settings?error=gone").into_response(),
        Err(err) => failed(err),
    }
}
