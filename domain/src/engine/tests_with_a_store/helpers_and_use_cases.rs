//! Helper flows (Call Flow, For Each), Pause and Close, Find Users and List Group
//! Members, and the last two reference use cases (MFA reminder, lockout → manager).

use super::*;
use crate::engine::runner::Runner;
use crate::engine::schedules::fire_schedules;
use crate::engine::{Status, Waiting};
use crate::flows::Lane;
use crate::store::{ExecutionFilter, GroupWrite, RowQuery, UserWrite};
use crate::tables::{ColumnType, Schema};
use serde_json::{Value, json};

fn person(name: &str, attributes: Value) -> UserWrite {
    UserWrite {
        user_name: name.into(),
        external_id: None,
        status: crate::directory::UserStatus::Active,
        role: Role::UnassignedUser,
        display_name: Some(name.split('@').next().unwrap_or(name).into()),
        email: Some(name.into()),
        attributes: attributes.as_object().cloned().unwrap_or_default(),
    }
}

/// "Greet": a helper flow that answers "Hello <item>", and fails for "bad".
fn greet() -> Flow {
    let mut flow = Flow::new("Greet", "trigger.helper");
    flow.cards = vec![
        card(
            1,
            "boolean.compare",
            &[
                ("a", Binding::mapping(Source::Trigger, "item")),
                ("operator", Binding::literal("equals")),
                ("b", Binding::literal("bad")),
            ],
        ),
        card(
            2,
            "flow.if_else",
            &[(
                "condition",
                Binding::mapping(Source::Card(CardId(1)), "output"),
            )],
        ),
        card(
            3,
            "text.compose",
            &[(
                "template",
                Binding::template(
                    "{{ trigger.input.greeting }} {{ trigger.item }} (#{{ trigger.index }})",
                ),
            )],
        ),
        card(
            4,
            "flow.return",
            &[(
                "output",
                Binding::mapping(Source::Card(CardId(3)), "output"),
            )],
        ),
    ];
    flow.cards[1].lanes = vec![
        Lane {
            name: "Then".into(),
            condition: None,
            cards: vec![card(
                5,
                "flow.raise_error",
                &[("message", Binding::literal("cannot greet bad"))],
            )],
        },
        Lane {
            name: "Else".into(),
            condition: None,
            cards: vec![],
        },
    ];
    flow
}

async fn rows(store: &Store, name: &str) -> Vec<serde_json::Map<String, Value>> {
    let table = store.table_by_name(name).await.unwrap().unwrap();
    let query = RowQuery {
        limit: 100,
        ..RowQuery::default()
    };
    store
        .rows(&table, &query)
        .await
        .unwrap()
        .0
        .into_iter()
        .map(|r| r.data)
        .collect()
}

