//! Settings' data as server functions: single sign-on as set up (never its secret) and
//! the SCIM tokens (never their secrets).

use crate::error::AppError;
use crate::session::NewSecret;
use domain::scim::token::ScimToken;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const SCIM_TOKENS_PATH: &str = "/api/settings/scim-tokens";
pub const SSO_PATH: &str = "/api/settings/sso";
pub const OUTBOUND_PATH: &str = "/api/settings/outbound";
pub const API_TOKENS_PATH: &str = "/api/settings/api-tokens";

/// The session's `about` for a just-made API token.
pub const API_TOKEN_SECRET: &str = "api-token";

/// API tokens as Settings lists them (never their secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiTokensView {
    /// The viewer's tokens (and the service tokens they made); every token for a Super
    /// Admin.
    pub tokens: Vec<ApiTokenRow>,
    /// A token made just now, shown this once.
    pub new_token: Option<NewSecret>,
    /// The roles the viewer may give a service token: value and label.
    pub roles: Vec<(String, String)>,
    /// Every scope's name.
    pub scopes: Vec<String>,
    /// The viewer sees every token.
    pub all: bool,
    /// The REST API's base URL.
    pub base_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiTokenRow {
    pub id: String,
    pub name: String,
    /// Personal or Service.
    pub kind: String,
    pub owner: String,
    /// A service token's role, as people read it.
    pub role: Option<String>,
    pub scopes: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Active, Expired or Revoked.
    pub status: String,
}

#[server(endpoint = "settings/api-tokens")]
pub async fn load_api_tokens() -> Result<ApiTokensView, AppError> {
    use domain::access::{Permission, Role};
    use domain::api_tokens::Scope;
    let store = crate::session::store()?;
    let viewer = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let all = viewer.rights.allows(Permission::ManageSuperAdmins);
    let tokens = store
        .api_tokens((!all).then_some(viewer.user.id))
        .await
        .map_err(AppError::from_store)?;
    let now = chrono::Utc::now();
    let new_token = crate::session::take_new_secret(API_TOKEN_SECRET).await?;
    let base = use_context::<crate::session::PublicUrl>()
        .map(|u| u.0)
        .unwrap_or_default();
    Ok(ApiTokensView {
        tokens: tokens
            .iter()
            .map(|t| ApiTokenRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                kind: match t.kind() {
                    Some(domain::api_tokens::TokenKind::Service) => "Service".into(),
                    _ => "Personal".into(),
                },
                owner: t.owner_name.clone(),
                role: t.role().map(|r| r.label().to_string()),
                scopes: t.scopes.clone(),
                created_at: t.created_at,
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
                status: t.status(now).to_string(),
            })
            .collect(),
        new_token,
        roles: Role::ALL
            .into_iter()
            .filter(|r| *r != Role::UnassignedUser)
            .filter(|r| domain::actions::api_tokens::holds_all_of(&viewer.rights, *r))
            .map(|r| (r.as_str().to_string(), r.label().to_string()))
            .collect(),
        scopes: Scope::all().iter().map(|s| s.name()).collect(),
        all,
        base_url: format!("{}/api/v1", base.trim_end_matches('/')),
    })
}

/// The outbound allow-list as Settings shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundView {
    /// This server's own list (`IDFLOW_OUTBOUND_ALLOW`), one item per line.
    pub fixed: String,
    /// The list kept in Settings, one item per line.
    pub setting: String,
    pub changed: Option<(chrono::DateTime<chrono::Utc>, String)>,
    /// Whether the viewer may change it (Super Admins).
    pub can_manage: bool,
}

#[server(endpoint = "settings/outbound")]
pub async fn load_outbound_settings() -> Result<OutboundView, AppError> {
    use domain::access::Permission;
    let viewer = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let setting = store
        .outbound_setting()
        .await
        .map_err(AppError::from_store)?;
    Ok(OutboundView {
        fixed: store.connectors().fixed_allowed().to_string(),
        setting: setting
            .as_ref()
            .map(|s| s.allow.clone())
            .unwrap_or_default(),
        changed: setting.map(|s| (s.updated_at, s.updated_by)),
        can_manage: viewer.rights.allows(Permission::ManageOutbound),
    })
}

/// Single sign-on as Settings shows it: never the client secret, only whether one is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SsoSettingsView {
    pub provider: Option<crate::session::SsoProviderView>,
    /// Set by `IDFLOW_OIDC_*` on the server: Settings cannot change it.
    pub from_environment: bool,
    pub has_client_secret: bool,
    pub changed: Option<(chrono::DateTime<chrono::Utc>, String)>,
    pub redirect_uri: String,
    pub signed_out_uri: String,
    /// Whether the viewer may change it (Super Admins).
    pub can_manage: bool,
}

#[server(endpoint = "settings/sso")]
pub async fn load_sso_settings() -> Result<SsoSettingsView, AppError> {
    use domain::access::Permission;
    let viewer = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let environment = use_context::<crate::session::SsoEnvironment>()
        .ok_or_else(|| AppError::internal("no single sign-on context"))?;
    let can_manage = viewer.rights.allows(Permission::ManageSignIn);
    if let Some(provider) = environment.provider {
        return Ok(SsoSettingsView {
            provider: Some(provider),
            from_environment: true,
            has_client_secret: false,
            changed: None,
            redirect_uri: environment.redirect_uri,
            signed_out_uri: environment.signed_out_uri,
            can_manage,
        });
    }
    let stored = crate::session::store()?
        .sso_settings()
        .await
        .map_err(AppError::from_store)?;
    Ok(SsoSettingsView {
        has_client_secret: stored.as_ref().is_some_and(|s| s.has_client_secret()),
        changed: stored
            .as_ref()
            .map(|s| (s.updated_at, s.updated_by.clone())),
        provider: stored.map(|s| crate::session::SsoProviderView {
            display_name: s.display_name,
            issuer: s.issuer,
            client_id: s.client_id,
        }),
        from_environment: false,
        redirect_uri: environment.redirect_uri,
        signed_out_uri: environment.signed_out_uri,
        can_manage,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimSettings {
    /// The SCIM base URL an identity provider needs.
    pub base_url: String,
    pub tokens: Vec<ScimToken>,
    /// A token made just now, shown this once.
    pub new_token: Option<NewSecret>,
    /// Whether the viewer may make and revoke tokens (and run the self-check).
    pub can_manage: bool,
    /// The SCIM self-check's last run.
    pub last_check: Option<domain::scim::self_check::SelfCheck>,
}

#[server(endpoint = "settings/scim-tokens")]
pub async fn load_scim_settings() -> Result<ScimSettings, AppError> {
    use domain::access::Permission;
    let store = crate::session::store()?;
    let viewer = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let base = use_context::<crate::session::PublicUrl>()
        .map(|u| u.0)
        .unwrap_or_default();
    let tokens = store.scim_tokens().await.map_err(AppError::from_store)?;
    let new_token = crate::session::take_new_secret(crate::session::SCIM_TOKEN_SECRET).await?;
    Ok(ScimSettings {
        base_url: format!("{base}/scim/v2"),
        tokens,
        new_token,
        can_manage: viewer.rights.allows(Permission::ManageScimTokens),
        last_check: store
            .last_self_check()
            .await
            .map_err(AppError::from_store)?,
    })
}
