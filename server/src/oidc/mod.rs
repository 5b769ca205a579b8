//! Sign-in with OpenID Connect: idflow as a relying party of the company's identity
//! provider (Okta, Entra ID, any certified provider).
//!
//! - The provider is found by discovery from its issuer, configured by `IDFLOW_OIDC_*` or
//!   by a Super Admin in Settings; the environment wins.
//! - Authorization code flow with PKCE (S256) always; `state` and `nonce` are made per
//!   attempt, kept in the server-side session and used once.
//! - The ID token's signature is checked against the provider's JWKS with an allow-list of
//!   asymmetric algorithms (never `none`, never HMAC), and its `iss`, `aud`, `azp`, `exp`,
//!   `iat` and `nonce`; the callback's `iss` parameter (RFC 9207) is checked whenever it is
//!   sent, and required when the provider says it sends it.
//! - The back-channel HTTP client never follows redirects.
//!
//! Who the person is in idflow is decided by [`domain::sso`].

mod link;
mod relying_party;

use link::ask_for_password;
pub use link::confirm_link;
pub use relying_party::*;

use crate::AppState;
use crate::request::{client_address, peer_address, request_id};
use app::session::is_safe_next;
use axum::Form;
use axum::extract::{FromRequest, Query, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::auth::Origin;
use domain::sso::{SsoClaims, SsoOutcome};
use domain::store::{SsoIdentity, Store, StoreError};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
    CoreSubjectIdentifierType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AdditionalProviderMetadata, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, EndSessionUrl, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl,
    Scope, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_sessions::Session;

/// Where the provider sends the browser back after sign-in, below the public URL.
pub const LINK_PATH: &str = "/auth/oidc/link";
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";
/// Where the provider sends the browser after signing out there, below the public URL.
pub const SIGNED_OUT_PATH: &str = "/auth/oidc/signed-out";

/// The session key of the sign-in attempts under way.
const ATTEMPTS_KEY: &str = "sso_attempts";
/// The session key of the ID token, kept for the provider's sign-out (`id_token_hint`).
const ID_TOKEN_KEY: &str = "sso_id_token";
/// How long a started sign-in may take at the provider.
const ATTEMPT_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);
/// How many sign-ins one browser may have under way at once (several tabs).
const MAX_ATTEMPTS: usize = 5;
/// How long discovery (and so the JWKS) is reused before it is fetched again.
const METADATA_LIFETIME: Duration = Duration::from_secs(300);
/// How far in the future an ID token's `iat` may be (clock skew).
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(2);

fn origin(state: &AppState, request: &Request) -> Origin {
    Origin {
        client_address: client_address(state, request.headers(), peer_address(request)),
        request_id: request_id(request.headers()),
    }
}

/// Logs a failed single sign-on and sends the browser to the sign-in page with the
/// failure's code, ending whatever session it had.
async fn refuse(
    state: &AppState,
    session: &Session,
    origin: &Origin,
    failure: Failure,
) -> Response {
    tracing::warn!(reason = %failure, "single sign-on refused");
    let entry = NewEntry::new(
        Action::SessionStart,
        Outcome::Failure,
        Actor::User {
            id: None,
            display: "unknown (single sign-on)".into(),
        },
    )
    .reason(format!("single sign-on: {failure}"))
    .from_request(origin.client_address.clone(), origin.request_id.clone());
    if let Err(err) = state.store.append_audit(&entry).await {
        tracing::error!(error = %err, "could not log a refused sign-in");
    }
    if let Err(err) = session.flush().await {
        tracing::error!(error = %err, "could not end a session");
    }
    Redirect::to(&format!("/sign-in?error={}", failure.code())).into_response()
}

