//! Directory writes on both backends: users and groups with their events and log entries.

use super::*;

crate::backend_tests! {
    async fn a_groups_members_are_paged_and_counted_in_the_database(store) {
        use crate::directory::GroupId;
        let (_, groups) = store.seed_directory(130, 2, 55).await.unwrap();
        let counted = store.groups_with_counts().await.unwrap();
        assert_eq!(counted.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [55, 55]);
        assert!(counted.iter().all(|(g, _)| g.members.is_empty()), "the list reads no member");
        let id = GroupId(groups[0].0);
        let whole = store.group(id).await.unwrap().unwrap().members;
        let mut paged = Vec::new();
        for offset in [0, 20, 40, 60] {
            let (page, total) = store.group_members_page(id, offset, 20).await.unwrap();
            assert_eq!(total, 55);
            assert_eq!(page.len(), 20.min(55usize.saturating_sub(offset)), "at {offset}");
            paged.extend(page);
        }
        assert_eq!(paged, whole, "the pages, in order, are every member once");
        let alone = store.group_alone(id).await.unwrap().unwrap();
        assert_eq!((alone.display_name, alone.members.len()), (groups[0].1.clone(), 0));
        assert!(store.group_alone(GroupId(uuid::Uuid::now_v7())).await.unwrap().is_none());
    }

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

        // A self-check's token, left unrevoked by a run that never finished, stops working
        // after ten minutes; it is not listed among the tokens people made.
        let (check, check_secret) = store
            .create_self_check_token("SCIM self-check", TokenMaker::Operator, &audit)
            .await
            .unwrap();
        assert!(check.self_check);
        assert!(store.authenticate_scim_token(&check_secret).await.unwrap().is_some());
        assert!(store.scim_tokens().await.unwrap().iter().all(|t| t.id != check.id));
        let long_ago = crate::store::now() - chrono::Duration::minutes(11);
        with_pool!(store, pool => {
            sqlx::query("UPDATE scim_tokens SET created_at = $1 WHERE id = $2")
                .bind(long_ago)
                .bind(check.id)
                .execute(pool)
                .await
                .unwrap();
        });
        assert!(store.authenticate_scim_token(&check_secret).await.unwrap().is_none());
    }
}
