//! Flows and their versions, on both backends.

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
