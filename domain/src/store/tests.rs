//! The store's story, told on SQLite and on PostgreSQL.

use super::*;
use crate::access::Role;
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::directory::UserStatus;

fn admin() -> NewUser {
    NewUser {
        user_name: "Ada@Example.com".into(),
        display_name: Some("Ada Lovelace".into()),
        email: Some("ada@example.com".into()),
        role: Role::SuperAdmin,
    }
}

crate::backend_tests! {
    async fn store_story(store) {
        // A fresh database is migrated and ready.
        let ready = store.readiness().await;
        assert!(ready.is_ready(), "{ready:?}");
        assert_eq!(store.count_users().await.unwrap(), 0);

        // A user with a password and the log entry about it land together.
        let entry = NewEntry::new(Action::BootstrapAdminCreated, Outcome::Success, Actor::System);
        let user = store.create_user(&admin(), Some("$argon2id$fake"), Some(&entry)).await.unwrap();
        assert_eq!(user.role, Role::SuperAdmin);
        assert_eq!(user.status, UserStatus::Active);
        assert_eq!(store.count_users().await.unwrap(), 1);

        // userName is unique regardless of case, and found regardless of case.
        let again = NewUser { user_name: "ada@EXAMPLE.com".into(), ..admin() };
        let err = store.create_user(&again, None, None).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        let found = store.user_by_name("ADA@example.COM").await.unwrap().unwrap();
        assert_eq!(found, user);
        assert_eq!(store.user(user.id).await.unwrap().unwrap(), user);
        assert_eq!(store.password_hash(user.id).await.unwrap().as_deref(), Some("$argon2id$fake"));

        // A failed create wrote no log entry; the successful one did.
        let log = store.recent_audit(10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].action, "system.bootstrap.admin_created");

        // A password change ends earlier sessions and is logged.
        let reset = NewEntry::new(Action::PasswordReset, Outcome::Success, Actor::Operator);
        store.set_password_hash(user.id, "$argon2id$new", &reset).await.unwrap();
        let after = store.user(user.id).await.unwrap().unwrap();
        assert!(after.sessions_valid_after.is_some());
        assert_eq!(store.password_hash(user.id).await.unwrap().as_deref(), Some("$argon2id$new"));

        // Suspension and role changes hold and end sessions.
        store.set_user_status(user.id, UserStatus::Suspended).await.unwrap();
        store.set_user_role(user.id, Role::WorkflowsAuditor).await.unwrap();
        let after = store.user(user.id).await.unwrap().unwrap();
        assert_eq!(after.status, UserStatus::Suspended);
        assert_eq!(after.role, Role::WorkflowsAuditor);

        // Sign-in bookkeeping.
        let signin = NewEntry::new(Action::SessionStart, Outcome::Success, Actor::User { id: Some(user.id.0), display: "Ada".into() });
        store.record_sign_in(user.id, &signin).await.unwrap();
        assert!(store.user(user.id).await.unwrap().unwrap().last_sign_in_at.is_some());

        // Throttle counters survive a read-modify-write and can be cleared.
        let t0 = now();
        let state = store.update_throttle("account:ada", |prev| {
            assert!(prev.is_none());
            ThrottleState { failures: 1, window_started_at: t0, locked_until: None }
        }).await.unwrap();
        assert_eq!(state.failures, 1);
        let state = store.update_throttle("account:ada", |prev| {
            let prev = prev.unwrap();
            ThrottleState { failures: prev.failures + 1, locked_until: Some(t0), ..prev }
        }).await.unwrap();
        assert_eq!(store.throttle_state("account:ada").await.unwrap(), Some(state));
        store.clear_throttle("account:ada").await.unwrap();
        assert_eq!(store.throttle_state("account:ada").await.unwrap(), None);

        // The log is newest first and append-only.
        let log = store.recent_audit(10).await.unwrap();
        assert_eq!(log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            vec!["user.session.start", "user.account.reset_password", "system.bootstrap.admin_created"]);
        let refused = with_pool!(store, pool => {
            sqlx::query("UPDATE audit_log SET outcome = 'failure'").execute(pool).await.map(|_| ())
        });
        assert!(refused.is_err(), "the System Log accepted an update");
    }

    async fn migrations_are_idempotent(store) {
        store.migrate().await.unwrap();
        assert!(store.readiness().await.is_ready());
    }
}

#[tokio::test]
async fn a_failed_migration_names_itself() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/broken.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    // A table in the way makes the first migration fail.
    with_pool!(store, pool => {
        sqlx::query("CREATE TABLE users (x INTEGER)").execute(pool).await.unwrap();
    });
    let err = store.migrate().await.unwrap_err().to_string();
    assert!(err.contains("20261122000001_foundation"), "{err}");
    assert!(err.contains("SQLite migration"), "{err}");
    let ready = store.readiness().await;
    assert!(!ready.is_ready());
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_without_leaking_the_password() {
    let err = Store::connect("mysql://root:hunter2@localhost/db")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("sqlite: or postgres:"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_a_busy_timeout() {
    let db = testing::sqlite().await;
    let store = db.store.clone();
    let (mode, timeout): (String, i64) = with_pool!(store, pool => {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await.unwrap();
        let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(pool).await.unwrap();
        (mode, timeout)
    });
    assert_eq!(mode, "wal");
    assert!(timeout >= 5000, "busy timeout {timeout} ms");
}

fn scim_actor() -> Actor {
    Actor::ScimClient {
        token_id: uuid::Uuid::nil(),
        name: "Okta".into(),
    }
}

fn write(user_name: &str) -> UserWrite {
    UserWrite {
        user_name: user_name.into(),
        external_id: Some("00u1".into()),
        status: UserStatus::Active,
        role: Role::UnassignedUser,
        display_name: Some("Ada".into()),
        email: Some("ada@example.com".into()),
        attributes: serde_json::json!({"title": "Engineer", crate::scim::ENTERPRISE_USER: {"department": "R&D"}})
            .as_object()
            .unwrap()
            .clone(),
    }
}

fn entry() -> NewEntry {
    NewEntry::new(Action::ScimUserUpdate, Outcome::Success, scim_actor())
}

mod directory_writes {
    use super::*;

    crate::backend_tests! {
        async fn directory_changes_write_events_and_nothing_for_no_change(store) {
            let user = store.provision_user(&write("ada@example.com"), &scim_actor(), &entry()).await.unwrap();
            assert_eq!(user.version, 1);
            assert_eq!(user.attributes["title"], "Engineer");
            let events = store.directory_events_about(user.id.0).await.unwrap();
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].event_type, "user.created");
            assert_eq!(events[0].actor_display.as_deref(), Some("SCIM: Okta"));

            // The same state again: no event, no new version.
            let outcome = store.update_user(user.id, None, &write("ada@example.com"), &scim_actor(), &entry()).await.unwrap().unwrap();
            assert!(matches!(outcome, WriteOutcome::Unchanged(_)));
            assert_eq!(store.directory_events_about(user.id.0).await.unwrap().len(), 1);

            // A title change, a deactivation and a first role: four events (the role is
            // also an assignment to the console), one version.
            let mut next = write("ada@example.com");
            next.attributes.insert("title".into(), "Manager".into());
            next.status = UserStatus::Deprovisioned;
            next.role = Role::WorkflowsAuditor;
            let outcome = store.update_user(user.id, Some(1), &next, &scim_actor(), &entry()).await.unwrap().unwrap();
            let updated = outcome.user().clone();
            assert_eq!(updated.version, 2);
            assert!(updated.sessions_valid_after.is_some());
            let events = store.directory_events_about(user.id.0).await.unwrap();
            let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
            assert_eq!(kinds, vec!["user.created", "user.deactivated", "user.role_changed", "user.assigned_to_app", "user.profile_updated"]);
            let profile = &events[4].changes;
            assert_eq!(profile, &vec![Change { attribute: "title".into(), old: "Engineer".into(), new: "Manager".into() }]);

            // A stale If-Match is refused and changes nothing.
            let err = store.update_user(user.id, Some(1), &write("ada@example.com"), &scim_actor(), &entry()).await.unwrap_err();
            assert!(matches!(err, StoreError::PreconditionFailed { current: 2 }), "{err:?}");

            assert!(store.delete_user(user.id, &scim_actor(), &entry()).await.unwrap());
            assert!(!store.delete_user(user.id, &scim_actor(), &entry()).await.unwrap());
            assert!(store.update_user(user.id, None, &write("x"), &scim_actor(), &entry()).await.unwrap().is_none());
            assert_eq!(store.directory_events_about(user.id.0).await.unwrap().last().unwrap().event_type, "user.deleted");
        }

        async fn scim_tokens_are_stored_hashed_and_revocable(store) {
            let audit = NewEntry::new(Action::ScimTokenCreate, Outcome::Success, Actor::Operator);
            let (token, secret) = store.create_scim_token("Okta", TokenMaker::Operator, &audit).await.unwrap();
            assert!(secret.starts_with("idf_scim_"));
            let stored: Vec<String> = with_pool!(store, pool => {
                sqlx::query_scalar("SELECT token_hash FROM scim_tokens").fetch_all(pool).await.unwrap()
            });
            assert!(!stored.contains(&secret));
            let found = store.authenticate_scim_token(&secret).await.unwrap().unwrap();
            assert_eq!(found.id, token.id);
            assert!(found.last_used_at.is_some());
            assert!(store.authenticate_scim_token("idf_scim_wrong").await.unwrap().is_none());
            assert!(store.revoke_scim_token(token.id, &audit).await.unwrap());
            assert!(store.authenticate_scim_token(&secret).await.unwrap().is_none());
        }
    }
}

mod assignments {
    use super::*;
    use crate::access::{FolderRole, Permission, Rights};
    use crate::assignments::Grantee;
    use crate::directory::User;

    async fn user(store: &Store, name: &str, role: Role) -> User {
        let w = UserWrite {
            role,
            external_id: None,
            ..write(name)
        };
        store
            .provision_user(&w, &scim_actor(), &entry())
            .await
            .unwrap()
    }

    async fn group(store: &Store, name: &str, members: &[&User]) -> crate::directory::Group {
        let w = GroupWrite {
            display_name: name.into(),
            external_id: None,
            attributes: Default::default(),
            members: members.iter().map(|u| u.id).collect(),
        };
        store
            .create_group(&w, &scim_actor(), &entry())
            .await
            .unwrap()
    }

    fn event_types(events: &[DirectoryEvent]) -> Vec<&str> {
        events.iter().map(|e| e.event_type.as_str()).collect()
    }

