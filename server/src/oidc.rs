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

use crate::AppState;
use crate::auth::{client_address, peer_address};
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

/// The signature algorithms idflow accepts on ID tokens: asymmetric ones only.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Discovery fields beyond OpenID Connect Discovery 1.0 that idflow uses.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RP-Initiated Logout 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<EndSessionUrl>,
    /// RFC 9207: the provider adds `iss` to its authorization responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The identity provider in effect.
#[derive(Clone, Debug)]
pub struct Provider {
    /// "Sign in with {display_name}".
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// Set by `IDFLOW_OIDC_*` (Settings cannot change it).
    pub from_environment: bool,
}

/// A name for the sign-in button when none is configured: the provider's product when
/// the issuer says which, else the issuer's host.
pub fn default_display_name(issuer: &str) -> String {
    let host = url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| issuer.to_string());
    if host.ends_with(".okta.com") || host.ends_with(".oktapreview.com") {
        "Okta".into()
    } else if host.ends_with("login.microsoftonline.com") {
        "Microsoft Entra ID".into()
    } else if host == "accounts.google.com" {
        "Google".into()
    } else {
        host
    }
}

/// Whether a URL points at this machine (where plain http is acceptable for an issuer).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Why a single sign-on did not happen. Each has a code the sign-in page explains and a
/// reason for the System Log.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("single sign-on is not set up")]
    NotConfigured,
    #[error("the address to return to after sign-in is not a path on this site: {0:?}")]
    UnsafeNext(String),
    #[error("the callback has no state")]
    StateMissing,
    #[error(
        "the callback's state matches no sign-in started in this browser (unknown, expired or already used)"
    )]
    StateUnknown,
    #[error("the identity provider answered with an error: {0}")]
    Provider(String),
    #[error("cannot reach the identity provider: {0}")]
    Unreachable(String),
    #[error("the identity provider's answer was refused: {0}")]
    Rejected(String),
}

impl Failure {
    pub fn code(&self) -> &'static str {
        match self {
            Failure::NotConfigured => "sso-off",
            Failure::UnsafeNext(_) => "sso-next",
            Failure::StateMissing | Failure::StateUnknown => "sso-state",
            Failure::Provider(_) => "sso-denied",
            Failure::Unreachable(_) => "sso-unavailable",
            Failure::Rejected(_) => "sso-rejected",
        }
    }
}

/// One sign-in under way: what the callback must match, kept in the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attempt {
    state: String,
    nonce: String,
    pkce_verifier: String,
    issuer: String,
    next: String,
    started_at: chrono::DateTime<Utc>,
}

