//! The test server: the real router on a real socket, and clients for it.
#![allow(dead_code)]

pub mod okta;
pub mod process;
pub mod slack;
pub mod smtp;

use domain::access::Role;
use domain::auth::hash_password;
use domain::store::{NewUser, Store};
use idflow::sessions::DbSessionStore;
use idflow::{AppState, Services, SessionSettings, leptos_options, router};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use secrecy::SecretString;
use std::net::SocketAddr;

pub const PASSWORD: &str = "a long test password";
/// The bearer token `/metrics` answers to on a test server.
pub const METRICS_TOKEN: &str = "metrics-test-token";

pub struct TestServer {
    pub base: String,
    pub store: Store,
}

#[derive(Clone, Copy)]
pub struct Options {
    pub session_max_age: chrono::Duration,
    pub session_idle: std::time::Duration,
    pub secure: bool,
    /// Synchronous API calls run in the server's process as they arrive, as when it runs
    /// the engine (`AppState::inline`).
    pub inline: bool,
    /// Rate limits per client address; tests that are not about them sign in far more
    /// often than a person does, so by default they are out of reach.
    pub rate_limits: idflow::hygiene::RateLimits,
    /// `IDFLOW_TRUST_FORWARDED_FOR` and `IDFLOW_TRUSTED_PROXIES`.
    pub trust_forwarded_for: bool,
    pub trusted_proxies: &'static [&'static str],
}

impl Default for Options {
    fn default() -> Self {
        Options {
            session_max_age: chrono::Duration::hours(12),
            session_idle: std::time::Duration::from_secs(3600),
            secure: false,
            inline: false,
            rate_limits: idflow::hygiene::RateLimits {
                sign_in_per_minute: 100_000,
                refused_per_minute: 100_000,
            },
            trust_forwarded_for: false,
            trusted_proxies: &[],
        }
    }
}

/// The test server with single sign-on configured as the environment would.
pub async fn start_with_sso(store: Store, provider: idflow::oidc::Provider) -> TestServer {
    start_inner(store, Options::default(), Some(provider)).await
}

pub async fn start(store: Store, options: Options) -> TestServer {
    start_inner(store, options, None).await
}

async fn start_inner(
    store: Store,
    options: Options,
    sso: Option<idflow::oidc::Provider>,
) -> TestServer {
    // Flows in tests call servers the tests start on loopback, as IDFLOW_OUTBOUND_ALLOW
    // lets them in the browser tests.
    store.allow_outbound(domain::outbound::Allowed::parse("127.0.0.1").unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::from(Services {
        store: store.clone(),
        leptos_options: leptos_options(std::path::Path::new("../target/site"), addr),
        session_max_age: options.session_max_age,
        trust_forwarded_for: options.trust_forwarded_for,
        trusted_proxies: options
            .trusted_proxies
            .iter()
            .map(|p| p.parse().unwrap())
            .collect(),
        limiters: std::sync::Arc::new(idflow::hygiene::Limiters::new(options.rate_limits)),
        public_url: format!("http://{addr}"),
        sso: idflow::oidc::Sso::new(&format!("http://{addr}"), sso),
        inline: options.inline.then(|| {
            std::sync::Arc::new(domain::engine::runner::Runner::new(
                store.clone(),
                "test-server/inline",
            ))
        }),
        metrics_token: Some(SecretString::from(METRICS_TOKEN)),
    });
    let sessions = DbSessionStore::for_store(&store).await.unwrap();
    let app = router(
        state,
        sessions,
        SessionSettings {
            idle: options.session_idle,
            secure: options.secure,
        },
    );
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestServer {
        base: format!("http://{addr}"),
        store,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The status and HTML of the page at `path` as `client` gets it (Leptos's hydration
    /// markers taken out, so the text reads as shown).
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let response = client.get(self.url(path)).send().await.unwrap();
        let status = response.status();
        (status, response.text().await.unwrap().replace("<!>", ""))
    }

    /// `client` posts the form `fields` to `path`, as a browser would.
    pub async fn post_form<T: serde::Serialize + ?Sized>(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &T,
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Calls flow `flow`'s API endpoint with its secret `token` and the JSON `body`.
    pub async fn invoke(
        &self,
        flow: impl std::fmt::Display,
        token: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url(&format!("/api/v1/flows/{flow}/invoke")))
            .header("x-api-client-token", token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn add_user(&self, user_name: &str, role: Role) {
        let hash = hash_password(SecretString::from(PASSWORD)).await.unwrap();
        let new = NewUser {
            user_name: user_name.into(),
            display_name: None,
            email: Some(user_name.into()),
            role,
        };
        self.store
            .create_user(&new, Some(&hash), None)
            .await
            .unwrap();
    }

    pub async fn sign_in(
        &self,
        client: &reqwest::Client,
        user_name: &str,
        password: &str,
        next: &str,
    ) -> reqwest::Response {
        let fields = [("email", user_name), ("password", password), ("next", next)];
        self.post_form(client, "/auth/sign-in", &fields).await
    }

    /// A client signed in as a new user with `role`.
    pub async fn client_as(&self, role: Role) -> reqwest::Client {
        let name = format!("{}@example.com", role.as_str());
        if self.store.user_by_name(&name).await.unwrap().is_none() {
            self.add_user(&name, role).await;
        }
        self.client_of(&name).await
    }

    /// A client signed in as an existing user made by [`TestServer::add_user`].
    pub async fn client_of(&self, user_name: &str) -> reqwest::Client {
        let client = client();
        let response = self.sign_in(&client, user_name, PASSWORD, "/").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/", "{user_name} could not sign in");
        client
    }
}

/// The id of the connection a `POST /connections` made, from its redirect to
/// `/connections/{id}?notice=connection-created` (which it asserts).
pub fn created_connection_id(response: &reqwest::Response) -> String {
    let to = location(response);
    assert!(to.ends_with("notice=connection-created"), "{to}");
    to.trim_start_matches("/connections/")
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("idflow_session="))
}

/// The value of `name` in a redirect's query (`?notice=…`, `?why=…`).
pub fn query_param(location: &str, name: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Turns `flow` on (made by the test author), runs it once by hand with no input, and
/// gives the execution as it ended.
pub async fn run_by_hand(
    store: &Store,
    flow: &domain::flows::Flow,
) -> domain::store::ExecutionRecord {
    let made = store.test_flow_on(flow).await;
    let id = store
        .enqueue_execution(&domain::store::NewExecution::by_hand(
            made.id,
            made.version,
            serde_json::json!({}),
        ))
        .await
        .unwrap()
        .unwrap();
    domain::engine::runner::Runner::new(store.clone(), "test")
        .drain()
        .await
        .unwrap();
    store.execution(id).await.unwrap().unwrap()
}