/// The provider in effect (and, for a callback, still the one the attempt started with),
/// or the answer refusing the sign-in.
async fn provider_or_refusal(
    state: &AppState,
    session: &Session,
    origin: &Origin,
    started_with: Option<&str>,
) -> Result<Provider, Response> {
    match state.sso.provider(&state.store).await {
        Ok(Some(p)) if started_with.is_none_or(|issuer| issuer == p.issuer) => Ok(p),
        Ok(_) => Err(refuse(state, session, origin, Failure::NotConfigured).await),
        Err(err) => {
            tracing::error!(error = %err, "could not read the single sign-on settings");
            Err(Redirect::to("/sign-in?error=unavailable").into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    next: Option<String>,
}

/// `GET /auth/oidc/start?next=/path`: remembers a new attempt in the session and sends
/// the browser to the provider.
pub async fn start(State(state): State<AppState>, session: Session, request: Request) -> Response {
    let origin = origin(&state, &request);
    let next = Query::<StartQuery>::try_from_uri(request.uri())
        .ok()
        .and_then(|q| q.0.next)
        .unwrap_or_else(|| "/".into());
    if !is_safe_next(&next) {
        return refuse(&state, &session, &origin, Failure::UnsafeNext(next)).await;
    }
    let provider = match provider_or_refusal(&state, &session, &origin, None).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let (url, attempt) = match state.sso.begin(&provider, next).await {
        Ok(begun) => begun,
        Err(failure) => return refuse(&state, &session, &origin, failure).await,
    };
    let mut attempts = attempts_in(&session).await;
    let now = Utc::now();
    attempts.retain(|a| now - a.started_at < ATTEMPT_LIFETIME);
    attempts.push(attempt);
    if attempts.len() > MAX_ATTEMPTS {
        attempts.remove(0);
    }
    if let Err(err) = session.insert(ATTEMPTS_KEY, attempts).await {
        tracing::error!(error = %err, "could not remember a sign-in attempt");
        return Redirect::to("/sign-in?error=unavailable").into_response();
    }
    Redirect::to(url.as_str()).into_response()
}

/// The sign-in attempts this browser has under way (none when the session holds none).
async fn attempts_in(session: &Session) -> Vec<Attempt> {
    session
        .get(ATTEMPTS_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Takes the attempt `state` names out of the session: it can be used only once.
async fn take_attempt(session: &Session, state: &str) -> Result<Attempt, Failure> {
    let mut attempts = attempts_in(session).await;
    let now = Utc::now();
    let found = attempts
        .iter()
        .position(|a| a.state.as_bytes() == state.as_bytes())
        .map(|i| attempts.remove(i));
    attempts.retain(|a| now - a.started_at < ATTEMPT_LIFETIME);
    let saved = if attempts.is_empty() {
        session.remove_value(ATTEMPTS_KEY).await.map(|_| ())
    } else {
        session.insert(ATTEMPTS_KEY, attempts).await
    };
    saved.map_err(|e| Failure::Unreachable(format!("the session store: {e}")))?;
    found
        .filter(|a| now - a.started_at < ATTEMPT_LIFETIME)
        .ok_or(Failure::StateUnknown)
}

/// `GET /auth/oidc/callback`: where the provider sends the browser back.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Response {
    let origin = origin(&state, &request);
    let params: HashMap<String, String> =
        Query::<HashMap<String, String>>::try_from_uri(request.uri())
            .map(|q| q.0)
            .unwrap_or_default();
    let Some(returned_state) = params.get("state").filter(|s| !s.is_empty()) else {
        return refuse(&state, &session, &origin, Failure::StateMissing).await;
    };
    let attempt = match take_attempt(&session, returned_state).await {
        Ok(a) => a,
        Err(failure) => return refuse(&state, &session, &origin, failure).await,
    };
    let provider = match provider_or_refusal(&state, &session, &origin, Some(&attempt.issuer)).await
    {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let (claims, id_token) = match state.sso.finish(&provider, &attempt, &params).await {
        Ok(done) => done,
        Err(failure) => return refuse(&state, &session, &origin, failure).await,
    };
    let user = match domain::sso::sign_in(&state.store, &claims, &origin).await {
        Ok(SsoOutcome::SignedIn(user)) => user,
        Ok(SsoOutcome::ConfirmLink(user)) => {
            return ask_for_password(&session, &claims, &user, id_token, attempt.next).await;
        }
        Err(error) => {
            // Already in the System Log.
            tracing::warn!(error = %error, "single sign-on refused");
            let _ = session.flush().await;
            return Redirect::to(&format!("/sign-in?error={}", error.code())).into_response();
        }
    };
    let started = async {
        crate::sessions::start(&session, user.id).await?;
        session.insert(ID_TOKEN_KEY, id_token).await
    };
    if let Err(err) = started.await {
        tracing::error!(error = %err, "could not start a session");
        return Redirect::to("/sign-in?error=unavailable").into_response();
    }
    Redirect::to(&attempt.next).into_response()
}

/// Where the browser goes after signing out: the provider's end-session endpoint when the
/// session came from single sign-on and the provider has one, else the sign-in page.
/// Called by sign-out with the session still readable.
pub async fn after_sign_out(state: &AppState, session: &Session) -> String {
    let local = "/sign-in?notice=signed-out".to_string();
    let Ok(Some(id_token)) = session.get::<String>(ID_TOKEN_KEY).await else {
        return local;
    };
    let Ok(Some(provider)) = state.sso.provider(&state.store).await else {
        return local;
    };
    match state.sso.end_session_url(&provider, &id_token).await {
        Some(url) => url.to_string(),
        None => local,
    }
}

/// `GET /auth/oidc/signed-out`: the provider's way back after its sign-out.
pub async fn signed_out() -> Response {
    Redirect::to("/sign-in?notice=signed-out").into_response()
}
