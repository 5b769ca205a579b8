//! Sign-in with OpenID Connect through the real router, against an identity provider
//! made for these tests: it serves discovery, a JWKS, a token endpoint (which checks the
//! client's secret and PKCE) and userinfo, and hands out whatever ID token a test
//! forges — good ones, and every kind of bad one idflow must refuse. On both backends.

#[path = "../common/mod.rs"]
mod common;

mod rejections;
mod settings;
mod sign_on;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use domain::access::Role;
use domain::directory::UserStatus;
use domain::store::{SsoIdentity, Store};
use idflow::oidc::Provider;
use openidconnect::core::{CoreHmacKey, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CLIENT_ID: &str = "idflow-test";
const CLIENT_SECRET: &str = "test client secret";
const KEY_PEM: &str = include_str!("../fixtures/idp_key.pem");
const PUBLIC_KEY_PEM: &str = include_str!("../fixtures/idp_key.pub.pem");
const ROGUE_KEY_PEM: &str = include_str!("../fixtures/rogue_key.pem");

/// What the provider hands out for one authorization code.
#[derive(Clone)]
struct Grant {
    code_challenge: String,
    id_token: String,
    access_token: String,
    userinfo: Value,
}

#[derive(Clone, Default)]
struct IdpState {
    base: String,
    promises_iss: bool,
    grants: Arc<Mutex<HashMap<String, Grant>>>,
    /// Access token → userinfo, for grants already exchanged.
    userinfo: Arc<Mutex<HashMap<String, Value>>>,
}

struct FakeIdp {
    state: IdpState,
}

impl FakeIdp {
    async fn start(promises_iss: bool) -> FakeIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = IdpState {
            base,
            promises_iss,
            ..IdpState::default()
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            // An issuer whose discovery answers with a redirect to a document that would
            // otherwise be right for it: idflow must not follow.
            .route(
                "/moved/.well-known/openid-configuration",
                get(|| async { axum::response::Redirect::temporary("/moved-document") }),
            )
            .route(
                "/moved-document",
                get(|state: State<IdpState>| async move {
                    let Json(mut document) = discovery(state.clone()).await;
                    document["issuer"] = json!(format!("{}/moved", state.base));
                    Json(document)
                }),
            )
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeIdp { state }
    }

    fn issuer(&self) -> String {
        self.state.base.clone()
    }

    fn provider(&self) -> Provider {
        Provider {
            display_name: "Test IdP".into(),
            issuer: self.issuer(),
            client_id: CLIENT_ID.into(),
            client_secret: Some(CLIENT_SECRET.to_string().into()),
            from_environment: true,
        }
    }
}

async fn discovery(State(idp): State<IdpState>) -> Json<Value> {
    let base = &idp.base;
    let mut metadata = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "end_session_endpoint": format!("{base}/session/end"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    });
    if idp.promises_iss {
        metadata["authorization_response_iss_parameter_supported"] = json!(true);
    }
    Json(metadata)
}

fn signing_key() -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(KEY_PEM, Some(JsonWebKeyId::new("k1".into()))).unwrap()
}

async fn jwks() -> Json<Value> {
    let key = serde_json::to_value(signing_key().as_verification_key()).unwrap();
    Json(json!({ "keys": [key] }))
}

async fn token(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> axum::response::Response {
    let refuse =
        |error: &str| (AxumStatus::BAD_REQUEST, Json(json!({ "error": error }))).into_response();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            form_encode(CLIENT_ID),
            form_encode(CLIENT_SECRET)
        ))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    let Some(grant) = form
        .get("code")
        .and_then(|code| idp.grants.lock().unwrap().remove(code))
    else {
        return refuse("invalid_grant");
    };
    // PKCE (S256): the verifier must hash to the challenge sent to /authorize.
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    if challenge != grant.code_challenge {
        return refuse("invalid_grant");
    }
    idp.userinfo
        .lock()
        .unwrap()
        .insert(grant.access_token.clone(), grant.userinfo.clone());
    Json(json!({
        "access_token": grant.access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": grant.id_token,
    }))
    .into_response()
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded inside Basic auth.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn userinfo(State(idp): State<IdpState>, headers: HeaderMap) -> axum::response::Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match idp.userinfo.lock().unwrap().get(token) {
        Some(info) => Json(info.clone()).into_response(),
        None => AxumStatus::UNAUTHORIZED.into_response(),
    }
}

/// How an ID token is signed.
#[derive(Clone, Copy, Debug)]
enum Signing {
    /// RS256 with the key the JWKS publishes.
    Good,
    /// RS256 with a key the JWKS does not have (its own `kid`).
    UnknownKey,
    /// `alg: none`, no signature.
    None,
    /// HS256 with the provider's public key as the HMAC secret (the classic confusion).
    HmacWithPublicKey,
}

