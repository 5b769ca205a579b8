//! Flows started by the directory and run to their end; an execution's page with its
//! helper executions, and a paused execution's page.

use super::*;

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
        .test_flow(&flow, None, "admin@example.com")
        .await;
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
    let response = server
        .post_form(
            &admin,
            &format!("/directory/users/{}/status", leaver.id.0),
            &[("status", "deprovisioned")],
        )
        .await;
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
            .test_flow(&flow, None, "admin@example.com")
            .await;
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
        .enqueue_execution(&NewExecution::new(
            main_id.unwrap(),
            1,
            "trigger.manual",
            serde_json::json!({"input": ["a", "b"]}),
        ))
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
        .test_flow(&flow, None, "admin@example.com")
        .await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let name = format!("leaver{n}@example.com");
        server.add_user(&name, Role::UnassignedUser).await;
        let id = server
            .store
            .enqueue_execution(&NewExecution::new(
                made.id,
                1,
                "trigger.manual",
                serde_json::json!({"input": {"user": name}}),
            ))
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
    async fn engine_the_detail_links_helper_executions_both_ways(store) {
        the_detail_links_helper_executions_both_ways(store).await;
    }
    async fn engine_a_deactivation_in_the_console_runs_the_offboarding_flow(store) {
        a_deactivation_in_the_console_runs_the_offboarding_flow(store).await;
    }
}
