//! The execution engine inside the server: a change made in the console starts an
//! enabled flow, which runs to its end, on both backends.

mod common;

use common::*;
use domain::access::Role;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::engine::Status;
use domain::flows::{Binding, Card, CardId, Flow, OnError, Source};
use domain::store::{ExecutionFilter, Store};
use reqwest::StatusCode;

fn entry(action: Action) -> NewEntry {
    NewEntry::new(action, Outcome::Success, Actor::System)
}

async fn a_deactivation_in_the_console_runs_the_offboarding_flow(store: Store) {
    let server = start(store, Options::default()).await;
    let _engine = idflow::engine::spawn(server.store.clone(), 1);
    let mut flow = Flow::new("Offboarding", "directory.user_deactivated");
    flow.cards = vec![Card {
        id: CardId(1),
        kind: "directory.clear_sessions".into(),
        inputs: [(
            "user".to_string(),
            Binding::mapping(Source::Trigger, "user.id"),
        )]
        .into(),
        on_error: OnError::Stop,
        timeout_seconds: None,
        note: String::new(),
        lanes: vec![],
    }];
    let made = server
        .store
        .create_flow(
            &flow,
            None,
            &server.store.test_author("admin@example.com").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    server
        .store
        .set_flow_enabled(
            made.id,
            true,
            &server.store.test_author("admin@example.com").await,
            &entry(Action::FlowEnable),
        )
        .await
        .unwrap();

    server
        .add_user("leaver@example.com", Role::WorkflowsAuditor)
        .await;
    let leaver = server
        .store
        .user_by_name("leaver@example.com")
        .await
        .unwrap()
        .unwrap();
    let admin = server.client_as(Role::SuperAdmin).await;
    let response = admin
        .post(server.url(&format!("/directory/users/{}/status", leaver.id.0)))
        .form(&[("status", "deprovisioned")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // The engine picks the event up on its own; wait for the execution to end (bounded).
    let filter = ExecutionFilter {
        flow: Some(made.id),
        limit: 10,
        ..ExecutionFilter::default()
    };
    let mut ended = None;
    for _ in 0..100 {
        let runs = server.store.executions(&filter).await.unwrap();
        if let Some(run) = runs.into_iter().find(|r| r.status.is_final()) {
            ended = Some(run);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let run = ended.expect("the flow ran within ten seconds");
    assert_eq!(run.status, Status::Succeeded, "{:?}", run.error);
    assert_eq!(
        run.subject.as_deref(),
        Some(leaver.id.0.to_string().as_str())
    );
    let steps = server.store.execution_steps(run.id).await.unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(
        steps[0].inputs.as_ref().unwrap()["user"],
        leaver.id.0.to_string()
    );
}

fn api_flow(name: &str, synchronous: bool, max_per_minute: Option<u32>) -> Flow {
    let mut flow = Flow::new(name, "trigger.api_endpoint");
    flow.trigger
        .options
        .insert("synchronous".into(), Binding::literal(synchronous));
    flow.settings.max_per_minute = max_per_minute;
    flow.cards = vec![Card {
        id: CardId(1),
        kind: "flow.return".into(),
        inputs: [(
            "output".to_string(),
            Binding::template("Hello {{ trigger.body.name }}"),
        )]
        .into(),
        on_error: OnError::Stop,
        timeout_seconds: None,
        note: String::new(),
        lanes: vec![],
    }];
    flow
}

/// Creates `flow`, turns it on and makes its API secret.
async fn callable(store: &Store, flow: &Flow) -> (domain::store::FlowSummary, String) {
    let made = store
        .create_flow(
            flow,
            None,
            &store.test_author("admin@example.com").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    store
        .set_flow_enabled(
            made.id,
            true,
            &store.test_author("admin@example.com").await,
            &entry(Action::FlowEnable),
        )
        .await
        .unwrap();
    let token = store
        .new_flow_invoke_token(made.id, &entry(Action::FlowTokenCreate))
        .await
        .unwrap()
        .unwrap();
    (made, token)
}

/// With the engine in the server's process, a synchronous call to a flow without limits
/// runs there as it arrives: no worker runs here, and still the caller gets the answer,
/// with the execution and every card's record stored.
async fn a_synchronous_call_runs_in_the_process_that_took_it(store: Store) {
    use domain::tables::{Column, ColumnType, Schema};
    let server = start(
        store,
        Options {
            inline: true,
            ..Options::default()
        },
    )
    .await;
    let table = Schema {
        name: "callers".into(),
        columns: vec![Column {
            name: "name".into(),
            ty: ColumnType::Text,
        }],
        key: Some("name".into()),
    };
    let table = server
        .store
        .create_table(&table, None, &entry(Action::TableCreate))
        .await
        .unwrap();
    let mut flow = api_flow("Greets and remembers", true, None);
    flow.settings.save_all_data = true;
    flow.cards = vec![
        Card::new(1, "text.compose").with_inputs(&[(
            "template",
            Binding::template("Hello {{ trigger.body.name }}"),
        )]),
        Card::new(2, "tables.create_row").with_inputs(&[
            ("table", Binding::literal("callers")),
            ("row.name", Binding::mapping(Source::Trigger, "body.name")),
        ]),
        Card::new(3, "flow.return").with_inputs(&[(
            "output",
            Binding::mapping(Source::Card(CardId(1)), "output"),
        )]),
    ];
    let (made, token) = callable(&server.store, &flow).await;
    let http = reqwest::Client::new();
    let answered = http
        .post(server.url(&format!("/api/v1/flows/{}/invoke", made.id)))
        .header("x-api-client-token", &token)
        .json(&serde_json::json!({"name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    assert_eq!(
        answered.json::<serde_json::Value>().await.unwrap(),
        "Hello Ada"
    );
    let runs = server
        .store
        .executions(&ExecutionFilter {
            flow: Some(made.id),
            limit: 10,
            ..ExecutionFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, Status::Succeeded, "{:?}", runs[0].error);
    let steps = server.store.execution_steps(runs[0].id).await.unwrap();
    assert_eq!(
        steps.iter().map(|s| s.card_id).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        steps[1].inputs,
        Some(serde_json::json!({"table": "callers", "row": {"name": "Ada"}}))
    );
    assert!(
        server
            .store
            .row_by_key(table.id, "Ada")
            .await
            .unwrap()
            .is_some()
    );

    // Bad input still gets its 4xx, and stores nothing.
    let bad = http
        .post(server.url(&format!("/api/v1/flows/{}/invoke", made.id)))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    // A flow that fails answers 422 with the reason, and the failure is kept.
    let again = http
        .post(server.url(&format!("/api/v1/flows/{}/invoke", made.id)))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = again.json().await.unwrap();
    assert_eq!(body["status"], "failed");
    assert!(body["error"].as_str().unwrap().contains("card 2"), "{body}");
    let failed = server
        .store
        .execution(domain::engine::ExecutionId(
            body["execution_id"].as_str().unwrap().parse().unwrap(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(
        server
            .store
            .executions(&ExecutionFilter {
                flow: Some(made.id),
                limit: 10,
                ..ExecutionFilter::default()
            })
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn an_api_endpoint_flow_answers_its_caller(store: Store) {
    let server = start(store, Options::default()).await;
    let _engine = idflow::engine::spawn(server.store.clone(), 1);
    let made = server
        .store
        .create_flow(
            &api_flow("Greeter", true, Some(3)),
            None,
            &server.store.test_author("admin@example.com").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    let token = server
        .store
        .new_flow_invoke_token(made.id, &entry(Action::FlowTokenCreate))
        .await
        .unwrap()
        .unwrap();
    let url = server.url(&format!("/api/v1/flows/{}/invoke", made.id));
    let http = reqwest::Client::new();

    // Off: refused with a reason; no secret or a wrong one: 401.
    let off = http
        .post(&url)
        .header("x-api-client-token", &token)
        .json(&serde_json::json!({"name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::CONFLICT);
    server
        .store
        .set_flow_enabled(
            made.id,
            true,
            &server.store.test_author("admin@example.com").await,
            &entry(Action::FlowEnable),
        )
        .await
        .unwrap();
    let none = http
        .post(&url)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.text().await.unwrap().contains("x-api-client-token"));
    let wrong = http
        .post(&url)
        .header("x-api-client-token", "idf_flow_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let bad = http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Synchronous: the answer is what the flow returned; as Okta names the header, or as Bearer.
    let hello = http
        .post(&url)
        .header("x-api-client-token", &token)
        .json(&serde_json::json!({"name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(hello.status(), StatusCode::OK);
    assert_eq!(
        hello.json::<serde_json::Value>().await.unwrap(),
        "Hello Ada"
    );
    let bearer = http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Grace"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer.json::<serde_json::Value>().await.unwrap(),
        "Hello Grace"
    );

    // Past three calls a minute (the bad-JSON call was refused before it counted): 429.
    let third = http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Alan"}))
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), StatusCode::OK);
    let fourth = http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Edsger"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fourth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(fourth.headers()["retry-after"], "60");

    // Asynchronous: 202 with the execution's id, which then runs.
    let (later, token) = callable(&server.store, &api_flow("Later", false, None)).await;
    let accepted = http
        .post(server.url(&format!("/api/v1/flows/{}/invoke", later.id)))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Barbara"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let body: serde_json::Value = accepted.json().await.unwrap();
    let id = domain::engine::ExecutionId(body["execution_id"].as_str().unwrap().parse().unwrap());
    let mut output = None;
    for _ in 0..100 {
        let run = server.store.execution(id).await.unwrap().unwrap();
        if run.status.is_final() {
            output = run.output;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(output, Some(serde_json::json!("Hello Barbara")));
}

async fn the_history_shows_each_caller_the_executions_they_may_see(store: Store) {
    use domain::access::FolderRole;
    use domain::assignments::Grantee;
    use domain::engine::runner::Runner;
    use domain::store::NewExecution;
    let server = start(store, Options::default()).await;
    // Before anything has run, the tab says where executions come from.
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let empty = admin
        .get(server.url("/executions"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(empty.contains("No executions yet") && empty.contains("each time a flow runs"));
    let hr = server
        .store
        .create_folder(
            "HR",
            &NewEntry::new(Action::FolderCreate, Outcome::Success, Actor::System),
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (name, folder) in [("In HR", Some(hr)), ("Elsewhere", None)] {
        let mut flow = Flow::new(name, "trigger.manual");
        flow.cards = vec![Card {
            id: CardId(1),
            kind: "text.trim".into(),
            inputs: [(
                "text".to_string(),
                Binding::template(" {{ trigger.input.email }} "),
            )]
            .into(),
            on_error: OnError::Stop,
            timeout_seconds: None,
            note: String::new(),
            lanes: vec![],
        }];
        let made = server
            .store
            .create_flow(
                &flow,
                folder,
                &server.store.test_author("admin@example.com").await,
                &entry(Action::FlowCreate),
            )
            .await
            .unwrap();
        let id = server
            .store
            .enqueue_execution(&NewExecution {
                flow: made.id,
                flow_version: 1,
                trigger_kind: "trigger.manual".into(),
                input: serde_json::json!({"input": {"email": format!("{}@example.com", name.replace(' ', "."))}}),
                subject: None,
                dedupe_key: None,
                causal_chain: vec![],
                parent: None,
                test: false,
                acting_for: None,
            })
            .await
            .unwrap()
            .unwrap();
        ids.push(id);
    }
    Runner::new(server.store.clone(), "w")
        .drain()
        .await
        .unwrap();

    server
        .add_user("runner@example.com", Role::UnassignedUser)
        .await;
    let runner = server
        .store
        .user_by_name("runner@example.com")
        .await
        .unwrap()
        .unwrap();
    server
        .store
        .set_folder_grant(
            hr,
            &Grantee::User(runner.id),
            Some(FolderRole::Runner),
            &entry(Action::FolderGrant),
        )
        .await
        .unwrap();
    let list = |client: reqwest::Client, form: Vec<(&'static str, String)>| {
        let url = server.url("/api/executions/list");
        async move {
            let response = client.post(url).form(&form).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let list: Vec<serde_json::Value> = response.json().await.unwrap();
            list.iter()
                .map(|e| e["flow_name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let mut all = list(auditor.clone(), vec![]).await;
    all.sort();
    assert_eq!(all, ["Elsewhere", "In HR"]);
    assert_eq!(
        list(auditor.clone(), vec![("carried", "in.hr@example".into())]).await,
        ["In HR"]
    );
    assert_eq!(
        list(auditor.clone(), vec![("status", "failed".into())]).await,
        Vec::<String>::new()
    );
    let folder_runner = server.client_of("runner@example.com").await;
    assert_eq!(list(folder_runner.clone(), vec![]).await, ["In HR"]);

    // The detail: every card's record; outside the caller's folders it does not exist.
    let detail = |client: &reqwest::Client, id: &domain::engine::ExecutionId| {
        client
            .post(server.url("/api/executions/detail"))
            .form(&[("id", id.to_string())])
            .send()
    };
    let seen = detail(&folder_runner, &ids[0]).await.unwrap();
    assert_eq!(seen.status(), StatusCode::OK);
    let seen: serde_json::Value = seen.json().await.unwrap();
    assert_eq!(seen["cards"][0]["card_name"], "Trim");
    assert_eq!(seen["cards"][0]["outputs"]["output"], "In.HR@example.com");
    let hidden = detail(&folder_runner, &ids[1]).await.unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let bad = auditor
        .post(server.url("/api/executions/list"))
        .form(&[("status", "sleeping")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

async fn flows_are_run_cancelled_and_rerun_by_those_allowed(store: Store) {
    let server = start(store, Options::default()).await;
    let mut flow = Flow::new("By hand", "trigger.manual");
    flow.cards = vec![Card::new(1, "flow.wait").with_inputs(&[("seconds", Binding::literal(600))])];
    let made = server
        .store
        .create_flow(
            &flow,
            None,
            &server.store.test_author("admin@example.com").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let post = |client: &reqwest::Client, path: String, form: Vec<(&str, String)>| {
        let request = client.post(server.url(&path)).form(&form);
        async move { location(&request.send().await.unwrap()) }
    };
    let to = post(
        &admin,
        format!("/flows/{}/run", made.id),
        vec![("input", "{\"n\": 1}".into())],
    )
    .await;
    assert!(to.ends_with("?notice=flow-started"), "{to}");
    let id = to["/executions/".len()..to.find('?').unwrap()].to_string();
    let bad = post(
        &admin,
        format!("/flows/{}/run", made.id),
        vec![("input", "{n".into())],
    )
    .await;
    assert_eq!(bad, "/flows?error=input-not-json");
    let page = format!("/executions/{id}");

    // Auditors read history but run nothing.
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let refused = auditor
        .post(server.url(&format!("{page}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let cancelled = post(&admin, format!("{page}/cancel"), vec![]).await;
    assert_eq!(cancelled, format!("{page}?notice=execution-cancelled"));
    let again = post(&admin, format!("{page}/cancel"), vec![]).await;
    assert_eq!(again, format!("{page}?error=execution-ended"));
    let not_paused = post(&admin, format!("{page}/approve"), vec![]).await;
    assert_eq!(not_paused, format!("{page}?error=not-paused"));

    let rerun = post(&admin, format!("{page}/rerun"), vec![]).await;
    assert!(rerun.ends_with("?notice=execution-rerun"), "{rerun}");
    let new_id = &rerun["/executions/".len()..rerun.find('?').unwrap()];
    let new = server
        .store
        .execution(domain::engine::ExecutionId(new_id.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (new.status, new.input),
        (Status::Queued, serde_json::json!({"input": {"n": 1}}))
    );
    let gone = post(
        &admin,
        format!("/executions/{}/rerun", uuid::Uuid::nil()),
        vec![],
    )
    .await;
    assert_eq!(gone, "/executions?error=no-execution");
    // Each is in the System Log.
    let log = server.store.recent_audit(10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for action in ["flow.run", "execution.cancel", "execution.rerun"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

/// Close answers the API caller while the execution goes on to a Pause card, which
/// `POST /api/v1/executions/{id}/resume` (with the flow's secret) resumes.
async fn close_answers_early_and_the_api_resumes_a_pause(store: Store, inline: bool) {
    let server = start(
        store,
        Options {
            inline,
            ..Options::default()
        },
    )
    .await;
    let _engine = idflow::engine::spawn(server.store.clone(), 1);
    let mut flow = api_flow("Request access", true, None);
    flow.cards = vec![
        Card::new(1, "flow.close").with_inputs(&[(
            "output",
            Binding::template(
                "{{ {'request': trigger.body.name, 'status': 'waiting for approval'} }}",
            ),
        )]),
        Card::new(2, "flow.pause"),
        Card::new(3, "flow.return").with_inputs(&[(
            "output",
            Binding::mapping(Source::Card(CardId(2)), "input.decision"),
        )]),
    ];
    let (made, token) = callable(&server.store, &flow).await;
    let http = reqwest::Client::new();
    let answered = http
        .post(server.url(&format!("/api/v1/flows/{}/invoke", made.id)))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "VPN"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    assert_eq!(
        answered.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"request": "VPN", "status": "waiting for approval"})
    );
    let filter = ExecutionFilter {
        flow: Some(made.id),
        limit: 1,
        ..ExecutionFilter::default()
    };
    let mut waiting = None;
    for _ in 0..100 {
        let run = server.store.executions(&filter).await.unwrap().remove(0);
        if run.status == Status::Waiting {
            waiting = Some(run);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let run = waiting.expect("the execution waits at its Pause card");
    let resume = server.url(&format!("/api/v1/executions/{}/resume", run.id));

    // No secret, another flow's secret, bad JSON: refused, and it still waits.
    let none = http.post(&resume).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let (_, other_token) = callable(&server.store, &api_flow("Other", false, None)).await;
    let wrong = http
        .post(&resume)
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let bad = http
        .post(&resume)
        .header("x-api-client-token", &token)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        server
            .store
            .execution(run.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Waiting
    );

    let resumed = http
        .post(&resume)
        .header("x-api-client-token", &token)
        .json(&serde_json::json!({"decision": "approved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), StatusCode::ACCEPTED);
    let mut ended = None;
    for _ in 0..100 {
        let now = server.store.execution(run.id).await.unwrap().unwrap();
        if now.status.is_final() {
            ended = Some(now);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let ended = ended.expect("the resumed execution ends");
    assert_eq!(ended.status, Status::Succeeded, "{:?}", ended.error);
    assert_eq!(ended.output, Some(serde_json::json!("approved")));
    let again = http
        .post(&resume)
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("not waiting at a Pause card")
    );
    let resumed_log = server.store.recent_audit(20).await.unwrap();
    assert!(resumed_log.iter().any(|e| e.action == "execution.resume"
        && e.target_id.as_deref() == Some(run.id.to_string().as_str())));
}

/// The execution detail links a For Each to the helper executions it started, and each
/// helper back to it.
async fn the_detail_links_helper_executions_both_ways(store: Store) {
    use domain::engine::runner::Runner;
    use domain::store::NewExecution;
    let server = start(store, Options::default()).await;
    let mut helper = Flow::new("Shout", "trigger.helper");
    helper.cards = vec![
        Card::new(1, "text.change_case").with_inputs(&[
            ("text", Binding::mapping(Source::Trigger, "item")),
            ("case", Binding::literal("upper")),
        ]),
        Card::new(2, "flow.return").with_inputs(&[(
            "output",
            Binding::mapping(Source::Card(CardId(1)), "output"),
        )]),
    ];
    let mut main = Flow::new("Shout all", "trigger.manual");
    main.cards = vec![Card::new(1, "flow.for_each").with_inputs(&[
        ("flow", Binding::literal("Shout")),
        ("items", Binding::mapping(Source::Trigger, "input")),
    ])];
    let mut main_id = None;
    for flow in [helper, main] {
        let made = server
            .store
            .create_flow(
                &flow,
                None,
                &server.store.test_author("admin@example.com").await,
                &entry(Action::FlowCreate),
            )
            .await
            .unwrap();
        server
            .store
            .set_flow_enabled(
                made.id,
                true,
                &server.store.test_author("admin@example.com").await,
                &entry(Action::FlowEnable),
            )
            .await
            .unwrap();
        main_id = Some(made.id);
    }
    let id = server
        .store
        .enqueue_execution(&NewExecution {
            flow: main_id.unwrap(),
            flow_version: 1,
            trigger_kind: "trigger.manual".into(),
            input: serde_json::json!({"input": ["a", "b"]}),
            subject: None,
            dedupe_key: None,
            causal_chain: vec![],
            parent: None,
            test: false,
            acting_for: None,
        })
        .await
        .unwrap()
        .unwrap();
    Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    let admin = server.client_as(Role::WorkflowsAuditor).await;
    let detail = |id: String| {
        admin
            .post(server.url("/api/executions/detail"))
            .form(&[("id", id)])
            .send()
    };
    let view: serde_json::Value = detail(id.to_string()).await.unwrap().json().await.unwrap();
    assert_eq!(view["summary"]["status"], "succeeded", "{view}");
    assert_eq!(
        view["cards"][0]["outputs"]["outputs"],
        serde_json::json!(["A", "B"])
    );
    let helpers = view["helpers"].as_array().unwrap();
    assert_eq!(helpers.len(), 2);
    assert_eq!(
        (
            helpers[1]["card_id"].clone(),
            helpers[1]["index"].clone(),
            helpers[1]["flow_name"].clone()
        ),
        (
            serde_json::json!(1),
            serde_json::json!(1),
            serde_json::json!("Shout")
        )
    );
    let child: serde_json::Value = detail(helpers[1]["execution_id"].as_str().unwrap().to_string())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(child["parent"]["execution_id"], id.to_string());
    assert_eq!(child["parent"]["flow_name"], "Shout all");
    assert_eq!(child["output"], "B");

    // The Executions tab lists them; the execution page shows each card and links the
    // helpers, each linking back.
    let page = |path: String| admin.get(server.url(&path)).send();
    let list = page("/executions".into()).await.unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let list = list.text().await.unwrap();
    assert!(
        list.contains("Shout all") && list.contains("Helper Flow") && list.contains("Succeeded"),
        "{list}"
    );
    assert!(list.contains(&format!("/executions/{id}")));
    let found = page("/executions?q=b&status=succeeded&since=1h".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(found.contains("Shout all"), "the caller carries \"b\"");
    let none = page("/executions?q=nobody-carries-this".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(none.contains("No executions match"));
    let detail_page = page(format!("/executions/{id}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        detail_page.contains("1 · For Each") && detail_page.contains("Helper executions:"),
        "{detail_page}"
    );
    assert!(detail_page.contains(helpers[1]["execution_id"].as_str().unwrap()));
    let child_page = page(format!(
        "/executions/{}",
        helpers[1]["execution_id"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(child_page.contains("Started by") && child_page.contains(&format!("/executions/{id}")));
    let missing = page(format!("/executions/{}", uuid::Uuid::nil()))
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // An auditor sees no buttons and cannot post them.
    assert!(!detail_page.contains("Re-run with the same input"));
    let refused = admin
        .post(server.url(&format!("/executions/{id}/rerun")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // An administrator re-runs it (to the new execution's page), cannot cancel or
    // approve an ended one, and cancels a queued one.
    let boss = server.client_as(Role::WorkflowsAdministrator).await;
    let boss_page = boss
        .get(server.url(&format!("/executions/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        boss_page.contains("Re-run with the same input") && !boss_page.contains("Cancel execution")
    );
    let post = |path: String| boss.post(server.url(&path)).send();
    let rerun = post(format!("/executions/{id}/rerun")).await.unwrap();
    assert_eq!(rerun.status(), StatusCode::SEE_OTHER);
    let to = rerun.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/executions/")
            && to.ends_with("?notice=execution-rerun")
            && !to.contains(&id.to_string()),
        "{to}"
    );
    let new_page = boss
        .get(server.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        new_page.contains("This is a new execution of the same input")
            && new_page.contains("Cancel execution"),
        "{new_page}"
    );
    let new_id = to
        .trim_start_matches("/executions/")
        .trim_end_matches("?notice=execution-rerun")
        .to_string();
    let ended = post(format!("/executions/{id}/cancel")).await.unwrap();
    assert!(
        ended.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("error=execution-ended")
    );
    let not_paused = post(format!("/executions/{id}/approve")).await.unwrap();
    assert!(
        not_paused.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("error=not-paused")
    );
    let cancelled = post(format!("/executions/{new_id}/cancel")).await.unwrap();
    assert!(
        cancelled.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("notice=execution-cancelled")
    );
    let run = server
        .store
        .execution(domain::engine::ExecutionId(new_id.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, Status::Cancelled);
    assert!(run.error.unwrap().starts_with("Cancelled by "));
    let log: Vec<String> = server
        .store
        .recent_audit(20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        log.contains(&"execution.cancel".to_string())
            && log.contains(&"execution.rerun".to_string()),
        "{log:?}"
    );
    let unknown = post(format!("/executions/{}/cancel", uuid::Uuid::nil()))
        .await
        .unwrap();
    assert_eq!(
        unknown.headers()["location"],
        "/executions?error=no-execution"
    );
}

/// The Flows tab: import a flow's JSON, find it, turn it on, run it by hand, read what
/// it did, export it, and delete it after a confirmation that names what uses it.
async fn the_flows_tab_imports_runs_exports_and_deletes(store: Store) {
    use domain::engine::runner::Runner;
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let mut greet = Flow::new("Greet by hand", "trigger.manual");
    greet.description = "Says hello".into();
    greet.cards = vec![
        Card::new(1, "text.compose").with_inputs(&[(
            "template",
            Binding::template("Hello {{ trigger.input.name }}"),
        )]),
        Card::new(2, "flow.return").with_inputs(&[(
            "output",
            Binding::mapping(Source::Card(CardId(1)), "output"),
        )]),
    ];
    let mut caller = Flow::new("Calls the greeter", "trigger.manual");
    caller.cards = vec![
        Card::new(1, "flow.call_flow").with_inputs(&[("flow", Binding::literal("greet by hand"))]),
    ];
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_string();

    let empty = admin
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(empty.contains("No flows yet") && empty.contains("Import a flow"));
    let refused = auditor
        .post(server.url("/flows/import"))
        .form(&[("definition", greet.to_stable_json())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let not_json = admin
        .post(server.url("/flows/import"))
        .form(&[("definition", "{\"name\": \"x\"}")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&not_json),
        "/flows?error=import-not-a-flow&why=missing%20field%20%60trigger%60",
        "the reason names what is missing"
    );
    for flow in [&greet, &caller] {
        let imported = admin
            .post(server.url("/flows/import"))
            .form(&[("definition", flow.to_stable_json())])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&imported), "/flows?notice=flow-imported");
    }
    let flows = server.store.flows().await.unwrap();
    let id = flows.iter().find(|f| f.name == "Greet by hand").unwrap().id;
    assert!(!flows.iter().any(|f| f.enabled), "imported flows start off");

    let list = admin
        .get(server.url("/flows?q=hello"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("Greet by hand") && !list.contains("data-flow=\"Calls the greeter\""),
        "search by description"
    );
    let list = admin
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("Used by: Calls the greeter")
            && list.contains("Turn on")
            && list.contains("never")
    );
    let auditor_list = auditor
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        auditor_list.contains("Greet by hand")
            && !auditor_list.contains("Turn on")
            && !auditor_list.contains("Import a flow")
    );

    let on = admin
        .post(server.url(&format!("/flows/{id}/enabled")))
        .form(&[("enabled", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&on), "/flows?notice=flow-on");
    assert!(
        server
            .store
            .flow_summary(id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let bad_input = admin
        .post(server.url(&format!("/flows/{id}/run")))
        .form(&[("input", "{nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&bad_input), "/flows?error=input-not-json");
    let ran = admin
        .post(server.url(&format!("/flows/{id}/run")))
        .form(&[("input", "{\"name\": \"Ada\"}")])
        .send()
        .await
        .unwrap();
    let to = location(&ran);
    assert!(
        to.starts_with("/executions/") && to.ends_with("?notice=flow-started"),
        "{to}"
    );
    Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    let page = admin
        .get(server.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Hello Ada") && page.contains("Succeeded"),
        "{page}"
    );
    // The execution as JSON, with what each card did.
    let execution = to.trim_end_matches("?notice=flow-started");
    let exported: serde_json::Value = auditor
        .get(server.url(&format!("{execution}/export")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(exported["status"], "succeeded");
    assert_eq!(exported["flow"]["name"], "Greet by hand");
    assert_eq!(exported["input"]["input"]["name"], "Ada");
    assert_eq!(exported["steps"].as_array().unwrap().len(), 2);
    assert_eq!(exported["steps"][0]["kind"], "text.compose");
    let list = admin
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("run-succeeded"), "the last run is shown");

    let export = admin
        .get(server.url(&format!("/flows/{id}/export")))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("Greet-by-hand.flow.json")
    );
    let bundle = domain::flows::bundle::Bundle::read(&export.text().await.unwrap()).unwrap();
    assert_eq!(bundle.flows.len(), 1, "it calls no helper");
    assert_eq!(bundle.flows[0].flow, greet);

    let deleted = admin
        .post(server.url(&format!("/flows/{id}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&deleted), "/flows?notice=flow-deleted");
    assert!(server.store.flow_summary(id).await.unwrap().is_none());
    let gone = admin
        .post(server.url(&format!("/flows/{id}/enabled")))
        .form(&[("enabled", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&gone), "/flows?error=no-flow-here");
}

/// The five reference use cases install from the Flows tab: tables made, helper flows on,
/// the rest off; installed offboarding, turned on, runs when a user is deactivated.
async fn templates_install_and_run(store: Store) {
    use domain::engine::runner::Runner;
    use domain::engine::triggers::dispatch_directory_events;
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_string();
    let page = admin
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Start from a template") && page.contains("Install Offboarding"),
        "{page}"
    );
    for template in domain::flows::templates::templates() {
        let installed = admin
            .post(server.url(&format!("/flows/templates/{}", template.key)))
            .send()
            .await
            .unwrap();
        assert_eq!(
            location(&installed),
            "/flows?notice=template-installed",
            "{}",
            template.key
        );
    }
    let again = admin
        .post(server.url("/flows/templates/offboarding"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&again), "/flows?error=template-taken");
    let unknown = admin
        .post(server.url("/flows/templates/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&unknown), "/flows?error=no-template");
    let flows = server.store.flows().await.unwrap();
    assert_eq!(flows.len(), 6);
    for flow in &flows {
        assert_eq!(
            flow.enabled,
            flow.trigger_kind == "trigger.helper",
            "{}",
            flow.name
        );
    }
    for table in [
        "department roles",
        "offboarded",
        "notifications",
        "mfa_reminders",
    ] {
        assert!(
            server.store.table_by_name(table).await.unwrap().is_some(),
            "{table}"
        );
    }

    let offboarding = flows.iter().find(|f| f.name == "Offboarding").unwrap().id;
    let on = admin
        .post(server.url(&format!("/flows/{offboarding}/enabled")))
        .form(&[("enabled", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&on), "/flows?notice=flow-on");
    server
        .add_user("leaver@example.com", Role::WorkflowsAuditor)
        .await;
    let leaver = server
        .store
        .user_by_name("leaver@example.com")
        .await
        .unwrap()
        .unwrap();
    let deactivated = admin
        .post(server.url(&format!("/directory/users/{}/status", leaver.id.0)))
        .form(&[("status", "deprovisioned")])
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), StatusCode::SEE_OTHER);
    dispatch_directory_events(&server.store, 100).await.unwrap();
    Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    let table = server
        .store
        .table_by_name("offboarded")
        .await
        .unwrap()
        .unwrap();
    let (rows, _) = server
        .store
        .rows(
            &table,
            &domain::store::RowQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].data["email"], "leaver@example.com");
}

async fn versions_are_listed_compared_saved_and_restored(store: Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let page = |client: &reqwest::Client, path: String| {
        let request = client.get(server.url(&path));
        async move {
            request
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .replace("<!>", "")
        }
    };
    let mut first = Flow::new("Offboarding", "directory.user_deactivated");
    first.cards = vec![
        Card::new(1, "directory.remove_from_all_groups")
            .with_inputs(&[("user", Binding::mapping(Source::Trigger, "user.id"))]),
        Card::new(2, "directory.clear_sessions")
            .with_inputs(&[("user", Binding::mapping(Source::Trigger, "user.id"))]),
    ];
    let made = server
        .store
        .create_flow(
            &first,
            None,
            &server.store.test_author("admin@example.com").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    assert!(
        server
            .store
            .set_flow_enabled(
                made.id,
                true,
                &server.store.test_author("admin@example.com").await,
                &entry(Action::FlowEnable)
            )
            .await
            .unwrap()
    );
    let base = format!("/flows/{}/versions", made.id);

    // Save edited JSON as version 2: card 1 gone, a Create Row card added.
    let mut second = first.clone();
    second.cards.remove(0);
    second
        .cards
        .push(Card::new(3, "tables.create_row").with_inputs(&[
            ("table", Binding::literal("offboarded")),
            (
                "row",
                Binding::template("{{ {'email': trigger.user.email} }}"),
            ),
        ]));
    let saved = admin
        .post(server.url(&base))
        .form(&[
            ("definition", second.to_stable_json()),
            ("based_on", "1".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&saved), format!("{base}?notice=version-saved"));
    let stale = admin
        .post(server.url(&base))
        .form(&[
            ("definition", first.to_stable_json()),
            ("based_on", "1".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&stale),
        format!("{base}?error=changed"),
        "a stale save is refused"
    );
    let not_json = admin
        .post(server.url(&base))
        .form(&[("definition", "{".to_string()), ("based_on", "2".into())])
        .send()
        .await
        .unwrap();
    assert!(location(&not_json).starts_with(&format!("{base}?error=import-not-a-flow&why=")));
    let refused = auditor
        .post(server.url(&format!("{base}/1/restore")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let listed = page(&admin, base.clone()).await;
    assert!(listed.contains("Version 2 is current") && listed.contains("Version 1"));
    assert!(listed.contains("Restore") && listed.contains("Edit the JSON"));
    let read_only = page(&auditor, base.clone()).await;
    assert!(read_only.contains("Version 2 is current"));
    assert!(!read_only.contains("Yes, restore") && !read_only.contains("Edit the JSON"));

    let compared = page(&admin, format!("{base}?a=2&b=1")).await;
    assert!(
        compared.contains("What changed from version 1 to version 2"),
        "older first"
    );
    assert!(compared.contains("Card 3 · Create Row"));
    assert!(compared.contains("added to the main row at place 2"));
    assert!(compared.contains("Card 1 · Remove User from All Groups"));
    assert!(compared.contains("was in the main row at place 1"));
    assert!(compared.contains("moved from the main row place 2 to the main row place 1"));
    let shown = page(&admin, format!("{base}?view=1")).await;
    assert!(
        shown.contains("1 · Remove User from All Groups\n2 · Clear User Sessions"),
        "{shown}"
    );
    let missing = admin
        .get(server.url(&format!("{base}?view=9")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Restore version 1: it comes back as version 3, with its cards.
    let restored = admin
        .post(server.url(&format!("{base}/1/restore")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&restored),
        format!("{base}?notice=version-restored")
    );
    let summary = server.store.flow_summary(made.id).await.unwrap().unwrap();
    assert_eq!(summary.version, 3);
    assert!(
        summary.enabled,
        "a restored version without problems keeps the flow on"
    );
    let current = server
        .store
        .flow_definition(made.id, 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.cards, first.cards);
    let log = server.store.recent_audit(1).await.unwrap().remove(0);
    assert_eq!(
        (log.action.as_str(), log.reason.as_deref()),
        ("flow.save", Some("restored version 1"))
    );
    let nothing = admin
        .post(server.url(&format!("{base}/7/restore")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&nothing), format!("{base}?error=no-version"));

    // Clone: a copy of the current version, off, named so it does not clash.
    for expected in ["Offboarding (copy)", "Offboarding (copy 2)"] {
        let cloned = admin
            .post(server.url(&format!("/flows/{}/clone", made.id)))
            .send()
            .await
            .unwrap();
        assert!(location(&cloned).ends_with("notice=flow-cloned"));
        let copy = server.store.flow_by_name(expected).await.unwrap().unwrap();
        assert!(!copy.enabled);
        let copied = server
            .store
            .flow_definition(copy.id, copy.version)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(copied.cards, first.cards);
    }

    // A version with problems saves, and turns the flow off, saying so.
    let mut broken = first.clone();
    broken.cards[0].inputs.clear();
    let saved = admin
        .post(server.url(&base))
        .form(&[
            ("definition", broken.to_stable_json()),
            ("based_on", "3".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&saved),
        format!("{base}?notice=version-saved-turned-off")
    );
    assert!(
        !server
            .store
            .flow_summary(made.id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    assert!(
        page(&admin, base.clone())
            .await
            .contains("data-testid=\"problems\"")
    );
}

async fn test_flow_runs_sample_input_and_keeps_every_card(store: Store) {
    use domain::engine::runner::Runner;
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let page = |client: &reqwest::Client, path: String| {
        let request = client.get(server.url(&path));
        async move {
            request
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .replace("<!>", "")
        }
    };
    // "Save all data" is off: ordinary executions keep no inputs or outputs.
    let mut flow = Flow::new("Farewell", "directory.user_deactivated");
    flow.cards = vec![Card::new(1, "text.compose").with_inputs(&[(
        "template",
        Binding::template("Goodbye {{ trigger.user.email }}"),
    )])];
    flow.settings.save_all_data = false;
    let made = server
        .store
        .create_flow(
            &flow,
            None,
            &server.store.test_author("admin@example.com").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    let base = format!("/flows/{}/test", made.id);

    let form = page(&admin, base.clone()).await;
    assert!(
        form.contains("Test Farewell")
            && form.contains("User › Email")
            && form.contains("name=\"s.user.email\"")
    );
    let refused = auditor.get(server.url(&base)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = auditor
        .post(server.url(&base))
        .form(&[("s.user.email", "eve@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let bad = admin
        .post(server.url(&base))
        .form(&[
            ("s.user.email", "ada@example.com"),
            ("s.user.attributes", "{nope"),
        ])
        .send()
        .await
        .unwrap();
    let to = location(&bad);
    assert!(
        to.starts_with(&format!("{base}?error=sample-invalid&why=User")),
        "{to}"
    );
    assert!(
        server
            .store
            .executions(&ExecutionFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );

    let started = admin
        .post(server.url(&base))
        .form(&[
            ("s.user.email", "ada@example.com"),
            ("s.user.department", "Finance"),
        ])
        .send()
        .await
        .unwrap();
    let to = location(&started);
    assert!(to.ends_with("?notice=test-started"), "{to}");
    Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    let execution = server
        .store
        .executions(&ExecutionFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    assert!(execution.test);
    assert_eq!(execution.status, Status::Succeeded);
    assert_eq!(execution.input["user"]["department"], "Finance");
    let steps = server.store.execution_steps(execution.id).await.unwrap();
    assert_eq!(
        steps[0].outputs.as_ref().unwrap()["output"],
        "Goodbye ada@example.com"
    );
    assert!(
        steps[0].inputs.is_some(),
        "a test keeps every card's inputs"
    );
    let shown = page(&admin, to.clone()).await;
    assert!(shown.contains("Test run") && shown.contains("Goodbye ada@example.com"));

    // The form again, filled from that execution's input.
    let again = page(&admin, format!("{base}?from={}", execution.id)).await;
    assert!(again.contains("value=\"ada@example.com\"") && again.contains("value=\"Finance\""));
    let elsewhere = admin
        .get(server.url(&format!("{base}?from={}", uuid::Uuid::now_v7())))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
}

/// An exported flow (with its helper, its error flow and its table) imports into an
/// empty database and runs the same there.
async fn an_exported_flow_imports_elsewhere_and_runs_the_same(store: Store) {
    use domain::engine::runner::Runner;
    use domain::tables::{Column, ColumnType, Schema};
    let here = start(store, Options::default()).await;
    let greetings = Schema {
        name: "greetings".into(),
        columns: vec![Column {
            name: "name".into(),
            ty: ColumnType::Text,
        }],
        key: Some("name".into()),
    };
    here.store
        .create_table(&greetings, None, &entry(Action::TableCreate))
        .await
        .unwrap();
    let mut shout = Flow::new("Shout", "trigger.helper");
    shout.cards = vec![
        Card::new(1, "text.compose").with_inputs(&[(
            "template",
            Binding::template("Hi {{ trigger.input.name }}!"),
        )]),
        Card::new(2, "flow.return").with_inputs(&[(
            "output",
            Binding::mapping(Source::Card(CardId(1)), "output"),
        )]),
    ];
    let shout = here
        .store
        .create_flow(
            &shout,
            None,
            &here.store.test_author("admin").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    here.store
        .set_flow_enabled(
            shout.id,
            true,
            &here.store.test_author("admin@example.com").await,
            &entry(Action::FlowEnable),
        )
        .await
        .unwrap();
    let mut failures = Flow::new("Failures", "trigger.helper");
    failures.cards = vec![
        Card::new(1, "text.compose")
            .with_inputs(&[("template", Binding::template("{{ trigger.input.error }}"))]),
    ];
    let failures = here
        .store
        .create_flow(
            &failures,
            None,
            &here.store.test_author("admin").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    let mut main = Flow::new("Greet and log", "trigger.manual");
    main.settings.error_flow = Some(failures.id);
    main.cards = vec![
        // The helper named by its id, which another database will not share.
        Card::new(1, "flow.call_flow").with_inputs(&[
            ("flow", Binding::literal(shout.id.to_string())),
            ("input", Binding::mapping(Source::Trigger, "input")),
        ]),
        Card::new(2, "tables.create_row").with_inputs(&[
            ("table", Binding::literal("greetings")),
            (
                "row",
                Binding::template("{{ {'name': trigger.input.name} }}"),
            ),
        ]),
        Card::new(3, "flow.return").with_inputs(&[(
            "output",
            Binding::mapping(Source::Card(CardId(1)), "output"),
        )]),
    ];
    let main = here
        .store
        .create_flow(
            &main,
            None,
            &here.store.test_author("admin").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    let admin = here.client_as(Role::WorkflowsAdministrator).await;
    let exported = admin
        .get(here.url(&format!("/flows/{}/export", main.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bundle = domain::flows::bundle::Bundle::read(&exported).unwrap();
    assert_eq!(bundle.flows.len(), 3, "with its helper and its error flow");
    assert_eq!(bundle.tables, vec![greetings.clone()]);
    assert_eq!(
        bundle.flows[0].flow.cards[0].inputs["flow"],
        Binding::literal("Shout"),
        "the helper is named by name"
    );

    // Run it here and there with the same input; compare what each did.
    async fn run(
        store: &Store,
        flow: domain::flows::FlowId,
    ) -> (Status, Option<serde_json::Value>, Vec<domain::tables::Row>) {
        let summary = store.flow_summary(flow).await.unwrap().unwrap();
        let input = serde_json::json!({"name": "Ada"});
        let id = store
            .enqueue_execution(&domain::store::NewExecution::by_hand(
                flow,
                summary.version,
                input,
            ))
            .await
            .unwrap()
            .unwrap();
        Runner::new(store.clone(), "test").drain().await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        let table = store.table_by_name("greetings").await.unwrap().unwrap();
        let (rows, _) = store
            .rows(
                &table,
                &domain::store::RowQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        (
            done.status,
            done.output,
            rows.into_iter().map(|r| r.data).collect(),
        )
    }
    let ran_here = run(&here.store, main.id).await;
    assert_eq!(ran_here.0, Status::Succeeded);
    assert_eq!(ran_here.1, Some(serde_json::json!("Hi Ada!")));

    let empty = domain::store::testing::sqlite().await;
    let there = start(empty.store.clone(), Options::default()).await;
    let admin_there = there.client_as(Role::WorkflowsAdministrator).await;
    let imported = admin_there
        .post(there.url("/flows/import"))
        .form(&[("definition", exported.clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&imported), "/flows?notice=flows-imported");
    let again = admin_there
        .post(there.url("/flows/import"))
        .form(&[("definition", exported)])
        .send()
        .await
        .unwrap();
    assert!(
        location(&again).starts_with("/flows?error=import-taken&why="),
        "nothing is made twice"
    );
    assert_eq!(there.store.flows().await.unwrap().len(), 3);
    let main_there = there
        .store
        .flow_by_name("Greet and log")
        .await
        .unwrap()
        .unwrap();
    assert!(!main_there.enabled, "the flow is imported off");
    let failures_there = there.store.flow_by_name("Failures").await.unwrap().unwrap();
    assert!(
        there
            .store
            .flow_by_name("Shout")
            .await
            .unwrap()
            .unwrap()
            .enabled,
        "helpers are on"
    );
    let definition = there
        .store
        .flow_definition(main_there.id, main_there.version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        definition.settings.error_flow,
        Some(failures_there.id),
        "the error flow points at its copy"
    );
    assert_eq!(run(&there.store, main_there.id).await, ran_here);
}

/// Folders from the Flows tab: an administrator makes one, moves a flow into it and
/// shares it; a Runner of the folder sees and runs its flows and nothing else; a Folder
/// Manager renames and shares it but cannot move flows out to where they hold nothing.
async fn folders_are_made_shared_and_hold_flows(store: Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let page = |client: &reqwest::Client, path: &str| {
        let request = client.get(server.url(path));
        async move {
            request
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .replace("<!>", "")
        }
    };
    let made = admin
        .post(server.url("/folders"))
        .form(&[("name", "HR")])
        .send()
        .await
        .unwrap();
    let hr = server.store.folders().await.unwrap().remove(0);
    assert_eq!(
        location(&made),
        format!("/flows?folder={}&notice=folder-created", hr.id)
    );
    let again = admin
        .post(server.url("/folders"))
        .form(&[("name", "hr")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&again), "/flows?error=folder-taken");

    let onboarding = server
        .store
        .create_flow(
            &Flow::new("Onboarding", "trigger.manual"),
            None,
            &server.store.test_author("admin").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    server
        .store
        .create_flow(
            &Flow::new("Payroll sync", "trigger.manual"),
            None,
            &server.store.test_author("admin").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    let moved = admin
        .post(server.url(&format!("/flows/{}/move", onboarding.id)))
        .form(&[("folder", hr.id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&moved),
        format!("/flows?folder={}&notice=flow-moved", hr.id)
    );
    // The folder exports as one bundle of the flows it holds, which the import reads.
    let export = admin
        .get(server.url(&format!("/folders/{}/export", hr.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("HR.folder.json")
    );
    let bundle = domain::flows::bundle::Bundle::read(&export.text().await.unwrap()).unwrap();
    let names: Vec<&str> = bundle.flows.iter().map(|f| f.flow.name.as_str()).collect();
    assert_eq!(names, ["Onboarding"]);
    assert!(page(&admin, "/flows").await.contains("Export folder HR"));
    let nowhere = admin
        .get(server.url("/folders/00000000-0000-0000-0000-000000000000/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&nowhere), "/flows?error=no-folder");
    // Imported inside the folder, the export's flows land in it (here under new names).
    let renamed = bundle
        .to_stable_json()
        .replace("\"Onboarding\"", "\"Onboarding (copy)\"");
    let hr_id = hr.id.to_string();
    let imported = admin
        .post(server.url("/flows/import"))
        .form(&[("definition", renamed.as_str()), ("folder", hr_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&imported),
        format!("/flows?folder={}&notice=flow-imported", hr.id)
    );
    let copy = server
        .store
        .flow_by_name("Onboarding (copy)")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copy.folder, Some(hr.id));
    assert!(
        page(&admin, &format!("/flows?folder={}", hr.id))
            .await
            .contains("Import flows into HR")
    );
    assert_eq!(
        server
            .store
            .flow_summary(onboarding.id)
            .await
            .unwrap()
            .unwrap()
            .folder,
        Some(hr.id)
    );
    let nowhere = admin
        .post(server.url(&format!("/flows/{}/move", onboarding.id)))
        .form(&[("folder", uuid::Uuid::now_v7().to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&nowhere), "/flows?error=no-folder");

    let listed = page(&admin, &format!("/flows?folder={}", hr.id)).await;
    assert!(
        listed.contains("data-flow=\"Onboarding\"")
            && !listed.contains("data-flow=\"Payroll sync\"")
    );
    assert!(
        page(&admin, "/flows?folder=top")
            .await
            .contains("data-flow=\"Payroll sync\"")
    );

    // Share: a Runner and a Folder Manager, each with no role of their own.
    server
        .add_user("runner@example.com", Role::UnassignedUser)
        .await;
    server
        .add_user("keeper@example.com", Role::UnassignedUser)
        .await;
    let unknown = admin
        .post(server.url(&format!("/folders/{}/grants", hr.id)))
        .form(&[
            ("kind", "user"),
            ("who", "nobody@example.com"),
            ("role", "runner"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&unknown),
        format!(
            "/flows?folder={}&error=grantee-unknown&why=nobody%40example.com",
            hr.id
        )
    );
    for (who, role) in [
        ("runner@example.com", "runner"),
        ("keeper@example.com", "manager"),
    ] {
        let shared = admin
            .post(server.url(&format!("/folders/{}/grants", hr.id)))
            .form(&[("kind", "user"), ("who", who), ("role", role)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            location(&shared),
            format!("/flows?folder={}&notice=folder-shared", hr.id)
        );
    }
    let shown = page(&admin, &format!("/flows?folder={}", hr.id)).await;
    assert!(
        shown.contains("runner@example.com · Runner")
            && shown.contains("keeper@example.com · Folder Manager")
    );

    let runner = server.client_of("runner@example.com").await;
    let theirs = page(&runner, "/flows").await;
    assert!(theirs.contains("data-flow=\"Onboarding\"") && !theirs.contains("Payroll sync"));
    assert!(!theirs.contains("Create folder") && !theirs.contains("aria-label=\"Rename HR\""));
    let refused = runner
        .post(server.url(&format!("/flows/{}/move", onboarding.id)))
        .form(&[("folder", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "a Runner holds no EditFlows"
    );

    let keeper = server.client_of("keeper@example.com").await;
    let renamed = keeper
        .post(server.url(&format!("/folders/{}/rename", hr.id)))
        .form(&[("name", "People")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&renamed),
        format!("/flows?folder={}&notice=folder-renamed", hr.id)
    );
    assert_eq!(server.store.folders().await.unwrap()[0].name, "People");
    let out = keeper
        .post(server.url(&format!("/flows/{}/move", onboarding.id)))
        .form(&[("folder", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&out),
        "/flows?error=not-allowed",
        "nothing is theirs at the top level"
    );
    let create = keeper
        .post(server.url("/folders"))
        .form(&[("name", "Mine")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&create), "/flows?error=not-allowed");
    // Taking a grant away: the runner sees nothing after signing in again.
    let revoked = keeper
        .post(server.url(&format!("/folders/{}/grants", hr.id)))
        .form(&[
            ("kind", "user"),
            ("who", "runner@example.com"),
            ("role", "none"),
        ])
        .send()
        .await
        .unwrap();
    assert!(location(&revoked).ends_with("notice=folder-shared"));
    assert_eq!(server.store.folder_grants().await.unwrap().len(), 1);

    let log: Vec<String> = server
        .store
        .recent_audit(30)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "folder.create",
        "flow.move",
        "folder.grant",
        "folder.rename",
        "folder.grant.revoke",
    ] {
        assert!(log.iter().any(|a| a == action), "{action} in {log:?}");
    }
}

/// An execution the blast-radius guard paused says, on its page, which card waits and
/// which users it would act on; approving lets it go on.
async fn a_paused_execution_names_the_users_it_would_touch(store: Store) {
    use domain::engine::BlastRadius;
    use domain::engine::runner::Runner;
    use domain::store::NewExecution;
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    let mut flow = Flow::new("Mass offboarding", "trigger.manual");
    flow.cards = vec![
        Card::new(1, "directory.deactivate_user")
            .with_inputs(&[("user", Binding::mapping(Source::Trigger, "input.user"))]),
    ];
    let made = server
        .store
        .create_flow(
            &flow,
            None,
            &server.store.test_author("admin@example.com").await,
            &entry(Action::FlowCreate),
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        let name = format!("leaver{n}@example.com");
        server.add_user(&name, Role::UnassignedUser).await;
        let id = server
            .store
            .enqueue_execution(&NewExecution {
                flow: made.id,
                flow_version: 1,
                trigger_kind: "trigger.manual".into(),
                input: serde_json::json!({"input": {"user": name}}),
                subject: None,
                dedupe_key: None,
                causal_chain: vec![],
                parent: None,
                test: false,
                acting_for: None,
            })
            .await
            .unwrap()
            .unwrap();
        ids.push(id);
    }
    let guard = BlastRadius {
        max_users: 2,
        max_percent: 10,
        window: chrono::Duration::hours(1),
    };
    let runner = Runner::new(server.store.clone(), "w").with_guard(guard);
    runner.drain().await.unwrap();
    let paused = ids[2];
    assert_eq!(
        server
            .store
            .execution(paused)
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Paused
    );
    let page = admin
        .get(server.url(&format!("/executions/{paused}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .replace("<!>", "");
    assert!(
        page.contains("Card 1 · Deactivate User")
            && page.contains("is waiting for approval")
            && page.contains("<li>leaver2@example.com</li>")
            && page.contains("Approve and go on"),
        "{page}"
    );
    // A finished one names nobody.
    let done = admin
        .get(server.url(&format!("/executions/{}", ids[0])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!done.contains("is waiting for approval"));

    let approved = admin
        .post(server.url(&format!("/executions/{paused}/approve")))
        .send()
        .await
        .unwrap();
    assert!(
        approved.headers()["location"]
            .to_str()
            .unwrap()
            .contains("notice="),
        "{:?}",
        approved.headers()
    );
    runner.drain().await.unwrap();
    assert_eq!(
        server
            .store
            .execution(paused)
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Succeeded
    );
    let leaver = server
        .store
        .user_by_name("leaver2@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leaver.status, domain::directory::UserStatus::Deprovisioned);
}

domain::backend_tests! {
    async fn engine_a_paused_execution_names_the_users_it_would_touch(store) {
        a_paused_execution_names_the_users_it_would_touch(store).await;
    }
    async fn engine_folders_are_made_shared_and_hold_flows(store) {
        folders_are_made_shared_and_hold_flows(store).await;
    }
    async fn engine_an_exported_flow_imports_elsewhere_and_runs_the_same(store) {
        an_exported_flow_imports_elsewhere_and_runs_the_same(store).await;
    }
    async fn engine_test_flow_runs_sample_input_and_keeps_every_card(store) {
        test_flow_runs_sample_input_and_keeps_every_card(store).await;
    }
    async fn engine_versions_are_listed_compared_saved_and_restored(store) {
        versions_are_listed_compared_saved_and_restored(store).await;
    }
    async fn engine_templates_install_and_run(store) {
        templates_install_and_run(store).await;
    }
    async fn engine_the_flows_tab_imports_runs_exports_and_deletes(store) {
        the_flows_tab_imports_runs_exports_and_deletes(store).await;
    }
    async fn engine_the_detail_links_helper_executions_both_ways(store) {
        the_detail_links_helper_executions_both_ways(store).await;
    }
    async fn engine_close_answers_early_and_the_api_resumes_a_pause(store) {
        close_answers_early_and_the_api_resumes_a_pause(store, false).await;
    }
    async fn engine_close_answers_early_and_the_api_resumes_a_pause_run_at_once(store) {
        close_answers_early_and_the_api_resumes_a_pause(store, true).await;
    }
    async fn engine_a_synchronous_call_runs_in_the_process_that_took_it(store) {
        a_synchronous_call_runs_in_the_process_that_took_it(store).await;
    }
    async fn engine_flows_are_run_cancelled_and_rerun_by_those_allowed(store) {
        flows_are_run_cancelled_and_rerun_by_those_allowed(store).await;
    }
    async fn engine_the_history_shows_each_caller_the_executions_they_may_see(store) {
        the_history_shows_each_caller_the_executions_they_may_see(store).await;
    }
    async fn engine_a_deactivation_in_the_console_runs_the_offboarding_flow(store) {
        a_deactivation_in_the_console_runs_the_offboarding_flow(store).await;
    }
    async fn engine_an_api_endpoint_flow_answers_its_caller(store) {
        an_api_endpoint_flow_answers_its_caller(store).await;
    }
}
