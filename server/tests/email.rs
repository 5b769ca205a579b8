//! Email (SMTP) connections and the Send Email card through the real router, on both
//! backends, against a real SMTP server (aiosmtpd, from PyPI, set up by `make test` in
//! `target/smtp-venv`): STARTTLS with a self-signed certificate the connection is told
//! to trust, a user name and password, and each message read back from what the server
//! saved.

mod common;

use common::smtp::{PASSWORD_MARKER, smtp_server};
use common::*;
use domain::access::Role;
use domain::engine::Status;
use domain::engine::runner::Runner;
use domain::flows::{Binding, Card, Flow};
use domain::store::{NewExecution, Store};
use serde_json::json;

async fn emails_arrive_at_a_real_smtp_server(store: Store) {
    let Some(smtp) = smtp_server().await else {
        return;
    };
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let port = smtp.port.to_string();
    let fields = |password: &str, trust: &str| {
        vec![
            ("kind", "smtp".to_string()),
            ("name", "Mail".to_string()),
            ("s.host", "127.0.0.1".to_string()),
            ("s.security", "starttls".to_string()),
            ("s.port", port.clone()),
            ("s.username", "it-bot".to_string()),
            ("secret.password", password.to_string()),
            ("s.from", "IT <it@example.com>".to_string()),
            ("s.trust_certificate", trust.to_string()),
        ]
    };
    let made = server
        .post_form(
            &admin,
            "/connections",
            &fields(PASSWORD_MARKER, &smtp.certificate),
        )
        .await;
    let id = created_connection_id(&made);
    let test_path = format!("/connections/{id}/test");
    let test = || {
        let (server, admin, path) = (&server, &admin, &test_path);
        async move { location(&server.post_form(admin, path, &[("go", "")]).await) }
    };
    let to = test().await;
    assert_eq!(
        query_param(&to, "notice").as_deref(),
        Some("connection-works"),
        "{to}"
    );

    // A wrong password, and a certificate nobody said to trust, both fail the test.
    let version = |n: i64| n.to_string();
    let mut wrong = fields("not the password", &smtp.certificate);
    wrong.push(("version", version(1)));
    server
        .post_form(&admin, &format!("/connections/{id}"), &wrong)
        .await;
    let to = test().await;
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("connection-test-failed"),
        "{to}"
    );
    let mut untrusted = fields(PASSWORD_MARKER, "");
    untrusted.push(("version", version(2)));
    server
        .post_form(&admin, &format!("/connections/{id}"), &untrusted)
        .await;
    let to = test().await;
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("connection-test-failed"),
        "{to}"
    );
    let mut right = fields("", &smtp.certificate);
    right.push(("version", version(3)));
    server
        .post_form(&admin, &format!("/connections/{id}"), &right)
        .await;
    let to = test().await;
    assert_eq!(
        query_param(&to, "notice").as_deref(),
        Some("connection-works"),
        "{to}"
    );
    assert!(smtp.received().is_empty(), "testing sends nothing");

    // Send Email: the message arrives as the card made it.
    let mut flow = Flow::new("Welcome", "trigger.manual");
    flow.cards = vec![Card::new(1, "email.send").with_inputs(&[
        ("connection", Binding::literal(id.as_str())),
        ("to", Binding::literal("ada@example.com")),
        ("cc", Binding::literal("manager@example.com")),
        ("subject", Binding::literal("Welcome, Ada")),
        ("text", Binding::literal("Your laptop is ready.")),
        (
            "html",
            Binding::literal("<p>Your <b>laptop</b> is ready.</p>"),
        ),
    ])];
    let made = server.store.test_flow_on(&flow).await;
    let run = server
        .store
        .enqueue_execution(&NewExecution::by_hand(made.id, made.version, json!({})))
        .await
        .unwrap()
        .unwrap();
    Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    let done = server.store.execution(run).await.unwrap().unwrap();
    assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let email = &received[0];
    assert!(
        email.starts_with("X-Envelope-To: ada@example.com,manager@example.com"),
        "{email}"
    );
    for part in [
        "Subject: Welcome, Ada",
        "From: IT <it@example.com>",
        "Your laptop is ready.",
        "<b>laptop</b>",
    ] {
        assert!(email.contains(part), "{part} in {email}");
    }
    // Used by a flow: deleting it is refused, naming the flow; renamed, it stays in use.
    let refused = server
        .post_form(&admin, &format!("/connections/{id}/delete"), &[("go", "")])
        .await;
    let to = location(&refused);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("connection-in-use"),
        "{to}"
    );
    assert!(query_param(&to, "why").unwrap().contains("Welcome"), "{to}");
    let mut renamed: Vec<(&str, String)> = fields("", &smtp.certificate)
        .into_iter()
        .filter(|(k, _)| *k != "name")
        .collect();
    renamed.push(("name", "IT mail".to_string()));
    renamed.push(("version", version(4)));
    let saved = server
        .post_form(&admin, &format!("/connections/{id}"), &renamed)
        .await;
    assert_eq!(
        query_param(&location(&saved), "notice").as_deref(),
        Some("connection-saved")
    );
    let list = admin
        .get(server.url("/connections"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("IT mail") && list.contains("Welcome"),
        "{list}"
    );
    // The flow's export names the connection by id, never its password.
    let export = admin
        .get(server.url(&format!("/flows/{}/export", made.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(export.contains(id.as_str()) && !export.contains(PASSWORD_MARKER));

    // The password is nowhere to be read.
    let page = admin
        .get(server.url(&format!("/connections/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(PASSWORD_MARKER));
    let steps = server.store.execution_steps(run).await.unwrap();
    assert!(!format!("{steps:?}").contains(PASSWORD_MARKER));
    assert!(
        !format!("{:?}", server.store.recent_audit(100).await.unwrap()).contains(PASSWORD_MARKER)
    );
}

domain::backend_tests! {
    async fn email_connections_and_send_email(store) {
        emails_arrive_at_a_real_smtp_server(store).await;
    }
}
