//! The Flows tab: import, run, export and delete; templates; an export imported
//! elsewhere runs the same.

use super::*;

/// The Flows tab: import a flow's JSON, find it, turn it on, run it by hand, read what
/// it did, export it, and delete it after a confirmation that names what uses it.
async fn the_flows_tab_imports_runs_exports_and_deletes(store: Store) {
    use domain::engine::runner::Runner;
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let mut greet = Flow::new("Greet by hand", "trigger.manual");
    greet.description = "Says hello".into();
    greet.cards = vec![
        Card::new(1, "text.compose").with_inputs(&[(
            "template",
            Binding::template("Hello {{ trigger.input.name }}"),
        )]),
        Card::new(2, "flow.return").with_inputs(&[(
            "output",
            Binding::mapping(Source::Card(CardId(1)), "output"),
        )]),
    ];
    let mut caller = Flow::new("Calls the greeter", "trigger.manual");
    caller.cards = vec![
        Card::new(1, "flow.call_flow").with_inputs(&[("flow", Binding::literal("greet by hand"))]),
    ];
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_string();

    let empty = admin
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(empty.contains("No flows yet") && empty.contains("Import a flow"));
    let refused = server
        .post_form(
            &auditor,
            "/flows/import",
            &[("definition", greet.to_stable_json())],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let not_json = server
        .post_form(
            &admin,
            "/flows/import",
            &[("definition", "{\"name\": \"x\"}")],
        )
        .await;
    assert_eq!(
        location(&not_json),
        "/flows?error=import-not-a-flow&why=missing%20field%20%60trigger%60",
        "the reason names what is missing"
    );
    for flow in [&greet, &caller] {
        let imported = server
            .post_form(
                &admin,
                "/flows/import",
                &[("definition", flow.to_stable_json())],
            )
            .await;
        assert_eq!(location(&imported), "/flows?notice=flow-imported");
    }
    let flows = server.store.flows().await.unwrap();
    let id = flows.iter().find(|f| f.name == "Greet by hand").unwrap().id;
    assert!(!flows.iter().any(|f| f.enabled), "imported flows start off");

    let list = admin
        .get(server.url("/flows?q=hello"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("Greet by hand") && !list.contains("data-flow=\"Calls the greeter\""),
        "search by description"
    );
    let list = admin
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("Used by: Calls the greeter")
            && list.contains("Turn on")
            && list.contains("never")
    );
    let auditor_list = auditor
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        auditor_list.contains("Greet by hand")
            && !auditor_list.contains("Turn on")
            && !auditor_list.contains("Import a flow")
    );

    let on = server
        .post_form(
            &admin,
            &format!("/flows/{id}/enabled"),
            &[("enabled", "true")],
        )
        .await;
    assert_eq!(location(&on), "/flows?notice=flow-on");
    assert!(
        server
            .store
            .flow_summary(id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let bad_input = server
        .post_form(&admin, &format!("/flows/{id}/run"), &[("input", "{nope")])
        .await;
    assert_eq!(location(&bad_input), "/flows?error=input-not-json");
    let ran = server
        .post_form(
            &admin,
            &format!("/flows/{id}/run"),
            &[("input", "{\"name\": \"Ada\"}")],
        )
        .await;
    let to = location(&ran);
    assert!(
        to.starts_with("/executions/") && to.ends_with("?notice=flow-started"),
        "{to}"
    );
    Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    let page = admin
        .get(server.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Hello Ada") && page.contains("Succeeded"),
        "{page}"
    );
    // The execution as JSON, with what each card did.
    let execution = to.trim_end_matches("?notice=flow-started");
    let exported: serde_json::Value = auditor
        .get(server.url(&format!("{execution}/export")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(exported["status"], "succeeded");
    assert_eq!(exported["flow"]["name"], "Greet by hand");
    assert_eq!(exported["input"]["input"]["name"], "Ada");
    assert_eq!(exported["steps"].as_array().unwrap().len(), 2);
    assert_eq!(exported["steps"][0]["kind"], "text.compose");
    let list = admin
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("run-succeeded"), "the last run is shown");

    let export = admin
        .get(server.url(&format!("/flows/{id}/export")))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("Greet-by-hand.flow.json")
    );
    let bundle = domain::flows::bundle::Bundle::read(&export.text().await.unwrap()).unwrap();
    assert_eq!(bundle.flows.len(), 1, "it calls no helper");
    assert_eq!(bundle.flows[0].flow, greet);

    let deleted = admin
        .post(server.url(&format!("/flows/{id}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&deleted), "/flows?notice=flow-deleted");
    assert!(server.store.flow_summary(id).await.unwrap().is_none());
    let gone = server
        .post_form(
            &admin,
            &format!("/flows/{id}/enabled"),
            &[("enabled", "true")],
        )
        .await;
    assert_eq!(location(&gone), "/flows?error=no-flow-here");
}

/// The five reference use cases install from the Flows tab: tables made; installed
/// without the connections their cards send through, every flow stays off (helpers too)
/// and turning one on is refused, naming the card's missing connection. (Installed with
/// connections, they run and send: `tests/templates.rs`.)
async fn templates_install_and_run(store: Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_string();
    let page = admin
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Start from a template") && page.contains("Install Offboarding"),
        "{page}"
    );
    assert!(page.contains("Choose later (flows stay off)"), "{page}");
    for template in domain::flows::templates::templates() {
        let installed = admin
            .post(server.url(&format!("/flows/templates/{}", template.key)))
            .send()
            .await
            .unwrap();
        let to = location(&installed);
        assert_eq!(
            query_param(&to, "notice").as_deref(),
            Some("template-installed-unconnected"),
            "{}: {to}",
            template.key
        );
    }
    let again = admin
        .post(server.url("/flows/templates/offboarding"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&again), "/flows?error=template-taken");
    let unknown = admin
        .post(server.url("/flows/templates/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&unknown), "/flows?error=no-template");
    let flows = server.store.flows().await.unwrap();
    // The five directory use cases (six flows) and their Okta versions (eight).
    assert_eq!(flows.len(), 14);
    assert!(flows.iter().all(|f| !f.enabled), "{flows:?}");
    for table in [
        "department roles",
        "offboarded",
        "mfa_reminders",
        "okta department groups",
        "okta offboarded",
        "okta mfa enrolled",
        "okta titles",
    ] {
        assert!(
            server.store.table_by_name(table).await.unwrap().is_some(),
            "{table}"
        );
    }
    assert!(
        server
            .store
            .table_by_name("notifications")
            .await
            .unwrap()
            .is_none(),
        "messages are sent, not kept in a table"
    );

    let offboarding = flows.iter().find(|f| f.name == "Offboarding").unwrap().id;
    let on = server
        .post_form(
            &admin,
            &format!("/flows/{offboarding}/enabled"),
            &[("enabled", "true")],
        )
        .await;
    let to = location(&on);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("flow-has-problems"),
        "{to}"
    );
    assert!(
        query_param(&to, "why").unwrap().contains("onnection"),
        "{to}"
    );
}

/// An exported flow (with its helper, its error flow and its table) imports into an
/// empty database and runs the same there.
async fn an_exported_flow_imports_elsewhere_and_runs_the_same(store: Store) {
    use domain::engine::runner::Runner;
    use domain::tables::{Column, ColumnType, Schema};
    let here = start(store, Options::default()).await;
    let greetings = Schema {
        name: "greetings".into(),
        columns: vec![Column {
            name: "name".into(),
            ty: ColumnType::Text,
        }],
        key: Some("name".into()),
    };
    here.store
        .create_table(&greetings, None, &entry(Action::TableCreate))
        .await
        .unwrap();
    let mut shout = Flow::new("Shout", "trigger.helper");
    shout.cards = vec![
        Card::new(1, "text.compose").with_inputs(&[(
            "template",
            Binding::template("Hi {{ trigger.input.name }}!"),
        )]),
        Card::new(2, "flow.return").with_inputs(&[(
            "output",
            Binding::mapping(Source::Card(CardId(1)), "output"),
        )]),
    ];
    let shout = here.store.test_flow(&shout, None, "admin").await;
    here.store
        .set_flow_enabled(
            shout.id,
            true,
            &here.store.test_author("admin@example.com").await,
            &entry(Action::FlowEnable),
        )
        .await
        .unwrap();
    let mut failures = Flow::new("Failures", "trigger.helper");
    failures.cards = vec![
        Card::new(1, "text.compose")
            .with_inputs(&[("template", Binding::template("{{ trigger.input.error }}"))]),
    ];
    let failures = here.store.test_flow(&failures, None, "admin").await;
    let mut main = Flow::new("Greet and log", "trigger.manual");
    main.settings.error_flow = Some(failures.id);
    main.cards = vec![
        // The helper named by its id, which another database will not share.
        Card::new(1, "flow.call_flow").with_inputs(&[
            ("flow", Binding::literal(shout.id.to_string())),
            ("input", Binding::mapping(Source::Trigger, "input")),
        ]),
        Card::new(2, "tables.create_row").with_inputs(&[
            ("table", Binding::literal("greetings")),
            (
                "row",
                Binding::template("{{ {'name': trigger.input.name} }}"),
            ),
        ]),
        Card::new(3, "flow.return").with_inputs(&[(
            "output",
            Binding::mapping(Source::Card(CardId(1)), "output"),
        )]),
    ];
    let main = here.store.test_flow(&main, None, "admin").await;
    let admin = here.client_as(Role::WorkflowsAdministrator).await;
    let exported = admin
        .get(here.url(&format!("/flows/{}/export", main.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bundle = domain::flows::bundle::Bundle::read(&exported).unwrap();
    assert_eq!(bundle.flows.len(), 3, "with its helper and its error flow");
    assert_eq!(bundle.tables, vec![greetings.clone()]);
    assert_eq!(
        bundle.flows[0].flow.cards[0].inputs["flow"],
        Binding::literal("Shout"),
        "the helper is named by name"
    );

    // Run it here and there with the same input; compare what each did.
    async fn run(
        store: &Store,
        flow: domain::flows::FlowId,
    ) -> (Status, Option<serde_json::Value>, Vec<domain::tables::Row>) {
        let summary = store.flow_summary(flow).await.unwrap().unwrap();
        let input = serde_json::json!({"name": "Ada"});
        let id = store
            .enqueue_execution(&domain::store::NewExecution::by_hand(
                flow,
                summary.version,
                input,
            ))
            .await
            .unwrap()
            .unwrap();
        Runner::new(store.clone(), "test").drain().await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        let table = store.table_by_name("greetings").await.unwrap().unwrap();
        let (rows, _) = store
            .rows(
                &table,
                &domain::store::RowQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        (
            done.status,
            done.output,
            rows.into_iter().map(|r| r.data).collect(),
        )
    }
    let ran_here = run(&here.store, main.id).await;
    assert_eq!(ran_here.0, Status::Succeeded);
    assert_eq!(ran_here.1, Some(serde_json::json!("Hi Ada!")));

    let empty = domain::store::testing::sqlite().await;
    let there = start(empty.store.clone(), Options::default()).await;
    let admin_there = there.client_as(Role::WorkflowsAdministrator).await;
    let imported = there
        .post_form(
            &admin_there,
            "/flows/import",
            &[("definition", exported.clone())],
        )
        .await;
    assert_eq!(location(&imported), "/flows?notice=flows-imported");
    let again = there
        .post_form(&admin_there, "/flows/import", &[("definition", exported)])
        .await;
    assert!(
        location(&again).starts_with("/flows?error=import-taken&why="),
        "nothing is made twice"
    );
    assert_eq!(there.store.flows().await.unwrap().len(), 3);
    let main_there = there
        .store
        .flow_by_name("Greet and log")
        .await
        .unwrap()
        .unwrap();
    assert!(!main_there.enabled, "the flow is imported off");
    let failures_there = there.store.flow_by_name("Failures").await.unwrap().unwrap();
    assert!(
        there
            .store
            .flow_by_name("Shout")
            .await
            .unwrap()
            .unwrap()
            .enabled,
        "helpers are on"
    );
    let definition = there
        .store
        .flow_definition(main_there.id, main_there.version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        definition.settings.error_flow,
        Some(failures_there.id),
        "the error flow points at its copy"
    );
    assert_eq!(run(&there.store, main_there.id).await, ran_here);
}

/// The Flows tab pages: 50 flows to a page, the most recently changed first (or by
/// name), with the total and links that keep the search and the order.
async fn the_flows_tab_pages_with_a_total(store: Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let page = |path: &'static str| async { server.page(&admin, path).await.1 };
    for n in 1..=60 {
        server
            .store
            .test_flow(
                &Flow::new(format!("Paged {n:02}"), "trigger.manual"),
                None,
                "admin",
            )
            .await;
    }
    let rows = |html: &str| -> Vec<String> {
        html.match_indices("data-flow=\"")
            .map(|(at, _)| {
                let rest = &html[at + "data-flow=\"".len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .collect()
    };
    // The newest first.
    let first = page("/flows").await;
    assert!(first.contains("Flows 1–50 of 60"), "the range");
    let shown = rows(&first);
    assert_eq!(shown.len(), 50);
    assert_eq!(shown[0], "Paged 60");
    assert!(first.contains("href=\"/flows?page=2\""));
    let second = page("/flows?page=2").await;
    assert!(second.contains("Flows 51–60 of 60"));
    let rest = rows(&second);
    assert_eq!(rest.len(), 10);
    assert_eq!(rest.last().unwrap(), "Paged 01");
    assert!(
        shown.iter().all(|name| !rest.contains(name)),
        "no flow twice"
    );
    // By name, the search kept in the links; a page past the end shows the last.
    let by_name = page("/flows?q=paged&sort=name").await;
    assert_eq!(rows(&by_name)[0], "Paged 01");
    assert!(by_name.contains("href=\"/flows?q=paged&amp;sort=name&amp;page=2\""));
    let past = page("/flows?q=paged&sort=name&page=9").await;
    assert_eq!(
        rows(&past),
        (51..=60).map(|n| format!("Paged {n}")).collect::<Vec<_>>()
    );
}

domain::backend_tests! {
    async fn engine_the_flows_tab_pages_with_a_total(store) {
        the_flows_tab_pages_with_a_total(store).await;
    }
    async fn engine_an_exported_flow_imports_elsewhere_and_runs_the_same(store) {
        an_exported_flow_imports_elsewhere_and_runs_the_same(store).await;
    }
    async fn engine_templates_install_and_run(store) {
        templates_install_and_run(store).await;
    }
    async fn engine_the_flows_tab_imports_runs_exports_and_deletes(store) {
        the_flows_tab_imports_runs_exports_and_deletes(store).await;
    }
}