fn jwt(header: Value, claims: &Value, signing: Signing) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = match signing {
        Signing::Good => signing_key()
            .sign(
                &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                input.as_bytes(),
            )
            .unwrap(),
        Signing::UnknownKey => CoreRsaPrivateSigningKey::from_pem(
            ROGUE_KEY_PEM,
            Some(JsonWebKeyId::new("rogue".into())),
        )
        .unwrap()
        .sign(
            &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            input.as_bytes(),
        )
        .unwrap(),
        Signing::None => Vec::new(),
        Signing::HmacWithPublicKey => CoreHmacKey::new(PUBLIC_KEY_PEM.as_bytes())
            .sign(&CoreJwsSigningAlgorithm::HmacSha256, input.as_bytes())
            .unwrap(),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn sign(claims: &Value, signing: Signing) -> String {
    let header = match signing {
        Signing::Good => json!({ "alg": "RS256", "kid": "k1", "typ": "JWT" }),
        Signing::UnknownKey => json!({ "alg": "RS256", "kid": "rogue", "typ": "JWT" }),
        Signing::None => json!({ "alg": "none", "typ": "JWT" }),
        Signing::HmacWithPublicKey => json!({ "alg": "HS256", "kid": "k1", "typ": "JWT" }),
    };
    jwt(header, claims, signing)
}

/// A started sign-in: what idflow sent the browser to the provider with.
struct Authorize {
    state: String,
    nonce: String,
    code_challenge: String,
    params: HashMap<String, String>,
    /// The session cookie idflow set when the sign-in started.
    cookie: String,
}

async fn begin(server: &TestServer, idp: &FakeIdp, client: &reqwest::Client) -> Authorize {
    let response = client
        .get(server.url("/auth/oidc/start?next=%2Fsystem-log"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = location(&response);
    assert!(
        location.starts_with(&format!("{}/authorize?", idp.issuer())),
        "{location}"
    );
    let cookie = session_cookie(&response).expect("the attempt lives in a session");
    let params: HashMap<String, String> = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    Authorize {
        state: params["state"].clone(),
        nonce: params["nonce"].clone(),
        code_challenge: params["code_challenge"].clone(),
        params,
        cookie: cookie_value(&cookie),
    }
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("idflow_session=")
        .to_string()
}

/// The claims of a good ID token for `subject` at `idp`, for the attempt `auth`.
fn claims(idp: &FakeIdp, auth: &Authorize, subject: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": idp.issuer(),
        "sub": subject,
        "aud": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "nonce": auth.nonce,
    })
}

fn profile(subject: &str, email: &str, verified: bool) -> Value {
    json!({ "sub": subject, "email": email, "email_verified": verified, "name": "Grace Hopper" })
}

/// The provider's answer for `auth`: it will exchange the returned code for `id_token`.
fn grant(idp: &FakeIdp, auth: &Authorize, id_token: String, userinfo: Value) -> String {
    let code = uuid::Uuid::new_v4().to_string();
    idp.state.grants.lock().unwrap().insert(
        code.clone(),
        Grant {
            code_challenge: auth.code_challenge.clone(),
            id_token,
            access_token: format!("at-{code}"),
            userinfo,
        },
    );
    code
}

async fn callback(
    server: &TestServer,
    client: &reqwest::Client,
    query: &[(&str, &str)],
) -> reqwest::Response {
    let mut url = url::Url::parse(&server.url("/auth/oidc/callback")).unwrap();
    url.query_pairs_mut().extend_pairs(query);
    client.get(url).send().await.unwrap()
}

/// Signs in through the provider as `subject` with `userinfo`; the callback's response.
async fn sign_on(
    server: &TestServer,
    idp: &FakeIdp,
    client: &reqwest::Client,
    subject: &str,
    userinfo: Value,
) -> reqwest::Response {
    let auth = begin(server, idp, client).await;
    let code = grant(
        idp,
        &auth,
        sign(&claims(idp, &auth, subject), Signing::Good),
        userinfo,
    );
    callback(server, client, &[("code", &code), ("state", &auth.state)]).await
}

/// Whether `client` is signed in: the start page renders instead of sending to sign-in.
async fn signed_in(server: &TestServer, client: &reqwest::Client) -> bool {
    let response = client.get(server.url("/")).send().await.unwrap();
    match response.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert!(location(&response).starts_with("/sign-in"));
            false
        }
        other => panic!("GET / answered {other}"),
    }
}

/// A client that sends only `cookie` as its session cookie.
async fn with_cookie(server: &TestServer, cookie: &str, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(server.url(path))
        .header("cookie", format!("idflow_session={cookie}"))
        .send()
        .await
        .unwrap()
}

async fn last_log(store: &Store) -> domain::audit::Entry {
    store.recent_audit(1).await.unwrap().remove(0)
}
