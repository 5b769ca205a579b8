//! Dry run: a flow that would change a user, their groups and sessions, write, update and
//! delete rows, wait a day, call an HTTP service and post to Slack is dry-run from the
//! Test Flow form against a real user. Every card says what it would have done, and
//! nothing changed: the user, their groups and session, the table, the directory's events,
//! the System Log (but for the dry run's own entry) and the Slack-shaped server.

use super::*;
use common::slack::{HOOK, slack};
use domain::directory::UserStatus;
use domain::engine::dry_run::{Note, REDACTED};
use domain::engine::runner::Runner;
use domain::store::{GroupWrite, RowQuery};
use domain::tables::{Column, ColumnType, Schema};
use serde_json::{Value, json};

async fn a_dry_run_says_what_it_would_do_and_changes_nothing(store: Store) {
    let server = start(store, Options::default()).await;
    let (slack_url, arrived) = slack().await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;

    // Alice: active, in Sales, signed in.
    server
        .add_user("alice@example.com", Role::UnassignedUser)
        .await;
    let alice = server
        .store
        .user_by_name("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    let alice_client = server.client_of("alice@example.com").await;
    let sales = server
        .store
        .create_group(
            &GroupWrite {
                display_name: "Sales".into(),
                external_id: None,
                attributes: Default::default(),
                members: vec![alice.id],
            },
            &Actor::System,
            &entry(Action::ConsoleGroupCreate),
        )
        .await
        .unwrap();
    let table = server
        .store
        .create_table(
            &Schema {
                name: "leavers".into(),
                columns: vec![
                    Column {
                        name: "email".into(),
                        ty: ColumnType::Text,
                    },
                    Column {
                        name: "note".into(),
                        ty: ColumnType::Text,
                    },
                ],
                key: Some("email".into()),
            },
            None,
            &entry(Action::TableCreate),
        )
        .await
        .unwrap();
    server
        .store
        .insert_row(
            &table,
            &json!({ "email": "bob@example.com", "note": "left in May" })
                .as_object()
                .unwrap()
                .clone(),
            None,
        )
        .await
        .unwrap();
    let hook = created_connection_id(
        &server
            .post_form(
                &admin,
                "/connections",
                &[
                    ("kind", "slack".to_string()),
                    ("name", "IT channel".to_string()),
                    ("s.mode", "webhook".to_string()),
                    ("secret.webhook_url", format!("{slack_url}{HOOK}")),
                ],
            )
            .await,
    );

    let user = || Binding::mapping(Source::Trigger, "user.id");
    let mut flow = Flow::new("Leaver", "directory.user_deactivated");
    flow.settings.save_all_data = false;
    flow.cards = vec![
        Card::new(1, "directory.update_profile").with_inputs(&[
            ("user", user()),
            ("attributes", Binding::literal(json!({ "title": "Leaver" }))),
        ]),
        Card::new(2, "directory.deactivate_user").with_inputs(&[("user", user())]),
        Card::new(3, "directory.remove_from_all_groups").with_inputs(&[("user", user())]),
        Card::new(4, "directory.clear_sessions").with_inputs(&[("user", user())]),
        Card::new(5, "tables.create_row").with_inputs(&[
            ("table", Binding::literal("leavers")),
            ("row.email", Binding::mapping(Source::Trigger, "user.email")),
            ("row.note", Binding::literal("offboarded")),
        ]),
        Card::new(6, "tables.update_row").with_inputs(&[
            ("table", Binding::literal("leavers")),
            ("key", Binding::literal("bob@example.com")),
            ("row", Binding::literal(json!({ "note": "gone" }))),
        ]),
        Card::new(7, "tables.delete_row").with_inputs(&[
            ("table", Binding::literal("leavers")),
            ("key", Binding::literal("bob@example.com")),
        ]),
        Card::new(8, "flow.wait").with_inputs(&[("seconds", Binding::literal(86_400))]),
        Card::new(9, "http.request").with_inputs(&[
            ("method", Binding::literal("POST")),
            ("url", Binding::literal(format!("{slack_url}/hr/leavers"))),
            (
                "headers",
                Binding::literal(
                    json!({ "Authorization": "Bearer hr-SECRET-7", "Accept": "application/json" }),
                ),
            ),
            (
                "body",
                Binding::literal(json!({ "user": "alice", "password": "hunter2" })),
            ),
        ]),
        Card::new(10, "slack.send_message").with_inputs(&[
            ("connection", Binding::literal(hook.as_str())),
            (
                "text",
                Binding::template("{{ trigger.user.email }} was offboarded"),
            ),
        ]),
    ];
    let made = server
        .store
        .test_flow(&flow, None, "admin@example.com")
        .await;
    let base = format!("/flows/{}/test", made.id);

    // The form, filled from the directory: alice's id and email as the trigger gives them.
    let (status, form) = server
        .page(&admin, &format!("{base}?user=alice@example.com&mode=dry"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Dry run Leaver"), "the page is the dry run's");
    assert!(form.contains(&format!("value=\"{}\"", alice.id)));
    assert!(form.contains("name=\"run\" value=\"dry\""));
    let (status, _) = server
        .page(&admin, &format!("{base}?user=nobody@example.com"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let audit_before = server.store.recent_audit(1000).await.unwrap().len();
    let events_before = server
        .store
        .directory_events_about(alice.id.0)
        .await
        .unwrap()
        .len();
    let started = server
        .post_form(
            &admin,
            &base,
            &[
                ("run", "dry".to_string()),
                ("s.user.id", alice.id.to_string()),
                ("s.user.email", "alice@example.com".to_string()),
            ],
        )
        .await;
    let to = location(&started);
    assert!(to.ends_with("?notice=dry-run-started"), "{to}");
    Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    let execution = server
        .store
        .executions(&ExecutionFilter {
            flow: Some(made.id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    assert!(execution.dry_run && execution.test);
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.error);

    // Nothing changed.
    let now = server.store.user(alice.id).await.unwrap().unwrap();
    assert_eq!(now.status, UserStatus::Active);
    assert_eq!(now.attributes.get("title"), None);
    assert_eq!(now.version, alice.version);
    assert_eq!(now.sessions_valid_after, alice.sessions_valid_after);
    let groups = server.store.groups_of(alice.id).await.unwrap();
    assert_eq!(groups, vec![(sales.id, "Sales".to_string())]);
    let (rows, total) = server
        .store
        .rows(
            &table,
            &RowQuery {
                limit: 10,
                ..RowQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(rows[0].data["note"], "left in May");
    assert!(
        arrived.lock().unwrap().is_empty(),
        "nothing reached Slack or HR"
    );
    assert_eq!(
        server
            .store
            .directory_events_about(alice.id.0)
            .await
            .unwrap()
            .len(),
        events_before,
        "no directory event"
    );
    let audit = server.store.recent_audit(1000).await.unwrap();
    assert_eq!(
        audit.len(),
        audit_before + 1,
        "only the dry run's own entry"
    );
    assert_eq!(audit[0].reason.as_deref(), Some("Dry run"));
    let (status, _) = server.page(&alice_client, "/").await;
    assert_eq!(status, StatusCode::OK, "alice is still signed in");

    // Each card said what it would have done.
    let steps = server.store.execution_steps(execution.id).await.unwrap();
    assert_eq!(steps.len(), 10);
    let note = |card: u32| {
        let step = steps.iter().find(|s| s.card_id == card).unwrap();
        Note::of(step.outputs.as_ref().unwrap()).unwrap_or_else(|| panic!("card {card}"))
    };
    let change = |card: u32, field: &str| -> (Value, Value) {
        let c = note(card)
            .changes
            .into_iter()
            .find(|c| c.field == field)
            .unwrap_or_else(|| panic!("card {card} changes {field}"));
        (c.before, c.after)
    };
    assert_eq!(
        note(1).summary,
        "Would update the profile of alice@example.com"
    );
    assert_eq!(change(1, "title"), (Value::Null, json!("Leaver")));
    assert_eq!(note(2).summary, "Would deactivate alice@example.com");
    assert_eq!(
        change(2, "status"),
        (json!("active"), json!("deprovisioned"))
    );
    assert_eq!(change(3, "member of Sales"), (json!(true), json!(false)));
    assert_eq!(change(4, "sessions"), (json!("valid"), json!("ended")));
    assert_eq!(note(5).summary, "Would add a row to leavers");
    assert_eq!(
        change(5, "email"),
        (Value::Null, json!("alice@example.com"))
    );
    assert_eq!(change(6, "note"), (json!("left in May"), json!("gone")));
    assert_eq!(
        note(7).summary,
        "Would delete the row \"bob@example.com\" of leavers"
    );
    assert_eq!(
        note(8).summary,
        "Would wait 1 day here; a dry run goes on at once"
    );
    let request = note(9).request.unwrap();
    assert_eq!(request["method"], "POST");
    assert_eq!(request["headers"]["Authorization"], REDACTED);
    assert_eq!(request["headers"]["Accept"], "application/json");
    assert_eq!(request["body"]["password"], REDACTED);
    assert_eq!(request["body"]["user"], "alice");
    let slack_note = note(10);
    assert_eq!(
        slack_note.summary,
        "Would post to the webhook's channel in Slack"
    );
    assert_eq!(
        slack_note.request.unwrap()["message"]["text"],
        "alice@example.com was offboarded"
    );

    // The execution's page says it was a dry run, and what each card would have done.
    let (_, shown) = server.page(&admin, &to).await;
    assert!(shown.contains("data-testid=\"dry-run\""));
    assert!(shown.contains("Would deactivate alice@example.com"));
    assert!(shown.contains("member of Sales"));
    // The list marks it too: a dry run must not read there as a change made.
    let (_, listed) = server
        .page(&admin, &format!("/executions?flow={}", made.id))
        .await;
    assert!(
        listed.contains(">Dry run<"),
        "the Executions list marks the dry run"
    );
    // What would be sent hides the header's value (the card's own inputs, kept by any
    // test, show what the flow's definition holds).
    assert!(shown.contains(&format!("\"Authorization\": \"{REDACTED}\"")));

    // A dry run is judged as the change would be, on the tester's rights: a folder
    // Editor, who may test the folder's flows but not change the directory, sees the
    // card refused, as the real run would be.
    server
        .post_form(&admin, "/folders", &[("name", "HR")])
        .await;
    let hr = server.store.folders().await.unwrap().remove(0);
    server
        .add_user("editor@example.com", Role::UnassignedUser)
        .await;
    server
        .post_form(
            &admin,
            &format!("/folders/{}/grants", hr.id),
            &[
                ("kind", "user"),
                ("who", "editor@example.com"),
                ("role", "editor"),
            ],
        )
        .await;
    let editor = server.client_of("editor@example.com").await;
    let mut judged = Flow::new("Leaver in HR", "directory.user_deactivated");
    judged.cards = vec![Card::new(1, "directory.deactivate_user").with_inputs(&[("user", user())])];
    let judged = server
        .store
        .test_flow(&judged, Some(hr.id), "admin@example.com")
        .await;
    let started = server
        .post_form(
            &editor,
            &format!("/flows/{}/test", judged.id),
            &[("run", "dry"), ("s.user.id", &alice.id.to_string())],
        )
        .await;
    assert!(location(&started).ends_with("?notice=dry-run-started"));
    Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    let refused = server
        .store
        .executions(&ExecutionFilter {
            flow: Some(judged.id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    assert!(refused.dry_run);
    assert_eq!(refused.status, Status::Failed);
    assert!(
        refused
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("this flow acts for editor@example.com, who may not see the directory"),
        "{:?}",
        refused.error
    );
    let still = server.store.user(alice.id).await.unwrap().unwrap();
    assert_eq!(still.status, UserStatus::Active);
}

domain::backend_tests! {
    async fn engine_a_dry_run_says_what_it_would_do_and_changes_nothing(store) {
        a_dry_run_says_what_it_would_do_and_changes_nothing(store).await;
    }
}
