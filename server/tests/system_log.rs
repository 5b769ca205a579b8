//! The System Log page's search, paging, exports and retention, through the real router,
//! on both backends.

mod common;

use common::*;
use domain::access::Role;
use domain::audit::Entry;
use reqwest::StatusCode;

fn entry(n: i64, action: &str, outcome: &str, actor: &str) -> Entry {
    Entry {
        id: uuid::Uuid::now_v7(),
        occurred_at: "2026-11-01T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            + chrono::Duration::minutes(n),
        action: action.into(),
        outcome: outcome.into(),
        actor_kind: "user".into(),
        actor_id: None,
        actor_display: Some(actor.into()),
        target_kind: None,
        target_id: None,
        target_display: None,
        client_address: Some("10.1.2.3".into()),
        request_id: None,
        reason: Some(if n == 7 {
            "=HYPERLINK(\"x\")".into()
        } else {
            String::new()
        }),
    }
}

/// 150 entries a minute apart from 2026-11-01: every third a failed sign-in by bob, the
/// rest ann's flow changes.
fn seeded() -> Vec<Entry> {
    (0..150)
        .map(|n| {
            if n % 3 == 0 {
                entry(n, "user.session.start", "failure", "bob@example.com")
            } else {
                entry(n, "flow.save", "success", "ann@example.com")
            }
        })
        .collect()
}

fn rows(page: &str) -> usize {
    page.matches("<tr data-action=").count()
}

/// The `href` of the link with `data-testid="log-next"`, unescaped.
fn next_link(page: &str) -> Option<String> {
    let at = page.find("data-testid=\"log-next\"")?;
    let start = page[..at].rfind("href=\"")? + "href=\"".len();
    let end = start + page[start..].find('"')?;
    Some(page[start..end].replace("&amp;", "&"))
}

async fn the_system_log_is_searched_paged_exported_and_kept(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    server.store.insert_audit_entries(&seeded()).await.unwrap();
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let get = |path: String| {
        let auditor = auditor.clone();
        let url = server.url(&path);
        async move {
            let answer = auditor.get(url).send().await.unwrap();
            (answer.status(), answer.text().await.unwrap())
        }
    };

    // Keywords and a filter, as Okta's System Log takes them.
    let (status, page) =
        get("/system-log?q=BOB+session&since=2026-11-01&until=2026-11-02".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&page), 50);
    assert!(next_link(&page).is_none());
    let filter = urlencoding::encode(r#"eventType eq "flow.save" and not (actor co "bob")"#);
    let (_, page) = get(format!("/system-log?filter={filter}")).await;
    assert_eq!(rows(&page), 100, "ann's flow saves, all on one page");
    assert!(next_link(&page).is_none());

    // Paging: the first 100, then the rest, each entry once.
    let filter = urlencoding::encode(r#"outcome.result eq "SUCCESS" or actor sw "BOB""#);
    let (_, page) = get(format!(
        "/system-log?filter={filter}&sortOrder=ASCENDING&until=2026-11-02"
    ))
    .await;
    assert_eq!(rows(&page), 100);
    assert!(page.find("2026-11-01 00:00:00 UTC") < page.find("2026-11-01 00:01:00 UTC"));
    let next = next_link(&page).expect("a next page");
    assert!(
        next.contains("after=") && next.contains("sortOrder=ASCENDING"),
        "{next}"
    );
    assert!(page.contains("150 entries match"), "the search's total");
    let (_, second) = get(next).await;
    assert_eq!(rows(&second), 50);
    assert!(
        second.contains("150 entries match"),
        "the same total on every page"
    );
    assert!(second.contains("2026-11-01 02:29:00 UTC"));
    assert!(!second.contains("2026-11-01 00:00:00 UTC"));
    assert!(next_link(&second).is_none());

    // A search that cannot run says why, and keeps what was typed.
    let (status, page) = get("/system-log?filter=colour+eq+%22red%22".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("The search cannot run"), "{page}");
    assert!(page.contains("not an attribute"));
    assert!(page.contains("colour eq"));

    // Exports: CSV (cells safe for spreadsheets) and JSON, of the whole search.
    let export = |query: &str| {
        let auditor = auditor.clone();
        let url = server.url(&format!("/system-log/export?{query}"));
        async move { auditor.get(url).send().await.unwrap() }
    };
    let csv = export("format=csv&q=bob").await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv")
    );
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 51, "a header and bob's 50");
    assert!(csv.starts_with("published,eventType,displayMessage,outcome"));
    assert!(csv.contains(",FAILURE,"));
    let all = export("format=csv").await.text().await.unwrap();
    assert!(all.contains("'=HYPERLINK"), "a formula leaves as text");
    let json = export("format=json&filter=actor+eq+%22ann%40example.com%22").await;
    assert_eq!(json.status(), StatusCode::OK);
    let json: Vec<serde_json::Value> = json.json().await.unwrap();
    assert_eq!(json.len(), 100);
    for (query, says) in [
        ("format=xml", "neither csv nor json"),
        ("filter=actor+is", "cannot run"),
    ] {
        let refused = export(query).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(refused.text().await.unwrap().contains(says), "{query}");
    }

    // Retention: only a Super Admin sets it; the page says what it is.
    let (_, page) = get("/system-log".into()).await;
    assert!(page.contains("kept for 365 days"), "the default");
    assert!(!page.contains("Save retention"));
    let refused = server
        .post_form(&auditor, "/system-log/retention", &[("days", "30")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let admin = server.client_as(Role::SuperAdmin).await;
    for (days, code) in [
        ("abc", "error=log-retention"),
        ("99999", "error=log-retention"),
        ("30", "notice=log-retention-saved"),
    ] {
        let answer = server
            .post_form(&admin, "/system-log/retention", &[("days", days)])
            .await;
        assert!(
            location(&answer).contains(code),
            "{days}: {}",
            location(&answer)
        );
    }
    assert_eq!(server.store.log_retention_days().await.unwrap(), 30);

    // Pruning deletes what is older than that, and says so in the log.
    idflow::engine::prune_system_log(&server.store).await;
    let left = server.store.recent_audit(500).await.unwrap();
    assert!(
        left.iter()
            .all(|e| e.occurred_at > chrono::Utc::now() - chrono::Duration::days(30))
    );
    let pruned = left
        .iter()
        .find(|e| e.action == "system.log.prune")
        .expect("the pruning is logged");
    assert!(
        pruned
            .reason
            .as_deref()
            .unwrap()
            .starts_with("150 entries older than"),
        "{pruned:?}"
    );
    assert!(
        left.iter()
            .any(|e| e.action == "system.log.retention.change"
                && e.reason.as_deref() == Some("entries are kept for 30 days"))
    );
}

domain::backend_tests! {
    async fn system_log_is_searched_paged_exported_and_kept(store) {
        the_system_log_is_searched_paged_exported_and_kept(store).await;
    }
}
