//! The Assignments view's and the Directory's form posts, through the real router, on
//! both backends: what changes, what the System Log and the directory events say, and
//! what is refused with nothing changed.

mod common;

use common::*;
use domain::access::Role;
use domain::audit::{Actor, NewEntry, Outcome};
use domain::directory::{User, UserStatus};
use domain::store::GroupWrite;
use reqwest::StatusCode;

async fn post(
    client: &reqwest::Client,
    server: &TestServer,
    path: &str,
    form: &[(&str, &str)],
) -> String {
    let response = server.post_form(client, path, form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "POST {path}");
    location(&response)
}

async fn user(server: &TestServer, name: &str) -> User {
    server.store.user_by_name(name).await.unwrap().unwrap()
}

async fn last_actions(server: &TestServer, n: i64) -> Vec<String> {
    server
        .store
        .recent_audit(n)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

fn system_entry() -> NewEntry {
    NewEntry::new(
        domain::audit::Action::ConsoleGroupCreate,
        Outcome::Success,
        Actor::System,
    )
}

domain::backend_tests! {
    async fn an_admin_assigns_changes_and_unassigns_a_role(store) {
        let server = start(store, Options::default()).await;
        let admin = server.client_as(Role::WorkflowsAdministrator).await;
        server.add_user("ann@example.com", Role::UnassignedUser).await;
        let ann = server.client_of("ann@example.com").await;
        assert_eq!(ann.get(server.url("/system-log")).send().await.unwrap().status(), StatusCode::FORBIDDEN);

        // An unknown role or user is refused, and nothing changes.
        let to = post(&admin, &server, "/assignments/users", &[("user_name", "ann@example.com"), ("role", "owner")]).await;
        assert_eq!(to, "/assignments?error=role");
        let to = post(&admin, &server, "/assignments/users", &[("user_name", "nobody@example.com"), ("role", "workflows_auditor")]).await;
        assert_eq!(to, "/assignments?error=no-user");
        // An administrator cannot give Super Admin.
        let to = post(&admin, &server, "/assignments/users", &[("user_name", "ann@example.com"), ("role", "super_admin")]).await;
        assert!(to.starts_with("/assignments?error=super-admin&why="), "{to}");
        assert_eq!(user(&server, "ann@example.com").await.role, Role::UnassignedUser);

        let to = post(&admin, &server, "/assignments/users", &[("user_name", "ANN@example.com"), ("role", "workflows_auditor")]).await;
        assert_eq!(to, "/assignments?notice=assigned");
        let record = user(&server, "ann@example.com").await;
        assert_eq!(record.role, Role::WorkflowsAuditor);
        assert_eq!(last_actions(&server, 1).await, vec!["app.user.role_change"]);
        let events: Vec<String> = server.store.directory_events_about(record.id.0).await.unwrap().into_iter().map(|e| e.event_type).collect();
        assert!(events.ends_with(&["user.role_changed".to_string(), "user.assigned_to_app".to_string()]), "{events:?}");

        // Ann's session ended with the change; signed in again she has the role.
        let response = ann.get(server.url("/system-log")).send().await.unwrap();
        assert_eq!(location(&response), "/sign-in?next=%2Fsystem-log");
        let ann = server.client_of("ann@example.com").await;
        assert_eq!(ann.get(server.url("/system-log")).send().await.unwrap().status(), StatusCode::OK);

        let to = post(&admin, &server, &format!("/assignments/users/{}/role", record.id), &[("role", "connection_manager")]).await;
        assert_eq!(to, "/assignments?notice=role-changed");
        assert_eq!(user(&server, "ann@example.com").await.role, Role::ConnectionManager);
        let to = post(&admin, &server, &format!("/assignments/users/{}/unassign", record.id), &[]).await;
        assert_eq!(to, "/assignments?notice=unassigned");
        assert_eq!(user(&server, "ann@example.com").await.role, Role::UnassignedUser);

        // Provision user stamps "last provisioned" and tells the flows.
        let to = post(&admin, &server, &format!("/assignments/users/{}/provision", record.id), &[]).await;
        assert_eq!(to, "/assignments?notice=provisioned");
        assert!(user(&server, "ann@example.com").await.last_provisioned_at > record.last_provisioned_at);
        assert_eq!(last_actions(&server, 1).await, vec!["app.user.provision"]);

        // An auditor may look and export, never change.
        let auditor = server.client_as(Role::WorkflowsAuditor).await;
        let response = auditor.post(server.url(&format!("/assignments/users/{}/role", record.id))).form(&[("role", "workflows_auditor")]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(user(&server, "ann@example.com").await.role, Role::UnassignedUser);
    }

    async fn the_last_super_admin_stays(store) {
        let server = start(store, Options::default()).await;
        let root = server.client_as(Role::SuperAdmin).await;
        let me = user(&server, "super_admin@example.com").await;
        let to = post(&root, &server, &format!("/assignments/users/{}/role", me.id), &[("role", "workflows_administrator")]).await;
        assert!(to.starts_with("/assignments?error=last-super-admin&why="), "{to}");
        assert_eq!(user(&server, "super_admin@example.com").await.role, Role::SuperAdmin);
        // Suspending oneself is refused too.
        let to = post(&root, &server, &format!("/directory/users/{}/status", me.id), &[("status", "suspended")]).await;
        assert!(to.starts_with(&format!("/directory/users/{}?error=self&why=", me.id)), "{to}");
        // An administrator cannot touch a Super Admin's account.
        let admin = server.client_as(Role::WorkflowsAdministrator).await;
        let to = post(&admin, &server, &format!("/directory/users/{}/status", me.id), &[("status", "suspended")]).await;
        assert!(to.starts_with(&format!("/directory/users/{}?error=super-admin&why=", me.id)), "{to}");
        assert_eq!(user(&server, "super_admin@example.com").await.status, UserStatus::Active);
    }

    async fn a_group_mapped_to_a_role_gives_it_to_its_members(store) {
        let server = start(store, Options::default()).await;
        let admin = server.client_as(Role::WorkflowsAdministrator).await;
        server.add_user("bob@example.com", Role::UnassignedUser).await;
        let bob_record = user(&server, "bob@example.com").await;
        let auditors = server.store.create_group(
            &GroupWrite { display_name: "Auditors".into(), external_id: None, attributes: Default::default(), members: vec![bob_record.id] },
            &Actor::System, &system_entry(),
        ).await.unwrap();
        let to = post(&admin, &server, "/assignments/groups", &[("group_id", &auditors.id.to_string()), ("role", "nonsense")]).await;
        assert_eq!(to, "/assignments?error=role");
        let to = post(&admin, &server, "/assignments/groups", &[("group_id", "not-an-id"), ("role", "workflows_auditor")]).await;
        assert_eq!(to, "/assignments?error=no-group");
        let to = post(&admin, &server, "/assignments/groups", &[("group_id", &auditors.id.to_string()), ("role", "workflows_auditor")]).await;
        assert_eq!(to, "/assignments?notice=mapped");
        assert_eq!(last_actions(&server, 1).await, vec!["app.group.role_map"]);

        let bob = server.client_of("bob@example.com").await;
        assert_eq!(bob.get(server.url("/system-log")).send().await.unwrap().status(), StatusCode::OK);
        // The page lists Bob with his source.
        let page = admin.get(server.url("/assignments")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Group Auditors (Workflows Auditor)"), "{page}");

        // The access review says who has what, and why.
        let response = admin.get(server.url("/assignments/access-review.csv")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"idflow-access-review-"));
        let csv = response.text().await.unwrap();
        assert!(csv.starts_with("userName,displayName,status,right,through,lastSignIn\n"), "{csv}");
        assert!(csv.contains("bob@example.com,,active,Workflows Auditor,group Auditors,"), "{csv}");
        assert!(csv.contains("workflows_administrator@example.com,,active,Workflows Administrator,direct,"), "{csv}");
        assert_eq!(last_actions(&server, 1).await, vec!["app.access_review.export"]);

        // Removing Bob from the group in the Directory takes the role away.
        let to = post(&admin, &server, &format!("/directory/groups/{}/members/{}/remove", auditors.id, bob_record.id), &[]).await;
        assert_eq!(to, format!("/directory/groups/{}?notice=member-removed", auditors.id));
        let response = bob.get(server.url("/system-log")).send().await.unwrap();
        assert_eq!(location(&response), "/sign-in?next=%2Fsystem-log");
        let bob = server.client_of("bob@example.com").await;
        assert_eq!(bob.get(server.url("/system-log")).send().await.unwrap().status(), StatusCode::FORBIDDEN);

        // Adding him back by name gives it again; unmapping takes it away.
        let to = post(&admin, &server, &format!("/directory/groups/{}/members", auditors.id), &[("user_name", "bob@example.com")]).await;
        assert_eq!(to, format!("/directory/groups/{}?notice=member-added", auditors.id));
        let bob = server.client_of("bob@example.com").await;
        assert_eq!(bob.get(server.url("/system-log")).send().await.unwrap().status(), StatusCode::OK);
        let to = post(&admin, &server, &format!("/assignments/groups/{}/unmap", auditors.id), &[]).await;
        assert_eq!(to, "/assignments?notice=unmapped");
        let bob = server.client_of("bob@example.com").await;
        assert_eq!(bob.get(server.url("/system-log")).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    }

    async fn converting_assignments_moves_users_under_the_group(store) {
        let server = start(store, Options::default()).await;
        let admin = server.client_as(Role::WorkflowsAdministrator).await;
        server.add_user("cy@example.com", Role::WorkflowsAuditor).await;
        let cy = user(&server, "cy@example.com").await;
        let team = server.store.create_group(
            &GroupWrite { display_name: "Team".into(), external_id: None, attributes: Default::default(), members: vec![] },
            &Actor::System, &system_entry(),
        ).await.unwrap();
        let group = team.id.to_string();
        let to = post(&admin, &server, "/assignments/convert", &[("group_id", &group)]).await;
        assert!(to.starts_with("/assignments?error=none-chosen"), "{to}");
        let to = post(&admin, &server, "/assignments/convert", &[("group_id", &group), ("user_id", &cy.id.to_string())]).await;
        assert!(to.starts_with("/assignments?error=group-unmapped&why="), "{to}");
        post(&admin, &server, "/assignments/groups", &[("group_id", &group), ("role", "workflows_auditor")]).await;
        let to = post(&admin, &server, "/assignments/convert", &[("group_id", &group), ("user_id", &cy.id.to_string())]).await;
        assert_eq!(to, "/assignments?notice=converted");
        assert_eq!(user(&server, "cy@example.com").await.role, Role::UnassignedUser);
        assert_eq!(server.store.group(team.id).await.unwrap().unwrap().members.len(), 1);
        let cy_client = server.client_of("cy@example.com").await;
        assert_eq!(cy_client.get(server.url("/system-log")).send().await.unwrap().status(), StatusCode::OK);
    }

    async fn an_admin_creates_edits_suspends_and_deactivates_a_user(store) {
        let server = start(store, Options::default()).await;
        let admin = server.client_as(Role::WorkflowsAdministrator).await;
        let to = post(&admin, &server, "/directory/users", &[("user_name", ""), ("display_name", "Nobody")]).await;
        assert_eq!(to, "/directory/users?error=user-name");
        let to = post(&admin, &server, "/directory/users", &[("user_name", "dee@example.com"), ("email", "not an email")]).await;
        assert_eq!(to, "/directory/users?error=email");
        let to = post(&admin, &server, "/directory/users", &[
            ("user_name", "dee@example.com"), ("display_name", "Dee Diaz"), ("email", "dee@example.com"),
            ("given_name", "Dee"), ("family_name", "Diaz"), ("title", "Engineer"), ("department", "R&D"),
        ]).await;
        let dee = user(&server, "dee@example.com").await;
        assert_eq!(to, format!("/directory/users/{}?notice=user-created", dee.id));
        assert_eq!(dee.display_name.as_deref(), Some("Dee Diaz"));
        assert_eq!(dee.attributes["name"]["givenName"], "Dee");
        assert_eq!(dee.attributes[domain::scim::ENTERPRISE_USER]["department"], "R&D");
        assert_eq!((dee.role, dee.status), (Role::UnassignedUser, UserStatus::Active));
        // The same name again, in other case, is taken.
        let to = post(&admin, &server, "/directory/users", &[("user_name", "DEE@example.com")]).await;
        assert_eq!(to, "/directory/users?error=taken");

        let page = format!("/directory/users/{}", dee.id);
        let to = post(&admin, &server, &page, &[
            ("user_name", "dee@example.com"), ("display_name", "Dee Diaz"), ("email", "dee@example.com"),
            ("given_name", "Dee"), ("family_name", "Diaz"), ("title", "Manager"), ("department", "R&D"),
        ]).await;
        assert_eq!(to, format!("{page}?notice=user-updated"));
        let events = server.store.directory_events_about(dee.id.0).await.unwrap();
        let profile = events.last().unwrap();
        assert_eq!(profile.event_type, "user.profile_updated");
        assert_eq!(profile.changes.len(), 1);
        assert_eq!(profile.changes[0].attribute, "title");
        assert_eq!(profile.actor_display.as_deref(), Some("workflows_administrator@example.com"));

        // Saving the same profile again writes nothing.
        let before = server.store.directory_events_about(dee.id.0).await.unwrap().len();
        let to = post(&admin, &server, &page, &[
            ("user_name", "dee@example.com"), ("display_name", "Dee Diaz"), ("email", "dee@example.com"),
            ("given_name", "Dee"), ("family_name", "Diaz"), ("title", "Manager"), ("department", "R&D"),
        ]).await;
        assert_eq!(to, format!("{page}?notice=unchanged"));
        assert_eq!(server.store.directory_events_about(dee.id.0).await.unwrap().len(), before);

        let status = format!("{page}/status");
        assert_eq!(post(&admin, &server, &status, &[("status", "gone")]).await, format!("{page}?error=status"));
        assert_eq!(post(&admin, &server, &status, &[("status", "suspended")]).await, format!("{page}?notice=suspended"));
        assert_eq!(user(&server, "dee@example.com").await.status, UserStatus::Suspended);
        assert_eq!(post(&admin, &server, &status, &[("status", "active")]).await, format!("{page}?notice=unsuspended"));
        assert_eq!(post(&admin, &server, &status, &[("status", "deprovisioned")]).await, format!("{page}?notice=deactivated"));
        assert_eq!(post(&admin, &server, &status, &[("status", "active")]).await, format!("{page}?notice=reactivated"));
        let kinds: Vec<String> = server.store.directory_events_about(dee.id.0).await.unwrap().into_iter().map(|e| e.event_type).collect();
        assert!(kinds.ends_with(&["user.suspended", "user.unsuspended", "user.deactivated", "user.reactivated"].map(String::from)), "{kinds:?}");
        assert_eq!(last_actions(&server, 4).await, vec![
            "directory.user.reactivate", "directory.user.deactivate", "directory.user.unsuspend", "directory.user.suspend",
        ]);

        // Groups: create, and a name that is taken.
        let to = post(&admin, &server, "/directory/groups", &[("display_name", "Engineering")]).await;
        assert!(to.starts_with("/directory/groups/") && to.ends_with("?notice=group-created"), "{to}");
        let to = post(&admin, &server, "/directory/groups", &[("display_name", "engineering")]).await;
        assert_eq!(to, "/directory/groups?error=taken");
        let to = post(&admin, &server, "/directory/groups", &[("display_name", " ")]).await;
        assert_eq!(to, "/directory/groups?error=group-name");
    }

    async fn provisioning_and_group_events_start_flows(store) {
        use domain::flows::{Binding, Card, Flow};
        let server = start(store, Options::default()).await;
        let admin = server.client_as(Role::WorkflowsAdministrator).await;
        let on = |name: &str, trigger: &str, template: &str| {
            let mut flow = Flow::new(name, trigger);
            flow.settings.save_all_data = true;
            flow.cards = vec![Card::new(1, "text.compose").with_inputs(&[("template", Binding::template(template))])];
            flow
        };
        let provisioned = server.store.test_flow_on(&on("Provisioned", "directory.user_provisioned", "{{ trigger.user.email }} as {{ trigger.user.role }}")).await;
        let created = server.store.test_flow_on(&on("Group made", "directory.group_created", "{{ trigger.group.name }} by {{ trigger.actor }}")).await;
        let deleted = server.store.test_flow_on(&on("Group gone", "directory.group_deleted", "{{ trigger.group.name }} ({{ trigger.group.id }})")).await;

        // Provision User on the Assignments page; a group made in the Directory, then
        // deleted by the identity provider over SCIM.
        let ann = user(&server, "workflows_administrator@example.com").await;
        let to = post(&admin, &server, &format!("/assignments/users/{}/provision", ann.id), &[]).await;
        assert_eq!(to, "/assignments?notice=provisioned");
        let to = post(&admin, &server, "/directory/groups", &[("display_name", "Contractors")]).await;
        assert!(to.ends_with("?notice=group-created"), "{to}");
        let group = server.store.group_by_name("Contractors").await.unwrap().unwrap();
        let audit = NewEntry::new(domain::audit::Action::ScimTokenCreate, Outcome::Success, Actor::System);
        let (_, token) = server.store.create_scim_token("Okta", domain::store::TokenMaker::Operator, &audit).await.unwrap();
        let response = client()
            .delete(server.url(&format!("/scim/v2/Groups/{}", group.id)))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);

        domain::engine::triggers::dispatch_directory_events(&server.store, 100).await.unwrap();
        domain::engine::runner::Runner::new(server.store.clone(), "test").drain().await.unwrap();
        let said = |flow: domain::flows::FlowId| {
            let store = server.store.clone();
            async move {
                let runs = store
                    .executions(&domain::store::ExecutionFilter { flow: Some(flow), limit: 10, ..Default::default() })
                    .await
                    .unwrap();
                assert_eq!(runs.len(), 1, "one execution");
                assert_eq!(runs[0].status, domain::engine::Status::Succeeded, "{:?}", runs[0].error);
                let steps = store.execution_steps(runs[0].id).await.unwrap();
                steps[0].outputs.clone().unwrap()["output"].as_str().unwrap().to_string()
            }
        };
        assert_eq!(said(provisioned.id).await, format!("{} as workflows_administrator", ann.email.clone().unwrap_or_default()));
        assert!(said(created.id).await.starts_with("Contractors by "));
        assert_eq!(said(deleted.id).await, format!("Contractors ({})", group.id));
    }
}
