//! Slack connections and cards through the real router, on both backends, against a
//! local Slack-shaped server that checks each request as Slack's Web API and incoming
//! webhooks document them (methods, bearer token, JSON bodies) and keeps what arrived.

mod common;

use common::slack::{BOT_TOKEN, HOOK, slack};
use common::*;
use domain::access::Role;
use domain::engine::Status;
use domain::flows::{Binding, Card, Flow};
use domain::store::Store;
use serde_json::{Value, json};

async fn run(store: &Store, name: &str, card: Card) -> domain::store::ExecutionRecord {
    let mut flow = Flow::new(name, "trigger.manual");
    flow.cards = vec![card];
    run_by_hand(store, &flow).await
}

async fn slack_connections_post_as_slack_documents(store: Store) {
    let server = start(store, Options::default()).await;
    let (slack, arrived) = slack().await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let make = |fields: Vec<(&'static str, String)>| {
        let (server, admin) = (&server, &admin);
        async move {
            let response = server.post_form(admin, "/connections", &fields).await;
            (location(&response), created_connection_id(&response))
        }
    };

    // A webhook: tested without posting anything, then used by Send Message.
    let (to, hook) = make(vec![
        ("kind", "slack".into()),
        ("name", "IT channel".into()),
        ("s.mode", "webhook".into()),
        ("secret.webhook_url", format!("{slack}{HOOK}")),
    ])
    .await;
    assert!(to.ends_with("notice=connection-created"), "{to}");
    let tested = server
        .post_form(&admin, &format!("/connections/{hook}/test"), &[("go", "")])
        .await;
    assert_eq!(
        query_param(&location(&tested), "notice").as_deref(),
        Some("connection-works")
    );
    assert!(
        arrived.lock().unwrap().is_empty(),
        "the test posted nothing"
    );
    let card = |kind: &str, connection: &str, inputs: &[(&str, Value)]| {
        let mut card =
            Card::new(1, kind).with_inputs(&[("connection", Binding::literal(connection))]);
        for (name, value) in inputs {
            card.inputs
                .insert((*name).into(), Binding::literal(value.clone()));
        }
        card
    };
    let blocks = json!([{ "type": "section", "text": { "type": "mrkdwn", "text": "*Ada* left" } }]);
    let done = run(
        &server.store,
        "Tell IT",
        card(
            "slack.send_message",
            &hook,
            &[("text", json!("Ada left")), ("blocks", blocks.clone())],
        ),
    )
    .await;
    assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
    assert_eq!(
        arrived.lock().unwrap().pop(),
        Some((
            "webhook".into(),
            json!({ "text": "Ada left", "blocks": blocks })
        ))
    );
    let refused = run(
        &server.store,
        "DM by hook",
        card(
            "slack.send_direct_message",
            &hook,
            &[("email", json!("ada@example.com")), ("text", json!("hi"))],
        ),
    )
    .await;
    assert!(
        refused
            .error
            .unwrap_or_default()
            .contains("needs a bot token")
    );

    // A bot token: tested with auth.test, then a channel message and a direct message.
    let (_, bot) = make(vec![
        ("kind", "slack".into()),
        ("name", "Acme Slack".into()),
        ("s.mode", "bot".into()),
        ("s.api_url", format!("{slack}/api")),
        ("secret.bot_token", BOT_TOKEN.into()),
    ])
    .await;
    let tested = server
        .post_form(&admin, &format!("/connections/{bot}/test"), &[("go", "")])
        .await;
    assert_eq!(
        query_param(&location(&tested), "notice").as_deref(),
        Some("connection-works")
    );
    let kept = server
        .store
        .connection(bot.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(kept.last_test.unwrap().message.contains("idflow in Acme"));
    let done = run(
        &server.store,
        "Post",
        card(
            "slack.send_message",
            &bot,
            &[("channel", json!("#it")), ("text", json!("Grace joined"))],
        ),
    )
    .await;
    assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
    assert_eq!(
        arrived.lock().unwrap().last(),
        Some(&(
            "chat.postMessage".into(),
            json!({ "channel": "#it", "text": "Grace joined" })
        ))
    );
    let missing = run(
        &server.store,
        "Nowhere",
        card(
            "slack.send_message",
            &bot,
            &[("channel", json!("#missing")), ("text", json!("hi"))],
        ),
    )
    .await;
    assert_eq!(missing.status, Status::Failed);
    assert!(
        missing
            .error
            .unwrap_or_default()
            .contains("channel_not_found")
    );

    arrived.lock().unwrap().clear();
    let done = run(
        &server.store,
        "DM",
        card(
            "slack.send_direct_message",
            &bot,
            &[
                ("email", json!("ada@example.com")),
                ("text", json!("Your laptop is ready")),
            ],
        ),
    )
    .await;
    assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
    assert_eq!(
        *arrived.lock().unwrap(),
        vec![
            (
                "users.lookupByEmail".to_string(),
                json!({ "email": "ada@example.com" })
            ),
            (
                "conversations.open".to_string(),
                json!({ "users": "U0ADA" })
            ),
            (
                "chat.postMessage".to_string(),
                json!({ "channel": "D0ADA", "text": "Your laptop is ready" })
            ),
        ]
    );
    let unknown = run(
        &server.store,
        "DM nobody",
        card(
            "slack.send_direct_message",
            &bot,
            &[("email", json!("who@example.com")), ("text", json!("hi"))],
        ),
    )
    .await;
    assert!(
        unknown
            .error
            .unwrap_or_default()
            .contains("users_not_found")
    );

    // Used by flows: deleting the bot connection is refused, naming them; renamed (its
    // token left empty, so kept), the flows still post through it.
    let refused = server
        .post_form(&admin, &format!("/connections/{bot}/delete"), &[("go", "")])
        .await;
    let to = location(&refused);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("connection-in-use"),
        "{to}"
    );
    assert!(query_param(&to, "why").unwrap().contains("Post"), "{to}");
    let renamed = server
        .post_form(
            &admin,
            &format!("/connections/{bot}"),
            &[
                ("version", "1".to_string()),
                ("name", "Acme Slack bot".to_string()),
                ("s.mode", "bot".to_string()),
                ("s.api_url", format!("{slack}/api")),
                ("secret.bot_token", String::new()),
            ],
        )
        .await;
    assert_eq!(
        query_param(&location(&renamed), "notice").as_deref(),
        Some("connection-saved"),
        "{}",
        location(&renamed)
    );
    let again = run(
        &server.store,
        "Post again",
        card(
            "slack.send_message",
            &bot,
            &[("channel", json!("#it")), ("text", json!("Still here"))],
        ),
    )
    .await;
    assert_eq!(again.status, Status::Succeeded, "{:?}", again.error);

    // Neither secret is anywhere a person or the log can read.
    let pages = [
        format!("/connections/{hook}"),
        format!("/connections/{bot}"),
        "/connections".to_string(),
    ];
    for page in pages {
        let html = admin
            .get(server.url(&page))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("MARKER"), "{page}");
    }
    let log = server.store.recent_audit(100).await.unwrap();
    assert!(!format!("{log:?}").contains("MARKER"));
    for execution in server
        .store
        .executions(&domain::store::ExecutionFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
    {
        let steps = server.store.execution_steps(execution.id).await.unwrap();
        let record = format!("{:?} {steps:?}", execution.error);
        assert!(!record.contains("MARKER"), "{record}");
    }
}

domain::backend_tests! {
    async fn slack_connections_and_cards(store) {
        slack_connections_post_as_slack_documents(store).await;
    }
}
