//! Calling an Okta org's API as a service app, as Okta documents it: an access token from
//! the org authorization server (`/oauth2/v1/token`) by client credentials, the client
//! authenticated with `private_key_jwt` (an ES256 assertion signed with the key pair
//! idflow made for the connection, whose public JWK the admin pastes into Okta), the
//! token bound to a DPoP key (RFC 9449): each request carries a fresh DPoP proof, and a
//! `use_dpop_nonce` answer is retried once with the nonce Okta gave.
//!
//! Every request goes through the outbound guard. `X-Rate-Limit-*` headers are kept per
//! connection so its page can show the budget left; a 429 says when the budget resets.
//!
//! ES256 is signed with `ring`, already in the tree for TLS; the JWTs are assembled here
//! (a header and claims, base64url, a fixed-size signature).

use super::{Connectors, DEFAULT_TIMEOUT, Failed, Opened};
use crate::connections::{Kind, OKTA, Values};
use crate::outbound;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// The secret holding a service-mode connection's private key (PKCS#8, base64): made by
/// idflow, never typed or shown.
pub const PRIVATE_KEY: &str = "private_key";
/// The secret holding an authorised connection's refresh token (authorization code mode).
pub const REFRESH_TOKEN: &str = "refresh_token";
/// Always asked for: the Test and the read cards need them.
pub const BASE_SCOPES: &[&str] = &["okta.users.read", "okta.groups.read"];
/// Asked for besides, when an admin authorises the connection: Okta grants them
/// automatically (the reference's `*` scopes); `offline_access` brings the refresh token.
pub const CONSENT_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "groups",
    "offline_access",
];

/// A PKCE pair (RFC 7636, S256): the verifier kept, the challenge sent.
pub fn pkce() -> (String, String) {
    let verifier = random_text(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// `bytes` random bytes as base64url text (a state, a verifier).
pub fn random_text(bytes: usize) -> String {
    use ring::rand::SecureRandom;
    let mut raw = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut raw)
        .expect("the system's random source works");
    URL_SAFE_NO_PAD.encode(raw)
}

/// Where an Okta admin authorises the connection: the org's `/oauth2/v1/authorize` with
/// the authorization code flow, PKCE, and every scope the connection asks for.
pub fn authorize_url(
    connection: &crate::store::Connection,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> Result<String, String> {
    let setting = |name: &str| {
        connection
            .settings
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    };
    let base = crate::okta::base_url(setting("domain"));
    let mut scopes: Vec<&str> = CONSENT_SCOPES.iter().chain(BASE_SCOPES).copied().collect();
    for scope in setting("scopes").split_whitespace() {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let mut url = url::Url::parse(&format!("{base}/oauth2/v1/authorize"))
        .map_err(|e| format!("the Okta domain: {e}"))?;
    url.query_pairs_mut()
        .append_pair("client_id", setting("client_id"))
        .append_pair("response_type", "code")
        .append_pair("scope", &scopes.join(" "))
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url.to_string())
}

/// Makes what `kind` needs that idflow makes itself: an Okta service app's key pair, once
/// (kept in `held` afterwards). Returns the names of such secrets to keep.
pub fn make_keys(kind: &Kind, values: &mut Values, held: &[String]) -> Result<Vec<String>, String> {
    if kind.key != OKTA.key {
        return Ok(Vec::new());
    }
    if values.settings.get("mode").map(String::as_str) != Some("service") {
        // An authorised connection keeps its refresh token until authorised again.
        return Ok(vec![REFRESH_TOKEN.into()]);
    }
    if !held.iter().any(|h| h == PRIVATE_KEY) {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| "idflow could not make a key pair; try again".to_string())?;
        values
            .secrets
            .insert(PRIVATE_KEY.into(), STANDARD.encode(pkcs8.as_ref()));
    }
    Ok(vec![PRIVATE_KEY.into()])
}

fn key_pair(pkcs8: &str) -> Result<EcdsaKeyPair, String> {
    let der = STANDARD.decode(pkcs8.trim()).map_err(|_| {
        "the connection's private key is damaged; make the connection again".to_string()
    })?;
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
        .map_err(|_| "the connection's private key is damaged; make the connection again".into())
}

/// The public half of `key` as a JWK, with its RFC 7638 thumbprint as `kid`.
fn jwk_of(key: &EcdsaKeyPair) -> Value {
    // An uncompressed P-256 point: 0x04, x (32 bytes), y (32 bytes).
    let point = key.public_key().as_ref();
    let (x, y) = (
        URL_SAFE_NO_PAD.encode(&point[1..33]),
        URL_SAFE_NO_PAD.encode(&point[33..65]),
    );
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256" })
}

/// The public key to paste into the Okta app (Public Keys → Add key), from the
/// connection's private key.
pub fn public_jwk(pkcs8: &str) -> Result<Value, String> {
    Ok(jwk_of(&key_pair(pkcs8)?))
}

/// The public JWK of a connection holding a service app's key (its opened secrets).
pub fn public_jwk_of(secrets: &std::collections::BTreeMap<String, SecretString>) -> Option<Value> {
    secrets
        .get(PRIVATE_KEY)
        .and_then(|key| public_jwk(key.expose_secret()).ok())
}

/// A compact JWS: `header`.`claims`, signed ES256 with `key`.
fn signed(key: &EcdsaKeyPair, header: &Value, claims: &Value) -> Result<String, String> {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .map_err(|_| "could not sign a token".to_string())?;
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}

fn now_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The budget Okta reported on the last answer to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    /// When the budget resets (Unix seconds).
    pub reset: i64,
}

