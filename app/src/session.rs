//! Who is asking: the signed-in user as the console sees them.
//!
//! The server resolves the user from the session cookie on every request (nothing about
//! the user is cached in the session, so a role change holds from the next request) and
//! places it in the request as [`RequestUser`]; pages and server functions read it here.

use crate::error::AppError;
use domain::access::{Rights, Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in user, as sent to the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: String,
    pub user_name: String,
    pub name: String,
    /// The highest role held, by any path: the one the header names.
    pub role: Role,
    /// Everything the user may do: direct role, group roles and folder grants.
    pub rights: Rights,
}

impl From<&Caller> for SessionUser {
    fn from(caller: &Caller) -> Self {
        SessionUser {
            id: caller.user.id.to_string(),
            user_name: caller.user.user_name.clone(),
            name: caller.user.shown_name().to_string(),
            role: caller.rights.role(),
            rights: caller.rights.clone(),
        }
    }
}

/// A signed-in user and their effective rights, read afresh for each request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: domain::directory::User,
    pub rights: Rights,
}

/// Placed in each request's extensions by the server: the caller behind the session
/// cookie, or `None`.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct RequestUser(pub Option<Caller>);

#[cfg(feature = "ssr")]
pub fn request_caller() -> Option<Caller> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<RequestUser>().cloned())
        .and_then(|u| u.0)
}

#[cfg(feature = "ssr")]
pub fn request_user() -> Option<domain::directory::User> {
    request_caller().map(|c| c.user)
}

/// Placed in each request's extensions by the server: the caller's address as the
/// System Log records it.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct RequestAddress(pub Option<String>);

/// A successful System Log entry by the caller of this server function about `target`.
#[cfg(feature = "ssr")]
pub fn audit_entry(
    action: domain::audit::Action,
    target: domain::audit::Target,
) -> domain::audit::NewEntry {
    use domain::audit::{Actor, NewEntry, Outcome};
    let actor = match request_user() {
        Some(user) => Actor::User {
            id: Some(user.id.0),
            display: user.user_name,
        },
        None => Actor::System,
    };
    let address = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<RequestAddress>().cloned())
        .and_then(|a| a.0);
    NewEntry::new(action, Outcome::Success, actor)
        .target(target)
        .from_request(address, request_id())
}

/// The caller of this server function as the domain's actions judge them.
#[cfg(feature = "ssr")]
pub fn acting(caller: &Caller) -> domain::actions::Acting {
    let address = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<RequestAddress>().cloned())
        .and_then(|a| a.0);
    domain::actions::Acting {
        actor: domain::audit::Actor::User {
            id: Some(caller.user.id.0),
            display: caller.user.user_name.clone(),
        },
        rights: caller.rights.clone(),
        person: Some(caller.user.id),
        client_address: address,
        request_id: request_id(),
        dry_run: false,
    }
}

#[cfg(feature = "ssr")]
use crate::error::request_id;

/// The database, provided by the server to every page render and server function.
#[cfg(feature = "ssr")]
pub fn store() -> Result<domain::store::Store, AppError> {
    use_context::<domain::store::Store>().ok_or_else(|| AppError::internal("no store in context"))
}

/// The flow `id`, when `caller` may see it; "no such flow" otherwise: a flow the caller
/// may not see does not exist for them.
#[cfg(feature = "ssr")]
pub async fn visible_flow(
    store: &domain::store::Store,
    caller: &Caller,
    id: &str,
) -> Result<domain::store::FlowSummary, AppError> {
    use domain::access::Permission;
    let missing = || AppError::NotFound("There is no such flow.".into());
    let id = domain::flows::FlowId(uuid::Uuid::parse_str(id).map_err(|_| missing())?);
    store
        .flow_summary(id)
        .await
        .map_err(AppError::from_store)?
        .filter(|f| caller.rights.on_flow(Permission::ViewFlows, f.folder))
        .ok_or_else(missing)
}

/// The table `id`, when `caller` may see it; "no such table" otherwise.
#[cfg(feature = "ssr")]
pub async fn visible_table(
    store: &domain::store::Store,
    caller: &Caller,
    id: &str,
) -> Result<domain::store::TableSummary, AppError> {
    use domain::access::Permission;
    let missing = || AppError::NotFound("There is no such table.".into());
    let id = domain::tables::TableId(uuid::Uuid::parse_str(id).map_err(|_| missing())?);
    store
        .table(id)
        .await
        .map_err(AppError::from_store)?
        .filter(|t| caller.rights.on_flow(Permission::ViewTables, t.folder))
        .ok_or_else(missing)
}

/// The REST API's OpenAPI document (JSON), provided by the server, which generates it.
#[derive(Debug, Clone)]
pub struct ApiDocument(pub std::sync::Arc<String>);

/// Where people and identity providers reach this idflow (no trailing slash), provided
/// by the server to pages and server functions.
#[derive(Debug, Clone)]
pub struct PublicUrl(pub String);