    crate::backend_tests! {
        async fn rights_are_the_union_of_direct_role_group_roles_and_folder_grants(store) {
            let ann = user(&store, "ann@example.com", Role::ConnectionManager).await;
            let bob = user(&store, "bob@example.com", Role::UnassignedUser).await;
            let auditors = group(&store, "Auditors", &[&ann, &bob]).await;
            assert_eq!(store.rights_of(&bob).await.unwrap(), Rights::of(Role::UnassignedUser));

            // Mapping the group gives its members the role and ends their sessions.
            let before = store.user(bob.id).await.unwrap().unwrap().sessions_valid_after;
            let previous = store.map_group_role(auditors.id, Some(Role::WorkflowsAuditor), &scim_actor(), &entry()).await.unwrap();
            assert_eq!(previous, Some(None));
            let bob = store.user(bob.id).await.unwrap().unwrap();
            assert!(bob.sessions_valid_after > before);
            assert_eq!(store.rights_of(&bob).await.unwrap().role(), Role::WorkflowsAuditor);
            let ann_rights = store.rights_of(&ann).await.unwrap();
            assert_eq!(ann_rights.roles(), &[Role::WorkflowsAuditor, Role::ConnectionManager]);
            assert!(ann_rights.allows(Permission::ViewConnections) && ann_rights.allows(Permission::ViewSystemLog));
            assert_eq!(event_types(&store.directory_events_about(auditors.id.0).await.unwrap()), vec!["group.created", "group.role_mapped"]);

            // Mapping it to the same role again changes nothing and writes nothing.
            store.map_group_role(auditors.id, Some(Role::WorkflowsAuditor), &scim_actor(), &entry()).await.unwrap();
            assert_eq!(store.directory_events_about(auditors.id.0).await.unwrap().len(), 2);

            // The Assignments view: Ann directly and through the group, Bob through it.
            let a = store.assignments().await.unwrap();
            let names: Vec<&str> = a.users.iter().map(|u| u.user_name.as_str()).collect();
            assert_eq!(names, vec!["ann@example.com", "bob@example.com"]);
            assert!(a.users[0].is_direct() && !a.users[1].is_direct());
            assert_eq!(a.users[1].via_groups[0].group_name, "Auditors");
            assert_eq!(a.groups.len(), 1);
            assert_eq!((a.groups[0].role, a.groups[0].members), (Role::WorkflowsAuditor, 2));

            // Leaving a mapped group takes the role away.
            let w = GroupWrite { display_name: "Auditors".into(), external_id: None, attributes: Default::default(), members: vec![ann.id] };
            store.update_group(auditors.id, None, &w, &scim_actor(), &entry()).await.unwrap();
            assert_eq!(store.rights_of(&bob).await.unwrap().role(), Role::UnassignedUser);

            // A folder grant through a group reaches its members; the strongest grant holds.
            let made = NewEntry::new(Action::FolderCreate, Outcome::Success, Actor::System);
            let folder = store.create_folder("HR", &made).await.unwrap();
            assert!(matches!(store.create_folder("hr", &made).await, Err(StoreError::Conflict { .. })));
            assert!(matches!(store.create_folder("  ", &made).await, Err(StoreError::Invalid(_))));
            let other = store.create_folder("Finance", &made).await.unwrap();
            let renamed = NewEntry::new(Action::FolderRename, Outcome::Success, Actor::System);
            assert!(matches!(store.rename_folder(other, "hr", &renamed).await, Err(StoreError::Conflict { .. })));
            assert!(store.rename_folder(other, "Finance & Payroll", &renamed).await.unwrap());
            assert!(!store.rename_folder(uuid::Uuid::now_v7(), "Nope", &renamed).await.unwrap());
            let names: Vec<String> = store.folders().await.unwrap().into_iter().map(|f| f.name).collect();
            assert_eq!(names, vec!["Finance & Payroll", "HR"]);
            // A flow moves into a folder that exists, and back to the top level.
            let flow = store.create_flow(&crate::flows::Flow::new("Onboard", "trigger.manual"), None, &Author::nobody("admin"), &NewEntry::new(Action::FlowCreate, Outcome::Success, Actor::System)).await.unwrap();
            let moved = NewEntry::new(Action::FlowMove, Outcome::Success, Actor::System);
            assert!(store.move_flow(flow.id, Some(folder), &moved).await.unwrap());
            assert_eq!(store.flow_summary(flow.id).await.unwrap().unwrap().folder, Some(folder));
            assert!(matches!(store.move_flow(flow.id, Some(uuid::Uuid::now_v7()), &moved).await, Err(StoreError::Invalid(_))));
            assert_eq!(store.flow_summary(flow.id).await.unwrap().unwrap().folder, Some(folder), "a refused move changes nothing");
            assert!(store.move_flow(flow.id, None, &moved).await.unwrap());
            assert!(!store.move_flow(crate::flows::FlowId::new(), None, &moved).await.unwrap());
            let logged: Vec<String> = store.recent_audit(3).await.unwrap().into_iter().map(|e| e.action).collect();
            assert_eq!(logged, vec!["flow.move", "flow.move", "flow.create"]);
            store.delete_flow(flow.id, &made).await.unwrap();
            let grant = NewEntry::new(Action::FolderGrant, Outcome::Success, Actor::System);
            store.set_folder_grant(folder, &Grantee::Group { id: auditors.id, name: "Auditors".into() }, Some(FolderRole::Reader), &grant).await.unwrap();
            store.set_folder_grant(folder, &Grantee::User(ann.id), Some(FolderRole::Editor), &grant).await.unwrap();
            assert_eq!(store.rights_of(&ann).await.unwrap().in_folder(folder), Some(FolderRole::Editor));
            assert_eq!(store.rights_of(&bob).await.unwrap().in_folder(folder), None);
            // Replacing a grant keeps one per grantee.
            store.set_folder_grant(folder, &Grantee::User(ann.id), Some(FolderRole::Runner), &grant).await.unwrap();
            assert_eq!(store.folder_grants().await.unwrap().len(), 2);

            // The access review names every path, by user.
            let review = store.access_review().await.unwrap();
            let lines: Vec<(String, String, String)> = review.iter().map(|r| (r.user_name.clone(), r.right.clone(), r.through.clone())).collect();
            assert_eq!(lines, vec![
                ("ann@example.com".into(), "Connection Manager".into(), "direct".into()),
                ("ann@example.com".into(), "Workflows Auditor".into(), "group Auditors".into()),
                ("ann@example.com".into(), "Reader of folder HR".into(), "folder grant to group Auditors".into()),
                ("ann@example.com".into(), "Runner of folder HR".into(), "folder grant".into()),
            ]);

            // Unmapping ends the role for the members.
            assert_eq!(store.map_group_role(auditors.id, None, &scim_actor(), &entry()).await.unwrap(), Some(Some(Role::WorkflowsAuditor)));
            assert_eq!(store.rights_of(&ann).await.unwrap().roles(), &[Role::ConnectionManager]);
            assert_eq!(store.map_group_role(crate::directory::GroupId::new(), None, &scim_actor(), &entry()).await.unwrap(), None);
        }

        async fn converting_assignments_moves_direct_users_under_the_group(store) {
            let ann = user(&store, "ann@example.com", Role::WorkflowsAuditor).await;
            let bob = user(&store, "bob@example.com", Role::UnassignedUser).await;
            let team = group(&store, "Team", &[]).await;
            // Only to a mapped group.
            let err = store.convert_assignments(team.id, &[ann.id], &scim_actor(), &entry()).await.unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
            store.map_group_role(team.id, Some(Role::WorkflowsAuditor), &scim_actor(), &entry()).await.unwrap();
            // A user without a direct assignment refuses the whole conversion.
            let err = store.convert_assignments(team.id, &[ann.id, bob.id], &scim_actor(), &entry()).await.unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
            assert_eq!(store.user(ann.id).await.unwrap().unwrap().role, Role::WorkflowsAuditor);
            assert!(store.group(team.id).await.unwrap().unwrap().members.is_empty());

            assert_eq!(store.convert_assignments(team.id, &[ann.id], &scim_actor(), &entry()).await.unwrap(), 1);
            let ann = store.user(ann.id).await.unwrap().unwrap();
            assert_eq!(ann.role, Role::UnassignedUser);
            assert_eq!(store.rights_of(&ann).await.unwrap().role(), Role::WorkflowsAuditor);
            let events = store.directory_events_about(ann.id.0).await.unwrap();
            assert_eq!(event_types(&events), vec!["user.created", "user.added_to_group", "user.role_changed"]);
        }

        async fn one_super_admin_always_remains_and_provisioning_is_stamped(store) {
            let ada = user(&store, "ada@example.com", Role::SuperAdmin).await;
            let bob = user(&store, "bob@example.com", Role::UnassignedUser).await;
            assert_eq!(store.super_admins_left(SuperAdminPath::DirectRoleOf(ada.id)).await.unwrap(), 0);
            assert_eq!(store.super_admins_left(SuperAdminPath::User(bob.id)).await.unwrap(), 1);
            let admins = group(&store, "Admins", &[&bob]).await;
            store.map_group_role(admins.id, Some(Role::SuperAdmin), &scim_actor(), &entry()).await.unwrap();
            assert_eq!(store.super_admins_left(SuperAdminPath::DirectRoleOf(ada.id)).await.unwrap(), 1);
            assert_eq!(store.super_admins_left(SuperAdminPath::Group(admins.id)).await.unwrap(), 1);
            assert_eq!(store.super_admins_left(SuperAdminPath::User(ada.id)).await.unwrap(), 1);

            let stamped = store.resync_user(bob.id, &scim_actor(), &entry()).await.unwrap().unwrap();
            assert!(stamped.last_provisioned_at > bob.last_provisioned_at);
            let events = store.directory_events_about(bob.id.0).await.unwrap();
            let last = events.last().unwrap();
            assert_eq!(last.event_type, "user.provisioned");
            assert_eq!(last.changes[0].new, "super_admin");
            assert!(store.resync_user(crate::directory::UserId::new(), &scim_actor(), &entry()).await.unwrap().is_none());
        }
    }
}

mod sso {
    use super::*;
    use crate::store::{SsoIdentity, SsoSettings};
    use secrecy::{ExposeSecret, SecretString};

    fn identity(subject: &str) -> SsoIdentity {
        SsoIdentity {
            issuer: "https://example.okta.com".into(),
            subject: subject.into(),
        }
    }

    fn signed_in() -> NewEntry {
        NewEntry::new(Action::SessionStart, Outcome::Success, Actor::System)
    }

