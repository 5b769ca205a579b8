//! Searching the System Log: keywords, filters, times, paging, and retention.

use super::*;
use crate::audit::Entry;
use crate::audit::search::{Search, SearchInput};
use chrono::{DateTime, Duration, Utc};

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-12-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
}

fn entry(minute: i64, action: &str, outcome: &str, actor: &str, target: Option<&str>) -> Entry {
    Entry {
        id: uuid::Uuid::now_v7(),
        occurred_at: at(minute),
        action: action.into(),
        outcome: outcome.into(),
        actor_kind: "user".into(),
        actor_id: Some(format!("id-{actor}")),
        actor_display: Some(actor.into()),
        target_kind: target.map(|_| "user".into()),
        target_id: target.map(|t| format!("id-{t}")),
        target_display: target.map(Into::into),
        client_address: Some("10.0.0.7".into()),
        request_id: None,
        reason: (outcome == "failure").then(|| "wrong password (50% of tries)".into()),
    }
}

fn seeded() -> Vec<Entry> {
    vec![
        entry(0, "user.session.start", "success", "ann@example.com", None),
        entry(1, "user.session.start", "failure", "bob@example.com", None),
        entry(
            2,
            "console.user.deactivate",
            "success",
            "ann@example.com",
            Some("carl@example.com"),
        ),
        entry(3, "flow.create", "success", "bob@example.com", None),
        entry(4, "user.session.start", "failure", "carl@example.com", None),
        entry(
            5,
            "console.user.suspend",
            "success",
            "Ann@Example.com",
            Some("dora@example.com"),
        ),
    ]
}

async fn found(store: &Store, input: SearchInput) -> Vec<i64> {
    let search = Search::parse(&input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    let page = store.search_audit(&search).await.unwrap();
    page.entries
        .iter()
        .map(|e| (e.occurred_at - at(0)).num_minutes())
        .collect()
}

fn filter(text: &str) -> SearchInput {
    SearchInput {
        filter: text.into(),
        ..SearchInput::default()
    }
}

fn q(text: &str) -> SearchInput {
    SearchInput {
        q: text.into(),
        ..SearchInput::default()
    }
}

crate::backend_tests! {
    async fn the_system_log_is_searched_as_okta_searches_its_own(store) {
        store.insert_audit_entries(&seeded()).await.unwrap();

        // Newest first by default; oldest first when asked.
        assert_eq!(found(&store, SearchInput::default()).await, vec![5, 4, 3, 2, 1, 0]);
        assert_eq!(
            found(&store, SearchInput { sort_order: "ASCENDING".into(), ..SearchInput::default() }).await,
            vec![0, 1, 2, 3, 4, 5]
        );

        // Keywords: all matched, case-insensitively, anywhere in the entry's text.
        assert_eq!(found(&store, q("ANN")).await, vec![5, 2, 0]);
        assert_eq!(found(&store, q("ann deactivate")).await, vec![2]);
        assert_eq!(found(&store, q("\"wrong password\" carl")).await, vec![4]);
        assert_eq!(found(&store, q("50%")).await, vec![4, 1]);
        assert_eq!(found(&store, q("5_%")).await, Vec::<i64>::new());

        // Filters.
        assert_eq!(found(&store, filter(r#"eventType eq "user.session.start""#)).await, vec![4, 1, 0]);
        assert_eq!(
            found(&store, filter(r#"eventType eq "user.session.start" and outcome.result eq "FAILURE""#)).await,
            vec![4, 1]
        );
        assert_eq!(
            found(&store, filter(r#"actor eq "ann@example.com" or target.displayName sw "DORA""#)).await,
            vec![5, 2, 0]
        );
        assert_eq!(found(&store, filter(r#"actor co "ann""#)).await, vec![5, 2, 0]);
        // `ne` and `not` hold for entries without a target too.
        assert_eq!(found(&store, filter(r#"target.id ne "id-carl@example.com""#)).await, vec![5, 4, 3, 1, 0]);
        assert_eq!(found(&store, filter(r#"not (target co "carl")"#)).await, vec![5, 4, 3, 1, 0]);
        assert_eq!(
            found(&store, filter(r#"not (eventType sw "user." or actor.id eq "id-bob@example.com")"#)).await,
            vec![5, 2]
        );
        assert_eq!(found(&store, filter(r#"client.ipAddress eq "10.0.0.7" and published gt "2026-12-01T08:03:00Z""#)).await, vec![5, 4]);
        assert_eq!(found(&store, filter(r#"published lt "2026-12-01T08:01:00Z""#)).await, vec![0]);
        // A value that looks like SQL is only a value.
        assert_eq!(found(&store, filter(r#"actor eq "x' OR 1=1 --""#)).await, Vec::<i64>::new());

        // Since (inclusive) and until (exclusive).
        assert_eq!(
            found(&store, SearchInput { since: "2026-12-01T08:01:00Z".into(), until: "2026-12-01T08:04:00Z".into(), ..SearchInput::default() }).await,
            vec![3, 2, 1]
        );

        // Paging by cursor, both ways: every entry once, in order.
        for (order, expected) in [("", vec![5, 4, 3, 2, 1, 0]), ("ASCENDING", vec![0, 1, 2, 3, 4, 5])] {
            let mut seen = Vec::new();
            let mut after = String::new();
            loop {
                let search = Search::parse(&SearchInput { sort_order: order.into(), limit: Some(4), after: after.clone(), ..SearchInput::default() }).unwrap();
                let page = store.search_audit(&search).await.unwrap();
                seen.extend(page.entries.iter().map(|e| (e.occurred_at - at(0)).num_minutes()));
                match page.next {
                    Some(next) => after = next.encode(),
                    None => break,
                }
            }
            assert_eq!(seen, expected, "{order}");
        }
        // The total is the whole search's, whatever the page, up to the cap.
        let paged = Search::parse(&SearchInput { limit: Some(1), q: "ann@example.com".into(), ..SearchInput::default() }).unwrap();
        let ann = store.search_audit(&Search { limit: 100, ..paged.clone() }).await.unwrap().entries.len() as i64;
        assert!(ann >= 2);
        assert_eq!(store.count_audit(&paged, 10_000).await.unwrap(), ann);
        let next = store.search_audit(&paged).await.unwrap().next;
        assert!(next.is_some());
        let second = Search { after: next, ..paged.clone() };
        assert_eq!(store.count_audit(&second, 10_000).await.unwrap(), ann);
        assert_eq!(store.count_audit(&Search::parse(&SearchInput::default()).unwrap(), 3).await.unwrap(), 3);

        // Retention: the setting, and pruning what is older than its cutoff.
        assert_eq!(store.log_retention_days().await.unwrap(), DEFAULT_LOG_RETENTION_DAYS);
        let change = NewEntry::new(Action::LogRetentionChange, Outcome::Success, Actor::System);
        store.set_log_retention_days(30, &change).await.unwrap();
        store.set_log_retention_days(90, &change).await.unwrap();
        assert_eq!(store.log_retention_days().await.unwrap(), 90);
        assert_eq!(store.prune_audit(at(2)).await.unwrap(), 2);
        assert_eq!(found(&store, filter(r#"published lt "2026-12-02""#)).await, vec![5, 4, 3, 2]);
    }
}
