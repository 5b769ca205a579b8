//! API Endpoint flows: synchronous and queued calls, Close and resume.

use super::*;

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
    let answered = server
        .invoke(made.id, &token, &serde_json::json!({"name": "Ada"}))
        .await;
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
    let again = server
        .invoke(made.id, &token, &serde_json::json!({"name": "Ada"}))
        .await;
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
        .test_flow(
            &api_flow("Greeter", true, Some(3)),
            None,
            "admin@example.com",
        )
        .await;
    let token = server
        .store
        .new_flow_secret(made.id, "test", None, &entry(Action::FlowTokenCreate))
        .await
        .unwrap()
        .unwrap();
    let url = server.url(&format!("/api/v1/flows/{}/invoke", made.id));
    let http = reqwest::Client::new();

    // Off: refused with a reason; no secret or a wrong one: 401.
    let off = server
        .invoke(made.id, &token, &serde_json::json!({"name": "Ada"}))
        .await;
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
    let hello = server
        .invoke(made.id, &token, &serde_json::json!({"name": "Ada"}))
        .await;
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
    let third = server
        .invoke(made.id, &token, &serde_json::json!({"name": "Alan"}))
        .await;
    assert_eq!(third.status(), StatusCode::OK);
    let fourth = server
        .invoke(made.id, &token, &serde_json::json!({"name": "Edsger"}))
        .await;
    assert_eq!(fourth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(fourth.headers()["retry-after"], "60");

    // Asynchronous: 202 with the execution's id, which then runs.
    let (later, token) = callable(&server.store, &api_flow("Later", false, None)).await;
    let accepted = server
        .invoke(later.id, &token, &serde_json::json!({"name": "Barbara"}))
        .await;
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
    let answered = server
        .invoke(made.id, &token, &serde_json::json!({"name": "VPN"}))
        .await;
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

domain::backend_tests! {
    async fn engine_close_answers_early_and_the_api_resumes_a_pause(store) {
        close_answers_early_and_the_api_resumes_a_pause(store, false).await;
    }
    async fn engine_close_answers_early_and_the_api_resumes_a_pause_run_at_once(store) {
        close_answers_early_and_the_api_resumes_a_pause(store, true).await;
    }
    async fn engine_a_synchronous_call_runs_in_the_process_that_took_it(store) {
        a_synchronous_call_runs_in_the_process_that_took_it(store).await;
    }
    async fn engine_an_api_endpoint_flow_answers_its_caller(store) {
        an_api_endpoint_flow_answers_its_caller(store).await;
    }
}
