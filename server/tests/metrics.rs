//! `/metrics` through the real router, on both backends: refused without the metrics
//! token; after a few executions, SCIM requests and a hook delivery, its numbers say
//! exactly what happened. (Each test runs in its own process, so the counters start at
//! zero.)

mod common;

use common::*;
use domain::flows::{Binding, Card, Flow};
use domain::store::{NewExecution, Store};
use reqwest::StatusCode;
use serde_json::json;

/// The value of the sample `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| {
            let Some(rest) = line.strip_prefix(name) else {
                return false;
            };
            let labelled = rest.starts_with('{') || rest.starts_with(' ');
            labelled
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn enqueue(store: &Store, flow: &domain::store::FlowSummary) {
    store
        .enqueue_execution(&NewExecution::by_hand(flow.id, flow.version, json!({})))
        .await
        .unwrap()
        .unwrap();
}

async fn metrics_say_what_happened(store: Store) {
    let server = start(store, Options::default()).await;
    let scrape = |token: Option<&str>| {
        let mut request = reqwest::Client::new().get(server.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap() }
    };
    assert_eq!(scrape(None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        scrape(Some("not the token")).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Two executions that succeed, one that fails, one left queued.
    let mut fine = Flow::new("Metrics fine", "trigger.manual");
    fine.cards =
        vec![Card::new(1, "text.compose").with_inputs(&[("template", Binding::literal("hello"))])];
    let mut broken = Flow::new("Metrics broken", "trigger.manual");
    broken.cards = vec![
        Card::new(1, "directory.read_user")
            .with_inputs(&[("user", Binding::literal("nobody@example.com"))]),
    ];
    let fine = server.store.test_flow_on(&fine).await;
    let broken = server.store.test_flow_on(&broken).await;
    enqueue(&server.store, &fine).await;
    enqueue(&server.store, &fine).await;
    enqueue(&server.store, &broken).await;
    domain::engine::runner::Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    enqueue(&server.store, &fine).await;

    // SCIM: one refused request; a hook delivery to an API Endpoint flow.
    let refused = reqwest::Client::new()
        .get(server.url("/scim/v2/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let mut endpoint = Flow::new("Metrics hook", "trigger.api_endpoint");
    endpoint.cards =
        vec![Card::new(1, "text.compose").with_inputs(&[("template", Binding::literal("got it"))])];
    let (hook, secret) = server.store.test_callable(&endpoint).await;
    let delivered = server.invoke(hook.id, &secret, &json!({})).await;
    assert!(delivered.status().is_success(), "{}", delivered.status());

    let answer = scrape(Some(METRICS_TOKEN)).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = answer.text().await.unwrap();
    let fine_flow = [("flow", "Metrics fine")];
    assert_eq!(
        sample(&text, "idflow_executions_started_total", &fine_flow),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "idflow_executions_ended_total",
            &[("flow", "Metrics fine"), ("outcome", "succeeded")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "idflow_executions_ended_total",
            &[("flow", "Metrics broken"), ("outcome", "failed")]
        ),
        Some(1.0),
        "{text}"
    );
    // The one left queued, and the hook delivery's (accepted, not run here).
    assert_eq!(
        sample(&text, "idflow_queue_depth", &[]),
        Some(2.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "idflow_card_duration_seconds_count",
            &[("kind", "text.compose")]
        )
        .is_some_and(|n| n >= 2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "idflow_scim_requests_total",
            &[("method", "GET"), ("status", "401")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, "idflow_hook_deliveries_total", &[]).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(&text, "idflow_db_pool_connections", &[("state", "idle")]).is_some(),
        "{text}"
    );
}

domain::backend_tests! {
    async fn metrics_count_executions_requests_and_the_queue(store) {
        metrics_say_what_happened(store).await;
    }
}
