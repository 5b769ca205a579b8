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
            limit: 10_000,
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

    // Shared only with the HR folder, the connection's events reach only flows there,
    // as its cards would: a flow elsewhere naming it is stopped, saying why.
    use domain::audit::{Action, Actor, NewEntry, Outcome};
    let logged = |action| NewEntry::new(action, Outcome::Success, Actor::System);
    let hr = server
        .store
        .create_folder("HR", &logged(Action::FolderCreate))
        .await
        .unwrap();
    let author = server.store.test_author("admin@example.com").await;
    let in_hr = server
        .store
        .create_flow(
            &Flow::new("HR suspensions", "okta.user_suspended"),
            Some(hr),
            &author,
            &logged(Action::FlowCreate),
        )
        .await
        .unwrap();
    server
        .store
        .set_flow_enabled(in_hr.id, true, &author, &logged(Action::FlowEnable))
        .await
        .unwrap();
    let top_any = server
        .store
        .test_flow_on(&Flow::new("Suspensions (any org)", "okta.user_suspended"))
        .await;
    let mut naming = Flow::new("Suspensions (this org)", "okta.user_suspended");
    naming
        .trigger
        .options
        .insert("connection".into(), Binding::literal(connection.as_str()));
    let top_named = server.store.test_flow_on(&naming).await;
    let shared = server
        .post_form(
            &admin,
            &format!("/connections/{connection}/sharing"),
            &[("who", "folders"), ("folder", hr.to_string().as_str())],
        )
        .await;
    assert!(
        location(&shared).contains("notice=connection-shared"),
        "{}",
        location(&shared)
    );
    org.send(
        &hook,
        json!([{ "type": "user.lifecycle.suspend", "uuid": "u-suspend", "user": { "id": "00ueve", "login": "eve@acme.example" } }]),
    )
    .await;
    assert_eq!(dispatch(&server.store).await, 1);
    assert_eq!(executions_of(&server.store, in_hr.id).await.len(), 1);
    assert!(executions_of(&server.store, top_any.id).await.is_empty());
    let stopped = executions_of(&server.store, top_named.id).await;
    assert_eq!(stopped.len(), 1);
    assert!(
        stopped[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("not shared with this flow's folder"),
        "{:?}",
        stopped[0].error
    );
    // Its page lists the flow whose trigger names it among those that use it.
    let page = admin
        .get(server.url(&format!("/connections/{connection}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Suspensions (this org)"),
        "the trigger uses it"
    );
}

const ALL_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.apps.manage",
    "okta.logs.read",
];

/// A service-app Okta connection to `org` asking for `scopes`; its id.
async fn service_connection(
    server: &TestServer,
    admin: &reqwest::Client,
    org: &OktaOrg,
    name: &str,
    scopes: &str,
) -> String {
    let made = server
        .post_form(
            admin,
            "/connections",
            &[
                ("kind", "okta".to_string()),
                ("name", name.to_string()),
                ("s.domain", org.domain()),
                ("s.mode", "service".to_string()),
                ("s.client_id", format!("0oa-{name}")),
                ("s.scopes", scopes.to_string()),
            ],
        )
        .await;
    created_connection_id(&made)
}

/// The public JWK idflow made for connection `id` (the page shows the same).
async fn public_jwk(store: &Store, id: &str) -> Value {
    let secrets = store.connection_secrets(id.parse().unwrap()).await.unwrap();
    domain::connectors::okta::public_jwk_of(&secrets).expect("a service app has a key")
}