/// What Okta answered.
#[derive(Debug, Clone)]
pub struct OktaAnswer {
    pub status: u16,
    pub body: Value,
    /// Okta's `X-Okta-Request-Id`, which its support asks for.
    pub request_id: Option<String>,
    /// The next page (`Link: <…>; rel="next"`), if any.
    pub next: Option<String>,
    pub rate: Option<RateLimit>,
    /// For a 403: `WWW-Authenticate`'s error description, naming what is missing.
    pub www_authenticate: Option<String>,
}

/// What the Okta side of the connectors keeps in this process.
pub struct OktaState {
    /// The key access tokens are bound to (DPoP): one per process, as are the tokens.
    dpop: EcdsaKeyPair,
    dpop_jwk: Value,
    /// The last DPoP nonce each org gave.
    nonces: Mutex<HashMap<Uuid, String>>,
    rates: Mutex<HashMap<Uuid, RateLimit>>,
    /// Refresh tokens Okta rotated, until the store keeps them (`take_rotated`).
    rotated: Mutex<HashMap<Uuid, SecretString>>,
}

impl Default for OktaState {
    fn default() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("the system's random source works");
        let dpop = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8.as_ref(),
            &SystemRandom::new(),
        )
        .expect("a key just made opens");
        let mut dpop_jwk = jwk_of(&dpop);
        for extra in ["kid", "use", "alg"] {
            dpop_jwk.as_object_mut().expect("an object").remove(extra);
        }
        OktaState {
            dpop,
            dpop_jwk,
            nonces: Mutex::new(HashMap::new()),
            rates: Mutex::new(HashMap::new()),
            rotated: Mutex::new(HashMap::new()),
        }
    }
}

impl OktaState {
    /// A DPoP proof for `method` on `url` (without its query), bound to `token` when
    /// given, with the org's nonce when it gave one.
    fn proof(
        &self,
        connection: Uuid,
        method: &str,
        url: &url::Url,
        token: Option<&str>,
    ) -> Result<String, String> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut claims = json!({
            "htm": method,
            "htu": htu.as_str(),
            "iat": now_seconds(),
            "jti": Uuid::new_v4().to_string(),
        });
        if let Some(token) = token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        if let Some(nonce) = self.nonces.lock().expect("nonces").get(&connection) {
            claims["nonce"] = json!(nonce);
        }
        signed(
            &self.dpop,
            &json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.dpop_jwk }),
            &claims,
        )
    }

    fn keep_nonce(&self, connection: Uuid, headers: &reqwest::header::HeaderMap) -> bool {
        match headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
            Some(nonce) => {
                self.nonces
                    .lock()
                    .expect("nonces")
                    .insert(connection, nonce.to_string());
                true
            }
            None => false,
        }
    }

    /// The refresh token Okta rotated `connection`'s to, once: the store keeps it
    /// (an app set to rotate refresh tokens invalidates the old one).
    pub fn take_rotated(&self, connection: Uuid) -> Option<SecretString> {
        self.rotated.lock().expect("rotated").remove(&connection)
    }

    /// The budget Okta last reported for `connection`.
    pub fn rate(&self, connection: Uuid) -> Option<RateLimit> {
        self.rates.lock().expect("rates").get(&connection).copied()
    }
}

