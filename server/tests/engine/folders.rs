//! Folders made, shared and holding flows.

use super::*;

/// Folders from the Flows tab: an administrator makes one, moves a flow into it and
/// shares it; a Runner of the folder sees and runs its flows and nothing else; a Folder
/// Manager renames and shares it but cannot move flows out to where they hold nothing.
async fn folders_are_made_shared_and_hold_flows(store: Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let page = |client: &reqwest::Client, path: &str| {
        let request = client.get(server.url(path));
        async move {
            request
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .replace("<!>", "")
        }
    };
    let made = server
        .post_form(&admin, "/folders", &[("name", "HR")])
        .await;
    let hr = server.store.folders().await.unwrap().remove(0);
    assert_eq!(
        location(&made),
        format!("/flows?folder={}&notice=folder-created", hr.id)
    );
    let again = server
        .post_form(&admin, "/folders", &[("name", "hr")])
        .await;
    assert_eq!(location(&again), "/flows?error=folder-taken");

    let onboarding = server
        .store
        .test_flow(&Flow::new("Onboarding", "trigger.manual"), None, "admin")
        .await;
    server
        .store
        .test_flow(&Flow::new("Payroll sync", "trigger.manual"), None, "admin")
        .await;
    let moved = server
        .post_form(
            &admin,
            &format!("/flows/{}/move", onboarding.id),
            &[("folder", hr.id.to_string())],
        )
        .await;
    assert_eq!(
        location(&moved),
        format!("/flows?folder={}&notice=flow-moved", hr.id)
    );
    // The folder exports as one bundle of the flows it holds, which the import reads.
    let export = admin
        .get(server.url(&format!("/folders/{}/export", hr.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("HR.folder.json")
    );
    let bundle = domain::flows::bundle::Bundle::read(&export.text().await.unwrap()).unwrap();
    let names: Vec<&str> = bundle.flows.iter().map(|f| f.flow.name.as_str()).collect();
    assert_eq!(names, ["Onboarding"]);
    assert!(page(&admin, "/flows").await.contains("Export folder HR"));
    let nowhere = admin
        .get(server.url("/folders/00000000-0000-0000-0000-000000000000/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&nowhere), "/flows?error=no-folder");
    // Imported inside the folder, the export's flows land in it (here under new names).
    let renamed = bundle
        .to_stable_json()
        .replace("\"Onboarding\"", "\"Onboarding (copy)\"");
    let hr_id = hr.id.to_string();
    let imported = server
        .post_form(
            &admin,
            "/flows/import",
            &[("definition", renamed.as_str()), ("folder", hr_id.as_str())],
        )
        .await;
    assert_eq!(
        location(&imported),
        format!("/flows?folder={}&notice=flow-imported", hr.id)
    );
    let copy = server
        .store
        .flow_by_name("Onboarding (copy)")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copy.folder, Some(hr.id));
    assert!(
        page(&admin, &format!("/flows?folder={}", hr.id))
            .await
            .contains("Import flows into HR")
    );
    assert_eq!(
        server
            .store
            .flow_summary(onboarding.id)
            .await
            .unwrap()
            .unwrap()
            .folder,
        Some(hr.id)
    );
    let nowhere = server
        .post_form(
            &admin,
            &format!("/flows/{}/move", onboarding.id),
            &[("folder", uuid::Uuid::now_v7().to_string())],
        )
        .await;
    assert_eq!(location(&nowhere), "/flows?error=no-folder");

    let listed = page(&admin, &format!("/flows?folder={}", hr.id)).await;
    assert!(
        listed.contains("data-flow=\"Onboarding\"")
            && !listed.contains("data-flow=\"Payroll sync\"")
    );
    assert!(
        page(&admin, "/flows?folder=top")
            .await
            .contains("data-flow=\"Payroll sync\"")
    );

    // Share: a Runner and a Folder Manager, each with no role of their own.
    server
        .add_user("runner@example.com", Role::UnassignedUser)
        .await;
    server
        .add_user("keeper@example.com", Role::UnassignedUser)
        .await;
    let unknown = admin
        .post(server.url(&format!("/folders/{}/grants", hr.id)))
        .form(&[
            ("kind", "user"),
            ("who", "nobody@example.com"),
            ("role", "runner"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&unknown),
        format!(
            "/flows?folder={}&error=grantee-unknown&why=nobody%40example.com",
            hr.id
        )
    );
    for (who, role) in [
        ("runner@example.com", "runner"),
        ("keeper@example.com", "manager"),
    ] {
        let shared = server
            .post_form(
                &admin,
                &format!("/folders/{}/grants", hr.id),
                &[("kind", "user"), ("who", who), ("role", role)],
            )
            .await;
        assert_eq!(
            location(&shared),
            format!("/flows?folder={}&notice=folder-shared", hr.id)
        );
    }
    let shown = page(&admin, &format!("/flows?folder={}", hr.id)).await;
    assert!(
        shown.contains("runner@example.com · Runner")
            && shown.contains("keeper@example.com · Folder Manager")
    );

    let runner = server.client_of("runner@example.com").await;
    let theirs = page(&runner, "/flows").await;
    assert!(theirs.contains("data-flow=\"Onboarding\"") && !theirs.contains("Payroll sync"));
    assert!(!theirs.contains("Create folder") && !theirs.contains("aria-label=\"Rename HR\""));
    let refused = server
        .post_form(
            &runner,
            &format!("/flows/{}/move", onboarding.id),
            &[("folder", "")],
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "a Runner holds no EditFlows"
    );

    let keeper = server.client_of("keeper@example.com").await;
    let renamed = server
        .post_form(
            &keeper,
            &format!("/folders/{}/rename", hr.id),
            &[("name", "People")],
        )
        .await;
    assert_eq!(
        location(&renamed),
        format!("/flows?folder={}&notice=folder-renamed", hr.id)
    );
    assert_eq!(server.store.folders().await.unwrap()[0].name, "People");
    let out = server
        .post_form(
            &keeper,
            &format!("/flows/{}/move", onboarding.id),
            &[("folder", "")],
        )
        .await;
    assert_eq!(
        location(&out),
        "/flows?error=not-allowed",
        "nothing is theirs at the top level"
    );
    let create = server
        .post_form(&keeper, "/folders", &[("name", "Mine")])
        .await;
    assert_eq!(location(&create), "/flows?error=not-allowed");
    // Taking a grant away: the runner sees nothing after signing in again.
    let revoked = keeper
        .post(server.url(&format!("/folders/{}/grants", hr.id)))
        .form(&[
            ("kind", "user"),
            ("who", "runner@example.com"),
            ("role", "none"),
        ])
        .send()
        .await
        .unwrap();
    assert!(location(&revoked).ends_with("notice=folder-shared"));
    assert_eq!(server.store.folder_grants().await.unwrap().len(), 1);

    let log: Vec<String> = server
        .store
        .recent_audit(30)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "folder.create",
        "flow.move",
        "folder.grant",
        "folder.rename",
        "folder.grant.revoke",
    ] {
        assert!(log.iter().any(|a| a == action), "{action} in {log:?}");
    }
}

domain::backend_tests! {
    async fn engine_folders_are_made_shared_and_hold_flows(store) {
        folders_are_made_shared_and_hold_flows(store).await;
    }
}