async fn test_connection(server: &TestServer, admin: &reqwest::Client, id: &str) -> (bool, String) {
    server
        .post_form(admin, &format!("/connections/{id}/test"), &[("go", "")])
        .await;
    let tested = server
        .store
        .connection(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .last_test
        .unwrap();
    (tested.ok, tested.message)
}

fn okta_card(id: u32, kind: &str, connection: &str, inputs: Value) -> domain::flows::Card {
    let mut card = domain::flows::Card::new(id, kind)
        .with_inputs(&[("connection", Binding::literal(connection))]);
    for (name, value) in inputs.as_object().unwrap() {
        card.inputs
            .insert(name.clone(), Binding::literal(value.clone()));
    }
    card
}

async fn okta_cards_act_on_the_org_as_okta_documents(store: Store) {
    let org = OktaOrg::start();
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let scopes = "okta.users.manage okta.groups.manage okta.apps.manage okta.logs.read";
    let acme = service_connection(&server, &admin, &org, "acme", scopes).await;
    let jwk = public_jwk(&server.store, &acme).await;
    assert_eq!(jwk["kty"], "EC");
    let page = admin
        .get(server.url(&format!("/connections/{acme}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("okta-public-jwk"),
        "the page shows the public key"
    );
    assert!(page.contains(jwk["x"].as_str().unwrap()));

    // Not registered at the org yet: the test names the client as the problem.
    let (ok, said) = test_connection(&server, &admin, &acme).await;
    assert!(!ok);
    assert!(
        said.contains("invalid_client") || said.contains("client_id"),
        "{said}"
    );

    // Registered without one scope the connection asks for: the test names it.
    let without_apps: Vec<&str> = ALL_SCOPES
        .iter()
        .copied()
        .filter(|s| *s != "okta.apps.manage")
        .collect();
    org.register_client("0oa-acme", &jwk, &without_apps).await;
    let (ok, said) = test_connection(&server, &admin, &acme).await;
    assert!(!ok);
    assert!(said.contains("okta.apps.manage"), "{said}");

    // Every scope granted: a token (private_key_jwt, DPoP with Okta's nonce), a user read.
    org.register_client("0oa-acme", &jwk, ALL_SCOPES).await;
    let (ok, said) = test_connection(&server, &admin, &acme).await;
    assert!(ok, "{said}");
    let page = admin
        .get(server.url(&format!("/connections/{acme}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("requests left"),
        "the rate-limit budget is shown"
    );

    org.seed_users(json!([
        { "id": "00uada", "login": "ada@acme.example", "email": "ada@acme.example", "firstName": "Ada", "lastName": "Lovelace", "department": "Sales", "managerId": "00uboss" },
        { "id": "00ubob", "status": "LOCKED_OUT", "login": "bob@acme.example", "email": "bob@acme.example", "firstName": "Bob", "lastName": "Lee", "department": "IT" },
        { "id": "00uboss", "login": "boss@acme.example", "email": "boss@acme.example", "firstName": "Grace", "lastName": "Hopper", "department": "Sales" },
    ]))
    .await;
    org.seed_group("00gsales", "Sales", &["00uada"]).await;
    org.seed_logs(json!([
        { "type": "user.lifecycle.deactivate", "published": "2026-12-02T10:00:00.000Z", "user": { "id": "00ux", "login": "x@acme.example" } },
        { "type": "user.session.start", "published": "2026-12-03T10:00:00.000Z", "user": { "id": "00uada", "login": "ada@acme.example" } },
    ]))
    .await;

    let mut flow = Flow::new("Every Okta card", "trigger.manual");
    flow.cards = vec![
        okta_card(
            1,
            "okta.read_user",
            &acme,
            json!({ "user": "ada@acme.example" }),
        ),
        okta_card(
            2,
            "okta.search_users",
            &acme,
            json!({ "search": "profile.department eq \"Sales\"" }),
        ),
        okta_card(
            3,
            "okta.update_profile",
            &acme,
            json!({ "user": "00uada", "profile": { "title": "Lead" } }),
        ),
        okta_card(
            4,
            "okta.create_user",
            &acme,
            json!({ "profile": { "login": "cara@acme.example", "email": "cara@acme.example", "firstName": "Cara", "lastName": "Diaz" } }),
        ),
        okta_card(5, "okta.suspend_user", &acme, json!({ "user": "00uada" })),
        okta_card(6, "okta.unsuspend_user", &acme, json!({ "user": "00uada" })),
        okta_card(
            7,
            "okta.unlock_user",
            &acme,
            json!({ "user": "bob@acme.example" }),
        ),
        okta_card(8, "okta.reset_factors", &acme, json!({ "user": "00uada" })),
        okta_card(9, "okta.clear_sessions", &acme, json!({ "user": "00uada" })),
        okta_card(
            10,
            "okta.add_to_group",
            &acme,
            json!({ "user": "cara@acme.example", "group": "00gsales" }),
        ),
        okta_card(
            11,
            "okta.remove_from_group",
            &acme,
            json!({ "user": "00uada", "group": "00gsales" }),
        ),
        okta_card(
            12,
            "okta.assign_app",
            &acme,
            json!({ "user": "00ubob", "app": "0oaslack" }),
        ),
        okta_card(
            13,
            "okta.assign_app",
            &acme,
            json!({ "user": "00uada", "app": "0oaslack" }),
        ),
        okta_card(
            14,
            "okta.unassign_app",
            &acme,
            json!({ "user": "00uada", "app": "0oaslack" }),
        ),
        okta_card(15, "okta.read_group", &acme, json!({ "group": "00gsales" })),
        okta_card(
            16,
            "okta.list_group_members",
            &acme,
            json!({ "group": "00gsales" }),
        ),
        okta_card(17, "okta.list_users", &acme, json!({ "limit": 2 })),
        okta_card(
            18,
            "okta.deactivate_user",
            &acme,
            json!({ "user": "00ubob" }),
        ),
        okta_card(19, "okta.activate_user", &acme, json!({ "user": "00ubob" })),
        okta_card(
            20,
            "okta.search_system_log",
            &acme,
            json!({
                "since": "2026-12-01T00:00:00Z",
                "keyword": "deactivate",
                "pairs": { "eventType": "user.lifecycle.deactivate" },
                "custom_filter": "outcome.result eq \"SUCCESS\"",
            }),
        ),
        okta_card(
            21,
            "okta.custom_api_action",
            &acme,
            json!({ "method": "GET", "path": "/api/v1/users/00uboss" }),
        ),
    ];
    let done = run_by_hand(&server.store, &flow).await;
    assert_eq!(
        done.status,
        domain::engine::Status::Succeeded,
        "{:?}",
        done.error
    );
    let steps = server.store.execution_steps(done.id).await.unwrap();
    let out = |card: u32| {
        steps
            .iter()
            .find(|s| s.card_id == card)
            .and_then(|s| s.outputs.clone())
            .unwrap_or_default()
    };
    assert_eq!(out(1)["user"]["login"], "ada@acme.example");
    assert_eq!(out(1)["user"]["manager_id"], "00uboss");
    assert!(out(1)["request_id"].as_str().unwrap().starts_with("req"));
    assert_eq!(out(2)["count"], 2, "{}", out(2));
    assert_eq!(out(3)["user"]["profile"]["title"], "Lead");
    assert_eq!(out(4)["user"]["status"], "ACTIVE");
    assert_eq!(out(15)["group"]["name"], "Sales");
    assert_eq!(out(16)["count"], 1);
    assert_eq!(out(17)["count"], 2);
    assert!(
        out(17)["next"].as_str().unwrap().contains("after="),
        "{}",
        out(17)
    );
    assert_eq!(out(20)["count"], 1, "{}", out(20));
    assert_eq!(out(21)["status"], 200);
    assert_eq!(out(21)["body"]["profile"]["firstName"], "Grace");

    // What the org holds now, and the System Log query as Okta Workflows builds it.
    let state = org.state().await;
    let status_of = |login: &str| {
        state["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["profile"]["login"] == login)
            .map(|u| u["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status_of("ada@acme.example"), "ACTIVE");
    assert_eq!(status_of("bob@acme.example"), "ACTIVE");
    assert_eq!(status_of("cara@acme.example"), "ACTIVE");
    let cara = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["profile"]["login"] == "cara@acme.example")
        .unwrap()["id"]
        .clone();
    assert_eq!(state["groups"]["00gsales"], json!([cara]));
    assert_eq!(state["assignments"], json!([["0oaslack", "00ubob"]]));
    let calls = org.calls().await;
    let log = calls.iter().find(|c| c["path"] == "/api/v1/logs").unwrap();
    assert_eq!(
        log["query"],
        json!({
            "since": "2026-12-01T00:00:00.000Z",
            "q": "deactivate",
            "filter": "eventType eq \"user.lifecycle.deactivate\" and (outcome.result eq \"SUCCESS\")",
            "limit": "200",
        })
    );
    let lifecycle: Vec<String> = calls
        .iter()
        .filter(|c| c["path"].as_str().unwrap().contains("/lifecycle/"))
        .map(|c| {
            format!(
                "{} {}",
                c["method"].as_str().unwrap(),
                c["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        lifecycle,
        [
            "POST /api/v1/users/00uada/lifecycle/suspend",
            "POST /api/v1/users/00uada/lifecycle/unsuspend",
            "POST /api/v1/users/bob%40acme.example/lifecycle/unlock",
            "POST /api/v1/users/00uada/lifecycle/reset_factors",
            "POST /api/v1/users/00ubob/lifecycle/deactivate",
            "POST /api/v1/users/00ubob/lifecycle/activate",
        ]
    );

    // Without saving all data, a card's record keeps only Okta's request id.
    let mut quiet = Flow::new("Quiet read", "trigger.manual");
    quiet.cards = vec![okta_card(
        1,
        "okta.read_user",
        &acme,
        json!({ "user": "00uada" }),
    )];
    quiet.settings.save_all_data = false;
    let done = run_by_hand(&server.store, &quiet).await;
    let steps = server.store.execution_steps(done.id).await.unwrap();
    let kept = steps[0].outputs.clone().unwrap();
    assert_eq!(kept.as_object().unwrap().len(), 1, "{kept}");
    assert!(kept["request_id"].as_str().unwrap().starts_with("req"));

    // A token without a card's scope: the card names it.
    let narrow = service_connection(&server, &admin, &org, "narrow", "").await;
    org.register_client(
        "0oa-narrow",
        &public_jwk(&server.store, &narrow).await,
        ALL_SCOPES,
    )
    .await;
    let mut needs_logs = Flow::new("Needs logs", "trigger.manual");
    needs_logs.cards = vec![okta_card(1, "okta.search_system_log", &narrow, json!({}))];
    let failed = run_by_hand(&server.store, &needs_logs).await;
    assert_eq!(failed.status, domain::engine::Status::Failed);
    let why = failed.error.unwrap_or_default();
    assert!(why.contains("missing scope okta.logs.read"), "{why}");

    // A 429 waits until the budget resets (holding no worker), then the card runs.
    org.throttle(1, 2).await;
    let waits = server.store.test_flow_on(&quiet).await;
    let id = server
        .store
        .enqueue_execution(&domain::store::NewExecution::by_hand(
            waits.id,
            waits.version,
            json!({}),
        ))
        .await
        .unwrap()
        .unwrap();
    let runner = domain::engine::runner::Runner::new(server.store.clone(), "test");
    runner.drain().await.unwrap();
    let waiting = server.store.execution(id).await.unwrap().unwrap();
    assert!(
        !waiting.status.is_final(),
        "{:?} {:?} {:?}",
        waiting.status,
        waiting.error,
        server.store.execution_steps(id).await.unwrap()
    );
    let steps = server.store.execution_steps(id).await.unwrap();
    assert_eq!(steps[0].status, "rate_limited");
    assert!(
        steps[0]
            .error
            .as_deref()
            .unwrap()
            .contains("rate limit is spent")
    );
    let mut ended = None;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        runner.drain().await.unwrap();
        let now = server.store.execution(id).await.unwrap().unwrap();
        if now.status.is_final() {
            ended = Some(now);
            break;
        }
    }
    let ended = ended.expect("the execution ran once the budget reset");
    assert_eq!(
        ended.status,
        domain::engine::Status::Succeeded,
        "{:?}",
        ended.error
    );
    let steps = server.store.execution_steps(id).await.unwrap();
    assert_eq!(steps.last().unwrap().attempt, 1, "waiting spent no retry");
}

/// A helper flow that takes each streamed record (it composes a line from it), and the
/// flow whose List Users card streams every user of the org to it.
fn streaming_flows(connection: &str, limit: u32) -> (Flow, Flow) {
    let mut helper = Flow::new("Each Okta user", "trigger.helper");
    helper.cards = vec![domain::flows::Card::new(1, "text.compose").with_inputs(&[(
        "template",
        Binding::template("{{ trigger.item.login }} ({{ trigger.index }}, {{ trigger.input }})"),
    )])];
    let mut streams = Flow::new("Every Okta user", "trigger.manual");
    streams.cards = vec![okta_card(
        1,
        "okta.list_users",
        connection,
        json!({ "mode": "Stream", "flow": "Each Okta user", "input": "shared", "limit": limit }),
    )];
    (helper, streams)
}

/// Checks that `helper` ran once for each of the org's `count` load users, each
/// succeeded, and that `streaming` ended having streamed them all.
async fn each_user_streamed_once(
    store: &Store,
    streaming: domain::engine::ExecutionId,
    helper: domain::flows::FlowId,
    count: usize,
) {
    let done = store.execution(streaming).await.unwrap().unwrap();
    assert_eq!(
        done.status,
        domain::engine::Status::Succeeded,
        "{:?}",
        done.error
    );
    let steps = store.execution_steps(streaming).await.unwrap();
    let out = steps.last().unwrap().outputs.clone().unwrap_or_default();
    assert_eq!(out["count"], count, "{out}");
    let helpers = executions_of(store, helper).await;
    assert_eq!(helpers.len(), count, "one helper execution per user");
    let mut ids: Vec<String> = helpers
        .iter()
        .map(|h| h.input["item"]["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "no user was handed over twice");
    assert_eq!(ids[0], "00uload00000");
    assert!(
        helpers
            .iter()
            .all(|h| h.status == domain::engine::Status::Succeeded && h.input["input"] == "shared"),
        "every helper succeeded with the shared input"
    );
}

/// Stream mode: List Users follows Okta's `Link: rel="next"` through 1,000 users in
/// 5 pages and hands each to the helper flow exactly once; a 429 between pages waits for
/// the reset and reads the page it reached again; Search System Log streams until Okta's
/// polling read gives an empty page.
async fn stream_mode_hands_every_record_to_a_helper_once(store: Store) {
    let org = OktaOrg::start();
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let scopes = "okta.users.read okta.logs.read";
    let acme = service_connection(&server, &admin, &org, "stream", scopes).await;
    org.register_client(
        "0oa-stream",
        &public_jwk(&server.store, &acme).await,
        ALL_SCOPES,
    )
    .await;
    org.seed_many_users(1000).await;

    let (helper, streams) = streaming_flows(&acme, 200);
    let helper = server.store.test_flow_on(&helper).await;
    let streams = server.store.test_flow_on(&streams).await;
    let id = server
        .store
        .enqueue_execution(&domain::store::NewExecution::by_hand(
            streams.id,
            streams.version,
            json!({}),
        ))
        .await
        .unwrap()
        .unwrap();
    let runner = domain::engine::runner::Runner::new(server.store.clone(), "test");
    // The first page: 200 helpers started, the stream waits for them.
    assert_eq!(runner.run_one().await.unwrap(), Some(id));
    let waiting = server.store.execution(id).await.unwrap().unwrap();
    assert_eq!(waiting.status, domain::engine::Status::Waiting);
    assert_eq!(executions_of(&server.store, helper.id).await.len(), 200);

    // Okta's budget is spent when the stream reads the second page: it waits for the
    // reset without spending a retry, then reads that page, not the first.
    org.throttle(1, 1).await;
    runner.drain().await.unwrap();
    let steps = server.store.execution_steps(id).await.unwrap();
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(steps[0].status, "rate_limited");
    let mut ended = false;
    for _ in 0..80 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        runner.drain().await.unwrap();
        if server
            .store
            .execution(id)
            .await
            .unwrap()
            .unwrap()
            .status
            .is_final()
        {
            ended = true;
            break;
        }
    }
    assert!(ended, "the stream ended once the budget reset");
    each_user_streamed_once(&server.store, id, helper.id, 1000).await;
    let steps = server.store.execution_steps(id).await.unwrap();
    let last = steps.last().unwrap();
    assert_eq!(last.attempt, 1, "waiting spent no retry");
    assert_eq!(last.outputs.clone().unwrap()["pages"], 5);
    let pages: Vec<String> = org
        .calls()
        .await
        .iter()
        .filter(|c| c["path"] == "/api/v1/users" && c["method"] == "GET")
        .map(|c| c["query"]["after"].as_str().unwrap_or("first").to_string())
        .collect();
    assert_eq!(
        pages,
        [
            "first",
            "00uload00199",
            "00uload00199",
            "00uload00399",
            "00uload00599",
            "00uload00799"
        ],
        "each page read once, the throttled one again after the reset"
    );

    // Search System Log in Stream mode: Okta's polling read (no `until`) always offers a
    // next page; the empty one ends the stream.
    let events: Vec<Value> = (0..250)
        .map(|i| json!({ "type": "user.session.start", "uuid": format!("ev-{i:03}"), "published": format!("2026-12-03T10:{:02}:{:02}.000Z", i / 60, i % 60), "user": { "id": format!("00uload{i:05}"), "login": "x" } }))
        .collect();
    org.seed_logs(json!(events)).await;
    let mut per_event = Flow::new("Each event", "trigger.helper");
    per_event.cards = vec![
        domain::flows::Card::new(1, "text.compose")
            .with_inputs(&[("template", Binding::template("{{ trigger.item.uuid }}"))]),
    ];
    let per_event = server.store.test_flow_on(&per_event).await;
    let mut logs = Flow::new("Every session", "trigger.manual");
    logs.cards = vec![okta_card(
        1,
        "okta.search_system_log",
        &acme,
        json!({ "mode": "stream", "flow": "Each event", "since": "2026-12-03T00:00:00Z", "pairs": { "eventType": "user.session.start" }, "limit": 100 }),
    )];
    let done = run_by_hand(&server.store, &logs).await;
    assert_eq!(
        done.status,
        domain::engine::Status::Succeeded,
        "{:?}",
        done.error
    );
    let out = server.store.execution_steps(done.id).await.unwrap()[0]
        .outputs
        .clone()
        .unwrap();
    assert_eq!(
        (out["count"].clone(), out["pages"].clone()),
        (json!(250), json!(4))
    );
    let mut uuids: Vec<String> = executions_of(&server.store, per_event.id)
        .await
        .iter()
        .map(|e| e.input["item"]["uuid"].as_str().unwrap().to_string())
        .collect();
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), 250);

    // List Group Members streams a group's members (2 pages of 2); a helper that fails
    // fails the card once every page was read, naming the records.
    org.seed_group(
        "00gload",
        "Load",
        &["00uload00001", "00uload00002", "00uload00003"],
    )
    .await;
    let mut failing = Flow::new("No desk", "trigger.helper");
    failing.cards = vec![
        domain::flows::Card::new(1, "flow.raise_error").with_inputs(&[(
            "message",
            Binding::template("no desk for {{ trigger.item.login }}"),
        )]),
    ];
    let failing = server.store.test_flow_on(&failing).await;
    let mut members = Flow::new("Every member", "trigger.manual");
    members.cards = vec![okta_card(
        1,
        "okta.list_group_members",
        &acme,
        json!({ "mode": "Stream", "flow": "No desk", "group": "00gload", "limit": 2 }),
    )];
    let done = run_by_hand(&server.store, &members).await;
    assert_eq!(done.status, domain::engine::Status::Failed);
    let why = done.error.unwrap_or_default();
    assert!(why.contains("3 of 3 helper executions failed"), "{why}");
    assert!(why.contains("no desk for user00001@acme.example"), "{why}");
    assert_eq!(executions_of(&server.store, failing.id).await.len(), 3);

    // A mode the card does not have is refused, naming both it has.
    let mut wrong = Flow::new("Wrong mode", "trigger.manual");
    wrong.cards = vec![okta_card(
        1,
        "okta.list_users",
        &acme,
        json!({ "mode": "all" }),
    )];
    let done = run_by_hand(&server.store, &wrong).await;
    let why = done.error.unwrap_or_default();
    assert!(
        why.contains("neither \"First 200\" nor \"Stream\""),
        "{why}"
    );
}

async fn an_okta_admin_authorizes_a_connection(store: Store) {
    let org = OktaOrg::start();
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let made = server
        .post_form(
            &admin,
            "/connections",
            &[
                ("kind", "okta".to_string()),
                ("name", "Acme (authorized)".to_string()),
                ("s.domain", org.domain()),
                ("s.mode", "authorization_code".to_string()),
                ("s.client_id", "0oa-web".to_string()),
                ("secret.client_secret", "web-s3cret-MARKER".to_string()),
                ("s.scopes", "okta.users.manage".to_string()),
            ],
        )
        .await;
    let id = created_connection_id(&made);
    let callback = server.url("/connections/okta/callback");
    org.register_web_client(
        "0oa-web",
        "web-s3cret-MARKER",
        &callback,
        &["okta.users.read", "okta.groups.read", "okta.users.manage"],
    )
    .await;

    // Before anyone authorises it, the test says what to do.
    let (ok, said) = test_connection(&server, &admin, &id).await;
    assert!(!ok);
    assert!(said.contains("not authorized yet"), "{said}");

    // Authorize with Okta: off to the org's consent page, with PKCE and every scope.
    let started = server
        .post_form(
            &admin,
            &format!("/connections/{id}/okta/authorize"),
            &[("go", "")],
        )
        .await;
    let to = location(&started);
    assert!(
        to.starts_with(&format!("http://{}/oauth2/v1/authorize?", org.domain())),
        "{to}"
    );
    assert!(to.contains("code_challenge_method=S256"), "{to}");
    let (page, back) = org.consent(&to).await;
    assert!(
        page.contains("offline_access") && page.contains("okta.users.manage"),
        "{page}"
    );
    assert!(back.starts_with(&callback), "{back}");

    // A stranger's session cannot complete it.
    let stranger = server.client_as(Role::SuperAdmin).await;
    let refused = stranger.get(&back).send().await.unwrap();
    assert!(
        location(&refused).contains("okta-authorize-failed"),
        "{}",
        location(&refused)
    );

    let finished = admin.get(&back).send().await.unwrap();
    assert!(
        location(&finished).ends_with("notice=okta-authorized"),
        "{}",
        location(&finished)
    );
    let connection = server
        .store
        .connection(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        connection
            .secret_fields
            .iter()
            .any(|f| f == "refresh_token")
    );
    let (ok, said) = test_connection(&server, &admin, &id).await;
    assert!(ok, "{said}");

    // Cards act with the refreshed bearer token.
    org.seed_users(json!([{ "id": "00uzed", "login": "zed@acme.example", "email": "zed@acme.example", "firstName": "Zed", "lastName": "Z" }])).await;
    let mut flow = Flow::new("Suspend Zed", "trigger.manual");
    flow.cards = vec![okta_card(
        1,
        "okta.suspend_user",
        &id,
        json!({ "user": "zed@acme.example" }),
    )];
    let done = run_by_hand(&server.store, &flow).await;
    assert_eq!(
        done.status,
        domain::engine::Status::Succeeded,
        "{:?}",
        done.error
    );
    assert_eq!(org.state().await["users"][0]["status"], "SUSPENDED");

    // Reauthorize asking for a scope the app was not granted: Okta's refusal is shown.
    let changed = server
        .post_form(
            &admin,
            &format!("/connections/{id}"),
            &[
                ("version", connection.version.to_string()),
                ("name", "Acme (authorized)".to_string()),
                ("s.domain", org.domain()),
                ("s.mode", "authorization_code".to_string()),
                ("s.client_id", "0oa-web".to_string()),
                ("s.scopes", "okta.users.manage okta.logs.read".to_string()),
            ],
        )
        .await;
    assert!(
        location(&changed).ends_with("notice=connection-saved"),
        "{}",
        location(&changed)
    );
    let started = server
        .post_form(
            &admin,
            &format!("/connections/{id}/okta/authorize"),
            &[("go", "")],
        )
        .await;
    let (_, back) = org.consent(&location(&started)).await;
    let refused = admin.get(&back).send().await.unwrap();
    let why = query_param(&location(&refused), "why").unwrap_or_default();
    assert!(why.contains("okta.logs.read"), "{why}");
    // The earlier authorisation still works, and the test names the scope it lacks.
    let (ok, said) = test_connection(&server, &admin, &id).await;
    assert!(!ok);
    assert!(said.contains("did not grant okta.logs.read"), "{said}");
}

async fn the_okta_offboarding_template_acts_on_a_deactivation(store: Store) {
    let org = OktaOrg::start();
    let (slack, arrived) = common::slack::slack().await;
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let made = server
        .post_form(
            &admin,
            "/connections",
            &[
                ("kind", "okta".to_string()),
                ("name", "Acme Okta".to_string()),
                ("s.domain", org.domain()),
                ("s.mode", "service".to_string()),
                ("s.client_id", "0oa-acme".to_string()),
                (
                    "s.scopes",
                    "okta.users.manage okta.groups.manage".to_string(),
                ),
                ("secret.hook_secret", HOOK_SECRET.to_string()),
            ],
        )
        .await;
    let acme = created_connection_id(&made);
    org.register_client(
        "0oa-acme",
        &public_jwk(&server.store, &acme).await,
        ALL_SCOPES,
    )
    .await;
    let made = server
        .post_form(
            &admin,
            "/connections",
            &[
                ("kind", "slack".to_string()),
                ("name", "Acme Slack".to_string()),
                ("s.mode", "bot".to_string()),
                ("s.api_url", format!("{slack}/api")),
                ("secret.bot_token", common::slack::BOT_TOKEN.to_string()),
            ],
        )
        .await;
    let chat = created_connection_id(&made);
    let installed = server
        .post_form(
            &admin,
            "/flows/templates/okta-offboarding",
            &[
                ("connection.okta", acme.as_str()),
                ("connection.slack", chat.as_str()),
            ],
        )
        .await;
    assert_eq!(location(&installed), "/flows?notice=template-installed");
    for flow in server.store.flows().await.unwrap() {
        if flow.trigger_kind != "trigger.helper" {
            let on = server
                .post_form(
                    &admin,
                    &format!("/flows/{}/enabled", flow.id),
                    &[("enabled", "true")],
                )
                .await;
            assert_eq!(location(&on), "/flows?notice=flow-on", "{}", flow.name);
        }
    }
    org.seed_users(json!([{ "id": "00uada", "login": "ada@acme.example", "email": "ada@acme.example", "firstName": "Ada", "lastName": "Lovelace" }])).await;
    org.seed_group("00gsales", "Sales", &["00uada"]).await;
    org.seed_group("00gall", "Everyone", &["00uada"]).await;

    let hook = Hook {
        url: server.url(&format!("/hooks/okta/{acme}")),
        header: "Authorization".into(),
        secret: Some(HOOK_SECRET.into()),
    };
    let sent = org
        .send(&hook, json!([{ "type": "user.lifecycle.deactivate", "user": { "id": "00uada", "login": "ada@acme.example", "name": "Ada Lovelace" } }]))
        .await;
    assert_eq!(sent["status"], 200, "{sent}");
    assert_eq!(dispatch(&server.store).await, 1);
    let runner = domain::engine::runner::Runner::new(server.store.clone(), "test");
    for _ in 0..10 {
        if runner.drain().await.unwrap() == 0 {
            break;
        }
    }
    let state = org.state().await;
    assert_eq!(state["groups"], json!({ "00gsales": [], "00gall": [] }));
    let calls: Vec<String> = org
        .calls()
        .await
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c["method"].as_str().unwrap(),
                c["path"].as_str().unwrap(),
                c["status"]
            )
        })
        .collect();
    assert!(
        calls.contains(&"DELETE /api/v1/users/00uada/sessions 204".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"DELETE /api/v1/groups/00gsales/users/00uada 204".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"DELETE /api/v1/groups/00gall/users/00uada 204".to_string()),
        "{calls:?}"
    );
    let posted: Vec<String> = arrived
        .lock()
        .unwrap()
        .iter()
        .filter(|(method, body)| {
            method == "chat.postMessage" && body["channel"] == "#it-offboarding"
        })
        .map(|(_, body)| body["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(
        posted[0].contains("Ada Lovelace (ada@acme.example)")
            && posted[0].contains("removed from 2 groups"),
        "{posted:?}"
    );
    let table = server
        .store
        .table_by_name("okta offboarded")
        .await
        .unwrap()
        .unwrap();
    let (rows, total) = server
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
    assert_eq!((rows.len(), total), (1, 1));
}

domain::backend_tests! {
    async fn okta_offboarding_template(store) {
        the_okta_offboarding_template_acts_on_a_deactivation(store).await;
    }

    async fn okta_authorization_code(store) {
        an_okta_admin_authorizes_a_connection(store).await;
    }

    async fn okta_event_hooks(store) {
        okta_event_hooks_start_flows_once_in_order(store).await;
    }

    async fn okta_cards(store) {
        okta_cards_act_on_the_org_as_okta_documents(store).await;
    }

    async fn okta_stream_mode(store) {
        stream_mode_hands_every_record_to_a_helper_once(store).await;
    }
}

/// Stream mode survives the server being killed mid-stream: `idflow serve` runs in its
/// own process and is killed (SIGKILL) twice while List Users streams 1,000 users in
/// 5 pages; started again, it goes on from the page it reached, and the helper flow has
/// run exactly once for each user.
async fn a_stream_survives_kills(db: domain::store::testing::TestDb) {
    use common::process::{start_server, wait_until_running};
    // The server process opens the connection's sealed secrets with the same key.
    let (key, key_text) = domain::secrets::SecretKey::generate_with_text();
    let store = Store::open(&db.url).await.unwrap();
    store.use_secret_key(key);
    let org = OktaOrg::start();
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let acme = service_connection(&server, &admin, &org, "killed", "okta.users.read").await;
    org.register_client(
        "0oa-killed",
        &public_jwk(&server.store, &acme).await,
        ALL_SCOPES,
    )
    .await;
    org.seed_many_users(1000).await;
    let (helper, streams) = streaming_flows(&acme, 200);
    let helper = server.store.test_flow_on(&helper).await;
    let streams = server.store.test_flow_on(&streams).await;
    let id = server
        .store
        .enqueue_execution(&domain::store::NewExecution::by_hand(
            streams.id,
            streams.version,
            json!({}),
        ))
        .await
        .unwrap()
        .unwrap();

    let data = tempfile::tempdir().unwrap();
    let key_text = secrecy::ExposeSecret::expose_secret(&key_text).to_string();
    let env = [
        ("IDFLOW_SECRET_KEY", key_text.as_str()),
        ("IDFLOW_OUTBOUND_ALLOW", "127.0.0.1"),
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    // Killed once while the second page's helpers start, once in the fourth page.
    for kill_at in [250, 650] {
        let mut process = start_server(&db.url, data.path(), &env);
        wait_until_running(&mut process);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "the stream reached {kill_at} helpers in time"
            );
            let started = executions_of(&server.store, helper.id).await.len();
            if started >= kill_at {
                println!("killed with {started} helpers started");
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        process.kill().expect("SIGKILL the server");
        process.wait().unwrap();
    }
    let mut process = start_server(&db.url, data.path(), &env);
    wait_until_running(&mut process);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the stream ended in time"
        );
        let streaming = server.store.execution(id).await.unwrap().unwrap();
        let helpers = executions_of(&server.store, helper.id).await;
        if streaming.status.is_final() && helpers.iter().all(|h| h.status.is_final()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    process.kill().unwrap();
    process.wait().unwrap();
    each_user_streamed_once(&server.store, id, helper.id, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stream_survives_kills() {
    a_stream_survives_kills(domain::store::testing::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stream_survives_kills() {
    let Some(db) = domain::store::testing::postgres().await else {
        return;
    };
    a_stream_survives_kills(db).await;
}
