//! Nobody gets more power than they were given, by any path: flows act for their owner,
//! SCIM tokens for their maker, changes are judged on effective rights, names stay inside
//! their folder; and every request is bounded, same-origin and rate-limited. Each test is
//! named after the item of the security review it proves, through the real router, on
//! both backends.

mod common;

use common::*;
use domain::access::{FolderRole, Role};
use domain::assignments::Grantee;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::directory::{User, UserStatus};
use domain::engine::Status;
use domain::engine::runner::Runner;
use domain::store::{FlowSummary, GroupWrite, NewExecution, TokenMaker};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

fn entry(action: Action) -> NewEntry {
    NewEntry::new(action, Outcome::Success, Actor::System)
}

async fn user(server: &TestServer, name: &str) -> User {
    server.store.user_by_name(name).await.unwrap().unwrap()
}

/// Runs every queued execution to its end.
async fn drain(server: &TestServer) {
    Runner::new(server.store.clone(), "security-test")
        .drain()
        .await
        .unwrap();
}

/// A group named `name` with `members`, mapped to `role`.
async fn mapped_group(server: &TestServer, name: &str, members: &[&User], role: Role) -> Uuid {
    let group = server
        .store
        .create_group(
            &GroupWrite {
                display_name: name.into(),
                external_id: None,
                attributes: Default::default(),
                members: members.iter().map(|u| u.id).collect(),
            },
            &Actor::System,
            &entry(Action::ScimGroupCreate),
        )
        .await
        .unwrap();
    server
        .store
        .map_group_role(
            group.id,
            Some(role),
            &Actor::System,
            &entry(Action::GroupRoleMap),
        )
        .await
        .unwrap();
    group.id.0
}

async fn folder_for(server: &TestServer, name: &str, who: &User, grant: FolderRole) -> Uuid {
    let folder = server
        .store
        .create_folder(name, &entry(Action::FolderCreate))
        .await
        .unwrap();
    server
        .store
        .set_folder_grant(
            folder,
            &Grantee::User(who.id),
            Some(grant),
            &entry(Action::FolderGrant),
        )
        .await
        .unwrap();
    folder
}

fn flow(name: &str, trigger: &str, cards: Value) -> Value {
    json!({ "name": name, "trigger": { "kind": trigger }, "cards": cards })
}

fn literal(value: &str) -> Value {
    json!({ "type": "literal", "value": value })
}

/// Imports `definition` with the Flows tab's form; where it sent the browser.
async fn import(
    server: &TestServer,
    client: &reqwest::Client,
    definition: &Value,
    folder: Option<Uuid>,
) -> String {
    let folder = folder.map(|f| f.to_string()).unwrap_or_default();
    let response = client
        .post(server.url("/flows/import"))
        .form(&[("definition", definition.to_string()), ("folder", folder)])
        .send()
        .await
        .unwrap();
    location(&response)
}

async fn flow_named(server: &TestServer, name: &str) -> Option<FlowSummary> {
    server.store.flow_by_name(name).await.unwrap()
}