/// Single sign-on as the server's environment sets it up, provided by the server to pages
/// and server functions (a provider set up in Settings is read from the database).
#[derive(Debug, Clone)]
pub struct SsoEnvironment {
    pub provider: Option<SsoProviderView>,
    /// The redirect URI to register at the identity provider.
    pub redirect_uri: String,
    /// The sign-out redirect URI to register at the identity provider.
    pub signed_out_uri: String,
}

/// An identity provider as the console shows it (never its client secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoProviderView {
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
}

/// The identity provider in effect: the environment's, else the one in Settings.
#[cfg(feature = "ssr")]
pub async fn sso_provider() -> Result<Option<SsoProviderView>, AppError> {
    let environment = use_context::<SsoEnvironment>();
    if let Some(provider) = environment.and_then(|e| e.provider) {
        return Ok(Some(provider));
    }
    let settings = store()?
        .sso_settings()
        .await
        .map_err(AppError::from_store)?;
    Ok(settings.map(|s| SsoProviderView {
        display_name: s.display_name,
        issuer: s.issuer,
        client_id: s.client_id,
    }))
}

pub const SIGN_IN_OPTIONS_PATH: &str = "/api/session/sign_in_options";

/// The name of the identity provider people may sign in with, if one is set up.
#[server(endpoint = "session/sign_in_options")]
pub async fn sign_in_options() -> Result<Option<String>, AppError> {
    Ok(sso_provider().await?.map(|p| p.display_name))
}

/// What a just-made SCIM token is about (see [`NewSecret::about`]).
pub const SCIM_TOKEN_SECRET: &str = "scim-token";

/// What a flow's just-made API secret is about.
pub fn flow_secret_about(flow: impl std::fmt::Display) -> String {
    format!("flow:{flow}")
}

/// The session key under which a just-made secret (a SCIM token, a flow's API secret)
/// waits to be shown, once.
pub const NEW_SECRET_KEY: &str = "new_secret";

/// The just-made secrets taken from the session for this request, by what they are
/// about. A page may render more than once while it waits for data; all of those passes
/// must see the secret that the first one took out of the session (and a page that shows
/// two kinds, as Settings does, each its own).
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Default)]
pub struct NewSecretOnce(
    pub std::sync::Arc<tokio::sync::Mutex<std::collections::HashMap<String, Option<NewSecret>>>>,
);

/// A secret just made, shown once, on the page of what it is `about`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSecret {
    /// What it belongs to: `scim-token`, or `flow:<id>`.
    pub about: String,
    /// Its name, when it has one.
    pub name: String,
    pub secret: String,
}

/// The secret just made about `about`, taken out of the session: shown this once. One
/// about something else stays for its own page.
#[cfg(feature = "ssr")]
pub async fn take_new_secret(about: &str) -> Result<Option<NewSecret>, AppError> {
    let session = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<tower_sessions::Session>().cloned())
        .ok_or_else(|| AppError::internal("no session in the request"))?;
    let once = use_context::<NewSecretOnce>().unwrap_or_default();
    let mut taken = once.0.lock().await;
    if let Some(seen) = taken.get(about) {
        return Ok(seen.clone());
    }
    let waiting = session
        .get::<NewSecret>(NEW_SECRET_KEY)
        .await
        .map_err(AppError::internal)?
        .filter(|secret| secret.about == about);
    if waiting.is_some() {
        session
            .remove_value(NEW_SECRET_KEY)
            .await
            .map_err(AppError::internal)?;
    }
    taken.insert(about.to_string(), waiting.clone());
    Ok(waiting)
}

pub const CURRENT_USER_PATH: &str = "/api/session/current_user";

/// The signed-in user, or `None` for an anonymous caller.
#[server(endpoint = "session/current_user")]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    Ok(request_caller().as_ref().map(SessionUser::from))
}

/// Whether `next` is a safe place to go after signing in: a path on this site, never
/// another site (`//evil.example`, `https://…`, `/\evil.example`).
pub fn is_safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
}

/// The sign-in page's address, coming back to `next` afterwards.
pub fn sign_in_url(next: &str) -> String {
    if next == "/" || !is_safe_next(next) {
        "/sign-in".to_string()
    } else {
        format!("/sign-in?next={}", urlencoding::encode(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_paths_are_safe_redirects() {
        assert!(is_safe_next("/flows"));
        assert!(is_safe_next("/flows?x=1"));
        assert!(!is_safe_next("https://evil.example"));
        assert!(!is_safe_next("//evil.example"));
        assert!(!is_safe_next("/\\evil.example"));
        assert!(!is_safe_next("flows"));
        assert!(!is_safe_next("/\tflows"));
    }

    #[test]
    fn sign_in_url_carries_the_page_to_return_to() {
        assert_eq!(sign_in_url("/flows"), "/sign-in?next=%2Fflows");
        assert_eq!(sign_in_url("/"), "/sign-in");
        assert_eq!(sign_in_url("//evil"), "/sign-in");
    }
}