fn header_number<T: std::str::FromStr>(
    headers: &reqwest::header::HeaderMap,
    name: &str,
) -> Option<T> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The `rel="next"` address of a `Link` header.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|part| part.contains("rel=\"next\""))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part.find('>')?;
            Some(part[start..end].to_string())
        })
}

impl Opened<'_> {
    fn okta_base(&self) -> String {
        crate::okta::base_url(self.setting("domain"))
    }

    /// The scopes asked for: the base ones and those the connection names.
    fn okta_scopes(&self) -> String {
        let mut scopes: Vec<&str> = BASE_SCOPES.to_vec();
        for scope in self.setting("scopes").split_whitespace() {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        scopes.join(" ")
    }
}

impl Connectors {
    /// What the Okta side keeps in this process (rate limits for pages).
    pub fn okta(&self) -> &OktaState {
        &self.okta
    }

    /// An access token for `opened` (cached until a little before it ends) and the
    /// scopes Okta granted.
    async fn okta_token(&self, opened: &Opened<'_>) -> Result<(SecretString, String), String> {
        let connection = opened.connection;
        if let Some(cached) = self.cached_token(opened) {
            return Ok(cached);
        }
        if opened.setting("mode") != "service" {
            let (token, lasts, granted) = self.okta_refresh(opened).await?;
            self.keep_token(opened, &token, lasts, &granted);
            return Ok((token, granted));
        }
        let signer = key_pair(opened.secret(PRIVATE_KEY)?)?;
        let kid = jwk_of(&signer)["kid"].clone();
        let token_url = url::Url::parse(&format!("{}/oauth2/v1/token", opened.okta_base()))
            .map_err(|e| format!("the Okta domain: {e}"))?;
        outbound::check_url(&self.allowed(), &token_url).map_err(|e| e.to_string())?;
        let client_id = opened.setting("client_id");
        let scopes = opened.okta_scopes();
        for attempt in 0..2 {
            let now = now_seconds();
            let assertion = signed(
                &signer,
                &json!({ "alg": "ES256", "typ": "JWT", "kid": kid }),
                &json!({
                    "iss": client_id, "sub": client_id, "aud": token_url.as_str(),
                    "iat": now, "exp": now + 300, "jti": Uuid::new_v4().to_string(),
                }),
            )?;
            let proof = self.okta.proof(connection.id, "POST", &token_url, None)?;
            let answer = self
                .client
                .post(token_url.clone())
                .header("DPoP", proof)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("scope", scopes.as_str()),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .timeout(DEFAULT_TIMEOUT)
                .send()
                .await
                .map_err(|e| format!("Okta's token endpoint: {}", outbound::describe(e)))?;
            let status = answer.status();
            let got_nonce = self.okta.keep_nonce(connection.id, answer.headers());
            let (body, _) = outbound::read_capped(answer, 64 * 1024)
                .await
                .map_err(|e| format!("Okta's token endpoint: {}", outbound::describe(e)))?;
            let json: Value = serde_json::from_slice(&body).unwrap_or_default();
            let error = json["error"].as_str().unwrap_or_default();
            if error == "use_dpop_nonce" && got_nonce && attempt == 0 {
                continue;
            }
            if !status.is_success() {
                let why = json["error_description"].as_str().unwrap_or(error);
                let advice = match error {
                    "invalid_client" => {
                        " — check the Client ID and that the app's public key is the one this page shows"
                    }
                    "invalid_scope" => {
                        " — grant these scopes on the app's Okta API Scopes tab, or remove them from the connection"
                    }
                    "invalid_dpop_proof" => " — check that the app requires DPoP",
                    _ => "",
                };
                return Err(format!(
                    "Okta refused the token request ({status}: {why}){advice}"
                ));
            }
            let Some(token) = json["access_token"].as_str() else {
                return Err("Okta's token answer has no access_token".into());
            };
            let lasts = json["expires_in"].as_u64().unwrap_or(300);
            let granted = json["scope"].as_str().unwrap_or_default().to_string();
            let token = SecretString::from(token.to_string());
            self.keep_token(opened, &token, lasts, &granted);
            return Ok((token, granted));
        }
        Err("Okta kept asking for a new DPoP nonce".into())
    }

