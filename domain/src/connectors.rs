//! What connections do when they are used: the guarded client every outbound request
//! goes through (`crate::outbound`), each kind's authentication, OAuth 2.0 access tokens
//! cached until they expire, and each kind's test. The engine's connector cards and the
//! Connections tab's Test button both come here.

use crate::outbound::{self, Allowed};
use crate::store::{Connection, Store};
use secrecy::{ExposeSecret, SecretString};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The most of an answer's body read (and kept in a card's record).
pub const BODY_CAP: usize = 1 << 20;
/// How long a request may take unless the card says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a card may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(120);

/// The outbound side of connections, one per process (kept by the store).
pub struct Connectors {
    allowed: Allowed,
    client: reqwest::Client,
    /// OAuth 2.0 access tokens: (connection, its version) → the token and when it ends.
    tokens: Mutex<HashMap<(Uuid, i64), (SecretString, Instant)>>,
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connectors")
            .field("allowed", &self.allowed)
            .finish_non_exhaustive()
    }
}

impl Default for Connectors {
    fn default() -> Self {
        Connectors::new(Allowed::default())
    }
}

/// A connection's settings and opened secrets, as a request needs them.
pub struct Opened<'c> {
    pub connection: &'c Connection,
    pub secrets: BTreeMap<String, SecretString>,
}

impl Opened<'_> {
    fn setting(&self, name: &str) -> &str {
        self.connection
            .settings
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn secret(&self, name: &str) -> Result<&str, String> {
        self.secrets
            .get(name)
            .map(|s| s.expose_secret())
            .ok_or_else(|| {
                format!(
                    "the connection {} has no {name}; enter it on its page",
                    self.connection.name
                )
            })
    }
}

impl Connectors {
    pub fn new(allowed: Allowed) -> Connectors {
        Connectors {
            client: outbound::client(allowed.clone(), MAX_TIMEOUT),
            allowed,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    pub fn allowed(&self) -> &Allowed {
        &self.allowed
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `request` with `opened`'s credentials (an OAuth 2.0 token fetched when none is
    /// cached).
    pub async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        opened: &Opened<'_>,
    ) -> Result<reqwest::RequestBuilder, String> {
        Ok(match opened.setting("auth") {
            "bearer" => request.bearer_auth(opened.secret("token")?),
            "basic" => {
                request.basic_auth(opened.setting("username"), Some(opened.secret("password")?))
            }
            "api_key" => request.header(opened.setting("header"), opened.secret("api_key")?),
            "oauth2" => {
                let token = self.access_token(opened).await?;
                request.bearer_auth(token.expose_secret())
            }
            _ => request,
        })
    }

    async fn access_token(&self, opened: &Opened<'_>) -> Result<SecretString, String> {
        let key = (opened.connection.id, opened.connection.version);
        if let Some((token, until)) = self.tokens.lock().expect("token cache").get(&key)
            && *until > Instant::now()
        {
            return Ok(token.clone());
        }
        let token_url = url::Url::parse(opened.setting("token_url"))
            .map_err(|e| format!("the token URL: {e}"))?;
        outbound::check_url(&self.allowed, &token_url).map_err(|e| e.to_string())?;
        let mut form = vec![("grant_type", "client_credentials")];
        let scope = opened.setting("scope");
        if !scope.is_empty() {
            form.push(("scope", scope));
        }
        let answer = self
            .client
            .post(token_url)
            .basic_auth(
                opened.setting("client_id"),
                Some(opened.secret("client_secret")?),
            )
            .form(&form)
            .timeout(DEFAULT_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("the token URL: {}", outbound::describe(&e)))?;
        let status = answer.status();
        let (body, _) = outbound::read_capped(answer, 64 * 1024)
            .await
            .map_err(|e| format!("the token URL: {}", outbound::describe(&e)))?;
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if !status.is_success() {
            let why = json
                .get("error_description")
                .or_else(|| json.get("error"))
                .and_then(|v| v.as_str())
                .unwrap_or("no reason given");
            return Err(format!(
                "the token URL refused the client credentials ({status}: {why})"
            ));
        }
        let Some(token) = json.get("access_token").and_then(|v| v.as_str()) else {
            return Err("the token URL's answer has no access_token".into());
        };
        let lasts = json
            .get("expires_in")
            .and_then(|v| v.as_u64())
            .unwrap_or(300);
        let token = SecretString::from(token.to_string());
        // Renewed a little before it ends.
        let until = Instant::now() + Duration::from_secs(lasts.saturating_sub(30).max(1));
        self.tokens
            .lock()
            .expect("token cache")
            .insert(key, (token.clone(), until));
        Ok(token)
    }

    /// Tests `connection`: `Ok` with what was found, `Err` with what went wrong.
    pub async fn test(&self, store: &Store, connection: &Connection) -> Result<String, String> {
        let secrets = store
            .connection_secrets(connection.id)
            .await
            .map_err(|e| e.to_string())?;
        let opened = Opened {
            connection,
            secrets,
        };
        match connection.kind.as_str() {
            "http" => self.test_http(&opened).await,
            other => Err(format!("this idflow cannot test {other:?} connections")),
        }
    }

    async fn test_http(&self, opened: &Opened<'_>) -> Result<String, String> {
        let url = url::Url::parse(opened.setting("base_url"))
            .map_err(|e| format!("the base URL: {e}"))?;
        outbound::check_url(&self.allowed, &url).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let request = self
            .authorize(
                self.client.get(url.clone()).timeout(DEFAULT_TIMEOUT),
                opened,
            )
            .await?;
        let answer = request.send().await.map_err(|e| outbound::describe(&e))?;
        let status = answer.status();
        let took = started.elapsed().as_millis();
        match status.as_u16() {
            401 | 403 => Err(format!(
                "{url} refused the credentials ({status}, {took} ms)"
            )),
            500.. => Err(format!(
                "{url} answered with a server error ({status}, {took} ms)"
            )),
            _ => Ok(format!("{url} answered {status} in {took} ms")),
        }
    }
}
