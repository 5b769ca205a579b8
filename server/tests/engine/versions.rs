//! Versions listed, compared, saved and restored; Test Flow.

use super::*;

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
        .test_flow(&first, None, "admin@example.com")
        .await;
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
    let not_json = server
        .post_form(
            &admin,
            &base,
            &[("definition", "{".to_string()), ("based_on", "2".into())],
        )
        .await;
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
        .test_flow(&flow, None, "admin@example.com")
        .await;
    let base = format!("/flows/{}/test", made.id);

    let form = page(&admin, base.clone()).await;
    assert!(
        form.contains("Test Farewell")
            && form.contains("User › Email")
            && form.contains("name=\"s.user.email\"")
    );
    let refused = auditor.get(server.url(&base)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = server
        .post_form(&auditor, &base, &[("s.user.email", "eve@example.com")])
        .await;
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

domain::backend_tests! {
    async fn engine_test_flow_runs_sample_input_and_keeps_every_card(store) {
        test_flow_runs_sample_input_and_keeps_every_card(store).await;
    }
    async fn engine_versions_are_listed_compared_saved_and_restored(store) {
        versions_are_listed_compared_saved_and_restored(store).await;
    }
}
