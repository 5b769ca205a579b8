//! Nobody gets more power than they were given: flows act for their owner, SCIM
//! tokens for their maker, changes are judged on effective rights, names stay in their
//! folder.

use super::*;

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
}