    /// Posts `form` to the org's token endpoint with the app's client id and secret
    /// (client_secret_basic): the answer's JSON, or why Okta refused.
    async fn okta_token_request(
        &self,
        opened: &Opened<'_>,
        form: &[(&str, &str)],
    ) -> Result<Value, String> {
        let token_url = url::Url::parse(&format!("{}/oauth2/v1/token", opened.okta_base()))
            .map_err(|e| format!("the Okta domain: {e}"))?;
        outbound::check_url(&self.allowed(), &token_url).map_err(|e| e.to_string())?;
        let answer = self
            .client
            .post(token_url)
            .basic_auth(
                opened.setting("client_id"),
                Some(opened.secret("client_secret")?),
            )
            .form(form)
            .timeout(DEFAULT_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("Okta's token endpoint: {}", outbound::describe(e)))?;
        let status = answer.status();
        let (body, _) = outbound::read_capped(answer, 64 * 1024)
            .await
            .map_err(|e| format!("Okta's token endpoint: {}", outbound::describe(e)))?;
        let json: Value = serde_json::from_slice(&body).unwrap_or_default();
        if status.is_success() {
            return Ok(json);
        }
        let error = json["error"].as_str().unwrap_or_default();
        let why = json["error_description"].as_str().unwrap_or(error);
        let advice = match error {
            "invalid_grant" => " — an Okta admin must authorize the connection again (Reauthorize)",
            "invalid_client" => " — check the Client ID and client secret",
            _ => "",
        };
        Err(format!(
            "Okta refused the token request ({status}: {why}){advice}"
        ))
    }