crate::backend_tests! {
    async fn for_each_and_call_flow_wait_for_their_helper_flows(store) {
        turn_on(&store, &greet()).await;
        let mut double = Flow::new("Double", "trigger.helper");
        double.cards = vec![
            card(1, "number.add", &[("a", Binding::mapping(Source::Trigger, "input")), ("b", Binding::mapping(Source::Trigger, "input"))]),
            card(2, "flow.return", &[("output", Binding::mapping(Source::Card(CardId(1)), "output"))]),
        ];
        turn_on(&store, &double).await;
        let mut main = Flow::new("Greet everyone", "trigger.manual");
        main.cards = vec![
            card(1, "flow.for_each", &[("flow", Binding::literal("Greet")), ("items", Binding::mapping(Source::Trigger, "input.names")), ("input", Binding::literal(json!({"greeting": "Hello"})))]),
            card(2, "flow.call_flow", &[("flow", Binding::literal("double")), ("input", Binding::literal(21))]),
            card(3, "flow.return", &[("output", Binding::template("{{ card_1.outputs | join(', ') }} / {{ card_2.output }}"))]),
        ];
        let main = turn_on(&store, &main).await;

        let id = start(&store, main, json!({"names": ["Ada", "Grace", "Linus"]})).await;
        // The first claim starts the three helpers and leaves the parent waiting.
        let runner = Runner::new(store.clone(), "worker-1");
        assert_eq!(runner.run_one().await.unwrap(), Some(id));
        let waiting = store.execution(id).await.unwrap().unwrap();
        assert_eq!(waiting.status, Status::Waiting);
        assert!(matches!(waiting.progress.waiting, Some(Waiting::Children { count: 3, .. })));
        assert_eq!(store.helper_executions(id).await.unwrap().len(), 3);

        runner.drain().await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
        assert_eq!(done.output, Some(json!("Hello Ada (#0), Hello Grace (#1), Hello Linus (#2) / 42")));
        // The history links the helpers to the card that started them, in order.
        let helpers = store.helper_executions(id).await.unwrap();
        let links: Vec<(u32, i64, Status)> = helpers.iter().map(|h| { let p = h.parent.unwrap(); (p.card, p.index, h.status) }).collect();
        assert_eq!(links, [(1, 0, Status::Succeeded), (1, 1, Status::Succeeded), (1, 2, Status::Succeeded), (2, 0, Status::Succeeded)]);
        assert!(helpers.iter().all(|h| h.parent.unwrap().execution == id && h.trigger_kind == "trigger.helper"));
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.iter().map(|s| s.card_id).collect::<Vec<_>>(), [1, 2, 3], "each card recorded once");
        assert_eq!(steps[0].outputs.as_ref().unwrap()["count"], 3);

        // An empty list calls nothing.
        let id = start(&store, main, json!({"names": []})).await;
        runner.drain().await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!(done.output, Some(json!(" / 42")));
    }

    async fn a_failing_helper_fails_the_card_with_its_reason(store) {
        turn_on(&store, &greet()).await;
        let mut main = Flow::new("Greet with a bad name", "trigger.manual");
        main.cards = vec![card(1, "flow.for_each", &[("flow", Binding::literal("Greet")), ("items", Binding::mapping(Source::Trigger, "input")), ("input", Binding::literal(json!({"greeting": "Hi"})))])];
        let main = turn_on(&store, &main).await;
        let id = start(&store, main, json!(["Ada", "bad", "Grace"])).await;
        Runner::new(store.clone(), "worker-1").drain().await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!(done.status, Status::Failed);
        let reason = done.error.unwrap();
        assert!(reason.contains("1 of 3 helper executions failed: item 2:") && reason.contains("cannot greet bad"), "{reason}");

        // A flow that is not a helper, or is off, is named in a sentence.
        let mut off = Flow::new("Off helper", "trigger.helper");
        off.cards = vec![card(1, "flow.return", &[("output", Binding::literal(1))])];
        store.create_flow(&off, None, &store.test_author("ada@example.com").await, &entry(Action::FlowCreate)).await.unwrap();
        for (target, expected) in [("Off helper", "is off; turn it on"), ("Greet with a bad name", "is not a helper flow"), ("Nope", "there is no flow \"Nope\"")] {
            let mut caller = Flow::new(format!("Call {target}"), "trigger.manual");
            caller.cards = vec![card(1, "flow.call_flow", &[("flow", Binding::literal(target))])];
            let caller = turn_on(&store, &caller).await;
            let id = start(&store, caller, json!(null)).await;
            Runner::new(store.clone(), "worker-1").drain().await.unwrap();
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!(done.status, Status::Failed);
            assert!(done.error.as_deref().unwrap().contains(expected), "{:?}", done.error);
        }
    }

    async fn a_failed_execution_starts_its_error_flow(store) {
        store.create_table(&Schema::new("failures", &[("flow", ColumnType::Text), ("error", ColumnType::Text)], None), None, &entry(Action::TableCreate)).await.unwrap();
        let mut report = Flow::new("Report failures", "trigger.helper");
        report.cards = vec![card(1, "tables.create_row", &[("table", Binding::literal("failures")), ("row", Binding::template("{{ {'flow': trigger.input.flow_name, 'error': trigger.input.error} }}"))])];
        let report = turn_on(&store, &report).await;
        let mut risky = Flow::new("Risky", "trigger.manual");
        risky.settings.error_flow = Some(report);
        risky.cards = vec![card(1, "flow.raise_error", &[("message", Binding::literal("the HR system said no"))])];
        let risky = turn_on(&store, &risky).await;
        let id = start(&store, risky, json!(null)).await;
        Runner::new(store.clone(), "worker-1").drain().await.unwrap();
        assert_eq!(store.execution(id).await.unwrap().unwrap().status, Status::Failed);
        let logged = rows(&store, "failures").await;
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0]["flow"], "Risky");
        assert_eq!(logged[0]["error"], "card 1 \"Raise Error\" failed: the HR system said no");
    }

    async fn cancelling_a_waiting_execution_cancels_its_helpers(store) {
        turn_on(&store, &greet()).await;
        let mut main = Flow::new("Greet many", "trigger.manual");
        main.cards = vec![card(1, "flow.for_each", &[("flow", Binding::literal("Greet")), ("items", Binding::mapping(Source::Trigger, "input")), ("input", Binding::literal(json!({"greeting": "Hi"})))])];
        let main = turn_on(&store, &main).await;
        let id = start(&store, main, json!(["a", "b", "c", "d"])).await;
        let runner = Runner::new(store.clone(), "worker-1");
        runner.run_one().await.unwrap();
        runner.run_one().await.unwrap(); // one helper ends
        assert!(store.cancel_execution(id, "cancelled by ada@example.com").await.unwrap());
        let statuses: Vec<Status> = store.helper_executions(id).await.unwrap().iter().map(|h| h.status).collect();
        assert_eq!(statuses, [Status::Succeeded, Status::Cancelled, Status::Cancelled, Status::Cancelled]);
        assert_eq!(runner.drain().await.unwrap(), 0);
        assert_eq!(store.execution(id).await.unwrap().unwrap().status, Status::Cancelled);
    }

    async fn a_caller_that_times_out_cancels_the_helpers_it_waits_for(store) {
        let mut slow = Flow::new("Waits for a person", "trigger.helper");
        slow.cards = vec![card(1, "flow.pause", &[])];
        turn_on(&store, &slow).await;
        let mut main = Flow::new("Impatient", "trigger.manual");
        main.settings.timeout_seconds = 1;
        main.cards = vec![card(1, "flow.call_flow", &[("flow", Binding::literal("Waits for a person"))])];
        let main = turn_on(&store, &main).await;
        let id = start(&store, main, json!(null)).await;
        let runner = Runner::new(store.clone(), "worker-1");
        runner.drain().await.unwrap();
        let helper = store.helper_executions(id).await.unwrap().remove(0);
        assert_eq!(helper.status, Status::Waiting);
        // The caller wakes at its deadline, fails, and takes its helper down with it.
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        runner.drain().await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!(done.status, Status::Failed);
        assert!(done.error.unwrap().contains("timed out"));
        let helper = store.execution(helper.id).await.unwrap().unwrap();
        assert_eq!(helper.status, Status::Cancelled);
        assert_eq!(helper.error.as_deref(), Some("the execution that started it timed out"));
    }

    async fn helper_flows_cannot_call_each_other_without_end(store) {
        let mut recurse = Flow::new("Recurse", "trigger.helper");
        recurse.cards = vec![card(1, "flow.call_flow", &[("flow", Binding::literal("Recurse"))])];
        turn_on(&store, &recurse).await;
        let mut main = Flow::new("Start recursion", "trigger.manual");
        main.cards = vec![card(1, "flow.call_flow", &[("flow", Binding::literal("Recurse"))])];
        let main = turn_on(&store, &main).await;
        let id = start(&store, main, json!(null)).await;
        Runner::new(store.clone(), "worker-1").drain().await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!(done.status, Status::Failed);
        assert!(done.error.unwrap().contains("more than 8 deep"));
    }

    async fn a_pause_waits_for_its_resume_and_close_answers_early(store) {
        let mut flow = Flow::new("Approve then go on", "trigger.manual");
        flow.cards = vec![
            card(1, "flow.close", &[("output", Binding::literal(json!({"accepted": true})))]),
            card(2, "flow.pause", &[]),
            card(3, "flow.return", &[("output", Binding::mapping(Source::Card(CardId(2)), "input.decision"))]),
        ];
        let flow = turn_on(&store, &flow).await;
        let id = start(&store, flow, json!(null)).await;
        let runner = Runner::new(store.clone(), "worker-1");
        runner.drain().await.unwrap();
        let paused = store.execution(id).await.unwrap().unwrap();
        assert_eq!(paused.status, Status::Waiting);
        assert_eq!(paused.progress.closed, Some(json!({"accepted": true})), "Close answered before the pause");
        assert_eq!(runner.drain().await.unwrap(), 0, "a paused execution waits");

        assert!(store.resume_execution(id, json!({"decision": "approved"})).await.unwrap());
        assert!(!store.resume_execution(id, json!({"decision": "again"})).await.unwrap(), "resumed once");
        runner.drain().await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
        assert_eq!(done.output, Some(json!("approved")));
        assert!(!store.resume_execution(id, json!(null)).await.unwrap(), "an ended execution is not resumed");

        // A pause until a time that has passed goes straight on; one past 30 days is refused.
        let mut timed = Flow::new("Pause until", "trigger.manual");
        timed.cards = vec![card(1, "flow.pause", &[("until", Binding::mapping(Source::Trigger, "input"))])];
        let timed = turn_on(&store, &timed).await;
        let past = start(&store, timed, json!("2020-01-01T00:00:00Z")).await;
        let far = start(&store, timed, json!((chrono::Utc::now() + chrono::Duration::days(40)).to_rfc3339())).await;
        runner.drain().await.unwrap();
        assert_eq!(store.execution(past).await.unwrap().unwrap().status, Status::Succeeded);
        let far = store.execution(far).await.unwrap().unwrap();
        assert_eq!(far.status, Status::Failed);
        assert!(far.error.unwrap().contains("at most 30 days"));
    }

    async fn find_users_and_list_group_members(store) {
        let actor = Actor::System;
        let ada = store.provision_user(&person("ada@example.com", json!({"title": "Engineer"})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
        store.provision_user(&person("grace@example.com", json!({"title": "Admiral"})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
        let linus = store.provision_user(&person("linus@example.com", json!({"title": "Engineer"})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
        let group = GroupWrite { display_name: "Kernel".into(), external_id: None, attributes: serde_json::Map::new(), members: vec![linus.id, ada.id] };
        store.create_group(&group, &actor, &entry(Action::ScimGroupCreate)).await.unwrap();
        let mut flow = Flow::new("Who is who", "trigger.manual");
        flow.cards = vec![
            card(1, "directory.find_users", &[("filter", Binding::literal("title eq \"engineer\" and active eq true"))]),
            card(2, "list.pluck", &[("list", Binding::mapping(Source::Card(CardId(1)), "users")), ("key", Binding::literal("email"))]),
            card(3, "directory.list_group_members", &[("group", Binding::literal("Kernel"))]),
            card(4, "list.pluck", &[("list", Binding::mapping(Source::Card(CardId(3)), "users")), ("key", Binding::literal("email"))]),
            card(5, "flow.return", &[("output", Binding::template("{{ card_2.output | sort | join(',') }} | {{ card_4.output | sort | join(',') }}"))]),
        ];
        let flow = turn_on(&store, &flow).await;
        let id = start(&store, flow, json!(null)).await;
        let mut bad = Flow::new("Bad filter", "trigger.manual");
        bad.cards = vec![card(1, "directory.find_users", &[("filter", Binding::literal("title eq"))])];
        let bad = turn_on(&store, &bad).await;
        let bad = start(&store, bad, json!(null)).await;
        Runner::new(store.clone(), "worker-1").drain().await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
        assert_eq!(done.output, Some(json!("ada@example.com,linus@example.com | ada@example.com,linus@example.com")));
        let bad = store.execution(bad).await.unwrap().unwrap();
        assert_eq!(bad.status, Status::Failed);
        assert!(bad.error.unwrap().contains("filter:"));
    }

    async fn use_case_mfa_enrollment_reminder_after_three_days(store) {
        // Reference use case: daily, find users without MFA whose account is older
        // than three days; remind each (here a row in a table, to count them without a
        // mail server: the template emails them, `server/tests/templates.rs`) and log
        // who was reminded in a table; stop once they enroll.
        store.create_table(&Schema::new("notifications", &[("to", ColumnType::Text), ("channel", ColumnType::Text), ("message", ColumnType::Text)], None), None, &entry(Action::TableCreate)).await.unwrap();
        store.create_table(&Schema::new("mfa_reminders", &[("email", ColumnType::Text), ("first_reminded", ColumnType::DateTime), ("times", ColumnType::Number)], Some("email")), None, &entry(Action::TableCreate)).await.unwrap();
        let mut remind = Flow::new("Remind one user about MFA", "trigger.helper");
        remind.cards = vec![
            card(1, "text.compose", &[("template", Binding::template("Hi {{ trigger.item.display_name }}, please set up multi-factor authentication: https://idp.example.com/enroll"))]),
            card(2, "tables.create_row", &[("table", Binding::literal("notifications")), ("row", Binding::template("{{ {'to': trigger.item.email, 'channel': 'email', 'message': card_1.output} }}"))]),
            card(3, "tables.find_or_create_row", &[("table", Binding::literal("mfa_reminders")), ("key", Binding::mapping(Source::Trigger, "item.email")), ("row", Binding::template("{{ {'first_reminded': trigger.input.now, 'times': 0} }}"))]),
            card(4, "number.add", &[("a", Binding::mapping(Source::Card(CardId(3)), "row.times")), ("b", Binding::literal(1))]),
            card(5, "tables.update_row", &[("table", Binding::literal("mfa_reminders")), ("key", Binding::mapping(Source::Trigger, "item.email")), ("row", Binding::template("{{ {'times': card_4.output} }}"))]),
        ];
        turn_on(&store, &remind).await;
        let mut daily = Flow::new("MFA enrollment reminder", "trigger.scheduled");
        daily.trigger.options.insert("cron".into(), Binding::literal("0 0 9 * * *"));
        daily.trigger.options.insert("time_zone".into(), Binding::literal("Europe/Paris"));
        daily.cards = vec![
            card(1, "datetime.now", &[]),
            card(2, "datetime.add", &[("date", Binding::mapping(Source::Card(CardId(1)), "output")), ("amount", Binding::literal(-3)), ("unit", Binding::literal("days"))]),
            card(3, "text.compose", &[("template", Binding::template("not (mfaEnrolled eq true) and active eq true and meta.created lt \"{{ card_2.output }}\""))]),
            card(4, "directory.find_users", &[("filter", Binding::mapping(Source::Card(CardId(3)), "output"))]),
            card(5, "flow.for_each", &[("flow", Binding::literal("Remind one user about MFA")), ("items", Binding::mapping(Source::Card(CardId(4)), "users")), ("input", Binding::template("{{ {'now': card_1.output} }}"))]),
        ];
        let daily = turn_on(&store, &daily).await;

        let actor = Actor::System;
        let mut users = Vec::new();
        for (name, enrolled, days_old) in [("old@example.com", false, 5), ("enrolled@example.com", true, 5), ("new@example.com", false, 1)] {
            let user = store.provision_user(&person(name, json!({"mfaEnrolled": enrolled})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
            let created = chrono::Utc::now() - chrono::Duration::days(days_old);
            with_pool!(store, pool => {
                sqlx::query("UPDATE users SET created_at = $1 WHERE id = $2").bind(created).bind(user.id.0).execute(pool).await.unwrap();
            });
            users.push(user);
        }
        settle(&store).await;

        // Two mornings: the old unenrolled user is reminded each day, logged once.
        let now = chrono::Utc::now();
        assert_eq!(fire_schedules(&store, now, now + chrono::Duration::days(1)).await.unwrap(), 1);
        settle(&store).await;
        assert_eq!(fire_schedules(&store, now + chrono::Duration::days(1), now + chrono::Duration::days(2)).await.unwrap(), 1);
        settle(&store).await;
        let runs = store.executions(&ExecutionFilter { flow: Some(daily), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
        assert!(runs.iter().all(|r| r.status == Status::Succeeded), "{:?}", runs.iter().map(|r| &r.error).collect::<Vec<_>>());
        let sent = rows(&store, "notifications").await;
        assert_eq!(sent.len(), 2);
        assert!(sent.iter().all(|r| r["to"] == "old@example.com" && r["message"].as_str().unwrap().starts_with("Hi old,")));
        let log = rows(&store, "mfa_reminders").await;
        assert_eq!(log.len(), 1);
        assert_eq!((log[0]["email"].clone(), log[0]["times"].clone()), (json!("old@example.com"), json!(2)));

        // Once they enroll, the reminders stop.
        let mut enrolled = UserWrite::from(&users[0]);
        enrolled.attributes.insert("mfaEnrolled".into(), json!(true));
        store.update_user(users[0].id, None, &enrolled, &actor, &entry(Action::ScimUserUpdate)).await.unwrap();
        assert_eq!(fire_schedules(&store, now + chrono::Duration::days(2), now + chrono::Duration::days(3)).await.unwrap(), 1);
        settle(&store).await;
        assert_eq!(rows(&store, "notifications").await.len(), 2);
    }

    async fn use_case_lockout_notifies_the_manager(store) {
        // Reference use case: User Account Locked → read the manager → notify them
        // (here a row in a table; the template emails them, `server/tests/templates.rs`).
        store.create_table(&Schema::new("notifications", &[("to", ColumnType::Text), ("channel", ColumnType::Text), ("message", ColumnType::Text)], None), None, &entry(Action::TableCreate)).await.unwrap();
        let mut flow = Flow::new("Tell the manager about a lockout", "directory.user_locked_out");
        flow.cards = vec![
            card(1, "directory.read_user", &[("user", Binding::mapping(Source::Trigger, "user.manager"))]),
            card(2, "text.compose", &[("template", Binding::template("{{ trigger.user.display_name }} is locked out of their account. Ask them to call the IT desk at 555-0100."))]),
            card(3, "tables.create_row", &[("table", Binding::literal("notifications")), ("row", Binding::template("{{ {'to': card_1.user.email, 'channel': 'slack', 'message': card_2.output} }}"))]),
        ];
        turn_on(&store, &flow).await;
        let actor = Actor::System;
        let boss = store.provision_user(&person("boss@example.com", json!({})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
        let report = person("report@example.com", json!({ crate::scim::ENTERPRISE_USER: {"manager": {"value": boss.id.0.to_string()}} }));
        store.provision_user(&report, &actor, &entry(Action::ScimUserCreate)).await.unwrap();
        settle(&store).await;

        // Five wrong passwords lock the account; the fifth is the lockout event.
        let origin = crate::auth::Origin { client_address: None, request_id: None };
        for _ in 0..5 {
            let wrong = secrecy::SecretString::from("not the password".to_string());
            assert!(crate::auth::sign_in(&store, "report@example.com", wrong, &origin).await.is_err());
        }
        settle(&store).await;
        let sent = rows(&store, "notifications").await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0]["to"], "boss@example.com");
        assert_eq!(sent[0]["message"], "report is locked out of their account. Ask them to call the IT desk at 555-0100.");
        let log = store.recent_audit(20).await.unwrap();
        assert!(log.iter().any(|e| e.action == Action::AccountLock.as_str() && e.target_display.as_deref() == Some("report@example.com")));
        // A locked account refused again is not locked again.
        let wrong = secrecy::SecretString::from("still wrong".to_string());
        assert!(crate::auth::sign_in(&store, "report@example.com", wrong, &origin).await.is_err());
        settle(&store).await;
        assert_eq!(rows(&store, "notifications").await.len(), 1);
    }

    async fn a_dry_runs_helper_flows_are_dry_runs_too(store) {
        let actor = Actor::System;
        let ada = store.provision_user(&person("ada@example.com", json!({})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
        let mut suspend = Flow::new("Suspend one", "trigger.helper");
        suspend.cards = vec![card(1, "directory.suspend_user", &[("user", Binding::mapping(Source::Trigger, "input"))])];
        turn_on(&store, &suspend).await;
        let mut main = Flow::new("Suspend through a helper", "trigger.manual");
        main.cards = vec![
            card(1, "flow.call_flow", &[("flow", Binding::literal("Suspend one")), ("input", Binding::mapping(Source::Trigger, "input"))]),
            card(2, "flow.wait", &[("seconds", Binding::literal(3600))]),
        ];
        let main = store.test_flow(&main, None, "admin").await;
        let tester = store.user_by_name("flow.owner@tests.invalid").await.unwrap().map(|u| u.id);
        let id = store
            .enqueue_execution(&NewExecution::dry_run(main.id, main.version, "trigger.manual", json!({"input": "ada@example.com"}), tester))
            .await
            .unwrap()
            .unwrap();
        Runner::new(store.clone(), "worker-1").drain().await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
        assert!(done.dry_run);
        // The helper ran, as a dry run: it said what it would do, and did not.
        let helpers = store.helper_executions(id).await.unwrap();
        assert_eq!(helpers.len(), 1);
        assert!(helpers[0].dry_run && helpers[0].status == Status::Succeeded, "{:?}", helpers[0].error);
        let steps = store.execution_steps(helpers[0].id).await.unwrap();
        let note = crate::engine::dry_run::Note::of(steps[0].outputs.as_ref().unwrap()).unwrap();
        assert_eq!(note.summary, "Would suspend ada@example.com");
        let ada_now = store.user(ada.id).await.unwrap().unwrap();
        assert_eq!(ada_now.status, crate::directory::UserStatus::Active);
        assert_eq!(ada_now.version, ada.version);
        assert!(store.unprocessed_directory_events(10).await.unwrap().iter().all(|e| e.subject_id != ada.id.0 || e.event_type == "user.created"));
    }
    async fn a_helper_that_ends_as_its_parent_begins_to_wait_wakes_it(store) {
        let waits = turn_on(&store, &Flow::new("Waits for its helper", "trigger.manual")).await;
        let mut helper = Flow::new("The helper", "trigger.helper");
        helper.cards = vec![card(1, "text.compose", &[("template", Binding::literal("done"))])];
        let helper = store.test_flow_on(&helper).await;
        let parent = start(&store, waits, json!({})).await;
        let lease = chrono::Utc::now() + chrono::Duration::minutes(5);
        let claimed = store.claim_execution("worker-1", lease).await.unwrap().unwrap();
        assert_eq!(claimed.id, parent);
        let child = store
            .enqueue_execution(&NewExecution {
                parent: Some(Parent { execution: parent, card: 1, index: 0 }),
                dedupe_key: Some(format!("helper:{parent}")),
                ..NewExecution::by_hand(helper.id, helper.version, json!({}))
            })
            .await
            .unwrap()
            .unwrap();
        let mut progress = claimed.progress.clone();
        progress.waiting = Some(Waiting::Children { card: 1, attempt: 0, count: 1 });
        // The helper ends in a transaction that has locked its parent (as an ending does,
        // `wake_parent_in!`) and finds it still running, so does not wake it; the parent
        // begins to wait meanwhile, and must see that end once it may go on.
        with_pool!(store, pool => {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("UPDATE executions SET status = 'succeeded', finished_at = $2 WHERE id = $1")
                .bind(child.0)
                .bind(chrono::Utc::now())
                .execute(&mut *tx)
                .await
                .unwrap();
            let postgres = store.kind() == BackendKind::Postgres;
            if postgres {
                sqlx::query("SELECT id FROM executions WHERE id = $1 FOR UPDATE").bind(parent.0).execute(&mut *tx).await.unwrap();
            }
            let waiting = tokio::spawn({
                let store = store.clone();
                let progress = progress.clone();
                async move { store.wait_execution(parent, "worker-1", &progress, lease).await }
            });
            // Until the wait is held up by the helper's transaction (SQLite shows no lock
            // waits: there the wait is at least queued behind the open write).
            for _ in 0..500 {
                let blocked: i64 = if postgres {
                    sqlx::query_scalar(
                        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    )
                    .fetch_one(pool)
                    .await
                    .unwrap()
                } else {
                    1
                };
                if blocked > 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert!(!waiting.is_finished(), "the wait waits for the helper's transaction");
            tx.commit().await.unwrap();
            assert!(waiting.await.unwrap().unwrap());
        });
        let now = store.execution(parent).await.unwrap().unwrap();
        assert_eq!(now.status, Status::Queued, "its only helper has ended: it goes on at once");
    }
}
