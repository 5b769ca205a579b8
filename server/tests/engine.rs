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
        .create_flow(&flow, None, "admin@example.com", &entry(Action::FlowCreate))
        .await
        .unwrap();
    server
        .store
        .set_flow_enabled(made.id, true, &entry(Action::FlowEnable))
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

domain::backend_tests! {
    async fn engine_a_deactivation_in_the_console_runs_the_offboarding_flow(store) {
        a_deactivation_in_the_console_runs_the_offboarding_flow(store).await;
    }
}