    /// Exchanges an authorization code (with its PKCE verifier) for the connection's
    /// refresh token, to be kept sealed.
    pub async fn okta_exchange_code(
        &self,
        opened: &Opened<'_>,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<SecretString, String> {
        let json = self
            .okta_token_request(
                opened,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("code_verifier", verifier),
                    ("redirect_uri", redirect_uri),
                ],
            )
            .await?;
        json["refresh_token"]
            .as_str()
            .map(|t| SecretString::from(t.to_string()))
            .ok_or_else(|| "Okta gave no refresh token: the app must allow the Refresh Token grant (offline_access)".into())
    }

    /// A fresh access token from the connection's refresh token: the token, how long it
    /// lasts (seconds) and the scopes granted.
    async fn okta_refresh(
        &self,
        opened: &Opened<'_>,
    ) -> Result<(SecretString, u64, String), String> {
        let Some(refresh) = opened.secrets.get(REFRESH_TOKEN) else {
            return Err(format!(
                "{} is not authorized yet: an Okta admin presses Authorize with Okta on its page",
                opened.connection.name
            ));
        };
        let json = self
            .okta_token_request(
                opened,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose_secret()),
                ],
            )
            .await?;
        let token = json["access_token"]
            .as_str()
            .ok_or("Okta's token answer has no access_token")?;
        if let Some(rotated) = json["refresh_token"].as_str()
            && rotated != refresh.expose_secret()
        {
            self.okta.rotated.lock().expect("rotated").insert(
                opened.connection.id,
                SecretString::from(rotated.to_string()),
            );
        }
        Ok((
            SecretString::from(token.to_string()),
            json["expires_in"].as_u64().unwrap_or(300),
            json["scope"].as_str().unwrap_or_default().to_string(),
        ))
    }

    /// Calls the org's API: `method` on `target` (a path under the org, or a full address
    /// under it such as a `Link` header's next page), with `body` as JSON.
    pub async fn okta_call(
        &self,
        opened: &Opened<'_>,
        method: reqwest::Method,
        target: &str,
        body: Option<&Value>,
    ) -> Result<OktaAnswer, Failed> {
        let base = opened.okta_base();
        let url = if target.starts_with("http://") || target.starts_with("https://") {
            let url = url::Url::parse(target)
                .map_err(|e| format!("{target:?} is not an address ({e})"))?;
            if !url.as_str().starts_with(&format!("{base}/")) {
                return Err(Failed::fatal(format!(
                    "{target} is not in the Okta org {base}"
                )));
            }
            url
        } else {
            if !target.starts_with('/')
                || target.split('?').next().unwrap_or_default().contains("..")
            {
                return Err(Failed::fatal(format!(
                    "the path {target:?} must start with / (for example /api/v1/users)"
                )));
            }
            url::Url::parse(&format!("{base}{target}")).map_err(|e| format!("{target:?}: {e}"))?
        };
        outbound::check_url(&self.allowed(), &url).map_err(|e| e.to_string())?;
        let (token, _) = self.okta_token(opened).await?;
        // A service app's token is bound to the DPoP key; an authorised app's is a bearer.
        let bound = opened.setting("mode") == "service";
        let what = format!("Okta's {} {}", method, url.path());
        for attempt in 0..2 {
            let mut request = self
                .client
                .request(method.clone(), url.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .timeout(DEFAULT_TIMEOUT);
            request = if bound {
                let proof = self.okta.proof(
                    opened.connection.id,
                    method.as_str(),
                    &url,
                    Some(token.expose_secret()),
                )?;
                request
                    .header(
                        reqwest::header::AUTHORIZATION,
                        format!("DPoP {}", token.expose_secret()),
                    )
                    .header("DPoP", proof)
            } else {
                request.bearer_auth(token.expose_secret())
            };
            if let Some(body) = body {
                request = request.json(body);
            }
            let answer = request
                .send()
                .await
                .map_err(|e| Failed::unanswered(&what, e))?;
            let status = answer.status().as_u16();
            let headers = answer.headers().clone();
            let got_nonce = self.okta.keep_nonce(opened.connection.id, &headers);
            let www = headers
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if status == 401
                && got_nonce
                && attempt == 0
                && www.as_deref().is_some_and(|w| w.contains("use_dpop_nonce"))
            {
                continue;
            }
            let rate = match (
                header_number(&headers, "x-rate-limit-limit"),
                header_number(&headers, "x-rate-limit-remaining"),
                header_number(&headers, "x-rate-limit-reset"),
            ) {
                (Some(limit), Some(remaining), Some(reset)) => Some(RateLimit {
                    limit,
                    remaining,
                    reset,
                }),
                _ => None,
            };
            if let Some(rate) = rate {
                self.okta
                    .rates
                    .lock()
                    .expect("rates")
                    .insert(opened.connection.id, rate);
            }
            let (bytes, _) = outbound::read_capped(answer, super::BODY_CAP)
                .await
                .map_err(|e| Failed::unanswered(&what, e))?;
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
            };
            return Ok(OktaAnswer {
                status,
                body,
                request_id: headers
                    .get("x-okta-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                next: next_link(&headers),
                rate,
                www_authenticate: www,
            });
        }
        Err(Failed {
            message: format!("{what}: Okta kept asking for a new DPoP nonce"),
            retryable: true,
        })
    }

    /// Tests an Okta connection: a token with the scopes asked for, then one page of one
    /// user. Names any scope Okta did not grant.
    pub(super) async fn test_okta(&self, opened: &Opened<'_>) -> Result<String, String> {
        let (_, granted) = self.okta_token(opened).await?;
        let wanted = opened.okta_scopes();
        let missing: Vec<&str> = wanted
            .split_whitespace()
            .filter(|s| !granted.split_whitespace().any(|g| g == *s))
            .collect();
        if !granted.is_empty() && !missing.is_empty() {
            return Err(format!(
                "Okta did not grant {}: grant it on the app's Okta API Scopes tab, then Test again",
                missing.join(", ")
            ));
        }
        let answer = self
            .okta_call(opened, reqwest::Method::GET, "/api/v1/users?limit=1", None)
            .await
            .map_err(|f| f.message)?;
        match answer.status {
            200 => Ok(format!(
                "Okta answered with a token for {} and read a user{}",
                if granted.is_empty() { wanted } else { granted },
                answer
                    .rate
                    .map(|r| format!(
                        " ({} of {} requests left this minute)",
                        r.remaining, r.limit
                    ))
                    .unwrap_or_default()
            )),
            _ => Err(describe_refusal(&answer, Some("okta.users.read"))),
        }
    }
}

