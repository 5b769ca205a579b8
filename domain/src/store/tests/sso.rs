//! Single sign-on: linked accounts and the one row of settings, on both backends.

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