    crate::backend_tests! {
        async fn an_account_links_to_one_user_and_never_moves(store) {
            let ada = store.create_user(&admin(), None, None).await.unwrap();
            let other = NewUser { user_name: "grace@example.com".into(), email: Some("ADA@example.com".into()), ..admin() };
            let grace = store.create_user(&other, None, None).await.unwrap();

            // By email: the user named by it first, then one whose email it is.
            let found = store.users_by_email("ada@EXAMPLE.com").await.unwrap();
            assert_eq!(found.iter().map(|u| u.id).collect::<Vec<_>>(), vec![ada.id, grace.id]);

            let link = NewEntry::new(Action::SsoLink, Outcome::Success, Actor::System);
            store.record_sso_sign_in(&identity("00u1"), ada.id, Some(&link), &signed_in()).await.unwrap();
            assert_eq!(store.user_by_sso(&identity("00u1")).await.unwrap().unwrap().id, ada.id);
            assert!(store.user(ada.id).await.unwrap().unwrap().last_sign_in_at.is_some());
            // Signing in again through it is fine; moving it to another user is not.
            store.record_sso_sign_in(&identity("00u1"), ada.id, None, &signed_in()).await.unwrap();
            let err = store.record_sso_sign_in(&identity("00u1"), grace.id, None, &signed_in()).await.unwrap_err();
            assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
            assert_eq!(store.user_by_sso(&identity("00u1")).await.unwrap().unwrap().id, ada.id);
            assert_eq!(store.sso_identities_of(grace.id).await.unwrap(), vec![]);
            let log = store.recent_audit(10).await.unwrap();
            assert_eq!(log.iter().filter(|e| e.action == "user.sso.link").count(), 1);

            // A first sign-on that matches nobody makes a user without a role, linked.
            let new = NewUser { user_name: "lin@example.com".into(), display_name: None, email: Some("lin@example.com".into()), role: Role::UnassignedUser };
            let lin = store.create_sso_user(&new, &identity("00u2"), &[signed_in()]).await.unwrap();
            assert_eq!(lin.role, Role::UnassignedUser);
            assert_eq!(store.sso_identities_of(lin.id).await.unwrap(), vec![identity("00u2")]);
            // The same account again cannot make a second user; nothing is half-written.
            let again = NewUser { user_name: "lin2@example.com".into(), ..new };
            assert!(store.create_sso_user(&again, &identity("00u2"), &[signed_in()]).await.is_err());
            assert!(store.user_by_name("lin2@example.com").await.unwrap().is_none());
        }

        async fn settings_are_one_row_with_a_write_only_secret(store) {
            assert!(store.sso_settings().await.unwrap().is_none());
            let entry = NewEntry::new(Action::SsoSettingsChange, Outcome::Success, Actor::System);
            let settings = SsoSettings {
                display_name: "Okta".into(),
                issuer: "https://example.okta.com".into(),
                client_id: "0oa1".into(),
                client_secret: SecretString::from("s3cret".to_string()),
                updated_at: crate::store::now(),
                updated_by: "ada@example.com".into(),
            };
            store.save_sso_settings(Some(&settings), &entry).await.unwrap();
            let changed = SsoSettings { client_id: "0oa2".into(), ..settings };
            store.save_sso_settings(Some(&changed), &entry).await.unwrap();
            let saved = store.sso_settings().await.unwrap().unwrap();
            assert_eq!(saved.client_id, "0oa2");
            assert_eq!(saved.client_secret.expose_secret(), "s3cret");
            assert!(saved.has_client_secret());
            store.save_sso_settings(None, &entry).await.unwrap();
            assert!(store.sso_settings().await.unwrap().is_none());
            assert_eq!(store.recent_audit(10).await.unwrap().len(), 3);
        }
    }
}

mod flows {
    use super::*;
    use crate::flows::{Binding, Card, CardId, Flow, FlowId, OnError, Source};

    fn entry(action: Action) -> NewEntry {
        NewEntry::new(action, Outcome::Success, Actor::System)
    }

    fn offboarding() -> Flow {
        let mut flow = Flow::new("Offboarding", "directory.user_deactivated");
        flow.cards.push(Card {
            id: CardId(1),
            kind: "directory.clear_sessions".into(),
            inputs: [(
                "user".to_string(),
                Binding::mapping(Source::Trigger, "user.id"),
            )]
            .into(),
            on_error: OnError::Retry { times: 2 },
            timeout_seconds: None,
            note: "Sign them out first".into(),
            lanes: vec![],
        });
        flow
    }

    crate::backend_tests! {
        async fn every_save_is_a_new_version_and_stale_saves_are_refused(store) {
            let flow = store.create_flow(&offboarding(), None, &store.test_author("ada@example.com").await, &entry(Action::FlowCreate)).await.unwrap();
            assert_eq!((flow.version, flow.enabled, flow.trigger_kind.as_str()), (1, false, "directory.user_deactivated"));

            let mut changed = offboarding();
            changed.name = "Offboarding v2".into();
            changed.cards[0].note = "Changed".into();
            let saved = store.save_flow(flow.id, &changed, 1, &store.test_author("grace@example.com").await, &entry(Action::FlowSave)).await.unwrap().unwrap();
            assert_eq!((saved.version, saved.name.as_str()), (2, "Offboarding v2"));
            // Someone still on version 1 cannot overwrite version 2.
            let stale = store.save_flow(flow.id, &offboarding(), 1, &store.test_author("ada@example.com").await, &entry(Action::FlowSave)).await.unwrap_err();
            assert!(matches!(stale, StoreError::PreconditionFailed { current: 2 }), "{stale:?}");

            // Versions are kept whole, newest first; the current one is the latest.
            let versions = store.flow_versions(flow.id).await.unwrap();
            assert_eq!(versions.iter().map(|v| (v.version, v.author.as_str())).collect::<Vec<_>>(), vec![(2, "grace@example.com"), (1, "ada@example.com")]);
            assert_eq!(versions[1].definition, offboarding());
            assert_eq!(store.flow_version(flow.id, None).await.unwrap().unwrap().definition, changed);
            // Restoring version 1 is saving it again, as version 3.
            let restored = store.save_flow(flow.id, &versions[1].definition, 2, &store.test_author("ada@example.com").await, &entry(Action::FlowSave)).await.unwrap().unwrap();
            assert_eq!((restored.version, restored.name.as_str()), (3, "Offboarding"));
            assert_eq!(store.save_flow(FlowId::new(), &changed, 1, &store.test_author("x").await, &entry(Action::FlowSave)).await.unwrap(), None);
            assert_eq!(store.recent_audit(10).await.unwrap().len(), 3, "the refused save logged nothing");
        }

        async fn only_a_flow_without_problems_turns_on(store) {
            let mut broken = offboarding();
            broken.cards[0].inputs.clear();
            let flow = store.create_flow(&broken, None, &store.test_author("ada@example.com").await, &entry(Action::FlowCreate)).await.unwrap();
            let err = store.set_flow_enabled(flow.id, true, &store.test_author("ada@example.com").await, &entry(Action::FlowEnable)).await.unwrap_err();
            assert!(err.to_string().contains("needs \"User ID\""), "{err}");
            assert!(store.enabled_flows_for("directory.user_deactivated").await.unwrap().is_empty());

            let fixed = store.save_flow(flow.id, &offboarding(), 1, &store.test_author("ada@example.com").await, &entry(Action::FlowSave)).await.unwrap().unwrap();
            assert!(store.set_flow_enabled(fixed.id, true, &store.test_author("ada@example.com").await, &entry(Action::FlowEnable)).await.unwrap());
            let on = store.enabled_flows_for("directory.user_deactivated").await.unwrap();
            assert_eq!(on.iter().map(|v| (v.flow, v.version)).collect::<Vec<_>>(), vec![(flow.id, 2)]);
            // Saving a version with problems turns the flow off rather than run it broken.
            store.save_flow(flow.id, &broken, 2, &store.test_author("ada@example.com").await, &entry(Action::FlowSave)).await.unwrap();
            assert!(!store.flow_summary(flow.id).await.unwrap().unwrap().enabled);

            // Deleting takes its versions with it.
            assert!(store.delete_flow(flow.id, &entry(Action::FlowDelete)).await.unwrap());
            assert!(store.flow_versions(flow.id).await.unwrap().is_empty());
            assert!(store.flows().await.unwrap().is_empty());
            assert!(!store.delete_flow(flow.id, &entry(Action::FlowDelete)).await.unwrap());
        }
    }
}

mod tables {
    use super::*;
    use crate::store::RowQuery;
    use crate::tables::{Column, ColumnType, Row, Schema};
    use serde_json::json;

    fn entry(action: Action) -> NewEntry {
        NewEntry::new(action, Outcome::Success, Actor::System)
    }

    fn departments() -> Schema {
        Schema {
            name: "Departments".into(),
            columns: vec![
                Column {
                    name: "department".into(),
                    ty: ColumnType::Text,
                },
                Column {
                    name: "headcount".into(),
                    ty: ColumnType::Number,
                },
                Column {
                    name: "remote".into(),
                    ty: ColumnType::Boolean,
                },
                Column {
                    name: "groups".into(),
                    ty: ColumnType::Json,
                },
            ],
            key: Some("department".into()),
        }
    }

    fn row(value: serde_json::Value) -> Row {
        departments().check_row(value.as_object().unwrap()).unwrap()
    }

    crate::backend_tests! {
        async fn rows_keep_unique_keys_and_are_found_sorted_and_paged(store) {
            let table = store.create_table(&departments(), None, &entry(Action::TableCreate)).await.unwrap();
            let again = store.create_table(&Schema { name: "departments".into(), ..departments() }, None, &entry(Action::TableCreate)).await.unwrap_err();
            assert!(matches!(again, StoreError::Conflict { .. }), "{again:?}");
            let broken = store.create_table(&Schema { columns: vec![], ..departments() }, None, &entry(Action::TableCreate)).await.unwrap_err();
            assert!(matches!(broken, StoreError::Invalid(_)), "{broken:?}");

            for (name, count, remote) in [("Engineering", 40, true), ("Sales", 12, false), ("Support", 25, true), ("IT_Ops", 5, false)] {
                store.insert_row(&table, &row(json!({"department": name, "headcount": count, "remote": remote, "groups": ["all", name]})), None).await.unwrap();
            }
            let duplicate = store.insert_row(&table, &row(json!({"department": "Sales"})), None).await.unwrap_err();
            assert!(matches!(duplicate, StoreError::Conflict { .. }), "{duplicate:?}");

            let names = |rows: &[crate::store::RowRecord]| rows.iter().map(|r| r.data["department"].as_str().unwrap().to_string()).collect::<Vec<_>>();
            let page = |q: RowQuery| { let store = store.clone(); let table = table.clone(); async move { store.rows(&table, &q).await.unwrap() } };

            let (rows, total) = page(RowQuery { sort: Some(("headcount".into(), true)), limit: 2, ..RowQuery::default() }).await;
            assert_eq!((names(&rows), total), (vec!["Engineering".to_string(), "Support".to_string()], 4));
            let (rows, _) = page(RowQuery { sort: Some(("headcount".into(), true)), limit: 2, offset: 2, ..RowQuery::default() }).await;
            assert_eq!(names(&rows), ["Sales", "IT_Ops"]);
            let (rows, total) = page(RowQuery { equals: Some(("remote".into(), json!(true))), sort: Some(("department".into(), false)), limit: 10, ..RowQuery::default() }).await;
            assert_eq!((names(&rows), total), (vec!["Engineering".to_string(), "Support".to_string()], 2));
            let (rows, _) = page(RowQuery { equals: Some(("headcount".into(), json!("12"))), limit: 10, ..RowQuery::default() }).await;
            assert_eq!(names(&rows), ["Sales"]);
            // Search ignores case, and % or _ are plain characters in it.
            let (rows, _) = page(RowQuery { search: Some("SUPP".into()), limit: 10, ..RowQuery::default() }).await;
            assert_eq!(names(&rows), ["Support"]);
            let (rows, _) = page(RowQuery { search: Some("t_o".into()), limit: 10, ..RowQuery::default() }).await;
            assert_eq!(names(&rows), ["IT_Ops"]);
            assert!(store.rows(&table, &RowQuery { sort: Some(("colour".into(), false)), limit: 1, ..RowQuery::default() }).await.is_err());
            assert!(store.rows(&table, &RowQuery { equals: Some(("headcount".into(), json!("many"))), limit: 1, ..RowQuery::default() }).await.is_err());

            // By key, update (the key may change, not to another row's), delete.
            let sales = store.row_by_key(table.id, "Sales").await.unwrap().unwrap();
            let moved = store.update_row(&table, sales.id, &row(json!({"department": "Field Sales", "headcount": 14})), None).await.unwrap().unwrap();
            assert_eq!(moved.data["headcount"], 14);
            assert!(store.row_by_key(table.id, "Sales").await.unwrap().is_none());
            let clash = store.update_row(&table, sales.id, &row(json!({"department": "Support"})), None).await.unwrap_err();
            assert!(matches!(clash, StoreError::Conflict { .. }), "{clash:?}");
            assert!(store.delete_row(table.id, sales.id, None).await.unwrap());
            assert!(!store.delete_row(table.id, sales.id, None).await.unwrap());
            assert_eq!(store.table(table.id).await.unwrap().unwrap().rows, Some(3));
        }

        async fn a_csv_import_adds_what_fits_and_reports_the_rest(store) {
            let table = store.create_table(&departments(), None, &entry(Action::TableCreate)).await.unwrap();
            store.insert_row(&table, &row(json!({"department": "Dept 5"})), None).await.unwrap();
            let mut csv = String::from("department,headcount,remote\n");
            for i in 0..100 {
                match i {
                    20 => csv.push_str("Dept 20,twenty,yes\n"),
                    40 => csv.push_str("Dept 40,40,perhaps\n"),
                    _ => csv.push_str(&format!("Dept {i},{i},no\n")),
                }
            }
            let read = crate::tables::read_csv(&departments(), csv.as_bytes()).unwrap();
            assert_eq!(read.rows.len(), 98);
            let imported = store.import_rows(&table, "departments.csv", &read, &entry(Action::TableImport)).await.unwrap();
            // "Dept 5" was already in the table; lines 22 and 42 do not fit the columns.
            assert_eq!(imported.rows, 97);
            assert_eq!(imported.summary(), "97 rows imported, 3 rejected");
            let lines: Vec<u64> = imported.rejects.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![7, 22, 42]);
            assert!(imported.rejects[0].reasons[0].contains("\"Dept 5\" is already in the table"));
            assert!(imported.rejects[1].reasons[0].contains("headcount"), "{:?}", imported.rejects[1]);
            assert_eq!(store.tables().await.unwrap()[0].rows, Some(98));
            // The report is kept, and the System Log says what the import did.
            let kept = store.table_import(table.id, imported.id).await.unwrap().unwrap();
            assert_eq!(kept.rejects, imported.rejects);
            assert_eq!((kept.rows, kept.file_name.as_str()), (97, "departments.csv"));
            assert!(store.table_import(table.id, uuid::Uuid::now_v7()).await.unwrap().is_none());
            let logged = store.recent_audit(1).await.unwrap().remove(0);
            assert_eq!(logged.reason.as_deref(), Some("97 rows imported, 3 rejected from departments.csv"));

            // Export what is there: every row, the header first.
            let (rows, total) = store.rows(&table, &RowQuery { limit: 1000, ..RowQuery::default() }).await.unwrap();
            assert_eq!(total, 98);
            let data: Vec<Row> = rows.into_iter().map(|r| r.data).collect();
            let text = crate::tables::write_csv(&departments(), &data).unwrap();
            assert_eq!(text.lines().count(), 99);

            assert!(store.delete_table(table.id, &entry(Action::TableDelete)).await.unwrap());
            assert!(store.table_by_name("departments").await.unwrap().is_none());
        }
    }
}

