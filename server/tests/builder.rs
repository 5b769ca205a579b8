//! The builder's server functions through the real router: open an empty flow, check a
//! flow against the catalog, save it as a new flow and then as new versions, refuse a
//! stale save and a taken name with a sentence, and leave a System Log trail; on both
//! backends.

mod common;

use common::*;
use domain::access::Role;
use domain::flows::{Binding, Card, Flow, FlowId, Source};
use domain::store::Store;
use reqwest::StatusCode;
use serde_json::Value;

fn offboarding_log() -> Flow {
    let mut flow = Flow::new("Offboarding log", "directory.user_deactivated");
    flow.cards = vec![
        Card::new(1, "directory.clear_sessions")
            .with_inputs(&[("user", Binding::mapping(Source::Trigger, "user.id"))]),
        Card::new(2, "tables.create_row").with_inputs(&[
            ("table", Binding::literal("offboarded")),
            ("row.email", Binding::mapping(Source::Trigger, "user.email")),
            ("row.when", Binding::mapping(Source::Trigger, "occurred_at")),
        ]),
    ];
    flow
}

async fn post_fn(
    client: &reqwest::Client,
    server: &TestServer,
    path: &str,
    form: &[(&str, String)],
) -> (StatusCode, String) {
    let response = client
        .post(server.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn the_builder_opens_checks_and_saves_versions(store: Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let auditor = server.client_as(Role::WorkflowsAuditor).await;

    // A new flow opens empty, with the problems that say what to do first.
    let (status, body) = post_fn(
        &admin,
        &server,
        "/api/builder/setup",
        &[("id", "new".into())],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let setup: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(setup["flow_id"], Value::Null);
    assert_eq!(setup["version"], 0);
    let messages = setup["problems"].to_string();
    assert!(messages.contains("needs a name"), "{messages}");
    // An auditor may not start one.
    let (status, _) = post_fn(
        &auditor,
        &server,
        "/api/builder/setup",
        &[("id", "new".into())],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The check places each problem on its card and input.
    let mut broken = offboarding_log();
    broken.cards[0].inputs.clear();
    let (status, body) = post_fn(
        &admin,
        &server,
        "/api/builder/check",
        &[("definition", broken.to_stable_json())],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let problems: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["card"], 1);
    assert_eq!(problems[0]["input"], "user");
    let (status, body) = post_fn(
        &admin,
        &server,
        "/api/builder/check",
        &[("definition", "{ not json".to_string())],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("could not be read"), "{body}");

    // Saving without a name is refused; saving a named flow makes it, off.
    let (status, body) = post_fn(
        &admin,
        &server,
        "/api/builder/save",
        &[
            ("based_on", "0".into()),
            (
                "definition",
                Flow::new(" ", "directory.user_deactivated").to_stable_json(),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Name the flow"), "{body}");
    assert!(server.store.flows().await.unwrap().is_empty());
    let flow = offboarding_log();
    let (status, body) = post_fn(
        &admin,
        &server,
        "/api/builder/save",
        &[
            ("based_on", "0".into()),
            ("definition", flow.to_stable_json()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let saved: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["enabled"], false);
    let id = saved["flow_id"].as_str().unwrap().to_string();
    let flow_id = FlowId(uuid::Uuid::parse_str(&id).unwrap());
    let stored = server
        .store
        .flow_version(flow_id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.definition, flow,
        "the flow is stored as the builder sent it"
    );
    let admin_name = format!("{}@example.com", Role::WorkflowsAdministrator.as_str());
    assert_eq!(stored.author, admin_name);

    // It opens with its current version and no problems.
    let (status, body) =
        post_fn(&admin, &server, "/api/builder/setup", &[("id", id.clone())]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let setup: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(setup["version"], 1);
    assert_eq!(setup["problems"], Value::Array(vec![]));
    let opened: Flow = serde_json::from_str(setup["definition"].as_str().unwrap()).unwrap();
    assert_eq!(opened, flow);
    // An auditor may look at it, but not save it.
    let (status, body) = post_fn(
        &auditor,
        &server,
        "/api/builder/setup",
        &[("id", id.clone())],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["can_edit"],
        false
    );
    let (status, _) = post_fn(
        &auditor,
        &server,
        "/api/builder/save",
        &[
            ("id", id.clone()),
            ("based_on", "1".into()),
            ("definition", flow.to_stable_json()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A second save makes version 2; a save still based on version 1 is refused and
    // changes nothing.
    let mut changed = flow.clone();
    changed.description = "Keeps a log of who left.".into();
    let save = |based_on: &str, definition: &Flow| {
        vec![
            ("id", id.clone()),
            ("based_on", based_on.to_string()),
            ("definition", definition.to_stable_json()),
        ]
    };
    let (status, body) = post_fn(&admin, &server, "/api/builder/save", &save("1", &changed)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["version"], 2);
    let (status, body) = post_fn(&admin, &server, "/api/builder/save", &save("1", &flow)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Someone saved version 2"), "{body}");
    let current = server
        .store
        .flow_version(flow_id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((current.version, current.definition), (2, changed));

    // Another flow may not take its name.
    let (status, body) = post_fn(
        &admin,
        &server,
        "/api/builder/save",
        &[
            ("based_on", "0".into()),
            (
                "definition",
                Flow::new("offboarding LOG", "trigger.manual").to_stable_json(),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("already exists"), "{body}");
    assert_eq!(server.store.flows().await.unwrap().len(), 1);

    // After a Test Flow run, the builder opens with what each card did in it.
    let test = server
        .store
        .enqueue_execution(&domain::store::NewExecution {
            flow: flow_id,
            flow_version: 2,
            trigger_kind: "directory.user_deactivated".into(),
            input: serde_json::json!({"user": {"id": "nobody", "email": "nobody@example.com"}}),
            subject: None,
            dedupe_key: None,
            causal_chain: vec![],
            parent: None,
            test: true,
            dry_run: false,
            acting_for: None,
        })
        .await
        .unwrap()
        .unwrap();
    domain::engine::runner::Runner::new(server.store.clone(), "w")
        .drain()
        .await
        .unwrap();
    let (status, body) =
        post_fn(&admin, &server, "/api/builder/setup", &[("id", id.clone())]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let last = &serde_json::from_str::<Value>(&body).unwrap()["last_test"];
    assert_eq!(last["execution_id"], test.to_string());
    assert_eq!(last["version"], 2);
    assert_eq!(last["cards"][0]["card"], 1, "{last}");
    assert!(
        last["cards"][0]["inputs"]
            .as_str()
            .unwrap()
            .contains("nobody"),
        "{last}"
    );

    // Each save is in the System Log, by the admin, saying where it came from.
    let log = server.store.recent_audit(10).await.unwrap();
    let create = log
        .iter()
        .find(|e| e.action.as_str() == "flow.create")
        .unwrap();
    assert_eq!(create.target_display.as_deref(), Some("Offboarding log"));
    let save = log
        .iter()
        .find(|e| e.action.as_str() == "flow.save")
        .unwrap();
    assert_eq!(
        save.reason.as_deref(),
        Some("saved in the builder from version 1")
    );
    assert_eq!(save.actor_display.as_deref(), Some(admin_name.as_str()));
}

/// A flow on `trigger` whose one card, `kind`, acts on the triggering user.
fn one_card(name: &str, trigger: &str, kind: &str) -> Flow {
    let mut flow = Flow::new(name, trigger);
    flow.cards = vec![
        Card::new(1, kind).with_inputs(&[("user", Binding::mapping(Source::Trigger, "user.id"))]),
    ];
    flow
}

/// Loop warnings: a flow that makes the change its own trigger listens for is warned at
/// check and at save; two flows that start each other are warned when the second is
/// turned on, naming the other flow, its trigger and both cards.
async fn loops_are_warned_at_save_and_at_turn_on(store: Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let save = |flow: &Flow| {
        vec![
            ("based_on", "0".to_string()),
            ("definition", flow.to_stable_json()),
        ]
    };

    let title_sync = one_card(
        "Title sync",
        "directory.user_profile_updated",
        "directory.update_profile",
    );
    let (status, body) = post_fn(&admin, &server, "/api/builder/save", &save(&title_sync)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let saved: Value = serde_json::from_str(&body).unwrap();
    let warning = saved["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.starts_with(
            "\"Update User Profile\" makes the change this flow's trigger \"User Profile \
             Updated\" listens for"
        ),
        "{saved}"
    );
    assert_eq!(saved["warnings"].as_array().map(Vec::len), Some(1));

    // Two flows that start each other: no warning while the other is off.
    let undo = one_card(
        "Undo deactivation",
        "directory.user_deactivated",
        "directory.activate_user",
    );
    let redo = one_card(
        "Redo deactivation",
        "directory.user_reactivated",
        "directory.deactivate_user",
    );
    let mut ids = Vec::new();
    for flow in [&undo, &redo] {
        let (status, body) = post_fn(&admin, &server, "/api/builder/save", &save(flow)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let saved: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(saved["warnings"], Value::Array(vec![]), "{}", flow.name);
        ids.push(saved["flow_id"].as_str().unwrap().to_string());
    }
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_string();
    let on = server
        .post_form(
            &admin,
            &format!("/flows/{}/enabled", ids[0]),
            &[("enabled", "true")],
        )
        .await;
    assert_eq!(location(&on), "/flows?notice=flow-on");

    // With the first on, the second's check warns on its card, naming the first.
    let (status, body) = post_fn(
        &admin,
        &server,
        "/api/builder/check",
        &[
            ("id", ids[1].clone()),
            ("definition", redo.to_stable_json()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let problems: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["card"], 1);
    assert_eq!(problems[0]["warning"], true);
    let expected = "\"Deactivate User\" starts \"Undo deactivation\" (on \"User Deactivated\"), \
                    whose \"Activate User\" starts this flow again (on \"User Reactivated\")";
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .starts_with(expected),
        "{problems:?}"
    );

    // Turning it on works, and says so with the warning.
    let on = server
        .post_form(
            &admin,
            &format!("/flows/{}/enabled", ids[1]),
            &[("enabled", "true")],
        )
        .await;
    let to = location(&on);
    let query: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(to.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(query["notice"], "flow-on-loops", "{to}");
    assert!(query["why"].starts_with(expected), "{to}");
    let page = admin
        .get(server.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Watch out, it can start itself again"),
        "the flash says so"
    );
    let redo_id = FlowId(uuid::Uuid::parse_str(&ids[1]).unwrap());
    assert!(
        server
            .store
            .flow_summary(redo_id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
}

domain::backend_tests! {
    async fn the_builder_opens_checks_and_saves(store) {
        the_builder_opens_checks_and_saves_versions(store).await;
    }

    async fn loops_are_warned(store) {
        loops_are_warned_at_save_and_at_turn_on(store).await;
    }
}
