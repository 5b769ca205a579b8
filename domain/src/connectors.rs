//! What connections do when they are used: the guarded client every outbound request
//! goes through (`crate::outbound`), each kind's authentication, OAuth 2.0 access tokens
//! cached until they expire, and each kind's test. The engine's connector cards and the
//! Connections tab's Test button both come here.

pub mod okta;

use crate::outbound::{self, AllowList, Allowed};
use crate::store::{Connection, Store};
use secrecy::{ExposeSecret, SecretString};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
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
    allowed: Arc<AllowList>,
    /// When the Settings list was last read from the database.
    refreshed: Mutex<Option<Instant>>,
    client: reqwest::Client,
    /// OAuth 2.0 access tokens (HTTP and Okta connections) by (connection, its version).
    tokens: Mutex<HashMap<(Uuid, i64), CachedToken>>,
    okta: okta::OktaState,
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

/// An OAuth 2.0 access token, kept until a little before it ends, with the scopes the
/// service granted (empty when it did not say).
struct CachedToken {
    token: SecretString,
    until: Instant,
    scopes: String,
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
        let allowed = Arc::new(AllowList::new(allowed));
        Connectors {
            client: outbound::client(allowed.clone(), MAX_TIMEOUT),
            allowed,
            refreshed: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
            okta: okta::OktaState::default(),
        }
    }

    /// What the guard lets through now beyond its rules.
    pub fn allowed(&self) -> Arc<Allowed> {
        self.allowed.get()
    }

    /// The list set at start (`IDFLOW_OUTBOUND_ALLOW`), which Settings cannot change.
    pub fn fixed_allowed(&self) -> &Allowed {
        self.allowed.fixed()
    }

    /// Allows, besides the list set at start, the list `setting` from Settings.
    pub fn allow_setting(&self, setting: &Allowed) {
        self.allowed.set(setting);
        *self.refreshed.lock().expect("the refresh lock") = Some(Instant::now());
    }

    /// Whether the Settings list was read less than `fresh` ago.
    pub fn is_fresh(&self, fresh: std::time::Duration) -> bool {
        self.refreshed
            .lock()
            .expect("the refresh lock")
            .is_some_and(|at| at.elapsed() < fresh)
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

    /// The access token kept for `opened`'s connection (as it is now), with its scopes.
    fn cached_token(&self, opened: &Opened<'_>) -> Option<(SecretString, String)> {
        let key = (opened.connection.id, opened.connection.version);
        self.tokens
            .lock()
            .expect("token cache")
            .get(&key)
            .filter(|c| c.until > Instant::now())
            .map(|c| (c.token.clone(), c.scopes.clone()))
    }

    /// Keeps `token` for `opened`'s connection: it lasts `lasts` seconds and is renewed
    /// a little before it ends.
    fn keep_token(&self, opened: &Opened<'_>, token: &SecretString, lasts: u64, scopes: &str) {
        let key = (opened.connection.id, opened.connection.version);
        let until = Instant::now() + Duration::from_secs(lasts.saturating_sub(30).max(1));
        let cached = CachedToken {
            token: token.clone(),
            until,
            scopes: scopes.to_string(),
        };
        self.tokens.lock().expect("token cache").insert(key, cached);
    }

    async fn access_token(&self, opened: &Opened<'_>) -> Result<SecretString, String> {
        if let Some((token, _)) = self.cached_token(opened) {
            return Ok(token);
        }
        let token_url = url::Url::parse(opened.setting("token_url"))
            .map_err(|e| format!("the token URL: {e}"))?;
        outbound::check_url(&self.allowed(), &token_url).map_err(|e| e.to_string())?;
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
            .map_err(|e| format!("the token URL: {}", outbound::describe(e)))?;
        let status = answer.status();
        let (body, _) = outbound::read_capped(answer, 64 * 1024)
            .await
            .map_err(|e| format!("the token URL: {}", outbound::describe(e)))?;
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
        self.keep_token(opened, &token, lasts, "");
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
            "slack" => self.test_slack(&opened).await,
            "smtp" => self.test_smtp(&opened).await,
            "okta" => self.test_okta(&opened).await,
            other => Err(format!("this idflow cannot test {other:?} connections")),
        }
    }

    async fn test_http(&self, opened: &Opened<'_>) -> Result<String, String> {
        let url = url::Url::parse(opened.setting("base_url"))
            .map_err(|e| format!("the base URL: {e}"))?;
        outbound::check_url(&self.allowed(), &url).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let request = self
            .authorize(
                self.client.get(url.clone()).timeout(DEFAULT_TIMEOUT),
                opened,
            )
            .await?;
        let answer = request.send().await.map_err(outbound::describe)?;
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

/// Why a connector's call failed, and whether another try may go better.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub message: String,
    pub retryable: bool,
}

