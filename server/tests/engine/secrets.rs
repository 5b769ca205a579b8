//! A flow's API secrets made, rotated and revoked from its API page, and calls retried
//! with an `Idempotency-Key`.

use super::*;

/// The secret the flow's API page shows once, if it shows one.
fn shown_secret(page: &str) -> Option<String> {
    let at = page.find("idf_flow_")?;
    Some(
        page[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect(),
    )
}

async fn api_page(
    server: &TestServer,
    client: &reqwest::Client,
    flow: impl std::fmt::Display,
) -> String {
    let page = client
        .get(server.url(&format!("/flows/{flow}/api")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    page.text().await.unwrap()
}

/// Makes (or rotates, with `grace` hours) the flow's secret through its page, and reads
/// the new secret off the page it leads to.
async fn make_secret(
    server: &TestServer,
    client: &reqwest::Client,
    flow: impl std::fmt::Display + Copy,
    grace: &str,
) -> String {
    let made = server
        .post_form(
            client,
            &format!("/flows/{flow}/secret"),
            &[("grace", grace)],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&made), format!("/flows/{flow}/api"));
    let page = api_page(server, client, flow).await;
    let secret = shown_secret(&page).expect("the new secret is shown");
    assert!(
        page.contains(&format!("/api/v1/flows/{flow}/invoke")),
        "the invoke URL"
    );
    // Shown once.
    let again = api_page(server, client, flow).await;
    assert!(
        shown_secret(&again).is_none(),
        "the secret is shown only once"
    );
    secret
}

async fn flow_secrets_are_made_rotated_and_revoked_on_its_page(store: Store) {
    let server = start(store, Options::default()).await;
    let _engine = idflow::engine::spawn(server.store.clone(), 1);
    let made = server
        .store
        .test_flow_on(&api_flow("Greeter", true, None))
        .await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let call = |secret: String| {
        let server = &server;
        async move {
            server
                .invoke(made.id, &secret, &serde_json::json!({"name": "Ada"}))
                .await
                .status()
        }
    };

    // No secret yet: the page says how to make one; nothing calls the flow.
    let empty = api_page(&server, &admin, made.id).await;
    assert!(empty.contains("No secret yet"), "{empty}");
    assert!(empty.contains("curl -X POST"), "{empty}");

    let first = make_secret(&server, &admin, made.id, "").await;
    assert_eq!(call(first.clone()).await, StatusCode::OK);

    // Rotated with an hour's grace: both work; the page lists both, the old with its end.
    let second = make_secret(&server, &admin, made.id, "1").await;
    assert_ne!(first, second);
    assert_eq!(call(first.clone()).await, StatusCode::OK);
    assert_eq!(call(second.clone()).await, StatusCode::OK);
    let listed = api_page(&server, &admin, made.id).await;
    assert!(listed.contains("Works until 20"), "{listed}");
    assert_eq!(server.store.flow_secrets(made.id).await.unwrap().len(), 2);

    // Rotated at once: only the newest works.
    let third = make_secret(&server, &admin, made.id, "0").await;
    assert_eq!(call(first.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(call(second.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(call(third.clone()).await, StatusCode::OK);

    // A grace period ends: the old secret stops working by itself.
    let fourth = server
        .store
        .new_flow_secret(
            made.id,
            "test",
            Some(chrono::Duration::milliseconds(300)),
            &entry(Action::FlowTokenCreate),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call(third.clone()).await, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(call(third.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(call(fourth.clone()).await, StatusCode::OK);

    // A grace that is not offered, or too long: refused, nothing changed.
    for grace in ["soon", "721"] {
        let refused = server
            .post_form(
                &admin,
                &format!("/flows/{}/secret", made.id),
                &[("grace", grace)],
            )
            .await;
        let to = location(&refused);
        assert!(to.contains("error=secret-grace"), "{grace}: {to}");
    }
    assert_eq!(call(fourth.clone()).await, StatusCode::OK);

    // Someone who may only look: no secret is shown or made.
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let looked = api_page(&server, &auditor, made.id).await;
    assert!(!looked.contains("Rotate secret"), "{looked}");
    let forbidden = server
        .post_form(
            &auditor,
            &format!("/flows/{}/secret", made.id),
            &[("grace", "")],
        )
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    // Revoked: every call is refused; revoking again says there is nothing to revoke.
    let revoked = server
        .post_form(
            &admin,
            &format!("/flows/{}/secret/revoke", made.id),
            &[("", "")],
        )
        .await;
    assert!(location(&revoked).contains("notice=secret-revoked"));
    assert_eq!(call(fourth.clone()).await, StatusCode::UNAUTHORIZED);
    let again = server
        .post_form(
            &admin,
            &format!("/flows/{}/secret/revoke", made.id),
            &[("", "")],
        )
        .await;
    assert!(location(&again).contains("error=secret-none"));

    // The three made on the page, each logged against the flow.
    let log = server.store.recent_audit(50).await.unwrap();
    let made_entries = log
        .iter()
        .filter(|e| {
            e.action == "flow.token.create"
                && e.target_id.as_deref() == Some(made.id.to_string().as_str())
        })
        .count();
    assert_eq!(made_entries, 3);
    assert!(log.iter().any(|e| e.action == "flow.token.revoke"
        && e.actor_display.as_deref() == Some("workflows_administrator@example.com")));
}

async fn a_retried_call_with_its_idempotency_key_makes_one_execution(store: Store) {
    let server = start(store, Options::default()).await;
    let _engine = idflow::engine::spawn(server.store.clone(), 1);
    let (queued, queued_secret) = callable(&server.store, &api_flow("Queued", false, None)).await;
    let (answering, answering_secret) =
        callable(&server.store, &api_flow("Answering", true, None)).await;
    let http = reqwest::Client::new();
    let call = |flow: domain::flows::FlowId, secret: &str, key: &str, name: &str| {
        http.post(server.url(&format!("/api/v1/flows/{flow}/invoke")))
            .header("x-api-client-token", secret)
            .header("idempotency-key", key)
            .json(&serde_json::json!({ "name": name }))
            .send()
    };
    let runs_of = |flow| {
        let store = server.store.clone();
        async move {
            store
                .executions(&ExecutionFilter {
                    flow: Some(flow),
                    limit: 100,
                    ..ExecutionFilter::default()
                })
                .await
                .unwrap()
                .len()
        }
    };

    // A queued flow: the first call and its retries name one execution.
    let first = call(queued.id, &queued_secret, "order-1", "Ada")
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: serde_json::Value = first.json().await.unwrap();
    for _ in 0..3 {
        let retry = call(queued.id, &queued_secret, "order-1", "Ada")
            .await
            .unwrap();
        assert_eq!(retry.status(), StatusCode::ACCEPTED);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        let retry: serde_json::Value = retry.json().await.unwrap();
        assert_eq!(retry["execution_id"], first["execution_id"]);
    }
    assert_eq!(runs_of(queued.id).await, 1);

    // The same key with another body is another call: refused, saying so.
    let other = call(queued.id, &queued_secret, "order-1", "Grace")
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(other.text().await.unwrap().contains("different body"));

    // Ten at once with a new key: one execution, all told its id.
    let mut together = tokio::task::JoinSet::new();
    for _ in 0..10 {
        together.spawn(call(queued.id, &queued_secret, "order-2", "Ada"));
    }
    let mut ids = std::collections::BTreeSet::new();
    while let Some(answer) = together.join_next().await {
        let answer = answer.unwrap().unwrap();
        assert_eq!(answer.status(), StatusCode::ACCEPTED);
        let body: serde_json::Value = answer.json().await.unwrap();
        ids.insert(body["execution_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(runs_of(queued.id).await, 2);

    // A synchronous flow: the retry gets the first call's answer.
    for _ in 0..2 {
        let answer = call(answering.id, &answering_secret, "greet-ada", "Ada")
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(
            answer.json::<serde_json::Value>().await.unwrap(),
            "Hello Ada"
        );
    }
    assert_eq!(runs_of(answering.id).await, 1);

    // Keys are per flow; a malformed key is refused with what a key may be.
    let elsewhere = call(answering.id, &answering_secret, "order-1", "Ada")
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::OK);
    let long = "k".repeat(256);
    let bad = call(queued.id, &queued_secret, &long, "Ada").await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("Idempotency-Key"));
}

domain::backend_tests! {
    async fn engine_flow_secrets_are_made_rotated_and_revoked_on_its_page(store) {
        flow_secrets_are_made_rotated_and_revoked_on_its_page(store).await;
    }
    async fn engine_a_retried_call_with_its_idempotency_key_makes_one_execution(store) {
        a_retried_call_with_its_idempotency_key_makes_one_execution(store).await;
    }
}