mod engine {
    use super::*;
    use crate::engine::runner::Runner;
    use crate::engine::{ExecutionId, Status};
    use crate::flows::{Binding, Card, CardId, Flow, FlowId, Lane, OnError, Source};
    use crate::store::{ExecutionFilter, NewExecution};
    use crate::tables::{Column, ColumnType, Schema};
    use serde_json::{Value, json};

    fn entry(action: Action) -> NewEntry {
        NewEntry::new(action, Outcome::Success, Actor::System)
    }

    fn card(id: u32, kind: &str, inputs: &[(&str, Binding)]) -> Card {
        Card::new(id, kind).with_inputs(inputs)
    }

    fn from(id: u32, path: &str) -> Binding {
        Binding::mapping(Source::Card(CardId(id)), path)
    }

    /// Eleven cards, ten of which run: text functions, an object built for a table row, a
    /// table write and read, a comparison, an If/Else whose Else lane is skipped, Return.
    fn ten_cards() -> Flow {
        let mut flow = Flow::new("Ten cards", "trigger.manual");
        let mut branch = card(8, "flow.if_else", &[("condition", from(7, "output"))]);
        branch.lanes = vec![
            Lane {
                name: "Then".into(),
                condition: None,
                cards: vec![card(
                    9,
                    "text.trim",
                    &[("text", Binding::literal(" long "))],
                )],
            },
            Lane {
                name: "Else".into(),
                condition: None,
                cards: vec![card(
                    10,
                    "text.trim",
                    &[("text", Binding::literal(" short "))],
                )],
            },
        ];
        flow.cards = vec![
            card(
                1,
                "text.compose",
                &[(
                    "template",
                    Binding::template("{{ trigger.input.name }}@Example.com"),
                )],
            ),
            card(
                2,
                "text.change_case",
                &[
                    ("text", from(1, "output")),
                    ("case", Binding::literal("lower")),
                ],
            ),
            card(
                3,
                "object.set",
                &[
                    ("object", Binding::literal(json!({}))),
                    ("path", Binding::literal("email")),
                    ("value", from(2, "output")),
                ],
            ),
            card(
                4,
                "tables.create_row",
                &[
                    ("table", Binding::literal("people")),
                    ("row", from(3, "output")),
                ],
            ),
            card(
                5,
                "tables.read_row",
                &[
                    ("table", Binding::literal("people")),
                    ("key", from(2, "output")),
                ],
            ),
            card(6, "text.length", &[("text", from(2, "output"))]),
            card(
                7,
                "number.compare",
                &[
                    ("a", from(6, "output")),
                    ("operator", Binding::literal(">")),
                    ("b", Binding::literal(5)),
                ],
            ),
            branch,
            card(11, "flow.return", &[("output", from(5, "row"))]),
        ];
        flow
    }

    async fn setup(store: &Store, flow: &Flow) -> FlowId {
        let people = Schema {
            name: "people".into(),
            columns: vec![Column {
                name: "email".into(),
                ty: ColumnType::Text,
            }],
            key: Some("email".into()),
        };
        if store.table_by_name("people").await.unwrap().is_none() {
            store
                .create_table(&people, None, &entry(Action::TableCreate))
                .await
                .unwrap();
        }
        assert_eq!(
            crate::flows::validate::validate(flow, crate::flows::catalog::catalog()),
            vec![]
        );
        store
            .create_flow(
                flow,
                None,
                &store.test_author("ada@example.com").await,
                &entry(Action::FlowCreate),
            )
            .await
            .unwrap()
            .id
    }

    async fn start(store: &Store, flow: FlowId, input: Value) -> ExecutionId {
        store
            .enqueue_execution(&NewExecution {
                flow,
                flow_version: store.flow_summary(flow).await.unwrap().unwrap().version,
                trigger_kind: "trigger.manual".into(),
                input: json!({ "input": input }),
                subject: None,
                dedupe_key: None,
                causal_chain: vec![],
                parent: None,
                test: false,
                acting_for: None,
            })
            .await
            .unwrap()
            .unwrap()
    }

