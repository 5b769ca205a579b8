//! bench/scale: what SCIM costs on a directory of 100,000 users.
//!
//! Seeds a fresh SQLite database and a fresh PostgreSQL database (on the machine's
//! server, 127.0.0.1) with BENCH_USERS users (100,000) in BENCH_GROUPS groups (1,000) of
//! 100 members and BENCH_EXECUTIONS executions (1,000,000) of 10 flows, each about one
//! user, through the store; starts the release server (`idflow serve`, on 127.0.0.1) on
//! each; and prints p50 and p99 in milliseconds over BENCH_REQUESTS requests (200) for
//! each SCIM request below, the console's Directory page and search, its Executions page,
//! the search by a carried email and a user's page with their timeline (signed in as the
//! bootstrap admin, the whole page to its last byte), the time a full import walk takes
//! (every user, pages of 100, as Okta's import reads them), and the database's size.
//! Each series is measured after a few untimed requests of its own kind.
//! Figures only: nothing here passes or fails.

use anyhow::{Context, Result, bail};
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::store::testing::SeededUser;
use domain::store::{Store, TokenMaker};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "bench admin password";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// The release server on `url`, on a free loopback port; its base address.
fn serve(url: &str, data: &std::path::Path) -> Result<(Child, String)> {
    let binary = std::env::var("IDFLOW_BINARY").unwrap_or("target/server-release/idflow".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(&binary)
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("IDFLOW_DATA_DIR", data)
        .env("IDFLOW_LISTEN", format!("127.0.0.1:{port}"))
        .env("IDFLOW_ADMIN_PASSWORD", "bench admin password")
        .env("IDFLOW_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("{binary}: build it first with make build-release"))?;
    Ok((child, format!("http://127.0.0.1:{port}")))
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}/scim/v2{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/scim+json")
                .body(body.to_string());
        }
        let answer = request.send().await?;
        let status = answer.status();
        let text = answer.text().await?;
        if !status.is_success() {
            bail!("{path}: {status} {text}");
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }
}

/// The console's pages over the directory and the history, signed in as the bootstrap
/// admin: each whole page, rendered on the server, to its last byte.
async fn console(client: &Client, seeded: &[SeededUser], requests: usize) -> Result<()> {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let signed_in = browser
        .post(format!("{}/auth/sign-in", client.base))
        .form(&[
            ("email", "admin@example.com"),
            ("password", ADMIN_PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await?;
    let status = signed_in.status();
    let to = signed_in
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok());
    anyhow::ensure!(
        to == Some("/"),
        "the bootstrap admin could not sign in: {status} to {to:?}"
    );
    let pick = |i: usize| &seeded[(i * 104_729) % seeded.len()];
    let page = |path: String, expect: String| {
        let browser = &browser;
        async move {
            let answer = browser.get(format!("{}{path}", client.base)).send().await?;
            let status = answer.status();
            let text = answer.text().await?;
            anyhow::ensure!(status.is_success(), "{path}: {status}");
            anyhow::ensure!(text.contains(&expect), "{path}: no {expect:?} in the page");
            Ok(())
        }
    };
    measure("Directory page", requests, |_| {
        page("/directory".into(), "user000001@example.com".into())
    })
    .await?;
    measure("Directory search (a user name)", requests, |i| {
        let user = pick(i);
        page(
            format!("/directory?q={}", &user.user_name[..10]),
            user.user_name.clone(),
        )
    })
    .await?;
    measure("Executions page", requests, |_| {
        page("/executions".into(), "href=\"/executions/0".into())
    })
    .await?;
    measure("Executions search by a carried email", requests, |i| {
        let user = pick(i);
        let email = user.email.to_lowercase();
        page(
            format!(
                "/executions?q={}",
                url::form_urlencoded::byte_serialize(email.as_bytes()).collect::<String>()
            ),
            "href=\"/executions/0".into(),
        )
    })
    .await?;
    measure("a user's page with their timeline", requests, |i| {
        let user = pick(i);
        page(
            format!("/directory/users/{}", user.id),
            "href=\"/executions/0".into(),
        )
    })
    .await?;
    Ok(())
}

fn quoted(value: &str) -> String {
    url::form_urlencoded::byte_serialize(format!("\"{value}\"").as_bytes()).collect()
}

/// Untimed runs before each measured series: the server's pooled connections open and
/// its caches fill, as they have on a server that has been up a while.
const WARM_UP: usize = 10;

/// p50 and p99 (ms) of `requests` runs of `one(i)`, which checks its own answer, after
/// [`WARM_UP`] untimed runs (on other indexes than the measured ones).
async fn measure<F, Fut>(name: &str, requests: usize, mut one: F) -> Result<()>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    for i in requests..requests + WARM_UP {
        one(i)
            .await
            .with_context(|| format!("{name}, warm-up request {i}"))?;
    }
    let mut times = Vec::with_capacity(requests);
    for i in 0..requests {
        let began = Instant::now();
        one(i)
            .await
            .with_context(|| format!("{name}, request {i}"))?;
        times.push(began.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  {name:<34} p50 {:>7.2} ms   p99 {:>7.2} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    Ok(())
}

async fn run(backend: &str, store: &Store, url: &str) -> Result<()> {
    let users: usize = env_or("BENCH_USERS", 100_000);
    let groups: usize = env_or("BENCH_GROUPS", 1_000);
    let requests: usize = env_or("BENCH_REQUESTS", 200);
    let executions: usize = env_or("BENCH_EXECUTIONS", 1_000_000);
    println!(
        "==> {backend}: seeding {users} users in {groups} groups of 100, {executions} executions"
    );
    let began = Instant::now();
    let (seeded, made): (Vec<SeededUser>, _) = store.seed_directory(users, groups, 100).await?;
    let mut flows = Vec::new();
    for n in 0..10 {
        let flow = domain::flows::Flow::new(format!("Flow {n}"), "directory.user_created");
        flows.push(store.test_flow(&flow, None, "author@example.com").await.id);
    }
    store.seed_executions(&flows, &seeded, executions).await?;
    // The console's pages are read as a Super Admin who signs in with a password (the
    // server makes its bootstrap admin only in an empty directory).
    let hash = domain::auth::hash_password(ADMIN_PASSWORD.to_string().into()).await?;
    store
        .create_user(
            &domain::store::NewUser {
                user_name: "admin@example.com".into(),
                display_name: Some("Admin".into()),
                email: Some("admin@example.com".into()),
                role: domain::access::Role::SuperAdmin,
            },
            Some(&hash),
            None,
        )
        .await?;
    store.analyze().await?;
    println!(
        "{backend}: seeded in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let entry = NewEntry::new(Action::ScimTokenCreate, Outcome::Success, Actor::System);
    let (_, token) = store
        .create_scim_token("bench", TokenMaker::Operator, &entry)
        .await?;

    let data = tempfile::tempdir()?;
    let (mut server, base) = serve(url, data.path())?;
    let http = reqwest::Client::new();
    let ready = Instant::now();
    while http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status().is_success())
        .ok()
        != Some(true)
    {
        if ready.elapsed() > Duration::from_secs(60) {
            server.kill()?;
            bail!("the server did not get ready in 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What the server does once at start (keys, retention's first look) settles first.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let client = Client { http, base, token };
    let pick = |i: usize| &seeded[(i * 7919) % seeded.len()];
    let last = users.saturating_sub(99).max(1);
    println!("{backend}: {requests} requests each (ms)");
    measure("GET /Users page 1 (count 100)", requests, |_| async {
        let page = client.get("/Users?startIndex=1&count=100").await?;
        anyhow::ensure!(page["Resources"].as_array().map(Vec::len) == Some(100.min(users)));
        Ok(())
    })
    .await?;
    measure("GET /Users page 1,000 (count 100)", requests, |_| {
        let path = format!("/Users?startIndex={last}&count=100");
        let client = &client;
        async move {
            let page = client.get(&path).await?;
            // The seeded users, the flows' author and the admin.
            anyhow::ensure!(
                page["totalResults"] == users + 2,
                "{}",
                page["totalResults"]
            );
            Ok(())
        }
    })
    .await?;
    for (name, attribute, value) in [
        (
            "filter userName eq",
            "userName",
            (|u: &SeededUser| u.user_name.clone()) as fn(&SeededUser) -> String,
        ),
        ("filter externalId eq", "externalId", |u: &SeededUser| {
            u.external_id.clone()
        }),
        (
            "filter emails.value eq",
            "emails.value",
            |u: &SeededUser| u.email.to_lowercase(),
        ),
    ] {
        measure(name, requests, |i| {
            let user = pick(i);
            let path = format!("/Users?filter={attribute}%20eq%20{}", quoted(&value(user)));
            let id = user.id.to_string();
            let client = &client;
            async move {
                let page = client.get(&path).await?;
                anyhow::ensure!(page["Resources"][0]["id"] == id.as_str(), "{page}");
                Ok(())
            }
        })
        .await?;
    }
    measure("filter group displayName eq", requests, |i| {
        let (id, name) = &made[(i * 31) % made.len()];
        let path = format!(
            "/Groups?filter=displayName%20eq%20{}&excludedAttributes=members",
            quoted(name)
        );
        let id = id.to_string();
        let client = &client;
        async move {
            let page = client.get(&path).await?;
            anyhow::ensure!(page["Resources"][0]["id"] == id.as_str(), "{page}");
            Ok(())
        }
    })
    .await?;
    let (group, _) = &made[0];
    measure("PATCH a group member (add/remove)", requests, |i| {
        let user = pick(i / 2 + 1);
        let op = if i % 2 == 0 {
            json!({ "op": "add", "path": "members", "value": [{ "value": user.id.to_string() }] })
        } else {
            json!({ "op": "remove", "path": format!("members[value eq \"{}\"]", user.id) })
        };
        let body = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op] });
        let path = format!("/Groups/{group}");
        let client = &client;
        async move {
            client.send(reqwest::Method::PATCH, &path, Some(&body)).await?;
            Ok(())
        }
    })
    .await?;
    for (name, filter) in [
        ("filter userName sw (10 users)", "userName sw \"user00012\""),
        (
            "filter displayName co (10 users)",
            "displayName co \"r 00012\"",
        ),
    ] {
        let path = format!(
            "/Users?filter={}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        measure(name, requests, |_| {
            let (client, path) = (&client, &path);
            async move {
                let page = client.get(path).await?;
                anyhow::ensure!(
                    page["totalResults"] == 10.min(users),
                    "{}",
                    page["totalResults"]
                );
                Ok(())
            }
        })
        .await?;
    }
    console(&client, &seeded, requests).await?;
    let walk = Instant::now();
    let mut read = 0;
    let mut start = 1;
    loop {
        let page = client
            .get(&format!("/Users?startIndex={start}&count=100"))
            .await?;
        let got = page["Resources"].as_array().map_or(0, Vec::len);
        read += got;
        if got == 0 || read >= users {
            break;
        }
        start += got;
    }
    println!(
        "  {:<34} {read} users in {:.1} s",
        "full import walk (pages of 100)",
        walk.elapsed().as_secs_f64()
    );
    server.kill()?;
    server.wait()?;
    println!(
        "  {:<34} {:.1} MB",
        "database size",
        store.database_bytes().await? as f64 / 1e6
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let sqlite = domain::store::testing::sqlite().await;
    run("SQLite", &sqlite.store, &sqlite.url).await?;
    drop(sqlite);
    let postgres = domain::store::testing::postgres()
        .await
        .context("PostgreSQL on 127.0.0.1:5432 is needed for the second half")?;
    run("PostgreSQL", &postgres.store, &postgres.url).await?;
    Ok(())
}
