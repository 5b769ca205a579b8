//! Okta connections and their Event Hooks through the real router, on both backends,
//! against the Okta-shaped test org (`tests/fixtures/okta_org.py`, its own process):
//! the org verifies the hook and delivers events as Okta does, and flows on Okta triggers
//! start once per event, in the order Okta published them.

mod common;

use common::okta::{Hook, OktaOrg};
use common::*;
use domain::access::Role;
use domain::engine::triggers::dispatch_okta_events;
use domain::flows::{Binding, Flow};
use domain::store::{ExecutionFilter, ExecutionRecord, Store};
use serde_json::{Value, json};

const HOOK_SECRET: &str = "Bearer hook-s3cret-MARKER";

/// Hands every received event to flows now (the engine waits out its reorder window).
async fn dispatch(store: &Store) -> usize {
    let all = chrono::Utc::now() + chrono::Duration::seconds(1);
    dispatch_okta_events(store, all, 1000).await.unwrap()
}

/// The executions of `flow`, oldest first.
async fn executions_of(store: &Store, flow: domain::flows::FlowId) -> Vec<ExecutionRecord> {
    let mut all = store
        .executions(&ExecutionFilter {
            flow: Some(flow),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    all.reverse();
    all
}

fn deactivated(login: &str, uuid: &str, published: &str) -> Value {
    json!({
        "type": "user.lifecycle.deactivate",
        "uuid": uuid,
        "published": published,
        "user": { "id": format!("00u{login}"), "login": format!("{login}@acme.example"), "name": login },
    })
}

async fn okta_event_hooks_start_flows_once_in_order(store: Store) {
    let org = OktaOrg::start();
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;

    // The domain is checked as Okta's guidance says.
    let refused = server
        .post_form(
            &admin,
            "/connections",
            &[
                ("kind", "okta"),
                ("name", "Acme Okta"),
                ("s.domain", "https://acme-admin.okta.com"),
                ("s.client_id", "0oa-idflow"),
            ],
        )
        .await;
    let why = query_param(&location(&refused), "why").unwrap_or_default();
    assert!(why.contains("without its scheme"), "{why}");

    let made = server
        .post_form(
            &admin,
            "/connections",
            &[
                ("kind", "okta".to_string()),
                ("name", "Acme Okta".to_string()),
                ("s.domain", org.domain()),
                ("s.client_id", "0oa-idflow".to_string()),
                ("secret.hook_secret", HOOK_SECRET.to_string()),
            ],
        )
        .await;
    let connection = created_connection_id(&made);
    let hook = Hook {
        url: server.url(&format!("/hooks/okta/{connection}")),
        header: "Authorization".into(),
        secret: Some(HOOK_SECRET.into()),
    };
    let wrong = Hook {
        secret: Some("Bearer not-the-secret".into()),
        ..hook.clone()
    };
    let none = Hook {
        secret: None,
        ..hook.clone()
    };

    // The one-time verification passes with the secret, and only with it.
    let verified = org.verify(&hook).await;
    assert_eq!(verified["ok"], true, "{verified}");
    for bad in [&wrong, &none] {
        let refused = org.verify(bad).await;
        assert_eq!(refused["status"], 401, "{refused}");
    }

    // Two flows listen: one to this org, one to any org; a third to another org.
    let on = |name: &str, connection: Option<&str>| {
        let mut flow = Flow::new(name, "okta.user_deactivated");
        if let Some(id) = connection {
            flow.trigger
                .options
                .insert("connection".into(), Binding::literal(id));
        }
        flow
    };
    let this_org = server
        .store
        .test_flow_on(&on("Offboard (this org)", Some(&connection)))
        .await;
    let any_org = server
        .store
        .test_flow_on(&on("Offboard (any org)", None))
        .await;
    let other_org = server
        .store
        .test_flow_on(&on(
            "Offboard (other org)",
            Some("00000000-0000-0000-0000-000000000001"),
        ))
        .await;
    let on_lock = server
        .store
        .test_flow_on(&Flow::new("Lockout", "okta.user_locked_out"))
        .await;

    // A wrong secret gets 401 and stores nothing.
    let refused = org
        .send(
            &wrong,
            json!([deactivated(
                "mallory",
                "u-mallory",
                "2026-12-06T09:00:00.000Z"
            )]),
        )
        .await;
    assert_eq!(refused["status"], 401, "{refused}");
    assert!(
        refused["body"].as_str().unwrap().contains("errorSummary"),
        "{refused}"
    );
    assert_eq!(dispatch(&server.store).await, 0);
    let page = admin
        .get(server.url(&format!("/connections/{connection}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("okta-no-deliveries"), "nothing was kept");
    assert!(page.contains(&format!("/hooks/okta/{connection}")));
    assert!(page.contains("user.lifecycle.deactivate"));
    assert!(
        !page.contains("hook-s3cret-MARKER"),
        "the secret is never shown"
    );

    // A delivery sent twice (Okta delivers at least once) starts each flow once.
    let events = json!([deactivated("ada", "u-ada", "2026-12-06T10:00:00.000Z")]);
    for _ in 0..2 {
        let sent = org.send(&hook, events.clone()).await;
        assert_eq!(sent["status"], 200, "{sent}");
    }
    assert_eq!(dispatch(&server.store).await, 2);
    for flow in [this_org.id, any_org.id] {
        let runs = executions_of(&server.store, flow).await;
        assert_eq!(runs.len(), 1, "{runs:?}");
        let input = &runs[0].input;
        assert_eq!(input["user"]["login"], "ada@acme.example");
        assert_eq!(input["user"]["id"], "00uada");
        assert_eq!(input["actor"]["login"], "admin@acme.example");
        assert_eq!(input["event_type"], "user.lifecycle.deactivate");
        assert_eq!(input["event"]["uuid"], "u-ada");
        assert_eq!(runs[0].subject.as_deref(), Some("ada@acme.example"));
    }
    assert!(executions_of(&server.store, other_org.id).await.is_empty());
    assert!(executions_of(&server.store, on_lock.id).await.is_empty());
    // Sent again later, once handed over: still nothing new.
    org.send(&hook, events).await;
    assert_eq!(dispatch(&server.store).await, 0);

    // Two deliveries out of order: handed to flows in the order Okta published them.
    org.send(
        &hook,
        json!([deactivated("carol", "u-carol", "2026-12-06T11:00:05.000Z")]),
    )
    .await;
    org.send(
        &hook,
        json!([
            deactivated("bob", "u-bob", "2026-12-06T11:00:01.000Z"),
            { "type": "user.account.lock", "uuid": "u-lock", "user": { "login": "dan@acme.example" } },
            { "type": "user.session.start", "uuid": "u-ignored", "user": { "login": "eve@acme.example" } },
        ]),
    )
    .await;
    assert_eq!(dispatch(&server.store).await, 5);
    let logins: Vec<String> = executions_of(&server.store, this_org.id)
        .await
        .iter()
        .map(|e| e.input["user"]["login"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        logins,
        ["ada@acme.example", "bob@acme.example", "carol@acme.example"]
    );
    assert_eq!(executions_of(&server.store, on_lock.id).await.len(), 1);

    // Not a delivery: a clear 400, nothing kept.
    let bad = reqwest::Client::new()
        .post(&hook.url)
        .header("authorization", HOOK_SECRET)
        .json(&json!({ "data": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("no data.events"));

    // 200 deliveries at once: each answered within Okta's 3-second timeout, each kept.
    let burst = org.burst(&hook, 200).await;
    let statuses = burst["statuses"].as_array().unwrap();
    assert!(statuses.iter().all(|s| s == 200), "{burst}");
    assert!(burst["max_ms"].as_f64().unwrap() < 3000.0, "{burst}");
    let deliveries = server
        .store
        .okta_hook_deliveries(connection.parse().unwrap(), 500)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 205);

    // The connection's page lists the deliveries.
    let page = admin
        .get(server.url(&format!("/connections/{connection}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("okta-deliveries"), "{page}");
    assert!(page.contains("user.lifecycle.create"));
}

domain::backend_tests! {
    async fn okta_event_hooks(store) {
        okta_event_hooks_start_flows_once_in_order(store).await;
    }
}