impl Failed {
    fn fatal(message: impl Into<String>) -> Failed {
        Failed {
            message: message.into(),
            retryable: false,
        }
    }

    /// A request that found no answer: the guard's refusal stands, anything else (a
    /// timeout, a dropped connection) may go better next time.
    fn unanswered(what: &str, error: reqwest::Error) -> Failed {
        let why = outbound::describe(error);
        Failed {
            retryable: !why.starts_with("refused by the outbound guard"),
            message: format!("{what}: {why}"),
        }
    }
}

impl From<String> for Failed {
    fn from(message: String) -> Failed {
        Failed::fatal(message)
    }
}

const SLACK_API: &str = "https://slack.com/api";

impl Connectors {
    /// Calls the Slack Web API's `method` as the connection's bot: with `json` as the
    /// body (POST) or `query` (GET). Slack's answer when it says `ok`.
    pub async fn slack_api(
        &self,
        opened: &Opened<'_>,
        method: &str,
        json: Option<&serde_json::Value>,
        query: &[(&str, &str)],
    ) -> Result<serde_json::Value, Failed> {
        let base = match opened.setting("api_url") {
            "" => SLACK_API,
            other => other,
        };
        let url = url::Url::parse(&format!("{}/{method}", base.trim_end_matches('/')))
            .map_err(|e| format!("the Web API URL: {e}"))?;
        outbound::check_url(&self.allowed(), &url).map_err(|e| e.to_string())?;
        let request = match json {
            Some(body) => self.client.post(url).json(body),
            None => self.client.get(url).query(query),
        }
        .bearer_auth(opened.secret("bot_token")?)
        .timeout(DEFAULT_TIMEOUT);
        let what = format!("Slack's {method}");
        let answer = request
            .send()
            .await
            .map_err(|e| Failed::unanswered(&what, e))?;
        let status = answer.status();
        let wait = answer
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("a while")
            .to_string();
        let (body, _) = outbound::read_capped(answer, 256 * 1024)
            .await
            .map_err(|e| Failed::unanswered(&what, e))?;
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if status.as_u16() == 429 {
            return Err(Failed {
                message: format!("{what}: rate limited, retry after {wait} s"),
                retryable: true,
            });
        }
        if status.is_server_error() {
            return Err(Failed {
                message: format!("{what}: Slack answered {status}"),
                retryable: true,
            });
        }
        if json.get("ok") == Some(&serde_json::Value::Bool(true)) {
            Ok(json)
        } else {
            let why = json
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("no reason given");
            Err(Failed::fatal(format!("{what} refused: {why} ({status})")))
        }
    }

    /// Posts `message` (its channel, text and blocks) with `chat.postMessage`.
    pub async fn slack_post(
        &self,
        opened: &Opened<'_>,
        message: serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value, Failed> {
        let message = serde_json::Value::Object(message);
        self.slack_api(opened, "chat.postMessage", Some(&message), &[])
            .await
    }

    /// Posts `payload` to the connection's incoming webhook. Its URL is the secret: no
    /// message names it.
    pub async fn slack_webhook(
        &self,
        opened: &Opened<'_>,
        payload: &serde_json::Value,
    ) -> Result<(reqwest::StatusCode, String), Failed> {
        let url = url::Url::parse(opened.secret("webhook_url")?)
            .map_err(|_| "the webhook URL is not an address; enter it again".to_string())?;
        outbound::check_url(&self.allowed(), &url).map_err(|e| e.to_string())?;
        let answer = self
            .client
            .post(url)
            .json(payload)
            .timeout(DEFAULT_TIMEOUT)
            .send()
            .await
            .map_err(|e| Failed::unanswered("the Slack webhook", e))?;
        let status = answer.status();
        let (body, _) = outbound::read_capped(answer, 64 * 1024)
            .await
            .map_err(|e| Failed::unanswered("the Slack webhook", e))?;
        Ok((
            status,
            String::from_utf8_lossy(&body).chars().take(200).collect(),
        ))
    }

    async fn test_slack(&self, opened: &Opened<'_>) -> Result<String, String> {
        if opened.setting("mode") == "bot" {
            let json = self
                .slack_api(opened, "auth.test", Some(&serde_json::json!({})), &[])
                .await
                .map_err(|f| f.message)?;
            let team = json.get("team").and_then(|t| t.as_str()).unwrap_or("?");
            let user = json.get("user").and_then(|t| t.as_str()).unwrap_or("?");
            return Ok(format!("Slack accepted the bot token: {user} in {team}"));
        }
        // An empty message posts nothing; Slack answers it "no_text" (or
        // "invalid_payload") when the webhook is valid.
        let (status, body) = self
            .slack_webhook(opened, &serde_json::json!({}))
            .await
            .map_err(|f| f.message)?;
        match (status.as_u16(), body.as_str()) {
            (400, "no_text" | "invalid_payload" | "missing_text_or_fallback_or_attachments") => Ok(
                "Slack knows the webhook (an empty test message was refused, as expected)".into(),
            ),
            (200, _) => Ok("Slack took the webhook's test".into()),
            _ => Err(format!("Slack refused the webhook ({status}: {body})")),
        }
    }
}

/// An email as a Send Email card gives it.
pub struct Email<'m> {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: &'m str,
    pub text: &'m str,
    pub html: Option<&'m str>,
}

