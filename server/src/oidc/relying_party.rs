//! The relying party: the provider's configuration, discovery (cached), the
//! authorization request with PKCE, state and nonce, and the checks on the ID token.

use super::*;

/// The signature algorithms idflow accepts on ID tokens: asymmetric ones only.
pub(super) const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 10] = [
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

pub use domain::sso::{default_display_name, is_loopback};

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
pub(super) struct Attempt {
    pub(super) state: String,
    pub(super) nonce: String,
    pub(super) pkce_verifier: String,
    pub(super) issuer: String,
    pub(super) next: String,
    pub(super) started_at: chrono::DateTime<Utc>,
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
    pub(super) async fn metadata(&self, issuer: &str) -> Result<Metadata, Failure> {
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

    pub(super) fn client(
        &self,
        provider: &Provider,
        metadata: Metadata,
    ) -> Result<CoreClientFor, Failure> {
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
    pub(super) async fn begin(
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
    pub(super) async fn finish(
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
    pub(super) async fn end_session_url(
        &self,
        provider: &Provider,
        id_token: &str,
    ) -> Option<url::Url> {
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

pub(super) type CoreClientFor = openidconnect::Client<
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
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
