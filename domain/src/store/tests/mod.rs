//! The store's story, told on SQLite and on PostgreSQL; each part of it in its own
//! file below. (What the engine does with it is tested in `engine::tests`.)

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

mod assignments;
mod audit_search;
mod directory_writes;
mod flows;
mod okta;
mod scim_filters;
mod sso;
mod tables;