/// The relying party: configuration, the back-channel client and discovery's cache.
pub struct Sso {
    environment: Option<Provider>,
    http: openidconnect::reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(String, Instant, Metadata)>>,
    redirect_uri: String,
    signed_out_uri: String,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("environment", &self.environment)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl Sso {
    /// A relying party for idflow at `public_url` (no trailing slash), with the provider
    /// the environment configures, if any.
    pub fn new(public_url: &str, environment: Option<Provider>) -> Arc<Sso> {
        let http = openidconnect::reqwest::Client::builder()
            // Following redirects would let a provider's answer send idflow anywhere.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("the HTTP client builds");
        Arc::new(Sso {
            environment,
            http,
            metadata: tokio::sync::Mutex::new(None),
            redirect_uri: format!("{public_url}{CALLBACK_PATH}"),
            signed_out_uri: format!("{public_url}{SIGNED_OUT_PATH}"),
        })
    }

    /// The redirect URI to register at the provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The sign-out redirect URI to register at the provider.
    pub fn signed_out_uri(&self) -> &str {
        &self.signed_out_uri
    }

    /// The provider the environment configures, if any.
    pub fn environment(&self) -> Option<&Provider> {
        self.environment.as_ref()
    }

    /// The provider in effect: the environment's, else the one in Settings.
    pub async fn provider(&self, store: &Store) -> Result<Option<Provider>, StoreError> {
        if let Some(p) = &self.environment {
            return Ok(Some(p.clone()));
        }
        Ok(store.sso_settings().await?.map(|s| Provider {
            display_name: s.display_name,
            issuer: s.issuer,
            client_id: s.client_id,
            client_secret: Some(s.client_secret).filter(|c| !c.expose_secret().is_empty()),
            from_environment: false,
        }))
    }

    /// Forgets discovery, so the next sign-in fetches it again (after Settings change).
    pub async fn forget_metadata(&self) {
        *self.metadata.lock().await = None;
    }

    /// Whether `issuer` serves an OpenID Connect discovery document idflow can use.
    pub async fn check_issuer(&self, issuer: &str) -> Result<(), Failure> {
        self.metadata(issuer).await.map(|_| ())
    }

    /// The provider's discovery document, fetched at most every few minutes.
    async fn metadata(&self, issuer: &str) -> Result<Metadata, Failure> {
        let mut cached = self.metadata.lock().await;
        if let Some((for_issuer, at, metadata)) = cached.as_ref()
            && for_issuer == issuer
            && at.elapsed() < METADATA_LIFETIME
        {
            return Ok(metadata.clone());
        }
        let issuer_url = IssuerUrl::new(issuer.to_string()).map_err(|e| {
            Failure::Unreachable(format!("the issuer {issuer:?} is not a URL: {e}"))
        })?;
        let metadata = Metadata::discover_async(issuer_url, &self.http)
            .await
            .map_err(|e| {
                Failure::Unreachable(format!("discovery at {issuer}: {}", error_chain(&e)))
            })?;
        *cached = Some((issuer.to_string(), Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(&self, provider: &Provider, metadata: Metadata) -> Result<CoreClientFor, Failure> {
        let redirect = RedirectUrl::new(self.redirect_uri.clone())
            .map_err(|e| Failure::Rejected(format!("the redirect URI is not a URL: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.client_id.clone()),
            provider
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose_secret().to_string())),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in: the provider's authorization URL, and the attempt to remember.
    async fn begin(
        &self,
        provider: &Provider,
        next: String,
    ) -> Result<(url::Url, Attempt), Failure> {
        let metadata = self.metadata(&provider.issuer).await?;
        let client = self.client(provider, metadata)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let attempt = Attempt {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            issuer: provider.issuer.clone(),
            next,
            started_at: Utc::now(),
        };
        Ok((url, attempt))
    }

    /// Finishes a sign-in: exchanges the code (with the PKCE verifier), checks the ID
    /// token, and reads userinfo. Returns the claims and the raw ID token.
    async fn finish(
        &self,
        provider: &Provider,
        attempt: &Attempt,
        callback: &HashMap<String, String>,
    ) -> Result<(SsoClaims, String), Failure> {
        let metadata = self.metadata(&provider.issuer).await?;
        // RFC 9207: a provider that says it sends `iss` must send its own; any `iss`
        // sent must be the provider's (a mix-up otherwise).
        let iss_promised = metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
            == Some(true);
        match callback.get("iss") {
            Some(iss) if iss != metadata.issuer().as_str() => {
                return Err(Failure::Rejected(format!(
                    "the callback's iss {iss:?} is not the issuer {}",
                    metadata.issuer().as_str()
                )));
            }
            None if iss_promised => {
                return Err(Failure::Rejected(
                    "the provider promises an iss parameter in its callback, and it is missing"
                        .into(),
                ));
            }
            _ => {}
        }
        if let Some(error) = callback.get("error") {
            let detail = callback
                .get("error_description")
                .map(|d| format!("{error}: {}", d.chars().take(300).collect::<String>()))
                .unwrap_or_else(|| error.clone());
            return Err(Failure::Provider(detail));
        }
        let code = callback
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Failure::Rejected("the callback has no code".into()))?;

        let advertised: Vec<CoreJwsSigningAlgorithm> = metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|a| ALLOWED_ALGS.contains(a))
            .cloned()
            .collect();
        let userinfo_supported = metadata.userinfo_endpoint().is_some();
        let client = self.client(provider, metadata)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .map_err(|e| Failure::Rejected(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                Failure::Rejected(format!("the code exchange failed: {}", error_chain(&e)))
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| Failure::Rejected("the token response has no ID token".into()))?;

        let allowed = if advertised.is_empty() {
            ALLOWED_ALGS.to_vec()
        } else {
            advertised
        };
        let now = Utc::now();
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(allowed)
            .set_issue_time_verifier_fn(move |iat| {
                if iat > now + CLOCK_SKEW {
                    Err(format!("issued in the future ({iat})"))
                } else {
                    Ok(())
                }
            });
        let nonce = Nonce::new(attempt.nonce.clone());
        let claims = id_token
            .claims(&verifier, &nonce)
            .map_err(|e| Failure::Rejected(format!("ID token: {}", error_chain(&e))))?;

        // The library leaves `azp` to its callers: with several audiences it must be
        // present, and when present it must be idflow.
        match claims.authorized_party() {
            Some(azp) if azp.as_str() != provider.client_id => {
                return Err(Failure::Rejected(format!(
                    "ID token: authorized party (azp) {:?} is not this client",
                    azp.as_str()
                )));
            }
            None if claims.audiences().len() > 1 => {
                return Err(Failure::Rejected(
                    "ID token: several audiences and no authorized party (azp)".into(),
                ));
            }
            _ => {}
        }
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|e| Failure::Rejected(format!("ID token: {e}")))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| Failure::Rejected(format!("ID token: {e}")))?;
            let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
                .map_err(|e| Failure::Rejected(format!("ID token: {e}")))?;
            if actual != *expected {
                return Err(Failure::Rejected(
                    "ID token: at_hash does not match the access token".into(),
                ));
            }
        }

        let subject = claims.subject().clone();
        let mut email = claims.email().map(|e| e.as_str().to_string());
        let mut email_verified = claims.email_verified();
        let mut name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string());
        if userinfo_supported {
            let info: CoreUserInfoClaims = client
                .user_info(token.access_token().clone(), Some(subject.clone()))
                .map_err(|e| Failure::Rejected(format!("userinfo: {e}")))?
                .request_async(&self.http)
                .await
                .map_err(|e| Failure::Unreachable(format!("userinfo: {}", error_chain(&e))))?;
            if let Some(e) = info.email() {
                // The verified flag belongs to the email it came with.
                email_verified = info.email_verified();
                email = Some(e.as_str().to_string());
            }
            if let Some(n) = info.name().and_then(|n| n.get(None)) {
                name = Some(n.as_str().to_string());
            }
        }
        let claims = SsoClaims {
            identity: SsoIdentity {
                issuer: provider.issuer.clone(),
                subject: subject.as_str().to_string(),
            },
            provider: provider.display_name.clone(),
            email,
            email_verified: email_verified == Some(true),
            name,
        };
        Ok((claims, id_token.to_string()))
    }

    /// Where to send the browser to sign out at the provider too, when it offers that.
    async fn end_session_url(&self, provider: &Provider, id_token: &str) -> Option<url::Url> {
        let metadata = match self.metadata(&provider.issuer).await {
            Ok(m) => m,
            Err(err) => {
                tracing::warn!(error = %err, "signing out here only: the identity provider is unreachable");
                return None;
            }
        };
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let hint: openidconnect::core::CoreIdToken = id_token.parse().ok()?;
        let back = PostLogoutRedirectUrl::new(self.signed_out_uri.clone()).ok()?;
        Some(
            LogoutRequest::from(endpoint)
                .set_id_token_hint(&hint)
                .set_client_id(ClientId::new(provider.client_id.clone()))
                .set_post_logout_redirect_uri(back)
                .http_get_url(),
        )
    }
}

type CoreClientFor = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// An error and its causes, in one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn origin(state: &AppState, request: &Request) -> Origin {
    Origin {
        client_address: client_address(state, request.headers(), peer_address(request)),
        request_id: crate::auth::request_id(request.headers()),
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
    let mut attempts: Vec<Attempt> = session
        .get(ATTEMPTS_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
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

/// Takes the attempt `state` names out of the session: it can be used only once.
async fn take_attempt(session: &Session, state: &str) -> Result<Attempt, Failure> {
    let mut attempts: Vec<Attempt> = session
        .get(ATTEMPTS_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
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

/// A first single sign-on that would link an administrator's account, waiting (in the
/// session, for a few minutes) for that account's own password.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingLink {
    user_id: uuid::Uuid,
    issuer: String,
    subject: String,
    provider: String,
    email: Option<String>,
    name: Option<String>,
    id_token: String,
    next: String,
    at: chrono::DateTime<Utc>,
}

const PENDING_LINK_KEY: &str = "sso_pending_link";
/// How long a held-back link waits for the password.
const PENDING_LINK_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

/// Holds the link back and sends the browser to confirm it with the account's password.
async fn ask_for_password(
    session: &Session,
    claims: &domain::sso::SsoClaims,
    user: &domain::directory::User,
    id_token: String,
    next: String,
) -> Response {
    let pending = PendingLink {
        user_id: user.id.0,
        issuer: claims.identity.issuer.clone(),
        subject: claims.identity.subject.clone(),
        provider: claims.provider.clone(),
        email: claims.email.clone(),
        name: claims.name.clone(),
        id_token,
        next,
        at: Utc::now(),
    };
    if let Err(err) = session.insert(PENDING_LINK_KEY, pending).await {
        tracing::error!(error = %err, "could not keep a link waiting for its password");
        return Redirect::to("/sign-in?error=unavailable").into_response();
    }
    Redirect::to(&format!(
        "/sign-in?link=confirm&account={}&provider={}",
        urlencoding::encode(&user.user_name),
        urlencoding::encode(&claims.provider)
    ))
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ConfirmLinkForm {
    #[serde(default)]
    password: String,
}

/// `POST /auth/oidc/link`: the password of the administrator account a first single
/// sign-on named; right, it links the provider's account and signs in.
pub async fn confirm_link(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Response {
    let origin = origin(&state, &request);
    let pending: Option<PendingLink> = session.get(PENDING_LINK_KEY).await.ok().flatten();
    let Some(pending) = pending.filter(|p| Utc::now() - p.at < PENDING_LINK_LIFETIME) else {
        let _ = session.remove_value(PENDING_LINK_KEY).await;
        return Redirect::to("/sign-in?error=sso-link-expired").into_response();
    };
    let again = |code: &str| {
        Redirect::to(&format!(
            "/sign-in?link=confirm&error={code}&provider={}",
            urlencoding::encode(&pending.provider)
        ))
        .into_response()
    };
    let Ok(Form(form)) = Form::<ConfirmLinkForm>::from_request(request, &state).await else {
        return again("missing");
    };
    if form.password.is_empty() {
        return again("missing");
    }
    let user = match state
        .store
        .user(domain::directory::UserId(pending.user_id))
        .await
    {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/sign-in?error=sso-link-expired").into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not read the user of a pending link");
            return Redirect::to("/sign-in?error=unavailable").into_response();
        }
    };
    let claims = domain::sso::SsoClaims {
        identity: domain::store::SsoIdentity {
            issuer: pending.issuer.clone(),
            subject: pending.subject.clone(),
        },
        provider: pending.provider.clone(),
        email: pending.email.clone(),
        email_verified: true,
        name: pending.name.clone(),
    };
    let password = secrecy::SecretString::from(form.password);
    match domain::sso::confirm_link(&state.store, &claims, &user, password, &origin).await {
        Ok(user) => {
            let _ = session.remove_value(PENDING_LINK_KEY).await;
            let started = async {
                crate::sessions::start(&session, user.id).await?;
                session.insert(ID_TOKEN_KEY, pending.id_token.clone()).await
            };
            if let Err(err) = started.await {
                tracing::error!(error = %err, "could not start a session");
                return Redirect::to("/sign-in?error=unavailable").into_response();
            }
            Redirect::to(&pending.next).into_response()
        }
        Err(domain::sso::SsoError::WrongPassword) => again("invalid"),
        Err(domain::sso::SsoError::Throttled) => again("locked"),
        Err(error) => {
            tracing::warn!(error = %error, "a held-back link was refused");
            let _ = session.remove_value(PENDING_LINK_KEY).await;
            Redirect::to(&format!("/sign-in?error={}", error.code())).into_response()
        }
    }
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