async fn post(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> String {
    let response = client
        .post(server.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    location(&response)
}

/// Runs `flow` by hand (it is on) as `client`; the execution once it has ended.
async fn run(
    server: &TestServer,
    client: &reqwest::Client,
    flow: &FlowSummary,
) -> domain::store::ExecutionRecord {
    let to = post(
        server,
        client,
        &format!("/flows/{}/run", flow.id),
        &[("input", "")],
    )
    .await;
    assert!(to.starts_with("/executions/"), "{to}");
    let id: Uuid = to["/executions/".len()..to.find('?').unwrap()]
        .parse()
        .unwrap();
    drain(server).await;
    server
        .store
        .execution(domain::engine::ExecutionId(id))
        .await
        .unwrap()
        .unwrap()
}

async fn flows_act_within_their_owners_rights(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    server
        .add_user("super_admin@example.com", Role::SuperAdmin)
        .await;
    let super_admin = user(&server, "super_admin@example.com").await;
    // (Mapping a group ends its members' sessions: sign in after.)
    mapped_group(&server, "Root", &[&super_admin], Role::SuperAdmin).await;
    let root = server.client_of("super_admin@example.com").await;
    let admin_client = server.client_as(Role::WorkflowsAdministrator).await;
    let admin = user(&server, "workflows_administrator@example.com").await;
    server
        .add_user("editor@example.com", Role::UnassignedUser)
        .await;
    let editor = user(&server, "editor@example.com").await;
    let hr = folder_for(&server, "HR", &editor, FolderRole::Editor).await;
    let editor_client = server.client_of("editor@example.com").await;
    let make_me_root = |name: &str| {
        flow(
            name,
            "trigger.manual",
            json!([{ "id": 1, "kind": "directory.add_to_group",
                     "inputs": { "user": literal("editor@example.com"), "group": literal("Root") } }]),
        )
    };

    // A folder Editor cannot save a flow whose cards change the directory: it would act
    // for them, and they may not.
    let to = import(
        &server,
        &editor_client,
        &make_me_root("Make me root"),
        Some(hr),
    )
    .await;
    assert!(to.contains("error=beyond-rights"), "{to}");
    assert!(
        to.contains("card%201%20%28Add%20User%20to%20Group%29"),
        "{to}"
    );
    assert!(flow_named(&server, "Make me root").await.is_none());
    // Nor slip the card into a flow already in the folder.
    let greeting = flow(
        "Greeting",
        "trigger.manual",
        json!([{ "id": 1, "kind": "text.compose", "inputs": { "template": literal("hi") } }]),
    );
    assert!(
        import(&server, &admin_client, &greeting, Some(hr))
            .await
            .contains("notice=flow-imported")
    );
    let greeting = flow_named(&server, "Greeting").await.unwrap();
    let to = post(
        &server,
        &editor_client,
        &format!("/flows/{}/versions", greeting.id),
        &[
            ("definition", &make_me_root("Greeting").to_string()),
            ("based_on", "1"),
        ],
    )
    .await;
    assert!(to.contains("error=beyond-rights"), "{to}");
    assert_eq!(flow_named(&server, "Greeting").await.unwrap().version, 1);
    // Nor turn on such a flow an administrator made in the folder: it would act for them.
    assert!(
        import(
            &server,
            &admin_client,
            &make_me_root("Admin's own"),
            Some(hr)
        )
        .await
        .contains("notice=flow-imported")
    );
    let admins_own = flow_named(&server, "Admin's own").await.unwrap();
    let to = post(
        &server,
        &editor_client,
        &format!("/flows/{}/enabled", admins_own.id),
        &[("enabled", "true")],
    )
    .await;
    assert!(to.contains("error=beyond-rights"), "{to}");
    let after = flow_named(&server, "Admin's own").await.unwrap();
    assert!(!after.enabled);
    assert_eq!(after.owner, Some(admin.id));

    // An administrator may save it, and the flow then acts for them: it may not do what
    // they may not (a group mapped to Super Admin), fails saying why, and changes nothing.
    assert!(
        import(
            &server,
            &admin_client,
            &make_me_root("Root for the editor"),
            None
        )
        .await
        .contains("notice=flow-imported")
    );
    let flow_made = flow_named(&server, "Root for the editor").await.unwrap();
    assert_eq!(flow_made.owner, Some(admin.id));
    let to = post(
        &server,
        &admin_client,
        &format!("/flows/{}/enabled", flow_made.id),
        &[("enabled", "true")],
    )
    .await;
    assert!(to.contains("notice=flow-on"), "{to}");
    let ran = run(&server, &root, &flow_made).await;
    assert_eq!(ran.status, Status::Failed);
    assert_eq!(ran.acting_for, Some(admin.id));
    let error = ran.error.unwrap();
    assert!(
        error.contains("refused") && error.contains("Super Admin"),
        "{error}"
    );
    assert!(server.store.groups_of(editor.id).await.unwrap().is_empty());
    // The execution's page says whom it acted for.
    let page = root
        .get(server.url(&format!("/executions/{}", ran.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Acted for") && page.contains("workflows_administrator@example.com"),
        "the execution page names who it acted for"
    );
    let flows = root
        .get(server.url("/flows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        flows.contains("Acts for"),
        "the Flows tab names who each flow acts for"
    );

    // What the owner may do, their flow does — until they lose the right.
    server
        .add_user("bob@example.com", Role::WorkflowsAuditor)
        .await;
    let suspend = flow(
        "Suspend Bob",
        "trigger.manual",
        json!([{ "id": 1, "kind": "directory.suspend_user", "inputs": { "user": literal("bob@example.com") } }]),
    );
    assert!(
        import(&server, &admin_client, &suspend, None)
            .await
            .contains("notice=flow-imported")
    );
    let suspend = flow_named(&server, "Suspend Bob").await.unwrap();
    post(
        &server,
        &admin_client,
        &format!("/flows/{}/enabled", suspend.id),
        &[("enabled", "true")],
    )
    .await;
    let ran = run(&server, &root, &suspend).await;
    assert_eq!(ran.status, Status::Succeeded, "{:?}", ran.error);
    let bob = user(&server, "bob@example.com").await;
    assert_eq!(bob.status, UserStatus::Suspended);
    server
        .store
        .set_user_status(bob.id, UserStatus::Active)
        .await
        .unwrap();
    server
        .store
        .set_user_role(admin.id, Role::WorkflowsAuditor)
        .await
        .unwrap();
    let ran = run(&server, &root, &suspend).await;
    assert_eq!(ran.status, Status::Failed);
    assert!(ran.error.unwrap().contains("refused"));
    assert_eq!(
        user(&server, "bob@example.com").await.status,
        UserStatus::Active
    );

    // Test Flow acts for whoever tests it.
    let tested = server
        .store
        .enqueue_execution(&NewExecution::test(
            suspend.id,
            suspend.version,
            "trigger.manual",
            json!({}),
            Some(super_admin.id),
        ))
        .await
        .unwrap()
        .unwrap();
    drain(&server).await;
    let tested = server.store.execution(tested).await.unwrap().unwrap();
    assert_eq!(tested.acting_for, Some(super_admin.id));
    assert_eq!(tested.status, Status::Succeeded, "{:?}", tested.error);
}

async fn scim_tokens_carry_the_power_to_assign_super_admin(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    let _ = server.client_as(Role::SuperAdmin).await;
    let _ = server.client_as(Role::WorkflowsAdministrator).await;
    let super_admin = user(&server, "super_admin@example.com").await;
    let admin = user(&server, "workflows_administrator@example.com").await;
    let token = |maker: TokenMaker| {
        let store = server.store.clone();
        async move {
            store
                .create_scim_token("IdP", maker, &entry(Action::ScimTokenCreate))
                .await
                .unwrap()
                .1
        }
    };
    let by_admin = token(TokenMaker::Person(admin.id)).await;
    let by_super_admin = token(TokenMaker::Person(super_admin.id)).await;
    let by_operator = token(TokenMaker::Operator).await;
    let http = reqwest::Client::new();
    let scim = |token: &str, method: &str, path: &str, body: Value| {
        let request = http
            .request(
                method.parse().unwrap(),
                server.url(&format!("/scim/v2{path}")),
            )
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(body.to_string());
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }
    };
    let with_role = |name: &str, role: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:idflow:2.0:User"],
            "userName": name,
            "urn:ietf:params:scim:schemas:extension:idflow:2.0:User": { "role": role },
        })
    };
    let patch = |ops: Value| json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops });

    // A token an administrator made cannot give Super Admin; SCIM says so in its format.
    let (status, body) = scim(
        &by_admin,
        "POST",
        "/Users",
        with_role("x1@example.com", "super_admin"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], "403");
    assert!(
        body["detail"].as_str().unwrap().contains("Super Admin"),
        "{body}"
    );
    assert!(
        server
            .store
            .user_by_name("x1@example.com")
            .await
            .unwrap()
            .is_none()
    );
    // One a Super Admin made can.
    let (status, body) = scim(
        &by_super_admin,
        "POST",
        "/Users",
        with_role("x1@example.com", "super_admin"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let x1 = body["id"].as_str().unwrap().to_string();
    // The administrator's token changes no Super Admin, and takes the role from nobody.
    let (status, _) = scim(
        &by_admin,
        "PATCH",
        &format!("/Users/{x1}"),
        patch(json!([{ "op": "replace", "value": { "displayName": "Mallory" } }])),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = scim(&by_admin, "DELETE", &format!("/Users/{x1}"), Value::Null).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Everything else it does as before.
    let (status, body) = scim(
        &by_admin,
        "POST",
        "/Users",
        with_role("x2@example.com", "workflows_auditor"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let x2 = body["id"].as_str().unwrap().to_string();
    let (status, _) = scim(
        &by_admin,
        "PATCH",
        &format!("/Users/{x2}"),
        patch(json!([{ "op": "replace", "path": "displayName", "value": "Second" }])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Joining a group mapped to Super Admin is giving Super Admin.
    let root = mapped_group(&server, "Root", &[&super_admin], Role::SuperAdmin).await;
    let (status, _) = scim(
        &by_admin,
        "PATCH",
        &format!("/Groups/{root}"),
        patch(json!([{ "op": "add", "path": "members", "value": [{ "value": x2 }] }])),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let x2_user = server
        .store
        .user(domain::directory::UserId(x2.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert!(server.store.groups_of(x2_user.id).await.unwrap().is_empty());
    // A token's power follows its maker: a Super Admin no more, their token may not either.
    server
        .store
        .set_user_role(super_admin.id, Role::WorkflowsAuditor)
        .await
        .unwrap();
    server
        .store
        .change_group_members(
            domain::directory::GroupId(root),
            &[],
            &[super_admin.id],
            &Actor::System,
            &entry(Action::ScimGroupUpdate),
        )
        .await
        .unwrap();
    let (status, _) = scim(
        &by_super_admin,
        "POST",
        "/Users",
        with_role("x3@example.com", "super_admin"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An operator's token (the command line) holds every power.
    let (status, body) = scim(
        &by_operator,
        "POST",
        "/Users",
        with_role("x3@example.com", "super_admin"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn may_change_this_user_uses_effective_rights(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let _ = server.client_as(Role::SuperAdmin).await;
    server
        .add_user("hidden@example.com", Role::UnassignedUser)
        .await;
    let hidden = user(&server, "hidden@example.com").await;
    mapped_group(&server, "Root", &[&hidden], Role::SuperAdmin).await;
    let page = format!("/directory/users/{}", hidden.id);
    for (path, form) in [
        (format!("{page}/status"), vec![("status", "suspended")]),
        (format!("{page}/status"), vec![("status", "deprovisioned")]),
        (
            page.clone(),
            vec![
                ("user_name", "hidden@example.com"),
                ("display_name", "Renamed"),
            ],
        ),
        (
            format!("/assignments/users/{}/role", hidden.id),
            vec![("role", "workflows_auditor")],
        ),
    ] {
        let to = post(&server, &admin, &path, &form).await;
        assert!(to.contains("error=super-admin"), "{path}: {to}");
    }
    let after = user(&server, "hidden@example.com").await;
    assert_eq!(after.status, UserStatus::Active);
    assert_eq!(after.display_name, hidden.display_name);
    assert_eq!(after.role, Role::UnassignedUser);
}

async fn folder_isolation_holds_through_names(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    server
        .add_user("a.editor@example.com", Role::UnassignedUser)
        .await;
    let a_editor = user(&server, "a.editor@example.com").await;
    let a = folder_for(&server, "A", &a_editor, FolderRole::Editor).await;
    let b = server
        .store
        .create_folder("B", &entry(Action::FolderCreate))
        .await
        .unwrap();
    let table = |name: &str| domain::tables::Schema {
        name: name.into(),
        columns: vec![domain::tables::Column {
            name: "note".into(),
            ty: domain::tables::ColumnType::Text,
        }],
        key: None,
    };
    server
        .store
        .create_table(&table("secrets"), Some(b), &entry(Action::TableCreate))
        .await
        .unwrap();
    server
        .store
        .create_table(&table("notes"), Some(a), &entry(Action::TableCreate))
        .await
        .unwrap();
    let author = server.store.test_author("admin").await;
    let make = |definition: Value, folder: Uuid| {
        let store = server.store.clone();
        let author = author.clone();
        async move {
            let definition: domain::flows::Flow = serde_json::from_value(definition).unwrap();
            let made = store
                .create_flow(
                    &definition,
                    Some(folder),
                    &author,
                    &entry(Action::FlowCreate),
                )
                .await
                .unwrap();
            store
                .set_flow_enabled(made.id, true, &author, &entry(Action::FlowEnable))
                .await
                .unwrap();
            store.flow_summary(made.id).await.unwrap().unwrap()
        }
    };
    make(flow("Helper B", "trigger.helper", json!([])), b).await;
    let row = |table: &str| json!({ "id": 1, "kind": "tables.create_row", "inputs": { "table": literal(table), "row": { "type": "literal", "value": { "note": "x" } } } });
    let into_b = make(
        flow("Write B", "trigger.manual", json!([row("secrets")])),
        a,
    )
    .await;
    let into_a = make(flow("Write A", "trigger.manual", json!([row("notes")])), a).await;
    let calls_b = make(flow("Call B", "trigger.manual", json!([{ "id": 1, "kind": "flow.call_flow", "inputs": { "flow": literal("Helper B") } }])), a).await;
    let mut ids = vec![];
    for flow in [&into_b, &into_a, &calls_b] {
        ids.push(
            server
                .store
                .enqueue_execution(&NewExecution::by_hand(flow.id, flow.version, json!({})))
                .await
                .unwrap()
                .unwrap(),
        );
    }
    drain(&server).await;
    let ended = |id| {
        let store = server.store.clone();
        async move { store.execution(id).await.unwrap().unwrap() }
    };
    let b_write = ended(ids[0]).await;
    assert_eq!(b_write.status, Status::Failed);
    assert!(
        b_write
            .error
            .unwrap()
            .contains("no table named \"secrets\" in this flow's folder")
    );
    assert_eq!(ended(ids[1]).await.status, Status::Succeeded);
    let call = ended(ids[2]).await;
    assert_eq!(call.status, Status::Failed);
    assert!(call.error.unwrap().contains("no flow \"Helper B\""));

    // An export never bundles what the one exporting may not see.
    let uses_b = make(
        flow("Uses B", "trigger.manual", json!([row("secrets"), { "id": 2, "kind": "flow.call_flow", "inputs": { "flow": literal("Helper B") } }])),
        a,
    )
    .await;
    let a_client = server.client_of("a.editor@example.com").await;
    let export = a_client
        .get(server.url(&format!("/flows/{}/export", uses_b.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    let bundle = domain::flows::bundle::Bundle::read(&export.text().await.unwrap()).unwrap();
    let names: Vec<&str> = bundle.flows.iter().map(|f| f.flow.name.as_str()).collect();
    assert_eq!(names, ["Uses B"]);
    assert!(bundle.tables.is_empty(), "{:?}", bundle.tables);
    let folder_export = a_client
        .get(server.url(&format!("/folders/{a}/export")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bundle = domain::flows::bundle::Bundle::read(&folder_export).unwrap();
    assert!(bundle.flows.iter().all(|f| f.flow.name != "Helper B"));
    assert!(
        bundle.tables.iter().all(|t| t.name != "secrets"),
        "{:?}",
        bundle.tables
    );
}

async fn scim_password_is_never_stored(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    let (_, token) = server
        .store
        .create_scim_token(
            "Okta",
            TokenMaker::Operator,
            &entry(Action::ScimTokenCreate),
        )
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let marker = "Pa55word-marker-7731";
    let response = http
        .post(server.url("/scim/v2/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "pw@example.com", "password": marker }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert!(created.get("password").is_none());
    let id = created["id"].as_str().unwrap();
    let patched = http
        .patch(server.url(&format!("/scim/v2/Users/{id}")))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "path": "password", "value": marker }] }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let read = http
        .get(server.url(&format!("/scim/v2/Users/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!read.contains(marker));
    let stored = user(&server, "pw@example.com").await;
    assert!(
        !serde_json::to_string(&stored.attributes)
            .unwrap()
            .contains(marker)
    );
    let events = server
        .store
        .directory_events_about(stored.id.0)
        .await
        .unwrap();
    assert!(!serde_json::to_string(&events).unwrap().contains(marker));
}

async fn csv_exports_neutralise_formulas(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    let created = post(
        &server,
        &admin,
        "/directory/users",
        &[
            ("user_name", "=cmd@example.com"),
            ("display_name", "=HYPERLINK(\"http://evil\")"),
        ],
    )
    .await;
    assert!(created.contains("notice=user-created"), "{created}");
    let evil = user(&server, "=cmd@example.com").await;
    post(
        &server,
        &admin,
        &format!("/assignments/users/{}/role", evil.id),
        &[("role", "workflows_auditor")],
    )
    .await;
    let csv = admin
        .get(server.url("/assignments/access-review.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("'=cmd@example.com"), "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.lines().any(|l| l.starts_with('=')));

    let table = server
        .store
        .create_table(
            &domain::tables::Schema {
                name: "cells".into(),
                columns: vec![
                    domain::tables::Column {
                        name: "text".into(),
                        ty: domain::tables::ColumnType::Text,
                    },
                    domain::tables::Column {
                        name: "n".into(),
                        ty: domain::tables::ColumnType::Number,
                    },
                ],
                key: None,
            },
            None,
            &entry(Action::TableCreate),
        )
        .await
        .unwrap();
    for text in ["@SUM(1+1)", "+1", "\tx", "plain"] {
        let row: domain::tables::Row =
            serde_json::from_value(json!({ "text": text, "n": -5 })).unwrap();
        server.store.insert_row(&table, &row, None).await.unwrap();
    }
    let csv = admin
        .get(server.url(&format!("/tables/{}/export", table.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("'@SUM(1+1)") && csv.contains("'\tx") && csv.contains("plain"),
        "{csv}"
    );
    assert!(csv.contains(",-5"), "numbers stay numbers: {csv}");
}

async fn no_panic_from_input_and_short_scim_errors(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    let (_, token) = server
        .store
        .create_scim_token(
            "Okta",
            TokenMaker::Operator,
            &entry(Action::ScimTokenCreate),
        )
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let response = http
        .get(server.url("/scim/v2/Users?attributes=aaaaaaaé.x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let deep = format!(
        "{}userName eq \"a\"{}",
        "(".repeat(30_000),
        ")".repeat(30_000)
    );
    let response = http
        .post(server.url("/scim/v2/Users/.search"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": deep }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().await.unwrap();
    assert!(body.len() < 1000, "the error is {} bytes", body.len());
    assert!(body.contains("invalidFilter"), "{body}");
}

/// Sends `head` (a request's line and headers) on a new connection; the start of the
/// answer.
async fn raw(address: &str, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).to_string()
}

async fn body_limits_on_every_endpoint(store: domain::store::Store) {
    use app::entry_points::{ENTRY_POINTS, Kind};
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    // Declared too large: refused at once, before a byte of the body is read.
    let address = server.base.trim_start_matches("http://").to_string();
    for entry in ENTRY_POINTS.iter().filter(|e| e.method != "GET") {
        let path = entry
            .path
            .replace(":id", "00000000-0000-0000-0000-000000000000")
            .replace(":version", "1")
            .replace(":row", "1")
            .replace(":user", "1")
            .replace(":key", "x");
        let limit = idflow::hygiene::body_limit(&path);
        let kind = if entry.kind == Kind::Route {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let answer = raw(&address, &format!(
            "{} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
            entry.method,
            limit + 1
        ))
        .await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{} {}: {answer}",
            entry.method,
            entry.path
        );
    }
    // Sent too large (the client said nothing of its length beforehand, or lied): refused
    // as soon as the body passes the limit.
    let big = admin
        .post(server.url("/api/flows/list"))
        .header("content-type", "application/json")
        .body(vec![b'a'; (1 << 20) + 1])
        .send()
        .await;
    if let Ok(response) = big {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // A body without a declared length is cut off at the limit too, not read to its end.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    socket
        .write_all(format!("POST /api/flows/list HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0usize;
    while sent < 64 << 20 {
        let head = format!("{:x}\r\n", chunk.len());
        if socket.write_all(head.as_bytes()).await.is_err()
            || socket.write_all(&chunk).await.is_err()
            || socket.write_all(b"\r\n").await.is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let mut answer = vec![0u8; 256];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(sent < 64 << 20, "the server read all {sent} bytes");
}

async fn same_origin_form_posts_only(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    let make = |site: Option<&str>, origin: Option<&str>, name: &str| {
        let mut request = admin.post(server.url("/folders")).form(&[("name", name)]);
        if let Some(site) = site {
            request = request
                .header("sec-fetch-site", site)
                .header("sec-fetch-mode", "navigate")
                .header("sec-fetch-dest", "document");
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(
        make(Some("same-site"), None, "A").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        make(Some("cross-site"), None, "B").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        make(None, Some("https://evil.example.com"), "C").await,
        StatusCode::FORBIDDEN
    );
    assert!(server.store.folders().await.unwrap().is_empty());
    assert_eq!(
        make(Some("same-origin"), None, "D").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        make(None, Some(&server.base), "E").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(make(None, None, "F").await, StatusCode::SEE_OTHER);
    assert_eq!(server.store.folders().await.unwrap().len(), 3);
}

async fn rate_limits_per_client_address(store: domain::store::Store) {
    let options = Options {
        rate_limits: idflow::hygiene::RateLimits {
            sign_in_per_minute: 5,
            refused_per_minute: 3,
        },
        ..Options::default()
    };
    let server = start(store, options).await;
    server.add_user("ada@example.com", Role::SuperAdmin).await;
    let anonymous = client();
    for _ in 0..5 {
        let response = server
            .sign_in(&anonymous, "ada@example.com", "wrong password", "/")
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let refused = server
        .sign_in(&anonymous, "ada@example.com", PASSWORD, "/")
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let oidc = anonymous
        .get(server.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(oidc.status(), StatusCode::TOO_MANY_REQUESTS);

    // Refused SCIM calls: a few are logged, then the address waits and nothing more is.
    let count = |store: domain::store::Store| async move {
        store
            .recent_audit(500)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.action == "scim.auth.failure")
            .count()
    };
    for _ in 0..3 {
        let response = anonymous
            .get(server.url("/scim/v2/Users"))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    for _ in 0..20 {
        let response = anonymous
            .get(server.url("/scim/v2/Users"))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(count(server.store.clone()).await, 3);
}

async fn the_sign_in_lockout_counts_attempts_before_hashing(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    server.add_user("ada@example.com", Role::SuperAdmin).await;
    let mut attempts = Vec::new();
    for _ in 0..60 {
        let server_url = server.url("/auth/sign-in");
        attempts.push(tokio::spawn(async move {
            client()
                .post(server_url)
                .form(&[
                    ("email", "ada@example.com"),
                    ("password", "wrong password"),
                    ("next", "/"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for attempt in attempts {
        assert_eq!(attempt.await.unwrap(), StatusCode::SEE_OTHER);
    }
    let log = server.store.recent_audit(500).await.unwrap();
    let wrong = log
        .iter()
        .filter(|e| e.reason.as_deref() == Some("wrong password"))
        .count();
    let locked = log
        .iter()
        .filter(|e| e.reason.as_deref() == Some("too many failed sign-ins"))
        .count();
    assert!((1..=5).contains(&wrong), "{wrong} wrong-password entries");
    assert_eq!(wrong + locked, 60);
    // The right password is refused too, until the lock ends.
    let response = server
        .sign_in(&client(), "ada@example.com", PASSWORD, "/")
        .await;
    assert!(
        location(&response).starts_with("/sign-in?error=locked"),
        "{}",
        location(&response)
    );
}

async fn forwarded_for_takes_the_right_most_untrusted_address(store: domain::store::Store) {
    for (proxies, expected) in [(&["10.0.0.0/8"][..], "198.51.100.7"), (&[][..], "10.1.2.3")] {
        let options = Options {
            trust_forwarded_for: true,
            trusted_proxies: proxies,
            ..Options::default()
        };
        let server = start(store.clone(), options).await;
        if server
            .store
            .user_by_name("ada@example.com")
            .await
            .unwrap()
            .is_none()
        {
            server.add_user("ada@example.com", Role::SuperAdmin).await;
        }
        let response = client()
            .post(server.url("/auth/sign-in"))
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.1.2.3")
            .form(&[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&response), "/");
        let log = server.store.recent_audit(1).await.unwrap();
        assert_eq!(
            log[0].client_address.as_deref(),
            Some(expected),
            "{proxies:?}"
        );
    }
}

domain::backend_tests! {
    async fn security_flows_act_within_their_owners_rights(store) {
        flows_act_within_their_owners_rights(store).await;
    }
    async fn security_scim_tokens_carry_the_power_to_assign_super_admin(store) {
        scim_tokens_carry_the_power_to_assign_super_admin(store).await;
    }
    async fn security_may_change_this_user_uses_effective_rights(store) {
        may_change_this_user_uses_effective_rights(store).await;
    }
    async fn security_folder_isolation_holds_through_names(store) {
        folder_isolation_holds_through_names(store).await;
    }
    async fn security_scim_password_is_never_stored(store) {
        scim_password_is_never_stored(store).await;
    }
    async fn security_csv_exports_neutralise_formulas(store) {
        csv_exports_neutralise_formulas(store).await;
    }
    async fn security_no_panic_from_input_and_short_scim_errors(store) {
        no_panic_from_input_and_short_scim_errors(store).await;
    }
    async fn security_body_limits_on_every_endpoint(store) {
        body_limits_on_every_endpoint(store).await;
    }
    async fn security_same_origin_form_posts_only(store) {
        same_origin_form_posts_only(store).await;
    }
    async fn security_rate_limits_per_client_address(store) {
        rate_limits_per_client_address(store).await;
    }
    async fn security_the_sign_in_lockout_counts_attempts_before_hashing(store) {
        the_sign_in_lockout_counts_attempts_before_hashing(store).await;
    }
    async fn security_forwarded_for_takes_the_right_most_untrusted_address(store) {
        forwarded_for_takes_the_right_most_untrusted_address(store).await;
    }
}
