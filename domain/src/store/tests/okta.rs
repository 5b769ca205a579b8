//! Okta Event Hook deliveries, on both backends: each event kept once per connection,
//! waiting in the order Okta published it, handed over once, and forgotten after a while.

use super::*;
use crate::connections::Values;
use crate::okta::HookEvent;

fn event(uuid: &str, published: &str) -> HookEvent {
    HookEvent {
        uuid: uuid.into(),
        event_type: "user.lifecycle.deactivate".into(),
        published: chrono::DateTime::parse_from_rfc3339(published)
            .unwrap()
            .with_timezone(&chrono::Utc),
        event: serde_json::json!({ "uuid": uuid }),
    }
}

async fn connection(store: &Store, name: &str) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    let mut values = Values::default();
    values
        .settings
        .insert("domain".into(), "acme.okta.com".into());
    let entry = NewEntry::new(Action::ConnectionCreate, Outcome::Success, Actor::System);
    store
        .create_connection(id, name, "okta", &values, "test", &entry)
        .await
        .unwrap();
    id
}

crate::backend_tests! {
    async fn okta_events_are_kept_once_and_handed_over_in_order(store) {
        let acme = connection(&store, "Acme").await;
        let other = connection(&store, "Other").await;
        let later = chrono::Utc::now() + chrono::Duration::seconds(5);

        let first = store.receive_okta_events(acme, &[event("b", "2026-12-06T10:00:02Z"), event("a", "2026-12-06T10:00:01Z")]).await.unwrap();
        assert_eq!(first, Received { new: 2, repeated: 0 });
        // Delivered again: repeats, kept once; the same uuid from another org is its own.
        let again = store.receive_okta_events(acme, &[event("a", "2026-12-06T10:00:01Z"), event("c", "2026-12-06T09:59:00Z")]).await.unwrap();
        assert_eq!(again, Received { new: 1, repeated: 1 });
        assert_eq!(store.receive_okta_events(other, &[event("a", "2026-12-06T10:00:01Z")]).await.unwrap().new, 1);

        // Not yet past the window: nothing waits.
        let long_ago = chrono::Utc::now() - chrono::Duration::hours(1);
        assert!(store.waiting_okta_events(long_ago, 10).await.unwrap().is_empty());
        let waiting = store.waiting_okta_events(later, 10).await.unwrap();
        let order: Vec<(&str, bool)> = waiting.iter().map(|w| (w.event.uuid.as_str(), w.connection == acme)).collect();
        assert_eq!(order, [("c", true), ("a", true), ("a", false), ("b", true)]);
        assert_eq!(waiting[1].event.event["uuid"], "a");

        for w in &waiting[..2] {
            store.mark_okta_event_processed(w.id).await.unwrap();
        }
        assert_eq!(store.waiting_okta_events(later, 10).await.unwrap().len(), 2);

        // Deliveries are listed newest first with what they held.
        let deliveries = store.okta_hook_deliveries(acme, 10).await.unwrap();
        assert_eq!(deliveries.len(), 2);
        assert_eq!((deliveries[0].events, deliveries[0].new_events), (2, 1));
        assert_eq!(deliveries[1].event_types, "user.lifecycle.deactivate");

        // Pruning forgets handed-over events and old deliveries, never waiting ones.
        assert_eq!(store.prune_okta_events(later).await.unwrap(), 2);
        assert_eq!(store.waiting_okta_events(later, 10).await.unwrap().len(), 2);
        assert!(store.okta_hook_deliveries(acme, 10).await.unwrap().is_empty());

        // A connection's events go with it.
        let entry = NewEntry::new(Action::ConnectionDelete, Outcome::Success, Actor::System);
        store.delete_connection(other, &entry).await.unwrap();
        assert_eq!(store.waiting_okta_events(later, 10).await.unwrap().len(), 1);
    }
}
