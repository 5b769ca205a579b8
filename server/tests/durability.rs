//! Durability: while 200 accepted executions run, the `idflow` server process is killed
//! with SIGKILL at 20 random moments and started again. At the end every accepted
//! execution has ended (succeeded, or failed with a reason), none is lost, and no card
//! whose completion was recorded ran again (each card appears once in each execution's
//! record). Meanwhile a caller keeps calling a synchronous API Endpoint flow, which each
//! server runs in its own process: every call answered 200 has its execution stored and
//! succeeded, and every such execution stored ends; half the calls carry an
//! `Idempotency-Key` and are retried until answered, and no call makes two executions.
//! Bounded in time: the test gives up, failing, after two minutes.

mod common;

use common::process::{start_server, wait_until_running};
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::engine::Status;
use domain::flows::{Binding, Card, CardId, Flow, Source};
use domain::store::{ExecutionFilter, NewExecution, Store};
use domain::tables::{Column, ColumnType, Schema};
use serde_json::json;
use std::time::{Duration, Instant};

const EXECUTIONS: usize = 200;
const KILLS: usize = 20;

fn entry(action: Action) -> NewEntry {
    NewEntry::new(action, Outcome::Success, Actor::System)
}

fn card(id: u32, kind: &str, inputs: &[(&str, Binding)]) -> Card {
    Card::new(id, kind).with_inputs(inputs)
}

/// Five cards: a function, an idempotent table write, a Wait (the execution goes back
/// to the queue and is claimed again), another function and another table write.
fn flow() -> Flow {
    let mut flow = Flow::new("Durable", "trigger.manual");
    flow.cards = vec![
        card(
            1,
            "text.compose",
            &[("template", Binding::template("run {{ trigger.input.n }}"))],
        ),
        card(
            2,
            "tables.find_or_create_row",
            &[
                ("table", Binding::literal("durable")),
                ("key", Binding::template("{{ trigger.input.n }}-a")),
                ("row", Binding::literal(json!({}))),
            ],
        ),
        card(3, "flow.wait", &[("seconds", Binding::literal(0))]),
        card(
            4,
            "text.length",
            &[("text", Binding::mapping(Source::Card(CardId(1)), "output"))],
        ),
        card(
            5,
            "tables.find_or_create_row",
            &[
                ("table", Binding::literal("durable")),
                ("key", Binding::template("{{ trigger.input.n }}-b")),
                ("row", Binding::literal(json!({}))),
            ],
        ),
    ];
    flow
}

/// A synchronous API Endpoint flow that writes a row and returns the caller's `n`.
fn api_flow() -> Flow {
    let mut flow = Flow::new("Durable API", "trigger.api_endpoint");
    flow.trigger
        .options
        .insert("synchronous".into(), Binding::literal(true));
    flow.settings.save_all_data = true;
    flow.cards = vec![
        card(
            1,
            "text.compose",
            &[("template", Binding::template("api {{ trigger.body.n }}"))],
        ),
        card(
            2,
            "tables.find_or_create_row",
            &[
                ("table", Binding::literal("durable")),
                ("key", Binding::template("api-{{ trigger.body.n }}")),
                ("row", Binding::literal(json!({}))),
            ],
        ),
        card(
            3,
            "flow.return",
            &[("output", Binding::mapping(Source::Trigger, "body.n"))],
        ),
    ];
    flow
}

