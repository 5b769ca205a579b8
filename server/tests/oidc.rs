//! Sign-in with OpenID Connect through the real router, against an identity provider
//! made for these tests: it serves discovery, a JWKS, a token endpoint (which checks the
//! client's secret and PKCE) and userinfo, and hands out whatever ID token a test
//! forges — good ones, and every kind of bad one idflow must refuse. On both backends.

mod common;

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
const KEY_PEM: &str = include_str!("fixtures/idp_key.pem");
const PUBLIC_KEY_PEM: &str = include_str!("fixtures/idp_key.pub.pem");
const ROGUE_KEY_PEM: &str = include_str!("fixtures/rogue_key.pem");

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

async fn first_sign_on_then_role_then_sign_out(store: Store) {
    let idp = FakeIdp::start(false).await;
    let server = start_with_sso(store, idp.provider()).await;

    // The sign-in page offers the provider, and still the local form.
    let page = client().get(server.url("/sign-in")).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in with Test IdP"), "{html}");
    assert!(html.contains("action=\"/auth/sign-in\""));

    // Start: PKCE S256, state, nonce, the scopes, our redirect URI.
    let client = client();
    let auth = begin(&server, &idp, &client).await;
    assert_eq!(auth.params["code_challenge_method"], "S256");
    assert_eq!(auth.params["response_type"], "code");
    assert_eq!(auth.params["client_id"], CLIENT_ID);
    assert_eq!(
        auth.params["redirect_uri"],
        server.url("/auth/oidc/callback")
    );
    let scopes: Vec<&str> = auth.params["scope"].split(' ').collect();
    for scope in ["openid", "email", "profile"] {
        assert!(scopes.contains(&scope), "{scopes:?}");
    }
    assert!(auth.state.len() >= 16 && auth.nonce.len() >= 16);

    // Back from the provider: a new user with no role, a new session id.
    let code = grant(
        &idp,
        &auth,
        sign(&claims(&idp, &auth, "sub-grace"), Signing::Good),
        profile("sub-grace", "grace@example.com", true),
    );
    let response = callback(&server, &client, &[("code", &code), ("state", &auth.state)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/system-log",
        "{:?}",
        last_log(&server.store).await.reason
    );
    let new_cookie = cookie_value(&session_cookie(&response).expect("a new session id"));
    assert_ne!(
        new_cookie, auth.cookie,
        "the session id is cycled at sign-in"
    );
    let old = with_cookie(&server, &auth.cookie, "/").await;
    assert_eq!(
        old.status(),
        StatusCode::SEE_OTHER,
        "the pre-sign-in id is dead"
    );

    let home = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("no role in idflow yet"));
    let system_log = client.get(server.url("/system-log")).send().await.unwrap();
    assert_eq!(system_log.status(), StatusCode::FORBIDDEN);

    let user = server
        .store
        .user_by_name("grace@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::UnassignedUser);
    assert_eq!(
        user.display_name.as_deref(),
        Some("Grace Hopper"),
        "userinfo's name"
    );
    assert!(user.last_sign_in_at.is_some());
    let log = server.store.recent_audit(2).await.unwrap();
    assert_eq!(log[0].action, "user.session.start");
    assert_eq!(log[0].outcome, "success");
    assert_eq!(
        log[0].reason.as_deref(),
        Some("single sign-on with Test IdP")
    );
    assert_eq!(log[1].action, "user.sso.create");

    // An admin assigns a role; the next sign-on (same account, even with a changed
    // email) finds the same user by issuer and subject and opens the console.
    server
        .store
        .set_user_role(user.id, Role::WorkflowsAuditor)
        .await
        .unwrap();
    let client = common::client();
    let response = sign_on(
        &server,
        &idp,
        &client,
        "sub-grace",
        profile("sub-grace", "g.hopper@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/system-log");
    let system_log = client.get(server.url("/system-log")).send().await.unwrap();
    assert_eq!(system_log.status(), StatusCode::OK);
    assert_eq!(server.store.count_users().await.unwrap(), 1);
    let session = cookie_value(&session_cookie(&response).unwrap());

    // Sign-out ends the session here and sends the browser to the provider's
    // end-session endpoint with the ID token as hint, to come back to sign-in.
    let out = client
        .post(server.url("/auth/sign-out"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let to = url::Url::parse(&location(&out)).unwrap();
    assert_eq!(
        format!("{}{}", idp.issuer(), to.path()),
        format!("{}/session/end", idp.issuer())
    );
    let params: HashMap<String, String> = to.query_pairs().into_owned().collect();
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(
        params["post_logout_redirect_uri"],
        server.url("/auth/oidc/signed-out")
    );
    assert_eq!(params["id_token_hint"].split('.').count(), 3);
    let old = with_cookie(&server, &session, "/").await;
    assert_eq!(old.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&old).starts_with("/sign-in"),
        "the old cookie gets the sign-in page"
    );
    let back = client
        .get(server.url("/auth/oidc/signed-out"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&back), "/sign-in?notice=signed-out");
    assert_eq!(last_log(&server.store).await.action, "user.session.end");
}

async fn links_directory_users_by_verified_email_only(store: Store) {
    let idp = FakeIdp::start(false).await;
    let server = start_with_sso(store, idp.provider()).await;
    server
        .add_user("ada@example.com", Role::WorkflowsAuditor)
        .await;

    // An unverified email names nobody.
    let client = client();
    let response = sign_on(
        &server,
        &idp,
        &client,
        "sub-ada",
        profile("sub-ada", "ada@example.com", false),
    )
    .await;
    assert_eq!(location(&response), "/sign-in?error=sso-unverified");
    assert!(!signed_in(&server, &client).await);
    let ada = server
        .store
        .user_by_name("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        server
            .store
            .sso_identities_of(ada.id)
            .await
            .unwrap()
            .is_empty()
    );
    let entry = last_log(&server.store).await;
    assert_eq!(entry.outcome, "failure");
    assert!(entry.reason.unwrap().contains("verified"));

    // A verified one links the account to the directory user, once.
    let response = sign_on(
        &server,
        &idp,
        &client,
        "sub-ada",
        profile("sub-ada", "ADA@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/system-log");
    assert!(signed_in(&server, &client).await);
    assert_eq!(
        server.store.sso_identities_of(ada.id).await.unwrap(),
        vec![SsoIdentity {
            issuer: idp.issuer(),
            subject: "sub-ada".into()
        }]
    );
    let log = server.store.recent_audit(2).await.unwrap();
    assert_eq!(log[1].action, "user.sso.link");
    assert_eq!(server.store.count_users().await.unwrap(), 1);

    // Another account at the same provider with the same email does not take her over.
    let other = common::client();
    let response = sign_on(
        &server,
        &idp,
        &other,
        "sub-impostor",
        profile("sub-impostor", "ada@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/sign-in?error=sso-linked");
    assert!(!signed_in(&server, &other).await);

    // A suspended user cannot sign on.
    server
        .store
        .set_user_status(ada.id, UserStatus::Suspended)
        .await
        .unwrap();
    let client = common::client();
    let response = sign_on(
        &server,
        &idp,
        &client,
        "sub-ada",
        profile("sub-ada", "ada@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/sign-in?error=inactive");
    assert!(!signed_in(&server, &client).await);
}

/// One way a callback can be wrong.
struct Case {
    name: &'static str,
    /// Changes the good claims.
    claims: fn(&mut Value),
    signing: Signing,
    /// Changes the callback's query (code and state are set first).
    query: fn(&mut Vec<(String, String)>),
    code: &'static str,
    /// Part of the System Log's reason.
    reason: &'static str,
}

fn keep(_: &mut Value) {}
fn keep_query(_: &mut Vec<(String, String)>) {}

const CASES: &[Case] = &[
    Case {
        name: "state missing",
        claims: keep,
        signing: Signing::Good,
        query: |q| q.retain(|(k, _)| k != "state"),
        code: "sso-state",
        reason: "no state",
    },
    Case {
        name: "state wrong",
        claims: keep,
        signing: Signing::Good,
        query: |q| q[1].1 = "not-the-state-idflow-made".into(),
        code: "sso-state",
        reason: "matches no sign-in",
    },
    Case {
        name: "nonce mismatch",
        claims: |c| c["nonce"] = json!("another-nonce"),
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "nonce mismatch",
    },
    Case {
        name: "wrong aud",
        claims: |c| c["aud"] = json!("some-other-client"),
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "audience",
    },
    Case {
        name: "azp of another client",
        claims: |c| c["azp"] = json!("some-other-client"),
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "authorized party",
    },
    Case {
        name: "wrong iss",
        claims: |c| c["iss"] = json!("https://evil.example"),
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "issuer",
    },
    Case {
        name: "callback iss of another provider",
        claims: keep,
        signing: Signing::Good,
        query: |q| q.push(("iss".into(), "https://evil.example".into())),
        code: "sso-rejected",
        reason: "iss",
    },
    Case {
        name: "alg none",
        claims: keep,
        signing: Signing::None,
        query: keep_query,
        code: "sso-rejected",
        reason: "No signature",
    },
    Case {
        name: "HS256 signed with the public key",
        claims: keep,
        signing: Signing::HmacWithPublicKey,
        query: keep_query,
        code: "sso-rejected",
        reason: "`HS256` is not one of",
    },
    Case {
        name: "expired",
        claims: |c| {
            let past = chrono::Utc::now().timestamp() - 600;
            c["exp"] = json!(past);
            c["iat"] = json!(past - 300);
        },
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "ID token expired",
    },
    Case {
        name: "issued in the future",
        claims: |c| c["iat"] = json!(chrono::Utc::now().timestamp() + 3600),
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "future",
    },
    Case {
        name: "unknown kid",
        claims: keep,
        signing: Signing::UnknownKey,
        query: keep_query,
        code: "sso-rejected",
        reason: "No matching key",
    },
    Case {
        name: "provider error",
        claims: keep,
        signing: Signing::Good,
        query: |q| {
            q.retain(|(k, _)| k != "code");
            q.push(("error".into(), "access_denied".into()));
        },
        code: "sso-denied",
        reason: "access_denied",
    },
];

async fn every_rejection_ends_with_no_session_and_a_message(store: Store) {
    let idp = FakeIdp::start(false).await;
    let server = start_with_sso(store, idp.provider()).await;
    for case in CASES {
        let client = client();
        let auth = begin(&server, &idp, &client).await;
        let mut claims = claims(&idp, &auth, "sub-case");
        (case.claims)(&mut claims);
        let code = grant(
            &idp,
            &auth,
            sign(&claims, case.signing),
            profile("sub-case", "case@example.com", true),
        );
        let mut query = vec![
            ("code".to_string(), code),
            ("state".to_string(), auth.state.clone()),
        ];
        (case.query)(&mut query);
        let query: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = callback(&server, &client, &query).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", case.name);
        assert_eq!(
            location(&response),
            format!("/sign-in?error={}", case.code),
            "{}",
            case.name
        );
        assert!(
            !signed_in(&server, &client).await,
            "{}: signed in",
            case.name
        );
        let entry = last_log(&server.store).await;
        assert_eq!(
            (entry.action.as_str(), entry.outcome.as_str()),
            ("user.session.start", "failure"),
            "{}",
            case.name
        );
        let reason = entry.reason.unwrap_or_default();
        assert!(reason.contains(case.reason), "{}: {reason}", case.name);
        // The attempt is spent: the same callback again is refused as unknown.
        if case.code != "sso-state" {
            let again = callback(&server, &client, &query).await;
            assert_eq!(
                location(&again),
                "/sign-in?error=sso-state",
                "{}",
                case.name
            );
        }
    }
    assert_eq!(
        server.store.count_users().await.unwrap(),
        0,
        "nobody was created"
    );

    // A replayed callback: the first use signs in, the second finds no attempt and ends
    // the session.
    let client = client();
    let auth = begin(&server, &idp, &client).await;
    let code = grant(
        &idp,
        &auth,
        sign(&claims(&idp, &auth, "sub-replay"), Signing::Good),
        profile("sub-replay", "replay@example.com", true),
    );
    let first = callback(&server, &client, &[("code", &code), ("state", &auth.state)]).await;
    assert_eq!(location(&first), "/system-log");
    assert!(signed_in(&server, &client).await);
    let replay = callback(&server, &client, &[("code", &code), ("state", &auth.state)]).await;
    assert_eq!(location(&replay), "/sign-in?error=sso-state");
    assert!(!signed_in(&server, &client).await);

    // Post-sign-in addresses must be paths on this site.
    for next in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
    ] {
        let client = common::client();
        let url = format!("/auth/oidc/start?next={}", urlencoding::encode(next));
        let response = client.get(server.url(&url)).send().await.unwrap();
        assert_eq!(location(&response), "/sign-in?error=sso-next", "{next}");
        assert!(
            session_cookie(&response).is_none_or(|c| c.contains("Max-Age=0")),
            "{next}"
        );
        assert!(
            last_log(&server.store)
                .await
                .reason
                .unwrap()
                .contains("not a path on this site")
        );
    }

    // Each code reads as a sentence on the sign-in page.
    for code in [
        "sso-state",
        "sso-rejected",
        "sso-next",
        "sso-unverified",
        "sso-denied",
    ] {
        let html = common::client()
            .get(server.url(&format!("/sign-in?error={code}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("data-testid=\"sign-in-error\""), "{code}");
    }
}

async fn a_promised_iss_parameter_is_required(store: Store) {
    let idp = FakeIdp::start(true).await;
    let server = start_with_sso(store, idp.provider()).await;
    let client = client();
    let auth = begin(&server, &idp, &client).await;
    let code = grant(
        &idp,
        &auth,
        sign(&claims(&idp, &auth, "sub-iss"), Signing::Good),
        profile("sub-iss", "iss@example.com", true),
    );
    let response = callback(&server, &client, &[("code", &code), ("state", &auth.state)]).await;
    assert_eq!(location(&response), "/sign-in?error=sso-rejected");
    assert!(
        last_log(&server.store)
            .await
            .reason
            .unwrap()
            .contains("iss parameter")
    );

    let auth = begin(&server, &idp, &client).await;
    let code = grant(
        &idp,
        &auth,
        sign(&claims(&idp, &auth, "sub-iss"), Signing::Good),
        profile("sub-iss", "iss@example.com", true),
    );
    let issuer = idp.issuer();
    let response = callback(
        &server,
        &client,
        &[("code", &code), ("state", &auth.state), ("iss", &issuer)],
    )
    .await;
    assert_eq!(location(&response), "/system-log");
    assert!(signed_in(&server, &client).await);
}

async fn without_a_provider_the_local_form_stays(store: Store) {
    let server = start(store, Options::default()).await;
    let html = client()
        .get(server.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Sign in with"), "no provider button");
    let response = client()
        .get(server.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/sign-in?error=sso-off");
}

async fn a_super_admin_sets_it_up_in_settings(store: Store) {
    use secrecy::ExposeSecret;
    let idp = FakeIdp::start(false).await;
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    let save = |issuer: String, secret: &'static str| {
        let admin = admin.clone();
        let url = server.url("/settings/sso");
        async move {
            let response = admin
                .post(url)
                .form(&[
                    ("issuer", issuer.as_str()),
                    ("client_id", CLIENT_ID),
                    ("client_secret", secret),
                    ("display_name", "Test IdP"),
                ])
                .send()
                .await
                .unwrap();
            location(&response)
        }
    };

    // Refused, saving nothing: not a URL, plain http elsewhere, no OpenID configuration.
    assert_eq!(
        save("not a url".into(), CLIENT_SECRET).await,
        "/settings?error=sso-issuer"
    );
    assert_eq!(
        save("http://idp.example.com".into(), CLIENT_SECRET).await,
        "/settings?error=sso-issuer"
    );
    let nowhere = format!("{}/nothing-here", idp.issuer());
    assert_eq!(
        save(nowhere, CLIENT_SECRET).await,
        "/settings?error=sso-discovery"
    );
    // The back channel does not follow redirects.
    let moved = format!("{}/moved", idp.issuer());
    assert_eq!(
        save(moved, CLIENT_SECRET).await,
        "/settings?error=sso-discovery"
    );
    assert!(server.store.sso_settings().await.unwrap().is_none());

    // Saved: the sign-in page offers it and people sign on with it.
    assert_eq!(
        save(idp.issuer(), CLIENT_SECRET).await,
        "/settings?notice=sso-saved"
    );
    let entry = last_log(&server.store).await;
    assert_eq!(entry.action, "system.sso.update");
    assert!(
        !entry.reason.unwrap_or_default().contains(CLIENT_SECRET),
        "never the secret"
    );
    let html = client()
        .get(server.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign in with Test IdP"));
    let page = admin
        .get(server.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&server.url("/auth/oidc/callback")),
        "the redirect URI to register"
    );
    assert!(!page.contains(CLIENT_SECRET), "the secret is never shown");
    let person = client();
    let response = sign_on(
        &server,
        &idp,
        &person,
        "sub-lin",
        profile("sub-lin", "lin@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/system-log");

    // An empty secret keeps the saved one.
    assert_eq!(save(idp.issuer(), "").await, "/settings?notice=sso-saved");
    let saved = server.store.sso_settings().await.unwrap().unwrap();
    assert_eq!(saved.client_secret.expose_secret(), CLIENT_SECRET);

    // Only a Super Admin may change it.
    let administrator = server.client_as(Role::WorkflowsAdministrator).await;
    let refused = administrator
        .post(server.url("/settings/sso/remove"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Removed: the sign-in page no longer offers it.
    let removed = admin
        .post(server.url("/settings/sso/remove"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&removed), "/settings?notice=sso-removed");
    let html = client()
        .get(server.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Sign in with"));
    assert_eq!(
        last_log(&server.store).await.reason.as_deref(),
        Some("removed")
    );
}

async fn the_environment_wins_over_settings(store: Store) {
    let idp = FakeIdp::start(false).await;
    let server = start_with_sso(store, idp.provider()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    let response = admin
        .post(server.url("/settings/sso"))
        .form(&[("issuer", "https://other.example"), ("client_id", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/settings?error=sso-environment");
    let page = admin
        .get(server.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("IDFLOW_OIDC_ISSUER"), "says where it is set");
}

/// A first single sign-on naming an administrator's local account links it only once that
/// account's own password confirms it.
async fn linking_an_administrator_needs_their_password_once(store: Store) {
    let idp = FakeIdp::start(false).await;
    let server = start_with_sso(store, idp.provider()).await;
    server
        .add_user("boss@example.com", Role::WorkflowsAdministrator)
        .await;
    let boss = server
        .store
        .user_by_name("boss@example.com")
        .await
        .unwrap()
        .unwrap();
    let client = client();
    let response = sign_on(
        &server,
        &idp,
        &client,
        "sub-boss",
        profile("sub-boss", "boss@example.com", true),
    )
    .await;
    let to = location(&response);
    assert!(
        to.starts_with("/sign-in?link=confirm&account=boss%40example.com&provider="),
        "{to}"
    );
    assert!(!signed_in(&server, &client).await);
    assert!(
        server
            .store
            .sso_identities_of(boss.id)
            .await
            .unwrap()
            .is_empty()
    );
    let page = client
        .get(server.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Confirm and sign in"),
        "the page asks for the password"
    );

    // A wrong password links nothing (and counts as a failed sign-in).
    let wrong = client
        .post(server.url("/auth/oidc/link"))
        .form(&[("password", "not it")])
        .send()
        .await
        .unwrap();
    assert!(
        location(&wrong).contains("link=confirm&error=invalid"),
        "{}",
        location(&wrong)
    );
    assert!(!signed_in(&server, &client).await);
    assert!(
        server
            .store
            .sso_identities_of(boss.id)
            .await
            .unwrap()
            .is_empty()
    );
    let log = server.store.recent_audit(1).await.unwrap();
    assert_eq!(log[0].reason.as_deref(), Some("wrong password"));

    // The right one links the account and signs in, where the sign-on was going.
    let right = client
        .post(server.url("/auth/oidc/link"))
        .form(&[("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&right), "/system-log");
    assert!(signed_in(&server, &client).await);
    assert_eq!(
        server.store.sso_identities_of(boss.id).await.unwrap().len(),
        1
    );
    let log = server.store.recent_audit(2).await.unwrap();
    assert_eq!(log[1].action, "user.sso.link");
    // The link is used once: a second post finds nothing to confirm.
    let again = client
        .post(server.url("/auth/oidc/link"))
        .form(&[("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&again), "/sign-in?error=sso-link-expired");
    // From now on the provider alone signs them in.
    let later = common::client();
    let response = sign_on(
        &server,
        &idp,
        &later,
        "sub-boss",
        profile("sub-boss", "boss@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/system-log");

    // An administrator without a local password is not linked by email at all.
    server
        .store
        .create_user(
            &domain::store::NewUser {
                user_name: "nopw@example.com".into(),
                display_name: None,
                email: Some("nopw@example.com".into()),
                role: Role::SuperAdmin,
            },
            None,
            None,
        )
        .await
        .unwrap();
    let response = sign_on(
        &server,
        &idp,
        &common::client(),
        "sub-nopw",
        profile("sub-nopw", "nopw@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/sign-in?error=sso-privileged");
}

domain::backend_tests! {
    async fn oidc_linking_an_administrator_needs_their_password_once(store) {
        linking_an_administrator_needs_their_password_once(store).await;
    }
    async fn oidc_a_super_admin_sets_it_up_in_settings(store) {
        a_super_admin_sets_it_up_in_settings(store).await;
    }
    async fn oidc_the_environment_wins_over_settings(store) {
        the_environment_wins_over_settings(store).await;
    }
    async fn oidc_first_sign_on_then_role_then_sign_out(store) {
        first_sign_on_then_role_then_sign_out(store).await;
    }
    async fn oidc_links_directory_users_by_verified_email_only(store) {
        links_directory_users_by_verified_email_only(store).await;
    }
    async fn oidc_every_rejection_ends_with_no_session_and_a_message(store) {
        every_rejection_ends_with_no_session_and_a_message(store).await;
    }
    async fn oidc_a_promised_iss_parameter_is_required(store) {
        a_promised_iss_parameter_is_required(store).await;
    }
    async fn oidc_without_a_provider_the_local_form_stays(store) {
        without_a_provider_the_local_form_stays(store).await;
    }
}
