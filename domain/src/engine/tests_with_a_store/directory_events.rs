//! Flows started by directory events, and the loop guard, on both backends.

use super::*;
use crate::engine::Status;
use crate::engine::runner::Runner;
use crate::engine::triggers::LOOP_STOPPED;

use crate::store::{ExecutionFilter, GroupWrite, UserWrite};
use crate::tables::{Column, ColumnType, Schema};
use serde_json::json;

fn person(name: &str) -> UserWrite {
    UserWrite {
        user_name: name.into(),
        external_id: None,
        status: crate::directory::UserStatus::Active,
        role: Role::UnassignedUser,
        display_name: None,
        email: Some(name.into()),
        attributes: serde_json::Map::new(),
    }
}

crate::backend_tests! {
    async fn a_profile_flow_that_changes_the_profile_runs_once_not_forever(store) {
        // Each profile change stamps the title, which is itself a profile change.
        let mut flow = Flow::new("Title stamp", "directory.user_profile_updated");
        flow.cards = vec![
            card(1, "text.compose", &[("template", Binding::template("{{ trigger.user.title }} (seen)"))]),
            card(2, "object.set", &[
                ("object", Binding::literal(json!({}))),
                ("path", Binding::literal("title")),
                ("value", Binding::mapping(Source::Card(CardId(1)), "output")),
            ]),
            card(3, "directory.update_profile", &[
                ("user", Binding::mapping(Source::Trigger, "user.id")),
                ("attributes", Binding::mapping(Source::Card(CardId(2)), "output")),
            ]),
        ];
        let flow = turn_on(&store, &flow).await;

        let actor = Actor::System;
        let ada = store.provision_user(&person("ada@example.com"), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
        let mut changed = UserWrite::from(&ada);
        changed.attributes.insert("title".into(), json!("Engineer"));
        store.update_user(ada.id, None, &changed, &actor, &entry(Action::ScimUserUpdate)).await.unwrap();
        settle(&store).await;

        // The flow ran once for the SCIM change; its own change started it once more,
        // and that execution stopped at once, saying why.
        let executions = store.executions(&ExecutionFilter { flow: Some(flow), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
        let statuses: Vec<(Status, Option<String>)> = executions.iter().rev().map(|e| (e.status, e.error.clone())).collect();
        assert_eq!(statuses, vec![(Status::Succeeded, None), (Status::Cancelled, Some(LOOP_STOPPED.to_string()))]);
        let ada = store.user(ada.id).await.unwrap().unwrap();
        assert_eq!(ada.attributes["title"], "Engineer (seen)");
        // The flow's change is an event that names the flow and the change it followed.
        let events = store.directory_events_about(ada.id.0).await.unwrap();
        let by_flow = events.iter().filter(|e| e.actor_kind == "flow").collect::<Vec<_>>();
        assert!(!by_flow.is_empty());
        assert!(by_flow.iter().all(|e| e.actor_display.as_deref() == Some("Flow: Title stamp") && !e.causal_chain.is_empty()));
    }

    async fn too_many_deactivations_pause_for_approval(store) {
        use crate::engine::BlastRadius;
        use crate::store::NewExecution;
        let mut flow = Flow::new("Mass offboarding", "trigger.manual");
        flow.cards = vec![card(1, "directory.deactivate_user", &[("user", Binding::mapping(Source::Trigger, "input.user"))])];
        let flow_id = store.create_flow(&flow, None, &store.test_author("ada@example.com").await, &entry(Action::FlowCreate)).await.unwrap().id;
        let mut runs = Vec::new();
        for n in 0..3 {
            let user = store.provision_user(&person(&format!("user{n}@example.com")), &Actor::System, &entry(Action::ScimUserCreate)).await.unwrap();
            let id = store.enqueue_execution(&NewExecution {
                flow: flow_id,
                flow_version: 1,
                trigger_kind: "trigger.manual".into(),
                input: json!({"input": {"user": user.id.0.to_string()}}),
                subject: Some(user.id.0.to_string()),
                dedupe_key: None,
                causal_chain: vec![],
                parent: None,
                test: false,
                dry_run: false,
                acting_for: None,
            }).await.unwrap().unwrap();
            runs.push((id, user.id));
        }
        let guard = BlastRadius { max_users: 2, max_percent: 10, window: chrono::Duration::hours(1) };
        let runner = Runner::new(store.clone(), "worker-1").with_guard(guard);
        runner.drain().await.unwrap();
        let statuses: Vec<Status> = {
            let mut v = Vec::new();
            for (id, _) in &runs { v.push(store.execution(*id).await.unwrap().unwrap().status); }
            v
        };
        assert_eq!(statuses, [Status::Succeeded, Status::Succeeded, Status::Paused]);
        let paused = store.execution(runs[2].0).await.unwrap().unwrap();
        assert!(paused.error.unwrap().starts_with("Paused by the blast-radius guard"));
        // Who it would touch: the subject, still active.
        assert_eq!(store.user(runs[2].1).await.unwrap().unwrap().status, crate::directory::UserStatus::Active);
        assert_eq!(
            crate::engine::users_at_stake(&flow, &paused.progress),
            Some((crate::flows::CardId(1), "directory.deactivate_user".to_string(), vec![runs[2].1.0.to_string()]))
        );
        assert_eq!(runner.drain().await.unwrap(), 0, "a paused execution is not picked up");

        assert!(store.approve_execution(runs[2].0).await.unwrap());
        runner.drain().await.unwrap();
        assert_eq!(store.execution(runs[2].0).await.unwrap().unwrap().status, Status::Succeeded);
        assert_eq!(store.user(runs[2].1).await.unwrap().unwrap().status, crate::directory::UserStatus::Deprovisioned);
    }

    async fn a_hire_gets_the_role_their_department_is_given(store) {
        let roles = Schema {
            name: "department roles".into(),
            columns: vec![
                Column { name: "department".into(), ty: ColumnType::Text },
                Column { name: "role".into(), ty: ColumnType::Text },
            ],
            key: Some("department".into()),
        };
        let table = store.create_table(&roles, None, &entry(Action::TableCreate)).await.unwrap();
        let row = roles.check_row(json!({"department": "Security", "role": "Workflows Auditor"}).as_object().unwrap()).unwrap();
        store.insert_row(&table, &row, None).await.unwrap();
        let mut flow = Flow::new("Hire: role by department", "directory.user_created");
        flow.cards = vec![
            card(1, "tables.read_row", &[("table", Binding::literal("department roles")), ("key", Binding::mapping(Source::Trigger, "user.department"))]),
            card(2, "flow.continue_if", &[("condition", Binding::mapping(Source::Card(CardId(1)), "found"))]),
            card(3, "directory.assign_app", &[("user", Binding::mapping(Source::Trigger, "user.id")), ("role", Binding::mapping(Source::Card(CardId(1)), "row.role"))]),
        ];
        turn_on(&store, &flow).await;

        let mut hire = person("hire@example.com");
        hire.attributes.insert(crate::scim::ENTERPRISE_USER.into(), json!({"department": "Security"}));
        let hire = store.provision_user(&hire, &Actor::System, &entry(Action::ScimUserCreate)).await.unwrap();
        let other = store.provision_user(&person("other@example.com"), &Actor::System, &entry(Action::ScimUserCreate)).await.unwrap();
        settle(&store).await;
        assert_eq!(store.user(hire.id).await.unwrap().unwrap().role, Role::WorkflowsAuditor);
        // No department in the table: Continue If ends the execution quietly.
        assert_eq!(store.user(other.id).await.unwrap().unwrap().role, Role::UnassignedUser);
        let quiet = store.executions(&ExecutionFilter { subject: Some(other.id.0.to_string()), limit: 5, ..ExecutionFilter::default() }).await.unwrap();
        assert_eq!(quiet[0].status, Status::Succeeded, "{:?}", quiet[0].error);
        assert!(quiet[0].error.as_deref().unwrap().contains("Continue If"), "{:?}", quiet[0].error);
    }

    async fn a_title_change_puts_the_user_in_the_matching_group(store) {
        for name in ["Engineering", "Managers"] {
            let group = GroupWrite { display_name: name.into(), external_id: None, attributes: serde_json::Map::new(), members: vec![] };
            store.create_group(&group, &Actor::System, &entry(Action::ScimGroupCreate)).await.unwrap();
        }
        let mut flow = Flow::new("Title change: groups", "directory.user_profile_updated");
        flow.trigger.options.insert("filter".into(), Binding::literal("'title' in trigger.changed"));
        let mut branch = card(1, "flow.branch", &[]);
        branch.lanes = vec![
            crate::flows::Lane {
                name: "Engineers".into(),
                condition: Some(Binding::template("{{ 'Engineer' in trigger.user.title }}")),
                cards: vec![card(2, "directory.add_to_group", &[("user", Binding::mapping(Source::Trigger, "user.id")), ("group", Binding::literal("Engineering"))])],
            },
            crate::flows::Lane {
                name: "Managers".into(),
                condition: Some(Binding::template("{{ 'Manager' in trigger.user.title }}")),
                cards: vec![card(3, "directory.add_to_group", &[("user", Binding::mapping(Source::Trigger, "user.id")), ("group", Binding::literal("Managers"))])],
            },
        ];
        flow.cards = vec![branch];
        let flow_id = turn_on(&store, &flow).await;

        let user = store.provision_user(&person("promoted@example.com"), &Actor::System, &entry(Action::ScimUserCreate)).await.unwrap();
        let mut titled = UserWrite::from(&user);
        titled.attributes.insert("title".into(), json!("Senior Engineer"));
        store.update_user(user.id, None, &titled, &Actor::System, &entry(Action::ScimUserUpdate)).await.unwrap();
        // A change that is not the title does not start the flow.
        let user = store.user(user.id).await.unwrap().unwrap();
        let mut nick = UserWrite::from(&user);
        nick.attributes.insert("nickName".into(), json!("Prom"));
        store.update_user(user.id, None, &nick, &Actor::System, &entry(Action::ScimUserUpdate)).await.unwrap();
        settle(&store).await;

        let groups: Vec<String> = store.groups_of(user.id).await.unwrap().into_iter().map(|(_, n)| n).collect();
        assert_eq!(groups, ["Engineering"]);
        let runs = store.executions(&ExecutionFilter { flow: Some(flow_id), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
        assert_eq!(runs.len(), 1, "one title change, one execution");
        let steps = store.execution_steps(runs[0].id).await.unwrap();
        assert_eq!(steps[0].outputs, Some(json!({"lane": "Engineers"})));
    }

    async fn offboarding_removes_groups_ends_sessions_and_writes_a_row(store) {
        let offboarded = Schema {
            name: "offboarded".into(),
            columns: vec![
                Column { name: "email".into(), ty: ColumnType::Text },
                Column { name: "when".into(), ty: ColumnType::DateTime },
                Column { name: "groups".into(), ty: ColumnType::Number },
            ],
            key: Some("email".into()),
        };
        store.create_table(&offboarded, None, &entry(Action::TableCreate)).await.unwrap();
        let mut flow = Flow::new("Offboarding", "directory.user_deactivated");
        flow.cards = vec![
            card(1, "directory.remove_from_all_groups", &[("user", Binding::mapping(Source::Trigger, "user.id"))]),
            card(2, "directory.clear_sessions", &[("user", Binding::mapping(Source::Trigger, "user.id"))]),
            card(3, "object.merge", &[("objects", Binding::literal(json!([])))]),
            card(4, "object.set", &[("object", Binding::literal(json!({}))), ("path", Binding::literal("email")), ("value", Binding::mapping(Source::Trigger, "user.email"))]),
            card(5, "object.set", &[("object", Binding::mapping(Source::Card(CardId(4)), "output")), ("path", Binding::literal("when")), ("value", Binding::mapping(Source::Trigger, "occurred_at"))]),
            card(6, "object.set", &[("object", Binding::mapping(Source::Card(CardId(5)), "output")), ("path", Binding::literal("groups")), ("value", Binding::mapping(Source::Card(CardId(1)), "count"))]),
            card(7, "tables.create_row", &[("table", Binding::literal("offboarded")), ("row", Binding::mapping(Source::Card(CardId(6)), "output"))]),
        ];
        let flow_id = turn_on(&store, &flow).await;

        let actor = Actor::System;
        let leaver = store.provision_user(&person("leaver@example.com"), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
        for name in ["Engineering", "VPN"] {
            let group = GroupWrite { display_name: name.into(), external_id: None, attributes: serde_json::Map::new(), members: vec![leaver.id] };
            store.create_group(&group, &actor, &entry(Action::ScimGroupCreate)).await.unwrap();
        }
        settle(&store).await;
        let mut gone = UserWrite::from(&leaver);
        gone.status = crate::directory::UserStatus::Deprovisioned;
        store.update_user(leaver.id, None, &gone, &actor, &entry(Action::ScimUserUpdate)).await.unwrap();
        settle(&store).await;

        let runs = store.executions(&ExecutionFilter { flow: Some(flow_id), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, Status::Succeeded, "{:?}", runs[0].error);
        assert_eq!(runs[0].subject.as_deref(), Some(leaver.id.0.to_string().as_str()));
        assert!(store.groups_of(leaver.id).await.unwrap().is_empty());
        assert!(store.user(leaver.id).await.unwrap().unwrap().sessions_valid_after.is_some());
        let table = store.table_by_name("offboarded").await.unwrap().unwrap();
        let row = store.row_by_key(table.id, "leaver@example.com").await.unwrap().unwrap();
        assert_eq!(row.data["groups"], 2);
        assert!(row.data["when"].as_str().unwrap().ends_with('Z'));
    }
}