impl Connectors {
    /// A transport to the connection's SMTP server: its name resolved and checked by the
    /// outbound guard, the connection made to that checked address, TLS verified for the
    /// name (with the connection's own certificate trusted too, when it has one).
    async fn smtp(
        &self,
        opened: &Opened<'_>,
    ) -> Result<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>, String> {
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
        let host = opened.setting("host");
        let port: u16 = opened
            .setting("port")
            .parse()
            .map_err(|_| format!("the port {:?} is not a port number", opened.setting("port")))?;
        let address = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("{host} could not be found: {e}"))?
            .collect::<Vec<_>>();
        let Some(first) = address.first() else {
            return Err(format!("{host} has no address"));
        };
        for a in &address {
            outbound::check_address(&self.allowed(), host, a.ip()).map_err(|e| e.to_string())?;
        }
        let mut tls = TlsParameters::builder(host.to_string());
        let trusted = opened.setting("trust_certificate");
        if !trusted.is_empty() {
            let certificate = Certificate::from_pem(trusted.as_bytes())
                .map_err(|e| format!("the certificate to trust could not be read: {e}"))?;
            tls = tls.add_root_certificate(certificate);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| format!("TLS for {host}: {e}"))?;
        let mut builder = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(
            first.ip().to_string(),
        )
        .port(port)
        .timeout(Some(DEFAULT_TIMEOUT))
        .tls(match opened.setting("security") {
            "tls" => Tls::Wrapper(tls),
            "none" => Tls::None,
            _ => Tls::Required(tls),
        });
        let user = opened.setting("username");
        if !user.is_empty() {
            let password = opened.secret("password")?;
            builder = builder.credentials(Credentials::new(user.to_string(), password.to_string()));
        }
        Ok(builder.build())
    }

    async fn test_smtp(&self, opened: &Opened<'_>) -> Result<String, String> {
        let transport = self.smtp(opened).await?;
        let where_ = format!("{}:{}", opened.setting("host"), opened.setting("port"));
        let answered = tokio::time::timeout(DEFAULT_TIMEOUT, transport.test_connection())
            .await
            .unwrap_or_else(|_| Ok(false));
        match answered {
            Ok(true) => Ok(format!("{where_} answered and took the sign-in")),
            Ok(false) => Err(format!("{where_} did not answer as an SMTP server")),
            Err(e) => Err(format!("{where_}: {e}")),
        }
    }

    /// Sends `email` through the connection's server.
    pub async fn send_email(
        &self,
        opened: &Opened<'_>,
        email: &Email<'_>,
    ) -> Result<String, Failed> {
        use lettre::AsyncTransport;
        use lettre::message::{Mailbox, MultiPart, header::ContentType};
        let mailbox = |who: &str| {
            who.parse::<Mailbox>()
                .map_err(|e| Failed::fatal(format!("{who:?} is not an email address ({e})")))
        };
        let mut message = lettre::Message::builder()
            .from(mailbox(opened.setting("from"))?)
            .subject(email.subject);
        for to in &email.to {
            message = message.to(mailbox(to)?);
        }
        for cc in &email.cc {
            message = message.cc(mailbox(cc)?);
        }
        let message = match email.html {
            Some(html) => message.multipart(MultiPart::alternative_plain_html(
                email.text.to_string(),
                html.to_string(),
            )),
            None => message
                .header(ContentType::TEXT_PLAIN)
                .body(email.text.to_string()),
        }
        .map_err(|e| Failed::fatal(format!("the email could not be made: {e}")))?;
        let transport = self.smtp(opened).await.map_err(Failed::fatal)?;
        let sent = tokio::time::timeout(DEFAULT_TIMEOUT, transport.send(message))
            .await
            .map_err(|_| Failed {
                message: "the mail server did not answer in time".into(),
                retryable: true,
            })?;
        match sent {
            Ok(response) => Ok(response.message().collect::<Vec<_>>().join(" ")),
            Err(e) => Err(Failed {
                // A refusal (5xx) stands; a server that did not answer, or said "later"
                // (4xx), may take it on another try.
                retryable: !e.is_permanent(),
                message: format!("the mail server did not take the email: {e}"),
            }),
        }
    }
}
