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

impl OktaOrg {
    pub fn start() -> OktaOrg {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/okta_org.py");
        let mut child = Command::new("python3")
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