/// Why Okta refused a request, in words an admin can act on: a missing scope is named
/// (`needed`, the scope the request takes, when Okta's answer says a scope is missing).
pub fn describe_refusal(answer: &OktaAnswer, needed: Option<&str>) -> String {
    let summary = answer.body["errorSummary"]
        .as_str()
        .unwrap_or("no reason given");
    let scope = answer
        .www_authenticate
        .as_deref()
        .filter(|w| w.contains("insufficient_scope"))
        .map(|w| {
            let described = w
                .split("error_description=\"")
                .nth(1)
                .and_then(|d| d.split('"').next())
                .unwrap_or("the token lacks a scope");
            match needed {
                Some(scope) => format!(
                    " — missing scope {scope} ({described}); grant it on the app's Okta API Scopes tab and add it to the connection's scopes"
                ),
                None => format!(" — a scope is missing ({described})"),
            }
        })
        .unwrap_or_default();
    let id = answer
        .request_id
        .as_deref()
        .map(|id| format!(" (Okta request {id})"))
        .unwrap_or_default();
    format!("Okta answered {}: {summary}{scope}{id}", answer.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_pair_is_made_once_and_signs_what_its_jwk_verifies() {
        let mut values = Values::default();
        values.settings.insert("mode".into(), "service".into());
        assert_eq!(make_keys(&OKTA, &mut values, &[]).unwrap(), [PRIVATE_KEY]);
        let pkcs8 = values.secrets[PRIVATE_KEY].clone();
        let mut again = values.clone();
        again.secrets.clear();
        make_keys(&OKTA, &mut again, &[PRIVATE_KEY.into()]).unwrap();
        assert!(
            again.secrets.is_empty(),
            "a held key is kept, not made anew"
        );

        let key = key_pair(&pkcs8).unwrap();
        let jwk = public_jwk(&pkcs8).unwrap();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        let token = signed(&key, &json!({ "alg": "ES256" }), &json!({ "sub": "x" })).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let point: Vec<u8> = [
            vec![4u8],
            URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap(),
            URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap(),
        ]
        .concat();
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            point,
        );
        public
            .verify(
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .expect("the JWK verifies the signature");

        let mut http = Values::default();
        assert!(
            make_keys(&crate::connections::HTTP, &mut http, &[])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn the_next_page_is_read_from_link() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.append(
            reqwest::header::LINK,
            "<https://acme.okta.com/api/v1/users?limit=200>; rel=\"self\""
                .parse()
                .unwrap(),
        );
        headers.append(
            reqwest::header::LINK,
            "<https://acme.okta.com/api/v1/users?after=00u2&limit=200>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://acme.okta.com/api/v1/users?after=00u2&limit=200")
        );
        assert_eq!(next_link(&reqwest::header::HeaderMap::new()), None);
    }

    #[test]
    fn a_missing_scope_is_named() {
        let answer = OktaAnswer {
            status: 403,
            body: json!({ "errorCode": "E0000006", "errorSummary": "You do not have permission to perform the requested action" }),
            request_id: Some("req-1".into()),
            next: None,
            rate: None,
            www_authenticate: Some(
                "Bearer authorization_uri=\"http://x/oauth2/v1/authorize\", realm=\"http://x\", scope=\"okta.users.manage\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"/api/v1/users\"".into(),
            ),
        };
        let said = describe_refusal(&answer, Some("okta.users.manage"));
        assert!(said.contains("403"), "{said}");
        assert!(said.contains("missing scope okta.users.manage"), "{said}");
        assert!(
            said.contains("does not contain the required scopes"),
            "{said}"
        );
        assert!(said.contains("req-1"), "{said}");
    }
}
