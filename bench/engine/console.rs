//! bench/console: how fast the console renders the Flows tab, and how big its WASM is.
//!
//! Starts the idflow binary on a fresh SQLite database, signs in as the bootstrap admin,
//! imports 500 flows through the Flows tab's import form, then asks for `/flows` (the
//! whole list, rendered on the server) one request at a time and prints the time to the
//! last byte: mean, p50, p95, max. Then prints the size of the console's WASM, raw and
//! compressed with brotli (quality 11, as `idflow prepare-assets` precompresses it), and
//! runs bench/console-first-load.mjs: the Flows tab's first load in headless Chromium,
//! navigation to hydrated. Figures only: nothing here passes or fails.
//!
//! Settings (environment): IDFLOW_BINARY (target/server-release/idflow), BENCH_FLOWS
//! (500), BENCH_REQUESTS (50), BENCH_LOADS (10, in Chromium), SITE_PKG (target/site/pkg).

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PORT: u16 = 3123;
const PASSWORD: &str = "bench admin password";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let binary = std::env::var("IDFLOW_BINARY")
        .unwrap_or_else(|_| "target/server-release/idflow".to_string());
    let flows: usize = env_or("BENCH_FLOWS", 500);
    let requests: usize = env_or("BENCH_REQUESTS", 50);
    let pkg = std::env::var("SITE_PKG").unwrap_or_else(|_| "target/site/pkg".to_string());

    let data = tempfile::tempdir()?;
    let _server = Server(
        Command::new(&binary)
            .arg("serve")
            .env("IDFLOW_DATA_DIR", data.path())
            .env("IDFLOW_SITE_DIR", "target/site")
            .env("IDFLOW_LISTEN", format!("127.0.0.1:{PORT}"))
            .env("IDFLOW_ADMIN_PASSWORD", PASSWORD)
            .env("IDFLOW_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {binary}"))?,
    );
    let base = format!("http://127.0.0.1:{PORT}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let started = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("idflow did not answer on {base} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signed_in = client
        .post(format!("{base}/auth/sign-in"))
        .form(&[
            ("email", "admin@example.com"),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await?;
    if signed_in
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        != Some("/")
    {
        bail!("the bootstrap admin could not sign in");
    }

    print!("importing {flows} flows ");
    for n in 0..flows {
        let flow = serde_json::json!({
            "name": format!("Flow {n:03}"),
            "description": "Offboarding: remove groups, clear sessions, log the leaver",
            "trigger": { "kind": "directory.user_deactivated" },
            "cards": [
                { "id": 1, "kind": "directory.remove_from_all_groups", "inputs": { "user": { "type": "mapping", "from": "trigger", "path": "user.id" } } },
                { "id": 2, "kind": "directory.clear_sessions", "inputs": { "user": { "type": "mapping", "from": "trigger", "path": "user.id" } } },
            ],
        });
        let answer = client
            .post(format!("{base}/flows/import"))
            .form(&[("definition", flow.to_string())])
            .send()
            .await?;
        let to = answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default();
        if !to.contains("notice=flow-imported") {
            bail!("importing flow {n} answered {to:?}");
        }
        if n % 50 == 0 {
            print!(".");
            std::io::stdout().flush()?;
        }
    }
    println!();

    // Warm up, then one request at a time.
    for _ in 0..5 {
        client
            .get(format!("{base}/flows"))
            .send()
            .await?
            .bytes()
            .await?;
    }
    let mut times = Vec::with_capacity(requests);
    let mut size = 0;
    for _ in 0..requests {
        let at = Instant::now();
        let page = client.get(format!("{base}/flows")).send().await?;
        if !page.status().is_success() {
            bail!("GET /flows answered {}", page.status());
        }
        size = page.bytes().await?.len();
        times.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "GET /flows with {flows} flows ({size} bytes of HTML), {requests} requests one at a time:\n  mean {mean:.1} ms · p50 {:.1} ms · p95 {:.1} ms · max {:.1} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times[times.len() - 1],
    );

    // The first load in a browser: bench/console-first-load.mjs, with Playwright's Chromium.
    let first_load = Command::new("node")
        .arg("bench/console-first-load.mjs")
        .args([base.as_str(), "admin@example.com", PASSWORD])
        .arg(env_or("BENCH_LOADS", 10).to_string())
        .status();
    match first_load {
        Ok(status) if status.success() => {}
        Ok(status) => println!("the first load in Chromium could not be measured ({status})"),
        Err(e) => println!("the first load in Chromium could not be measured: node: {e}"),
    }

    // The WASM every page loads, then each page's own part (loaded when the page first
    // opens) and, together, the parts pages share.
    let named = |prefix: &str| -> Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(&pkg)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(prefix) && n.ends_with(".wasm"))
            .filter(|n| n.matches('.').count() == 1)
            .collect();
        names.sort();
        Ok(names)
    };
    let sizes = |names: &[String]| -> Result<Option<(usize, usize)>> {
        let (mut raw, mut brotli) = (0, 0);
        for name in names {
            let Ok(wasm) = std::fs::read(format!("{pkg}/{name}")) else {
                return Ok(None);
            };
            let mut compressed = Vec::new();
            let params = brotli::enc::BrotliEncoderParams {
                quality: 11,
                lgwin: 22,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut wasm.as_slice(), &mut compressed, &params)?;
            raw += wasm.len();
            brotli += compressed.len();
        }
        Ok(Some((raw, brotli)))
    };
    let kb = |bytes: usize| bytes as f64 / 1024.0;
    let main = (
        vec!["idflow.wasm".to_string()],
        "the main file, for every page; target 400 KB brotli".to_string(),
    );
    let pages = named("split_")?
        .into_iter()
        .map(|n| (vec![n], "a page's own, when it first opens".to_string()));
    let shared = named("chunk_")?;
    let shared = (!shared.is_empty()).then(|| {
        let what = format!("{} files pages share, each when first needed", shared.len());
        (shared, what)
    });
    for (names, what) in std::iter::once(main).chain(pages).chain(shared) {
        let shown = match names.as_slice() {
            [one] => format!("{pkg}/{one}"),
            _ => format!("{pkg}/chunk_*.wasm"),
        };
        match sizes(&names)? {
            Some((raw, brotli)) => println!(
                "{shown}: {:.0} KB raw, {:.0} KB brotli ({what})",
                kb(raw),
                kb(brotli)
            ),
            None => println!("{shown}: not found; build the console first"),
        }
    }
    Ok(())
}