    crate::backend_tests! {
        async fn a_ten_card_flow_records_every_card(store) {
            let flow = setup(&store, &ten_cards()).await;
            let id = start(&store, flow, json!({"name": "Grace"})).await;
            let runner = Runner::new(store.clone(), "worker-1");
            assert_eq!(runner.drain().await.unwrap(), 1);

            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
            assert_eq!(done.output, Some(json!({"email": "grace@example.com"})));
            let steps = store.execution_steps(id).await.unwrap();
            assert_eq!(steps.iter().map(|s| s.card_id).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
            assert!(steps.iter().all(|s| s.status == "succeeded" && s.attempt == 1 && s.inputs.is_some()));
            assert_eq!(steps[1].inputs, Some(json!({"text": "Grace@Example.com", "case": "lower"})));
            assert_eq!(steps[1].outputs, Some(json!({"output": "grace@example.com"})));
            assert_eq!(steps[7].outputs, Some(json!({"lane": "Then"})));
            let table = store.table_by_name("people").await.unwrap().unwrap();
            assert!(store.row_by_key(table.id, "grace@example.com").await.unwrap().is_some());

            // Without "save all data", only status and timing are kept.
            let mut quiet = ten_cards();
            quiet.settings.save_all_data = false;
            quiet.name = "Quiet".into();
            let quiet = setup(&store, &quiet).await;
            let id = start(&store, quiet, json!({"name": "Alan"})).await;
            runner.drain().await.unwrap();
            let steps = store.execution_steps(id).await.unwrap();
            assert_eq!(steps.len(), 10);
            assert!(steps.iter().all(|s| s.inputs.is_none() && s.outputs.is_none() || s.card_kind == "flow.if_else"));

            // Found in the history by flow, status and a value it carried.
            let found = store.executions(&ExecutionFilter { carried: Some("alan@example".into()), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
            assert_eq!(found.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);
            let by_flow = store.executions(&ExecutionFilter { flow: Some(flow), status: Some(Status::Succeeded), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
            assert_eq!(by_flow.len(), 1);
        }

        async fn an_execution_run_at_once_is_stored_before_its_first_change(store) {
            use crate::store::ExecutionRecord;
            let runner = Runner::new(store.clone(), "inline");
            let begin = |flow: FlowId, input: Value| async move {
                let new = NewExecution::new(flow, 1, "trigger.manual", json!({ "input": input }));
                ExecutionRecord::starting(ExecutionId::new(), new)
            };

            // Cards that change nothing, then a return: stored once, at its end, whole.
            let mut pure = Flow::new("Pure", "trigger.manual");
            pure.settings.save_all_data = true;
            pure.cards = vec![
                card(1, "text.compose", &[("template", Binding::template("Hello {{ trigger.input.name }}"))]),
                card(2, "text.change_case", &[("text", from(1, "output")), ("case", Binding::literal("upper"))]),
                card(3, "flow.return", &[("output", from(2, "output"))]),
            ];
            let pure = setup(&store, &pure).await;
            let record = begin(pure, json!({"name": "Ada"})).await;
            let id = record.id;
            let watch = store.signals().watch(id);
            assert!(store.execution(id).await.unwrap().is_none());
            runner.run_unstored(record).await.unwrap();
            let ended = watch.ended_within(std::time::Duration::ZERO).await.unwrap();
            store.signals().forget(id);
            assert_eq!((ended.status, ended.output), (Status::Succeeded, Some(json!("HELLO ADA"))));
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!((done.status, done.output.clone(), done.steps), (Status::Succeeded, Some(json!("HELLO ADA")), 3));
            assert!(done.started_at.is_some() && done.finished_at.is_some());
            assert_eq!(done.input, json!({"input": {"name": "Ada"}}));
            let steps = store.execution_steps(id).await.unwrap();
            assert_eq!(steps.iter().map(|s| s.card_id).collect::<Vec<_>>(), [1, 2, 3]);
            assert_eq!(steps[1].outputs, Some(json!({"output": "HELLO ADA"})));
            // It is in the history like any other.
            let listed = store.executions(&ExecutionFilter { flow: Some(pure), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
            assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);

            // Executions that end together are written together; one that cannot be
            // written (its flow is gone) fails alone.
            let ended = crate::store::Ended { status: Status::Succeeded, output: Some(json!(1)), error: None };
            let mut calls = Vec::new();
            for n in 0..20 {
                let flow = if n == 7 { FlowId(uuid::Uuid::now_v7()) } else { pure };
                let record = begin(flow, json!({ "n": n })).await;
                let (store, ended) = (store.clone(), ended.clone());
                calls.push(tokio::spawn(async move {
                    store.accept_finished(&record, &[], &record.progress, &ended).await
                }));
            }
            let mut stored = Vec::new();
            for call in calls {
                stored.push(call.await.unwrap().ok());
            }
            assert_eq!(stored.iter().filter(|s| **s == Some(true)).count(), 19, "{stored:?}");
            assert_eq!(stored[7], None);
            let listed = store.executions(&ExecutionFilter { flow: Some(pure), limit: 100, ..ExecutionFilter::default() }).await.unwrap();
            assert_eq!(listed.len(), 20);

            // The ten-card flow writes a table: stored, held by this runner, before that
            // card; the records and the answer are the same as a queued run's.
            let ten = setup(&store, &ten_cards()).await;
            let record = begin(ten, json!({"name": "Grace"})).await;
            let id = record.id;
            runner.run_unstored(record).await.unwrap();
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
            assert_eq!(done.output, Some(json!({"email": "grace@example.com"})));
            let steps = store.execution_steps(id).await.unwrap();
            assert_eq!(steps.iter().map(|s| s.card_id).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
            assert_eq!(done.steps, 10);

            // A Wait stores it (with the cards before) and leaves it to the workers, who
            // go on after the last recorded card.
            let mut waits = Flow::new("Waits", "trigger.manual");
            waits.cards = vec![
                card(1, "text.trim", &[("text", Binding::literal(" a "))]),
                card(2, "flow.wait", &[("seconds", Binding::literal(3600))]),
                card(3, "text.trim", &[("text", Binding::literal(" b "))]),
            ];
            let waits = setup(&store, &waits).await;
            let record = begin(waits, json!({})).await;
            let id = record.id;
            runner.run_unstored(record).await.unwrap();
            let waiting = store.execution(id).await.unwrap().unwrap();
            assert_eq!((waiting.status, waiting.steps), (Status::Queued, 2));
            assert_eq!(Runner::new(store.clone(), "worker-1").run_one().await.unwrap(), None, "not due for an hour");
            assert!(store.run_now(id).await.unwrap());
            assert_eq!(Runner::new(store.clone(), "worker-1").drain().await.unwrap(), 1);
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!((done.status, done.steps), (Status::Succeeded, 3));
            let steps = store.execution_steps(id).await.unwrap();
            assert_eq!(steps.iter().map(|s| s.card_id).collect::<Vec<_>>(), [1, 2, 3]);

            // A failure in a card that changes nothing is stored with the failure.
            let mut fails = Flow::new("Fails", "trigger.manual");
            fails.cards = vec![card(1, "number.add", &[("a", Binding::mapping(Source::Trigger, "input.a")), ("b", Binding::literal(1))])];
            let fails = setup(&store, &fails).await;
            let record = begin(fails, json!({"a": "not a number"})).await;
            let id = record.id;
            runner.run_unstored(record).await.unwrap();
            let failed = store.execution(id).await.unwrap().unwrap();
            assert_eq!(failed.status, Status::Failed);
            assert!(failed.error.as_deref().unwrap().starts_with("card 1"), "{:?}", failed.error);
            assert_eq!(store.execution_steps(id).await.unwrap().len(), 1);
        }

        async fn retries_follow_the_policy_and_a_failure_names_its_card(store) {
            // A card with no time to run times out: a retryable error.
            let mut flow = Flow::new("Retries", "trigger.manual");
            let mut slow = card(1, "tables.read_row", &[("table", Binding::literal("people")), ("key", Binding::literal("x"))]);
            slow.timeout_seconds = Some(0);
            slow.on_error = OnError::Retry { times: 2 };
            flow.cards = vec![slow];
            let flow = setup(&store, &flow).await;
            let id = start(&store, flow, json!({})).await;
            let runner = Runner::new(store.clone(), "worker-1");
            for _ in 0..3 {
                runner.run_one().await.unwrap();
                let now = store.execution(id).await.unwrap().unwrap();
                if now.status == Status::Queued {
                    // Backing off: not due yet, so nothing to claim until an admin says "now".
                    assert_eq!(runner.run_one().await.unwrap(), None);
                    assert!(store.run_now(id).await.unwrap());
                }
            }
            let failed = store.execution(id).await.unwrap().unwrap();
            assert_eq!(failed.status, Status::Failed);
            assert!(failed.error.as_deref().unwrap().starts_with("card 1 \"Read Row\" failed: timed out"), "{:?}", failed.error);
            let steps = store.execution_steps(id).await.unwrap();
            assert_eq!(steps.iter().map(|s| (s.attempt, s.status.as_str())).collect::<Vec<_>>(), [(1, "failed"), (2, "failed"), (3, "failed")]);

            // A fatal error is not retried; "continue" goes on past it.
            let mut flow = Flow::new("Continue", "trigger.manual");
            let mut raise = card(1, "flow.raise_error", &[("message", Binding::literal("not today"))]);
            raise.on_error = OnError::Continue;
            flow.cards = vec![raise, card(2, "text.trim", &[("text", Binding::literal(" ok "))])];
            let flow = setup(&store, &flow).await;
            let id = start(&store, flow, json!({})).await;
            runner.drain().await.unwrap();
            assert_eq!(store.execution(id).await.unwrap().unwrap().status, Status::Succeeded);
            let steps = store.execution_steps(id).await.unwrap();
            assert_eq!(steps.iter().map(|s| s.status.as_str()).collect::<Vec<_>>(), ["failed", "succeeded"]);
            assert_eq!(steps[0].error.as_deref(), Some("not today"));
        }

        async fn the_error_lane_runs_once_then_the_execution_fails(store) {
            let mut flow = Flow::new("Error lane", "trigger.manual");
            let mut risky = card(1, "flow.raise_error", &[("message", Binding::literal("the HR system said no"))]);
            risky.on_error = OnError::ErrorLane {
                cards: vec![
                    card(2, "text.compose", &[("template", Binding::template("alert: {{ card_1.error }}"))]),
                    card(3, "object.set", &[
                        ("object", Binding::literal(json!({}))),
                        ("path", Binding::literal("email")),
                        ("value", from(2, "output")),
                    ]),
                    card(4, "tables.create_row", &[("table", Binding::literal("people")), ("row", from(3, "output"))]),
                ],
            };
            flow.cards = vec![risky, card(5, "text.trim", &[("text", Binding::literal("never"))])];
            let flow = setup(&store, &flow).await;
            let id = start(&store, flow, json!({})).await;
            let runner = Runner::new(store.clone(), "worker-1");
            runner.drain().await.unwrap();

            let failed = store.execution(id).await.unwrap().unwrap();
            assert_eq!(failed.status, Status::Failed);
            assert_eq!(failed.error.as_deref(), Some("card 1 \"Raise Error\" failed: the HR system said no"));
            let steps = store.execution_steps(id).await.unwrap();
            assert_eq!(steps.iter().map(|s| (s.card_id, s.status.as_str())).collect::<Vec<_>>(), [(1, "failed"), (2, "succeeded"), (3, "succeeded"), (4, "succeeded")]);
            assert_eq!(steps[1].outputs, Some(json!({"output": "alert: the HR system said no"})));
            let table = store.table_by_name("people").await.unwrap().unwrap();
            assert!(store.row_by_key(table.id, "alert: the HR system said no").await.unwrap().is_some());
            // Nothing is left to run: the lane ran once.
            assert_eq!(runner.drain().await.unwrap(), 0);
        }

        async fn a_flow_runs_no_more_executions_at_once_than_it_allows(store) {
            let mut flow = Flow::new("One at a time", "trigger.manual");
            flow.settings.max_concurrent = Some(1);
            flow.cards = vec![card(1, "text.trim", &[("text", Binding::literal(" x "))])];
            let flow = setup(&store, &flow).await;
            let first = start(&store, flow, json!({"n": 1})).await;
            let second = start(&store, flow, json!({"n": 2})).await;
            let lease = chrono::Utc::now() + chrono::Duration::seconds(30);
            let claimed = store.claim_execution("worker-a", lease).await.unwrap().unwrap();
            assert_eq!(claimed.id, first);
            // The flow's one slot is taken: the second waits.
            assert!(store.claim_execution("worker-b", lease).await.unwrap().is_none());
            store.finish_execution(first, "worker-a", Status::Succeeded, None, None).await.unwrap();
            assert_eq!(store.claim_execution("worker-b", lease).await.unwrap().map(|e| e.id), Some(second));
        }

        async fn timeouts_cancel_rerun_and_dedupe(store) {
            // An execution past its flow's time limit fails.
            let mut flow = Flow::new("No time", "trigger.manual");
            flow.settings.timeout_seconds = 0;
            flow.cards = vec![card(1, "flow.wait", &[("seconds", Binding::literal(1))]), card(2, "text.trim", &[("text", Binding::literal("x"))])];
            let flow = setup(&store, &flow).await;
            let id = start(&store, flow, json!({})).await;
            let runner = Runner::new(store.clone(), "worker-1");
            runner.run_one().await.unwrap();
            store.run_now(id).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            runner.run_one().await.unwrap();
            let timed_out = store.execution(id).await.unwrap().unwrap();
            assert_eq!(timed_out.status, Status::Failed);
            assert!(timed_out.error.unwrap().starts_with("timed out"));

            // Cancel: a waiting execution never runs its next card.
            let mut waits = Flow::new("Waits", "trigger.manual");
            waits.cards = vec![card(1, "flow.wait", &[("seconds", Binding::literal(600))]), card(2, "text.trim", &[("text", Binding::literal("x"))])];
            let waits = setup(&store, &waits).await;
            let id = start(&store, waits, json!({"n": 1})).await;
            runner.run_one().await.unwrap();
            assert!(store.cancel_execution(id, "cancelled by ada@example.com").await.unwrap());
            assert!(!store.cancel_execution(id, "again").await.unwrap());
            assert!(!store.run_now(id).await.unwrap());
            assert_eq!(runner.run_one().await.unwrap(), None);
            let cancelled = store.execution(id).await.unwrap().unwrap();
            assert_eq!((cancelled.status, cancelled.steps), (Status::Cancelled, 1));

            // Re-run: the same input, the flow's current version, a new execution.
            let again = store.rerun_execution(id).await.unwrap().unwrap();
            let rerun = store.execution(again).await.unwrap().unwrap();
            assert_eq!((rerun.status, rerun.input.clone()), (Status::Queued, json!({"input": {"n": 1}})));

            // Retention: executions that ended before the cutoff go, with their records;
            // running and queued ones stay.
            let before = store.executions(&ExecutionFilter { limit: 100, ..ExecutionFilter::default() }).await.unwrap().len();
            let gone = store.prune_executions(chrono::Utc::now() + chrono::Duration::seconds(1)).await.unwrap();
            assert_eq!(gone, 2, "the timed-out and the cancelled execution");
            let left = store.executions(&ExecutionFilter { limit: 100, ..ExecutionFilter::default() }).await.unwrap();
            assert_eq!(left.len(), before - 2);
            assert!(left.iter().all(|e| !e.status.is_final()));
            assert!(store.execution_steps(id).await.unwrap().is_empty());

            // The same event twice starts the flow once.
            let event = NewExecution {
                flow: waits,
                flow_version: 1,
                trigger_kind: "trigger.manual".into(),
                input: json!({}),
                subject: Some("ada@example.com".into()),
                dedupe_key: Some("event-1".into()),
                causal_chain: vec![],
                parent: None,
                test: false,
                acting_for: None,
            };
            assert!(store.enqueue_execution(&event).await.unwrap().is_some());
            assert!(store.enqueue_execution(&event).await.unwrap().is_none());
        }

        async fn a_worker_that_dies_is_replaced_and_recorded_cards_do_not_run_again(store) {
            let flow = setup(&store, &ten_cards()).await;
            let id = start(&store, flow, json!({"name": "Edsger"})).await;
            // Worker A claims it and dies at once: its lease is already over.
            let claimed = store.claim_execution("worker-a", chrono::Utc::now() - chrono::Duration::seconds(1)).await.unwrap();
            assert_eq!(claimed.map(|e| e.id), Some(id));
            // Worker B takes it over and runs it to the end; A's late writes are refused.
            let b = Runner::new(store.clone(), "worker-b");
            assert_eq!(b.run_one().await.unwrap(), Some(id));
            let progress = store.execution(id).await.unwrap().unwrap().progress;
            let late = crate::store::StepRecord {
                card_id: 1,
                card_kind: "text.compose".into(),
                status: "succeeded".into(),
                attempt: 1,
                inputs: None,
                outputs: None,
                error: None,
                started_at: chrono::Utc::now(),
                finished_at: chrono::Utc::now(),
            };
            assert!(!store.record_step(id, "worker-a", &late, &progress, chrono::Utc::now()).await.unwrap());
            let steps = store.execution_steps(id).await.unwrap();
            assert_eq!(steps.len(), 10, "each card once");
            assert_eq!(store.execution(id).await.unwrap().unwrap().status, Status::Succeeded);
        }
    }
}

mod flows_and_the_directory {
    use super::*;
    use crate::engine::Status;
    use crate::engine::runner::Runner;
    use crate::engine::triggers::{LOOP_STOPPED, dispatch_directory_events};
    use crate::flows::{Binding, Card, CardId, Flow, Source};
    use crate::store::{ExecutionFilter, GroupWrite, UserWrite};
    use crate::tables::{Column, ColumnType, Schema};
    use serde_json::json;

    fn entry(action: Action) -> NewEntry {
        NewEntry::new(action, Outcome::Success, Actor::System)
    }

    fn card(id: u32, kind: &str, inputs: &[(&str, Binding)]) -> Card {
        Card::new(id, kind).with_inputs(inputs)
    }

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

    async fn turn_on(store: &Store, flow: &Flow) -> crate::flows::FlowId {
        let made = store
            .create_flow(
                flow,
                None,
                &store.test_author("ada@example.com").await,
                &entry(Action::FlowCreate),
            )
            .await
            .unwrap();
        store
            .set_flow_enabled(
                made.id,
                true,
                &store.test_author("ada@example.com").await,
                &entry(Action::FlowEnable),
            )
            .await
            .unwrap();
        made.id
    }

    /// Dispatches and runs until nothing is left.
    async fn settle(store: &Store) {
        let runner = Runner::new(store.clone(), "worker-1");
        for _ in 0..10 {
            let started = dispatch_directory_events(store, 100).await.unwrap();
            let ran = runner.drain().await.unwrap();
            if started == 0 && ran == 0 {
                return;
            }
        }
        panic!("the flows did not settle in ten rounds");
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
}

/// Helper flows (Call Flow, For Each), Pause and Close, Find Users and List Group
/// Members, and the last two reference use cases (MFA reminder, lockout → manager).
mod helper_flows_and_use_cases {
    use super::*;
    use crate::engine::runner::Runner;
    use crate::engine::schedules::fire_schedules;
    use crate::engine::triggers::dispatch_directory_events;
    use crate::engine::{ExecutionId, Status, Waiting};
    use crate::flows::{Binding, Card, CardId, Flow, Lane, Source};
    use crate::store::{ExecutionFilter, GroupWrite, NewExecution, RowQuery, UserWrite};
    use crate::tables::{Column, ColumnType, Schema};
    use serde_json::{Value, json};

    fn entry(action: Action) -> NewEntry {
        NewEntry::new(action, Outcome::Success, Actor::System)
    }

    fn card(id: u32, kind: &str, inputs: &[(&str, Binding)]) -> Card {
        Card::new(id, kind).with_inputs(inputs)
    }

    fn person(name: &str, attributes: Value) -> UserWrite {
        UserWrite {
            user_name: name.into(),
            external_id: None,
            status: crate::directory::UserStatus::Active,
            role: Role::UnassignedUser,
            display_name: Some(name.split('@').next().unwrap_or(name).into()),
            email: Some(name.into()),
            attributes: attributes.as_object().cloned().unwrap_or_default(),
        }
    }

    async fn turn_on(store: &Store, flow: &Flow) -> crate::flows::FlowId {
        let made = store
            .create_flow(
                flow,
                None,
                &store.test_author("ada@example.com").await,
                &entry(Action::FlowCreate),
            )
            .await
            .unwrap();
        store
            .set_flow_enabled(
                made.id,
                true,
                &store.test_author("ada@example.com").await,
                &entry(Action::FlowEnable),
            )
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", flow.name));
        made.id
    }

    async fn start(store: &Store, flow: crate::flows::FlowId, input: Value) -> ExecutionId {
        store
            .enqueue_execution(&NewExecution {
                flow,
                flow_version: store.flow_summary(flow).await.unwrap().unwrap().version,
                trigger_kind: "trigger.manual".into(),
                input: json!({ "input": input }),
                subject: None,
                dedupe_key: None,
                causal_chain: vec![],
                parent: None,
                test: false,
                acting_for: None,
            })
            .await
            .unwrap()
            .unwrap()
    }

    async fn settle(store: &Store) {
        let runner = Runner::new(store.clone(), "worker-1");
        for _ in 0..10 {
            let started = dispatch_directory_events(store, 100).await.unwrap();
            let ran = runner.drain().await.unwrap();
            if started == 0 && ran == 0 {
                return;
            }
        }
        panic!("the flows did not settle in ten rounds");
    }

    /// "Greet": a helper flow that answers "Hello <item>", and fails for "bad".
    fn greet() -> Flow {
        let mut flow = Flow::new("Greet", "trigger.helper");
        flow.cards = vec![
            card(
                1,
                "boolean.compare",
                &[
                    ("a", Binding::mapping(Source::Trigger, "item")),
                    ("operator", Binding::literal("equals")),
                    ("b", Binding::literal("bad")),
                ],
            ),
            card(
                2,
                "flow.if_else",
                &[(
                    "condition",
                    Binding::mapping(Source::Card(CardId(1)), "output"),
                )],
            ),
            card(
                3,
                "text.compose",
                &[(
                    "template",
                    Binding::template(
                        "{{ trigger.input.greeting }} {{ trigger.item }} (#{{ trigger.index }})",
                    ),
                )],
            ),
            card(
                4,
                "flow.return",
                &[(
                    "output",
                    Binding::mapping(Source::Card(CardId(3)), "output"),
                )],
            ),
        ];
        flow.cards[1].lanes = vec![
            Lane {
                name: "Then".into(),
                condition: None,
                cards: vec![card(
                    5,
                    "flow.raise_error",
                    &[("message", Binding::literal("cannot greet bad"))],
                )],
            },
            Lane {
                name: "Else".into(),
                condition: None,
                cards: vec![],
            },
        ];
        flow
    }

    fn table(name: &str, columns: &[(&str, ColumnType)], key: Option<&str>) -> Schema {
        Schema {
            name: name.into(),
            columns: columns
                .iter()
                .map(|(n, ty)| Column {
                    name: (*n).into(),
                    ty: *ty,
                })
                .collect(),
            key: key.map(str::to_string),
        }
    }

    async fn rows(store: &Store, name: &str) -> Vec<serde_json::Map<String, Value>> {
        let table = store.table_by_name(name).await.unwrap().unwrap();
        let query = RowQuery {
            limit: 100,
            ..RowQuery::default()
        };
        store
            .rows(&table, &query)
            .await
            .unwrap()
            .0
            .into_iter()
            .map(|r| r.data)
            .collect()
    }

    crate::backend_tests! {
        async fn for_each_and_call_flow_wait_for_their_helper_flows(store) {
            turn_on(&store, &greet()).await;
            let mut double = Flow::new("Double", "trigger.helper");
            double.cards = vec![
                card(1, "number.add", &[("a", Binding::mapping(Source::Trigger, "input")), ("b", Binding::mapping(Source::Trigger, "input"))]),
                card(2, "flow.return", &[("output", Binding::mapping(Source::Card(CardId(1)), "output"))]),
            ];
            turn_on(&store, &double).await;
            let mut main = Flow::new("Greet everyone", "trigger.manual");
            main.cards = vec![
                card(1, "flow.for_each", &[("flow", Binding::literal("Greet")), ("items", Binding::mapping(Source::Trigger, "input.names")), ("input", Binding::literal(json!({"greeting": "Hello"})))]),
                card(2, "flow.call_flow", &[("flow", Binding::literal("double")), ("input", Binding::literal(21))]),
                card(3, "flow.return", &[("output", Binding::template("{{ card_1.outputs | join(', ') }} / {{ card_2.output }}"))]),
            ];
            let main = turn_on(&store, &main).await;

            let id = start(&store, main, json!({"names": ["Ada", "Grace", "Linus"]})).await;
            // The first claim starts the three helpers and leaves the parent waiting.
            let runner = Runner::new(store.clone(), "worker-1");
            assert_eq!(runner.run_one().await.unwrap(), Some(id));
            let waiting = store.execution(id).await.unwrap().unwrap();
            assert_eq!(waiting.status, Status::Waiting);
            assert!(matches!(waiting.progress.waiting, Some(Waiting::Children { count: 3, .. })));
            assert_eq!(store.helper_executions(id).await.unwrap().len(), 3);

            runner.drain().await.unwrap();
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
            assert_eq!(done.output, Some(json!("Hello Ada (#0), Hello Grace (#1), Hello Linus (#2) / 42")));
            // The history links the helpers to the card that started them, in order.
            let helpers = store.helper_executions(id).await.unwrap();
            let links: Vec<(u32, i64, Status)> = helpers.iter().map(|h| { let p = h.parent.unwrap(); (p.card, p.index, h.status) }).collect();
            assert_eq!(links, [(1, 0, Status::Succeeded), (1, 1, Status::Succeeded), (1, 2, Status::Succeeded), (2, 0, Status::Succeeded)]);
            assert!(helpers.iter().all(|h| h.parent.unwrap().execution == id && h.trigger_kind == "trigger.helper"));
            let steps = store.execution_steps(id).await.unwrap();
            assert_eq!(steps.iter().map(|s| s.card_id).collect::<Vec<_>>(), [1, 2, 3], "each card recorded once");
            assert_eq!(steps[0].outputs.as_ref().unwrap()["count"], 3);

            // An empty list calls nothing.
            let id = start(&store, main, json!({"names": []})).await;
            runner.drain().await.unwrap();
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!(done.output, Some(json!(" / 42")));
        }

        async fn a_failing_helper_fails_the_card_with_its_reason(store) {
            turn_on(&store, &greet()).await;
            let mut main = Flow::new("Greet with a bad name", "trigger.manual");
            main.cards = vec![card(1, "flow.for_each", &[("flow", Binding::literal("Greet")), ("items", Binding::mapping(Source::Trigger, "input")), ("input", Binding::literal(json!({"greeting": "Hi"})))])];
            let main = turn_on(&store, &main).await;
            let id = start(&store, main, json!(["Ada", "bad", "Grace"])).await;
            Runner::new(store.clone(), "worker-1").drain().await.unwrap();
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!(done.status, Status::Failed);
            let reason = done.error.unwrap();
            assert!(reason.contains("1 of 3 helper executions failed: item 2:") && reason.contains("cannot greet bad"), "{reason}");

            // A flow that is not a helper, or is off, is named in a sentence.
            let mut off = Flow::new("Off helper", "trigger.helper");
            off.cards = vec![card(1, "flow.return", &[("output", Binding::literal(1))])];
            store.create_flow(&off, None, &store.test_author("ada@example.com").await, &entry(Action::FlowCreate)).await.unwrap();
            for (target, expected) in [("Off helper", "is off; turn it on"), ("Greet with a bad name", "is not a helper flow"), ("Nope", "there is no flow \"Nope\"")] {
                let mut caller = Flow::new(format!("Call {target}"), "trigger.manual");
                caller.cards = vec![card(1, "flow.call_flow", &[("flow", Binding::literal(target))])];
                let caller = turn_on(&store, &caller).await;
                let id = start(&store, caller, json!(null)).await;
                Runner::new(store.clone(), "worker-1").drain().await.unwrap();
                let done = store.execution(id).await.unwrap().unwrap();
                assert_eq!(done.status, Status::Failed);
                assert!(done.error.as_deref().unwrap().contains(expected), "{:?}", done.error);
            }
        }

        async fn a_failed_execution_starts_its_error_flow(store) {
            store.create_table(&table("failures", &[("flow", ColumnType::Text), ("error", ColumnType::Text)], None), None, &entry(Action::TableCreate)).await.unwrap();
            let mut report = Flow::new("Report failures", "trigger.helper");
            report.cards = vec![card(1, "tables.create_row", &[("table", Binding::literal("failures")), ("row", Binding::template("{{ {'flow': trigger.input.flow_name, 'error': trigger.input.error} }}"))])];
            let report = turn_on(&store, &report).await;
            let mut risky = Flow::new("Risky", "trigger.manual");
            risky.settings.error_flow = Some(report);
            risky.cards = vec![card(1, "flow.raise_error", &[("message", Binding::literal("the HR system said no"))])];
            let risky = turn_on(&store, &risky).await;
            let id = start(&store, risky, json!(null)).await;
            Runner::new(store.clone(), "worker-1").drain().await.unwrap();
            assert_eq!(store.execution(id).await.unwrap().unwrap().status, Status::Failed);
            let logged = rows(&store, "failures").await;
            assert_eq!(logged.len(), 1);
            assert_eq!(logged[0]["flow"], "Risky");
            assert_eq!(logged[0]["error"], "card 1 \"Raise Error\" failed: the HR system said no");
        }

        async fn cancelling_a_waiting_execution_cancels_its_helpers(store) {
            turn_on(&store, &greet()).await;
            let mut main = Flow::new("Greet many", "trigger.manual");
            main.cards = vec![card(1, "flow.for_each", &[("flow", Binding::literal("Greet")), ("items", Binding::mapping(Source::Trigger, "input")), ("input", Binding::literal(json!({"greeting": "Hi"})))])];
            let main = turn_on(&store, &main).await;
            let id = start(&store, main, json!(["a", "b", "c", "d"])).await;
            let runner = Runner::new(store.clone(), "worker-1");
            runner.run_one().await.unwrap();
            runner.run_one().await.unwrap(); // one helper ends
            assert!(store.cancel_execution(id, "cancelled by ada@example.com").await.unwrap());
            let statuses: Vec<Status> = store.helper_executions(id).await.unwrap().iter().map(|h| h.status).collect();
            assert_eq!(statuses, [Status::Succeeded, Status::Cancelled, Status::Cancelled, Status::Cancelled]);
            assert_eq!(runner.drain().await.unwrap(), 0);
            assert_eq!(store.execution(id).await.unwrap().unwrap().status, Status::Cancelled);
        }

        async fn a_caller_that_times_out_cancels_the_helpers_it_waits_for(store) {
            let mut slow = Flow::new("Waits for a person", "trigger.helper");
            slow.cards = vec![card(1, "flow.pause", &[])];
            turn_on(&store, &slow).await;
            let mut main = Flow::new("Impatient", "trigger.manual");
            main.settings.timeout_seconds = 1;
            main.cards = vec![card(1, "flow.call_flow", &[("flow", Binding::literal("Waits for a person"))])];
            let main = turn_on(&store, &main).await;
            let id = start(&store, main, json!(null)).await;
            let runner = Runner::new(store.clone(), "worker-1");
            runner.drain().await.unwrap();
            let helper = store.helper_executions(id).await.unwrap().remove(0);
            assert_eq!(helper.status, Status::Waiting);
            // The caller wakes at its deadline, fails, and takes its helper down with it.
            tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
            runner.drain().await.unwrap();
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!(done.status, Status::Failed);
            assert!(done.error.unwrap().contains("timed out"));
            let helper = store.execution(helper.id).await.unwrap().unwrap();
            assert_eq!(helper.status, Status::Cancelled);
            assert_eq!(helper.error.as_deref(), Some("the execution that started it timed out"));
        }

        async fn helper_flows_cannot_call_each_other_without_end(store) {
            let mut recurse = Flow::new("Recurse", "trigger.helper");
            recurse.cards = vec![card(1, "flow.call_flow", &[("flow", Binding::literal("Recurse"))])];
            turn_on(&store, &recurse).await;
            let mut main = Flow::new("Start recursion", "trigger.manual");
            main.cards = vec![card(1, "flow.call_flow", &[("flow", Binding::literal("Recurse"))])];
            let main = turn_on(&store, &main).await;
            let id = start(&store, main, json!(null)).await;
            Runner::new(store.clone(), "worker-1").drain().await.unwrap();
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!(done.status, Status::Failed);
            assert!(done.error.unwrap().contains("more than 8 deep"));
        }

        async fn a_pause_waits_for_its_resume_and_close_answers_early(store) {
            let mut flow = Flow::new("Approve then go on", "trigger.manual");
            flow.cards = vec![
                card(1, "flow.close", &[("output", Binding::literal(json!({"accepted": true})))]),
                card(2, "flow.pause", &[]),
                card(3, "flow.return", &[("output", Binding::mapping(Source::Card(CardId(2)), "input.decision"))]),
            ];
            let flow = turn_on(&store, &flow).await;
            let id = start(&store, flow, json!(null)).await;
            let runner = Runner::new(store.clone(), "worker-1");
            runner.drain().await.unwrap();
            let paused = store.execution(id).await.unwrap().unwrap();
            assert_eq!(paused.status, Status::Waiting);
            assert_eq!(paused.progress.closed, Some(json!({"accepted": true})), "Close answered before the pause");
            assert_eq!(runner.drain().await.unwrap(), 0, "a paused execution waits");

            assert!(store.resume_execution(id, json!({"decision": "approved"})).await.unwrap());
            assert!(!store.resume_execution(id, json!({"decision": "again"})).await.unwrap(), "resumed once");
            runner.drain().await.unwrap();
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
            assert_eq!(done.output, Some(json!("approved")));
            assert!(!store.resume_execution(id, json!(null)).await.unwrap(), "an ended execution is not resumed");

            // A pause until a time that has passed goes straight on; one past 30 days is refused.
            let mut timed = Flow::new("Pause until", "trigger.manual");
            timed.cards = vec![card(1, "flow.pause", &[("until", Binding::mapping(Source::Trigger, "input"))])];
            let timed = turn_on(&store, &timed).await;
            let past = start(&store, timed, json!("2020-01-01T00:00:00Z")).await;
            let far = start(&store, timed, json!((chrono::Utc::now() + chrono::Duration::days(40)).to_rfc3339())).await;
            runner.drain().await.unwrap();
            assert_eq!(store.execution(past).await.unwrap().unwrap().status, Status::Succeeded);
            let far = store.execution(far).await.unwrap().unwrap();
            assert_eq!(far.status, Status::Failed);
            assert!(far.error.unwrap().contains("at most 30 days"));
        }

        async fn find_users_and_list_group_members(store) {
            let actor = Actor::System;
            let ada = store.provision_user(&person("ada@example.com", json!({"title": "Engineer"})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
            store.provision_user(&person("grace@example.com", json!({"title": "Admiral"})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
            let linus = store.provision_user(&person("linus@example.com", json!({"title": "Engineer"})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
            let group = GroupWrite { display_name: "Kernel".into(), external_id: None, attributes: serde_json::Map::new(), members: vec![linus.id, ada.id] };
            store.create_group(&group, &actor, &entry(Action::ScimGroupCreate)).await.unwrap();
            let mut flow = Flow::new("Who is who", "trigger.manual");
            flow.cards = vec![
                card(1, "directory.find_users", &[("filter", Binding::literal("title eq \"engineer\" and active eq true"))]),
                card(2, "list.pluck", &[("list", Binding::mapping(Source::Card(CardId(1)), "users")), ("key", Binding::literal("email"))]),
                card(3, "directory.list_group_members", &[("group", Binding::literal("Kernel"))]),
                card(4, "list.pluck", &[("list", Binding::mapping(Source::Card(CardId(3)), "users")), ("key", Binding::literal("email"))]),
                card(5, "flow.return", &[("output", Binding::template("{{ card_2.output | sort | join(',') }} | {{ card_4.output | sort | join(',') }}"))]),
            ];
            let flow = turn_on(&store, &flow).await;
            let id = start(&store, flow, json!(null)).await;
            let mut bad = Flow::new("Bad filter", "trigger.manual");
            bad.cards = vec![card(1, "directory.find_users", &[("filter", Binding::literal("title eq"))])];
            let bad = turn_on(&store, &bad).await;
            let bad = start(&store, bad, json!(null)).await;
            Runner::new(store.clone(), "worker-1").drain().await.unwrap();
            let done = store.execution(id).await.unwrap().unwrap();
            assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
            assert_eq!(done.output, Some(json!("ada@example.com,linus@example.com | ada@example.com,linus@example.com")));
            let bad = store.execution(bad).await.unwrap().unwrap();
            assert_eq!(bad.status, Status::Failed);
            assert!(bad.error.unwrap().contains("filter:"));
        }

        async fn use_case_mfa_enrollment_reminder_after_three_days(store) {
            // Reference use case: daily, find users without MFA whose account is older
            // than three days; remind each (a notification row until the email connector
            // exists) and log who was reminded in a table; stop once they enroll.
            store.create_table(&table("notifications", &[("to", ColumnType::Text), ("channel", ColumnType::Text), ("message", ColumnType::Text)], None), None, &entry(Action::TableCreate)).await.unwrap();
            store.create_table(&table("mfa_reminders", &[("email", ColumnType::Text), ("first_reminded", ColumnType::DateTime), ("times", ColumnType::Number)], Some("email")), None, &entry(Action::TableCreate)).await.unwrap();
            let mut remind = Flow::new("Remind one user about MFA", "trigger.helper");
            remind.cards = vec![
                card(1, "text.compose", &[("template", Binding::template("Hi {{ trigger.item.display_name }}, please set up multi-factor authentication: https://idp.example.com/enroll"))]),
                card(2, "tables.create_row", &[("table", Binding::literal("notifications")), ("row", Binding::template("{{ {'to': trigger.item.email, 'channel': 'email', 'message': card_1.output} }}"))]),
                card(3, "tables.find_or_create_row", &[("table", Binding::literal("mfa_reminders")), ("key", Binding::mapping(Source::Trigger, "item.email")), ("row", Binding::template("{{ {'first_reminded': trigger.input.now, 'times': 0} }}"))]),
                card(4, "number.add", &[("a", Binding::mapping(Source::Card(CardId(3)), "row.times")), ("b", Binding::literal(1))]),
                card(5, "tables.update_row", &[("table", Binding::literal("mfa_reminders")), ("key", Binding::mapping(Source::Trigger, "item.email")), ("row", Binding::template("{{ {'times': card_4.output} }}"))]),
            ];
            turn_on(&store, &remind).await;
            let mut daily = Flow::new("MFA enrollment reminder", "trigger.scheduled");
            daily.trigger.options.insert("cron".into(), Binding::literal("0 0 9 * * *"));
            daily.trigger.options.insert("time_zone".into(), Binding::literal("Europe/Paris"));
            daily.cards = vec![
                card(1, "datetime.now", &[]),
                card(2, "datetime.add", &[("date", Binding::mapping(Source::Card(CardId(1)), "output")), ("amount", Binding::literal(-3)), ("unit", Binding::literal("days"))]),
                card(3, "text.compose", &[("template", Binding::template("not (mfaEnrolled eq true) and active eq true and meta.created lt \"{{ card_2.output }}\""))]),
                card(4, "directory.find_users", &[("filter", Binding::mapping(Source::Card(CardId(3)), "output"))]),
                card(5, "flow.for_each", &[("flow", Binding::literal("Remind one user about MFA")), ("items", Binding::mapping(Source::Card(CardId(4)), "users")), ("input", Binding::template("{{ {'now': card_1.output} }}"))]),
            ];
            let daily = turn_on(&store, &daily).await;

            let actor = Actor::System;
            let mut users = Vec::new();
            for (name, enrolled, days_old) in [("old@example.com", false, 5), ("enrolled@example.com", true, 5), ("new@example.com", false, 1)] {
                let user = store.provision_user(&person(name, json!({"mfaEnrolled": enrolled})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
                let created = chrono::Utc::now() - chrono::Duration::days(days_old);
                with_pool!(store, pool => {
                    sqlx::query("UPDATE users SET created_at = $1 WHERE id = $2").bind(created).bind(user.id.0).execute(pool).await.unwrap();
                });
                users.push(user);
            }
            settle(&store).await;

            // Two mornings: the old unenrolled user is reminded each day, logged once.
            let now = chrono::Utc::now();
            assert_eq!(fire_schedules(&store, now, now + chrono::Duration::days(1)).await.unwrap(), 1);
            settle(&store).await;
            assert_eq!(fire_schedules(&store, now + chrono::Duration::days(1), now + chrono::Duration::days(2)).await.unwrap(), 1);
            settle(&store).await;
            let runs = store.executions(&ExecutionFilter { flow: Some(daily), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
            assert!(runs.iter().all(|r| r.status == Status::Succeeded), "{:?}", runs.iter().map(|r| &r.error).collect::<Vec<_>>());
            let sent = rows(&store, "notifications").await;
            assert_eq!(sent.len(), 2);
            assert!(sent.iter().all(|r| r["to"] == "old@example.com" && r["message"].as_str().unwrap().starts_with("Hi old,")));
            let log = rows(&store, "mfa_reminders").await;
            assert_eq!(log.len(), 1);
            assert_eq!((log[0]["email"].clone(), log[0]["times"].clone()), (json!("old@example.com"), json!(2)));

            // Once they enroll, the reminders stop.
            let mut enrolled = UserWrite::from(&users[0]);
            enrolled.attributes.insert("mfaEnrolled".into(), json!(true));
            store.update_user(users[0].id, None, &enrolled, &actor, &entry(Action::ScimUserUpdate)).await.unwrap();
            assert_eq!(fire_schedules(&store, now + chrono::Duration::days(2), now + chrono::Duration::days(3)).await.unwrap(), 1);
            settle(&store).await;
            assert_eq!(rows(&store, "notifications").await.len(), 2);
        }

        async fn use_case_lockout_notifies_the_manager(store) {
            // Reference use case: User Account Locked → read the manager → notify them
            // (a notification row until the Slack and email connectors exist).
            store.create_table(&table("notifications", &[("to", ColumnType::Text), ("channel", ColumnType::Text), ("message", ColumnType::Text)], None), None, &entry(Action::TableCreate)).await.unwrap();
            let mut flow = Flow::new("Tell the manager about a lockout", "directory.user_locked_out");
            flow.cards = vec![
                card(1, "directory.read_user", &[("user", Binding::mapping(Source::Trigger, "user.manager"))]),
                card(2, "text.compose", &[("template", Binding::template("{{ trigger.user.display_name }} is locked out of their account. Ask them to call the IT desk at 555-0100."))]),
                card(3, "tables.create_row", &[("table", Binding::literal("notifications")), ("row", Binding::template("{{ {'to': card_1.user.email, 'channel': 'slack', 'message': card_2.output} }}"))]),
            ];
            turn_on(&store, &flow).await;
            let actor = Actor::System;
            let boss = store.provision_user(&person("boss@example.com", json!({})), &actor, &entry(Action::ScimUserCreate)).await.unwrap();
            let report = person("report@example.com", json!({ crate::scim::ENTERPRISE_USER: {"manager": {"value": boss.id.0.to_string()}} }));
            store.provision_user(&report, &actor, &entry(Action::ScimUserCreate)).await.unwrap();
            settle(&store).await;

            // Five wrong passwords lock the account; the fifth is the lockout event.
            let origin = crate::auth::Origin { client_address: None, request_id: None };
            for _ in 0..5 {
                let wrong = secrecy::SecretString::from("not the password".to_string());
                assert!(crate::auth::sign_in(&store, "report@example.com", wrong, &origin).await.is_err());
            }
            settle(&store).await;
            let sent = rows(&store, "notifications").await;
            assert_eq!(sent.len(), 1, "{sent:?}");
            assert_eq!(sent[0]["to"], "boss@example.com");
            assert_eq!(sent[0]["message"], "report is locked out of their account. Ask them to call the IT desk at 555-0100.");
            let log = store.recent_audit(20).await.unwrap();
            assert!(log.iter().any(|e| e.action == Action::AccountLock.as_str() && e.target_display.as_deref() == Some("report@example.com")));
            // A locked account refused again is not locked again.
            let wrong = secrecy::SecretString::from("still wrong".to_string());
            assert!(crate::auth::sign_in(&store, "report@example.com", wrong, &origin).await.is_err());
            settle(&store).await;
            assert_eq!(rows(&store, "notifications").await.len(), 1);
        }
    }
}

mod schedules {
    use super::*;
    use crate::engine::schedules::fire_schedules;
    use crate::flows::{Binding, Flow};
    use crate::store::ExecutionFilter;
    use chrono::{TimeZone, Utc};

    crate::backend_tests! {
        async fn each_tick_fires_once_however_many_schedulers_look(store) {
            let mut flow = Flow::new("Every second", "trigger.scheduled");
            flow.trigger.options.insert("cron".into(), Binding::literal("* * * * * *"));
            let entry = NewEntry::new(Action::FlowCreate, Outcome::Success, Actor::System);
            let made = store.create_flow(&flow, None, &store.test_author("ada@example.com").await, &entry).await.unwrap();
            store.set_flow_enabled(made.id, true, &store.test_author("ada@example.com").await, &entry).await.unwrap();

            // Ticks before the flow was turned on never fire.
            assert_eq!(fire_schedules(&store, Utc::now() - chrono::Duration::minutes(5), Utc::now() - chrono::Duration::minutes(1)).await.unwrap(), 0);
            // Ticks to come: two schedulers at once over the same five seconds, then one
            // over an overlapping window.
            let t0 = Utc.timestamp_opt(Utc::now().timestamp() + 60, 0).unwrap();
            let (a, b) = tokio::join!(
                fire_schedules(&store, t0, t0 + chrono::Duration::seconds(5)),
                fire_schedules(&store, t0, t0 + chrono::Duration::seconds(5)),
            );
            assert_eq!(a.unwrap() + b.unwrap(), 5);
            assert_eq!(fire_schedules(&store, t0 - chrono::Duration::seconds(2), t0 + chrono::Duration::seconds(6)).await.unwrap(), 3);
            let runs = store.executions(&ExecutionFilter { flow: Some(made.id), limit: 100, ..ExecutionFilter::default() }).await.unwrap();
            let mut fired: Vec<chrono::DateTime<Utc>> = runs.iter().map(|r| r.input["fired_at"].as_str().unwrap().parse().unwrap()).collect();
            fired.sort();
            assert_eq!(fired.first(), Some(&(t0 - chrono::Duration::seconds(1))));
            assert_eq!(fired.len(), 8);
            fired.dedup();
            assert_eq!(fired.len(), 8, "no tick twice");

            // A schedule in a time zone fires at that zone's wall-clock time.
            let mut daily = Flow::new("Daily in Paris", "trigger.scheduled");
            daily.trigger.options.insert("cron".into(), Binding::literal("0 9 * * *"));
            daily.trigger.options.insert("time_zone".into(), Binding::literal("Europe/Paris"));
            let made = store.create_flow(&daily, None, &store.test_author("ada@example.com").await, &entry).await.unwrap();
            store.set_flow_enabled(made.id, true, &store.test_author("ada@example.com").await, &entry).await.unwrap();
            let tomorrow = (Utc::now() + chrono::Duration::days(1)).date_naive();
            let day = tomorrow.and_hms_opt(0, 0, 0).unwrap().and_utc();
            fire_schedules(&store, day, day + chrono::Duration::days(1)).await.unwrap();
            let paris_nine = chrono_tz::Europe::Paris
                .from_local_datetime(&tomorrow.and_hms_opt(9, 0, 0).unwrap())
                .unwrap()
                .with_timezone(&Utc);
            let runs = store.executions(&ExecutionFilter { flow: Some(made.id), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
            let fired: Vec<chrono::DateTime<Utc>> = runs.iter().map(|r| r.input["fired_at"].as_str().unwrap().parse().unwrap()).collect();
            assert_eq!(fired, vec![paris_nine]);
        }
    }
}
