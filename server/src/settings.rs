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
use domain::store::SsoSettings;
use secrecy::SecretString;
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
    // The entry-point table lets only those who may manage SCIM tokens (Super Admins)
    // this far; the token acts with its maker's power.
    let Some(maker) = origin
        .user()
        .map(|u| domain::store::TokenMaker::Person(u.id))
    else {
        return Redirect::to("/settings?error=unavailable").into_response();
    };
    let (_, secret) = match state.store.create_scim_token(&name, maker, &entry).await {
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

#[derive(Debug, Deserialize)]
pub struct SsoForm {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    display_name: String,
}

fn back(code: &str) -> Response {
    Redirect::to(&format!("/settings?{code}")).into_response()
}

/// `POST /settings/sso`: sets up (or changes) single sign-on, after checking the issuer
/// serves an OpenID configuration. An empty secret keeps the saved one.
pub async fn save_sso(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    if state.sso.environment().is_some() {
        return back("error=sso-environment");
    }
    let Ok(Form(form)) = Form::<SsoForm>::from_request(request, &state).await else {
        return back("error=sso-issuer");
    };
    let issuer = match url::Url::parse(form.issuer.trim()) {
        Ok(url)
            if (url.scheme() == "https"
                || (url.scheme() == "http" && crate::oidc::is_loopback(&url)))
                && url.query().is_none()
                && url.fragment().is_none() =>
        {
            url.as_str().trim_end_matches('/').to_string()
        }
        _ => return back("error=sso-issuer"),
    };
    let client_id = form.client_id.trim().to_string();
    if client_id.is_empty() || client_id.chars().count() > 200 {
        return back("error=sso-client");
    }
    let display_name = form.display_name.trim().to_string();
    if display_name.chars().count() > 60 {
        return back("error=sso-name");
    }
    if let Err(err) = state.sso.check_issuer(&issuer).await {
        tracing::warn!(error = %err, "single sign-on settings refused");
        return back("error=sso-discovery");
    }
    let saved = match state.store.sso_settings().await {
        Ok(saved) => saved,
        Err(err) => return failed(err),
    };
    let client_secret = if form.client_secret.is_empty() {
        saved
            .map(|s| s.client_secret)
            .unwrap_or_else(|| SecretString::from(String::new()))
    } else {
        SecretString::from(form.client_secret)
    };
    let settings = SsoSettings {
        display_name: if display_name.is_empty() {
            crate::oidc::default_display_name(&issuer)
        } else {
            display_name
        },
        issuer: issuer.clone(),
        client_id,
        client_secret,
        updated_at: chrono::Utc::now(),
        updated_by: origin.user_name(),
    };
    let entry = origin
        .entry(
            Action::SsoSettingsChange,
            Target {
                kind: "identity_provider".into(),
                id: issuer.clone(),
                display: settings.display_name.clone(),
            },
        )
        .reason(format!(
            "set up: issuer {issuer}, client id {}",
            settings.client_id
        ));
    if let Err(err) = state.store.save_sso_settings(Some(&settings), &entry).await {
        return failed(err);
    }
    state.sso.forget_metadata().await;
    back("notice=sso-saved")
}

/// `POST /settings/sso/remove`: turns single sign-on off (users and their links stay).
pub async fn remove_sso(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    if state.sso.environment().is_some() {
        return back("error=sso-environment");
    }
    let saved = match state.store.sso_settings().await {
        Ok(Some(saved)) => saved,
        Ok(None) => return back("notice=sso-removed"),
        Err(err) => return failed(err),
    };
    let entry = origin
        .entry(
            Action::SsoSettingsChange,
            Target {
                kind: "identity_provider".into(),
                id: saved.issuer.clone(),
                display: saved.display_name.clone(),
            },
        )
        .reason("removed");
    if let Err(err) = state.store.save_sso_settings(None, &entry).await {
        return failed(err);
    }
    state.sso.forget_metadata().await;
    back("notice=sso-removed")
}