/// Calls the API flow at `base` until stopped, taking each call's `n` from `next`; the
/// `n` of each call answered 200 with its own `n`. A `keyed` caller sends each call with
/// an `Idempotency-Key` and retries it until answered — across kills too: `pending` keeps
/// the call in flight for the next caller — as a careful client does; the other makes
/// each call once, so the process that takes it runs it at once.
async fn call_until_stopped(
    base: String,
    flow: domain::flows::FlowId,
    token: String,
    calls: Callers,
    keyed: bool,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let http = reqwest::Client::new();
    let url = format!("{}api/v1/flows/{flow}/invoke", base);
    loop {
        let taken = if keyed {
            calls.pending.lock().unwrap().take()
        } else {
            None
        };
        let n = match taken {
            Some(n) => {
                calls.retries.fetch_add(1, Relaxed);
                n
            }
            // Keyed calls are even, the others odd.
            None => 2 * calls.next.fetch_add(1, Relaxed) + u64::from(!keyed),
        };
        let mut request = http.post(&url).bearer_auth(&token).json(&json!({ "n": n }));
        if keyed {
            *calls.pending.lock().unwrap() = Some(n);
            request = request.header("idempotency-key", format!("call-{n}"));
        }
        let Ok(response) = request.send().await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        if response.status().is_success()
            && response.json::<serde_json::Value>().await.ok() == Some(json!(n))
        {
            calls.answered.lock().unwrap().push(n);
            if keyed {
                calls.pending.lock().unwrap().take();
            }
        } else {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// What the API callers share across servers.
#[derive(Clone, Default)]
struct Callers {
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
    pending: std::sync::Arc<std::sync::Mutex<Option<u64>>>,
    retries: std::sync::Arc<std::sync::atomic::AtomicU64>,
    answered: std::sync::Arc<std::sync::Mutex<Vec<u64>>>,
}

/// A small deterministic generator, so a failing run can be repeated.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        low + (self.0 >> 33) % (high - low)
    }
}

/// How many executions of `flow` there are, and how many have ended.
async fn counts(store: &Store, flow: domain::flows::FlowId) -> (usize, usize) {
    let all = store
        .executions(&ExecutionFilter {
            flow: Some(flow),
            limit: 100_000,
            ..ExecutionFilter::default()
        })
        .await
        .unwrap();
    let ended = all.iter().filter(|e| e.status.is_final()).count();
    (all.len(), ended)
}

async fn survives_twenty_kills(store: Store, url: String) {
    let schema = Schema {
        name: "durable".into(),
        columns: vec![Column {
            name: "id".into(),
            ty: ColumnType::Text,
        }],
        key: Some("id".into()),
    };
    store
        .create_table(&schema, None, &entry(Action::TableCreate))
        .await
        .unwrap();
    let made = store.test_flow(&flow(), None, "test").await;
    let (api, token) = store.test_callable(&api_flow()).await;
    let callers = Callers::default();
    let mut accepted = Vec::new();
    for n in 0..EXECUTIONS {
        let id = store
            .enqueue_execution(&NewExecution::new(
                made.id,
                made.version,
                "trigger.manual",
                json!({ "input": { "n": n } }),
            ))
            .await
            .unwrap()
            .unwrap();
        accepted.push(id);
    }

    let data = tempfile::tempdir().unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("durability seed {seed}");
    let mut moments = Moments(seed);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut server = start_server(&url, data.path(), &[]);
    for kill in 0..KILLS {
        let base = wait_until_running(&mut server);
        let once = tokio::spawn(call_until_stopped(
            base.clone(),
            api.id,
            token.clone(),
            callers.clone(),
            false,
        ));
        let keyed = tokio::spawn(call_until_stopped(
            base,
            api.id,
            token.clone(),
            callers.clone(),
            true,
        ));
        tokio::time::sleep(Duration::from_millis(moments.next_ms(0, 300))).await;
        server.kill().expect("SIGKILL the server");
        server.wait().unwrap();
        once.abort();
        keyed.abort();
        let (_, ended) = counts(&store, made.id).await;
        println!("kill {}: {ended} of {EXECUTIONS} ended", kill + 1);
        server = start_server(&url, data.path(), &[]);
    }
    // Let the last server finish the rest (an API call's execution held by a killed
    // server is taken over when its lease runs out).
    loop {
        let (_, ended) = counts(&store, made.id).await;
        let (calls, calls_ended) = counts(&store, api.id).await;
        if ended == EXECUTIONS && calls_ended == calls {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {ended} of {EXECUTIONS} executions ended in two minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let (total, _) = counts(&store, made.id).await;
    assert_eq!(total, EXECUTIONS, "no execution is lost or made twice");

    // Every call answered 200 was stored and succeeded, each card recorded once; every
    // call's execution that was stored has ended with a status, a failure with a reason.
    let answered = callers.answered.lock().unwrap().clone();
    println!(
        "{} API calls answered while the servers were killed",
        answered.len()
    );
    assert!(!answered.is_empty(), "some API calls were answered");
    let calls = store
        .executions(&ExecutionFilter {
            flow: Some(api.id),
            limit: 100_000,
            ..ExecutionFilter::default()
        })
        .await
        .unwrap();
    for call in &calls {
        assert!(call.status.is_final(), "{}: {:?}", call.id, call.status);
        if call.status != Status::Succeeded {
            assert!(call.error.is_some(), "{}: ended without a reason", call.id);
        }
    }
    // A call retried with its Idempotency-Key, after a kill or a refusal, got its first
    // execution back: no call made two.
    let mut per_call = std::collections::BTreeMap::<u64, usize>::new();
    for call in &calls {
        if let Some(n) = call.input["body"]["n"].as_u64() {
            *per_call.entry(n).or_default() += 1;
        }
    }
    println!(
        "{} retries with an Idempotency-Key",
        callers.retries.load(std::sync::atomic::Ordering::Relaxed)
    );
    for (n, made) in per_call {
        assert_eq!(made, 1, "call {n} made {made} executions");
    }
    let mut answered_keys = Vec::new();
    for n in answered {
        let call = calls
            .iter()
            .find(|c| c.input["body"]["n"] == json!(n))
            .unwrap_or_else(|| panic!("the call {n} was answered but its execution is lost"));
        assert_eq!(call.status, Status::Succeeded, "{n}: {:?}", call.error);
        let cards: Vec<u32> = store
            .execution_steps(call.id)
            .await
            .unwrap()
            .iter()
            .map(|s| s.card_id)
            .collect();
        assert_eq!(cards, [1, 2, 3], "{n}: each card recorded once, in order");
        answered_keys.push(format!("api-{n}"));
    }
    for id in accepted {
        let execution = store
            .execution(id)
            .await
            .unwrap()
            .expect("every accepted execution is kept");
        assert_eq!(
            execution.status,
            Status::Succeeded,
            "{id}: {:?}",
            execution.error
        );
        let cards: Vec<u32> = store
            .execution_steps(id)
            .await
            .unwrap()
            .iter()
            .filter(|s| s.status == "succeeded")
            .map(|s| s.card_id)
            .collect();
        assert_eq!(
            cards,
            [1, 2, 3, 4, 5],
            "{id}: each card recorded once, in order"
        );
    }
    let table = store.table_by_name("durable").await.unwrap().unwrap();
    let table = store.table(table.id).await.unwrap().unwrap();
    for key in answered_keys {
        assert!(
            store.row_by_key(table.id, &key).await.unwrap().is_some(),
            "{key}: the answered call's row"
        );
    }
    let api_rows = calls
        .iter()
        .filter(|c| c.status == Status::Succeeded)
        .count() as i64;
    assert!(table.rows.unwrap() >= 2 * EXECUTIONS as i64 + api_rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_twenty_kills() {
    let db = domain::store::testing::sqlite().await;
    survives_twenty_kills(db.store.clone(), db.url.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_twenty_kills() {
    let Some(db) = domain::store::testing::postgres().await else {
        return;
    };
    survives_twenty_kills(db.store.clone(), db.url.clone()).await;
}

/// Two servers on one PostgreSQL: a schedule fires exactly once per tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_fire_each_tick_once() {
    let Some(db) = domain::store::testing::postgres().await else {
        return;
    };
    let store = db.store.clone();
    let mut flow = Flow::new("Every second", "trigger.scheduled");
    flow.trigger
        .options
        .insert("cron".into(), Binding::literal("* * * * * *"));
    let made = store.test_flow(&flow, None, "test").await;
    store
        .set_flow_enabled(
            made.id,
            true,
            &store.test_author("admin@example.com").await,
            &entry(Action::FlowEnable),
        )
        .await
        .unwrap();
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut servers = [
        start_server(&db.url, one.path(), &[]),
        start_server(&db.url, two.path(), &[]),
    ];
    for server in servers.iter_mut() {
        wait_until_running(server);
    }
    let filter = ExecutionFilter {
        flow: Some(made.id),
        limit: 1000,
        ..ExecutionFilter::default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.executions(&filter).await.unwrap().len() < 6 {
        assert!(
            Instant::now() < deadline,
            "the schedule did not fire six times in 30 seconds"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for server in servers.iter_mut() {
        server.kill().unwrap();
        server.wait().unwrap();
    }
    let mut fired: Vec<chrono::DateTime<chrono::Utc>> = store
        .executions(&filter)
        .await
        .unwrap()
        .iter()
        .map(|e| e.input["fired_at"].as_str().unwrap().parse().unwrap())
        .collect();
    fired.sort();
    let ticks = fired.len();
    fired.dedup();
    assert_eq!(fired.len(), ticks, "a tick fired twice: {fired:?}");
    for pair in fired.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            chrono::Duration::seconds(1),
            "a tick was missed: {fired:?}"
        );
    }
}
