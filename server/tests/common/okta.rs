//! The Okta-shaped test org (`tests/fixtures/okta_org.py`), started as its own process on
//! 127.0.0.1 and driven through its `/_test/` routes.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The test org, stopped when dropped (its standard input closes).
pub struct OktaOrg {
    child: Child,
    pub port: u16,
    client: reqwest::Client,
}

impl Drop for OktaOrg {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a test sends to an Event Hook: its URL and the header and secret it carries.
#[derive(Clone)]
pub struct Hook {
    pub url: String,
    pub header: String,
    pub secret: Option<String>,
}

/// The Python that runs the test org: `target/okta-venv` (with `cryptography`, which
/// checks signed tokens), made by `scripts/setup.sh test`.
fn python() -> std::path::PathBuf {
    let python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/okta-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/setup.sh test makes it",
        python.display()
    );
    python
}

impl OktaOrg {
    pub fn start() -> OktaOrg {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/okta_org.py");
        let mut child = Command::new(python())
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the Okta test org");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let port = first
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the Okta test org did not start: {first:?}"));
        OktaOrg {
            child,
            port,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    /// The org's domain, as an Okta connection names it.
    pub fn domain(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Registers a service app: its client id, public JWK and the scopes granted to it.
    pub async fn register_client(&self, client_id: &str, jwk: &Value, scopes: &[&str]) {
        self.drive(
            "/_test/clients",
            json!({ "client_id": client_id, "jwk": jwk, "scopes": scopes }),
        )
        .await;
    }

    /// Registers a web app (authorization code): its secret, redirect URIs and the scopes
    /// granted to it; it rotates refresh tokens after every use.
    pub async fn register_web_client(
        &self,
        client_id: &str,
        secret: &str,
        redirect_uri: &str,
        scopes: &[&str],
    ) {
        self.drive(
            "/_test/clients",
            json!({ "client_id": client_id, "client_secret": secret, "redirect_uris": [redirect_uri], "scopes": scopes, "rotate": true }),
        )
        .await;
    }

    /// An Okta admin at the consent page `authorize_url` (where idflow sent them): the
    /// page's text, then where Allow Access sends them back.
    pub async fn consent(&self, authorize_url: &str) -> (String, String) {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = client.get(authorize_url).send().await.unwrap();
        assert_eq!(page.status(), 200, "the consent page");
        let page = page.text().await.unwrap();
        let request = page
            .split("name=\"request\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no consent form: {page}"))
            .to_string();
        let allowed = client
            .post(format!(
                "http://127.0.0.1:{}/oauth2/v1/authorize/consent",
                self.port
            ))
            .form(&[("request", request)])
            .send()
            .await
            .unwrap();
        assert_eq!(allowed.status(), 302);
        let back = allowed.headers()["location"].to_str().unwrap().to_string();
        (page, back)
    }

    /// Seeds users (each `{id?, status?, login, email, firstName, lastName, …}`).
    pub async fn seed_users(&self, users: Value) -> Value {
        self.drive("/_test/users", json!({ "users": users })).await
    }

    /// Seeds `count` users `user00000@acme.example` … (ids `00uload00000` …).
    pub async fn seed_many_users(&self, count: usize) -> Value {
        self.drive("/_test/users", json!({ "count": count })).await
    }

    pub async fn seed_group(&self, id: &str, name: &str, members: &[&str]) {
        self.drive(
            "/_test/groups",
            json!({ "id": id, "name": name, "members": members }),
        )
        .await;
    }

    /// Seeds System Log events (as `send` takes them).
    pub async fn seed_logs(&self, events: Value) {
        self.drive("/_test/logs", json!({ "events": events })).await;
    }

    /// The next `count` API calls get 429, their budget resetting `reset_in` seconds on.
    pub async fn throttle(&self, count: usize, reset_in: u64) {
        self.drive(
            "/_test/throttle",
            json!({ "count": count, "reset_in": reset_in }),
        )
        .await;
    }

    async fn read(&self, path: &str) -> Value {
        self.client
            .get(format!("http://127.0.0.1:{}{path}", self.port))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Every API call the org answered: `{method, path, query, body, status, request_id}`.
    pub async fn calls(&self) -> Vec<Value> {
        self.read("/_test/calls").await.as_array().unwrap().clone()
    }

    /// `{users, groups: {id: [member ids]}, assignments: [[app, user]]}`.
    pub async fn state(&self) -> Value {
        self.read("/_test/state").await
    }

    async fn drive(&self, path: &str, body: Value) -> Value {
        self.client
            .post(format!("http://127.0.0.1:{}{path}", self.port))
            .json(&body)
            .timeout(std::time::Duration::from_secs(120))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    fn target(hook: &Hook) -> Value {
        json!({ "url": hook.url, "header": hook.header, "secret": hook.secret })
    }

    /// Okta's one-time verification of `hook`: `{ok, status, detail}`.
    pub async fn verify(&self, hook: &Hook) -> Value {
        self.drive("/_test/hook/verify", Self::target(hook)).await
    }

    /// One delivery of `events` (each `{type, uuid?, published?, user?, group?, app?}`):
    /// `{status, ms, body, uuids}`.
    pub async fn send(&self, hook: &Hook, events: Value) -> Value {
        let mut body = Self::target(hook);
        body["events"] = events;
        self.drive("/_test/hook/send", body).await
    }

    /// `count` deliveries at once: `{statuses, max_ms}`.
    pub async fn burst(&self, hook: &Hook, count: usize) -> Value {
        let mut body = Self::target(hook);
        body["count"] = json!(count);
        self.drive("/_test/hook/burst", body).await
    }
}
