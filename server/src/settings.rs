//! Form posts from the Settings page: make and revoke SCIM tokens, set up and remove
//! single sign-on, keep the outbound allow-list. Each reads the form, calls the domain's action
//! (`domain::actions::settings`, which checks the caller may) and answers with a redirect
//! back to Settings, so the page works without JavaScript.

use crate::AppState;
use crate::forms::Origin;
use app::session::{NewSecret, SCIM_TOKEN_SECRET};
use axum::Form;
use axum::extract::{FromRequest, Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::actions::ActionError;
use domain::actions::settings::{self as actions, SsoInput};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    name: String,
}

fn back(code: &str) -> Response {
    Redirect::to(&format!("/settings?{code}")).into_response()
}

/// Back to Settings after an action did not happen: its code (the page has a sentence
/// for each), or "unavailable" when the store failed.
fn failed(err: impl Into<ActionError>) -> Response {
    match err.into() {
        ActionError::Refused(refusal) => back(&format!("error={}", refusal.code)),
        ActionError::NotFound { .. } => back("error=gone"),
        ActionError::Store(err) => {
            tracing::error!(error = %err, "settings change failed");
            back("error=unavailable")
        }
    }
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
        return back("error=name");
    };
    let (token, secret) =
        match actions::create_scim_token(&state.store, &origin.acting(), &form.name).await {
            Ok(made) => made,
            Err(err) => return failed(err),
        };
    let shown = NewSecret {
        about: SCIM_TOKEN_SECRET.to_string(),
        name: token.name,
        secret,
    };
    if let Err(refused) = crate::forms::keep_to_show(&session, shown, "/settings").await {
        return refused;
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
        return back("error=gone");
    };
    match actions::revoke_scim_token(&state.store, &origin.acting(), id).await {
        Ok(()) => back("notice=revoked"),
        Err(err) => failed(err),
    }
}

/// `POST /settings/scim-self-check`: runs the SCIM self-check against idflow's own
/// `/scim/v2` with a temporary token; back to Settings, which shows each check's result.
pub async fn run_scim_self_check(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    let acting = origin.acting();
    let ran_by = acting.actor.id_and_display().1;
    match crate::scim::self_check::run(&state, &acting, &ran_by).await {
        Ok(report) if report.all_passed() => back("notice=self-check-passed#scim-self-check"),
        Ok(_) => back("error=self-check-failed#scim-self-check"),
        Err(err) => failed(err),
    }
}

/// Back to Settings after an API token change was refused: its code and the reason.
fn token_refused(err: ActionError) -> Response {
    match err {
        ActionError::Refused(refusal) => {
            crate::forms::refused_because("/settings#api-tokens", refusal.code, &refusal.reason)
        }
        other => failed(other),
    }
}

/// `POST /settings/api-tokens` with `name`, `kind` (personal or service), `role` (a
/// service token's), `scope` (repeated) and `days`: makes a token for the person signed
/// in and keeps its secret in the session until Settings shows it, once.
pub async fn create_api_token(
    State(state): State<AppState>,
    session: Session,
    post: crate::forms::Post,
) -> Response {
    use domain::actions::api_tokens::{TokenInput, create};
    use domain::api_tokens::{Scope, TokenKind};
    let crate::forms::Post { origin, fields } = post;
    let Some(kind) = TokenKind::parse(fields.get("kind")) else {
        return token_refused(ActionError::refused(
            "token-kind",
            "choose a personal or a service token",
        ));
    };
    let role = match (kind, fields.get("role")) {
        (TokenKind::Service, role) if !role.is_empty() => match role.parse() {
            Ok(role) => Some(role),
            Err(_) => {
                return token_refused(ActionError::refused(
                    "token-role",
                    "choose a role from the list",
                ));
            }
        },
        _ => None,
    };
    let mut scopes = Vec::new();
    for name in fields.all("scope") {
        match Scope::parse(name) {
            Some(scope) => scopes.push(scope),
            None => {
                return token_refused(ActionError::refused(
                    "token-scopes",
                    format!("{name:?} is not a scope"),
                ));
            }
        }
    }
    let days = match fields.get("days") {
        "" => None,
        days => match days.parse::<u32>() {
            Ok(days) => Some(days),
            Err(_) => {
                return token_refused(ActionError::refused(
                    "token-days",
                    "enter the days until the token expires as a whole number",
                ));
            }
        },
    };
    let input = TokenInput {
        name: fields.get("name").to_string(),
        kind,
        role,
        scopes,
        days,
    };
    let (token, secret) = match create(&state.store, &origin.acting(), &input).await {
        Ok(made) => made,
        Err(err) => return token_refused(err),
    };
    let shown = NewSecret {
        about: app::settings::API_TOKEN_SECRET.to_string(),
        name: token.name,
        secret,
    };
    if let Err(refused) = crate::forms::keep_to_show(&session, shown, "/settings").await {
        return refused;
    }
    Redirect::to("/settings#api-tokens").into_response()
}

/// `POST /settings/api-tokens/{id}/revoke`.
pub async fn revoke_api_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let Ok(id) = Uuid::parse_str(&id) else {
        return back("error=gone");
    };
    match domain::actions::api_tokens::revoke(&state.store, &origin.acting(), id).await {
        Ok(_) => back("notice=api-token-revoked#api-tokens"),
        Err(ActionError::NotFound { .. }) => back("error=gone"),
        Err(err) => token_refused(err),
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
    let input = SsoInput {
        issuer: form.issuer,
        client_id: form.client_id,
        client_secret: form.client_secret,
        display_name: form.display_name,
    };
    // Only someone who may set up sign-in makes idflow reach out to an address.
    if let Err(err) = actions::may_set_up_sign_in(&origin.acting()) {
        return failed(err);
    }
    let input = match actions::check_sso(&input) {
        Ok(input) => input,
        Err(err) => return failed(err),
    };
    if let Err(err) = state.sso.check_issuer(&input.issuer).await {
        tracing::warn!(error = %err, "single sign-on settings refused");
        return back("error=sso-discovery");
    }
    if let Err(err) = actions::save_sso(&state.store, &origin.acting(), &input).await {
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
    if let Err(err) = actions::remove_sso(&state.store, &origin.acting()).await {
        return failed(err);
    }
    state.sso.forget_metadata().await;
    back("notice=sso-removed")
}

/// `POST /settings/outbound`: the outbound allow-list (`allow`); a list that does not
/// read is refused, saying which item, and nothing is kept.
pub async fn save_outbound(State(state): State<AppState>, post: crate::forms::Post) -> Response {
    let crate::forms::Post { origin, fields } = post;
    match actions::save_outbound_allow(&state.store, &origin.acting(), fields.get("allow")).await {
        Ok(_) => back("notice=outbound-saved"),
        Err(ActionError::Refused(r)) if r.code == "outbound-allow" => {
            crate::forms::refused_because("/settings", r.code, &r.reason)
        }
        Err(err) => failed(err),
    }
}
