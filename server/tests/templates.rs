//! The five reference templates, installed from the Flows tab with an email (SMTP) and a
//! Slack connection, send for real, on both backends: the emails arrive at a real SMTP
//! server (aiosmtpd, read back: recipient, subject, body) and the Slack messages at a
//! local Slack-shaped server. Installed without a connection, they stay off and say so.

mod common;

use common::slack::{Arrived, BOT_TOKEN, slack};
use common::smtp::{PASSWORD_MARKER, SmtpServer, smtp_server};
use common::*;
use domain::access::Role;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::engine::runner::Runner;
use domain::engine::triggers::dispatch_directory_events;
use domain::scim::ENTERPRISE_USER;
use domain::store::{GroupWrite, Store, UserWrite};
use serde_json::{Value, json};

fn entry(action: Action) -> NewEntry {
    NewEntry::new(action, Outcome::Success, Actor::System)
}

fn person(name: &str, display: &str, attributes: Value) -> UserWrite {
    UserWrite {
        user_name: name.into(),
        external_id: None,
        status: domain::directory::UserStatus::Active,
        role: Role::UnassignedUser,
        display_name: Some(display.into()),
        email: Some(name.into()),
        attributes: attributes.as_object().cloned().unwrap_or_default(),
    }
}

/// Starts the flows the directory's events trigger and runs them, until nothing is left.
async fn settle(store: &Store) {
    let runner = Runner::new(store.clone(), "test");
    for _ in 0..10 {
        let started = dispatch_directory_events(store, 100).await.unwrap();
        let ran = runner.drain().await.unwrap();
        if started == 0 && ran == 0 {
            return;
        }
    }
    panic!("the flows did not settle in ten rounds");
}

/// The emails that arrived for `to` (the envelope's first line names the recipients),
/// their quoted-printable soft line breaks undone.
fn emails_to(smtp: &SmtpServer, to: &str) -> Vec<String> {
    smtp.received()
        .into_iter()
        .filter(|m| {
            m.lines()
                .next()
                .is_some_and(|l| l.trim_start_matches("X-Envelope-To: ") == to)
        })
        .map(|m| m.replace("=\r\n", "").replace("=\n", ""))
        .collect()
}

/// The Slack messages posted to `channel`.
fn posted_to(arrived: &Arrived, channel: &str) -> Vec<String> {
    arrived
        .lock()
        .unwrap()
        .iter()
        .filter(|(method, body)| method == "chat.postMessage" && body["channel"] == channel)
        .map(|(_, body)| body["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn the_five_templates_send_for_real(store: Store) {
    let Some(smtp) = smtp_server().await else {
        return;
    };
    let (slack_base, arrived) = slack().await;
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;

    // Installed with no connection: its flows stay off (the helper too), and the page
    // says which kind is missing.
    let bare = server
        .post_form(&admin, "/flows/templates/mfa-reminder", &[("go", "")])
        .await;
    let to = location(&bare);
    assert_eq!(
        query_param(&to, "notice").as_deref(),
        Some("template-installed-unconnected"),
        "{to}"
    );
    assert_eq!(query_param(&to, "why").as_deref(), Some("Email (SMTP)"));
    let flows = server.store.flows().await.unwrap();
    assert!(
        flows.iter().all(|f| !f.enabled),
        "nothing can send, so nothing is on"
    );
    for flow in flows {
        server
            .store
            .delete_flow(flow.id, &entry(Action::FlowDelete))
            .await
            .unwrap();
    }

    let port = smtp.port.to_string();
    let mail = created_connection_id(
        &server
            .post_form(
                &admin,
                "/connections",
                &[
                    ("kind", "smtp"),
                    ("name", "Mail"),
                    ("s.host", "127.0.0.1"),
                    ("s.security", "starttls"),
                    ("s.port", port.as_str()),
                    ("s.username", "it-bot"),
                    ("secret.password", PASSWORD_MARKER),
                    ("s.from", "IT <it@example.com>"),
                    ("s.trust_certificate", smtp.certificate.as_str()),
                ],
            )
            .await,
    );
    let api_url = format!("{slack_base}/api");
    let chat = created_connection_id(
        &server
            .post_form(
                &admin,
                "/connections",
                &[
                    ("kind", "slack"),
                    ("name", "IT Slack"),
                    ("s.mode", "bot"),
                    ("s.api_url", api_url.as_str()),
                    ("secret.bot_token", BOT_TOKEN),
                ],
            )
            .await,
    );

    // A connection of the wrong kind is refused, nothing installed.
    let wrong = server
        .post_form(
            &admin,
            "/flows/templates/offboarding",
            &[("connection.slack", mail.as_str())],
        )
        .await;
    assert_eq!(
        query_param(&location(&wrong), "error").as_deref(),
        Some("template-connection")
    );
    assert!(server.store.flows().await.unwrap().is_empty());

    // Each directory template installed with both; every flow turned on. (The Okta
    // ones run against the Okta test org, in tests/okta.rs.)
    let directory_templates = domain::flows::templates::templates()
        .into_iter()
        .filter(|t| !t.connection_kinds().iter().any(|k| k.key == "okta"));
    for template in directory_templates {
        let installed = server
            .post_form(
                &admin,
                &format!("/flows/templates/{}", template.key),
                &[
                    ("connection.smtp", mail.as_str()),
                    ("connection.slack", chat.as_str()),
                ],
            )
            .await;
        assert_eq!(
            location(&installed),
            "/flows?notice=template-installed",
            "{}",
            template.key
        );
    }
    for flow in server.store.flows().await.unwrap() {
        if flow.trigger_kind == "trigger.helper" {
            assert!(flow.enabled, "{} is a helper, on", flow.name);
            continue;
        }
        let on = server
            .post_form(
                &admin,
                &format!("/flows/{}/enabled", flow.id),
                &[("enabled", "true")],
            )
            .await;
        assert_eq!(location(&on), "/flows?notice=flow-on", "{}", flow.name);
    }

    // The directory the flows act on.
    for name in ["Engineering", "Managers"] {
        let group = GroupWrite {
            display_name: name.into(),
            external_id: None,
            attributes: serde_json::Map::new(),
            members: vec![],
        };
        server
            .store
            .create_group(&group, &Actor::System, &entry(Action::ScimGroupCreate))
            .await
            .unwrap();
    }
    let roles = server
        .store
        .table_by_name("department roles")
        .await
        .unwrap()
        .unwrap();
    let row = roles
        .schema
        .check_row(
            json!({ "department": "Security", "role": "Workflows Auditor" })
                .as_object()
                .unwrap(),
        )
        .unwrap();
    server.store.insert_row(&roles, &row, None).await.unwrap();
    let boss = server
        .store
        .provision_user(
            &person("boss@example.com", "Grace Boss", json!({})),
            &Actor::System,
            &entry(Action::ScimUserCreate),
        )
        .await
        .unwrap();
    settle(&server.store).await;

    // Hire: the role from the table, and an email to the manager.
    let hire = server
        .store
        .provision_user(
            &person(
                "ada@example.com",
                "Ada Lovelace",
                json!({ ENTERPRISE_USER: {
                    "department": "Security",
                    "manager": { "value": boss.id.0.to_string() },
                } }),
            ),
            &Actor::System,
            &entry(Action::ScimUserCreate),
        )
        .await
        .unwrap();
    settle(&server.store).await;
    let ada = server.store.user(hire.id).await.unwrap().unwrap();
    assert_eq!(ada.role, Role::WorkflowsAuditor);
    let to_boss = emails_to(&smtp, "boss@example.com");
    assert_eq!(to_boss.len(), 1, "{:?}", smtp.received());
    assert!(
        to_boss[0].contains("Subject: Ada Lovelace joins your team")
            && to_boss[0].contains("Hi Grace Boss"),
        "{}",
        to_boss[0]
    );

    // Title change: joins the new title's group, leaves the old one's, IT hears of it.
    let mut titled = UserWrite::from(&ada);
    titled.attributes.insert("title".into(), json!("Engineer"));
    server
        .store
        .update_user(
            ada.id,
            None,
            &titled,
            &Actor::System,
            &entry(Action::ScimUserUpdate),
        )
        .await
        .unwrap();
    settle(&server.store).await;
    let ada = server.store.user(hire.id).await.unwrap().unwrap();
    let mut promoted = UserWrite::from(&ada);
    promoted.attributes.insert("title".into(), json!("Manager"));
    server
        .store
        .update_user(
            ada.id,
            None,
            &promoted,
            &Actor::System,
            &entry(Action::ScimUserUpdate),
        )
        .await
        .unwrap();
    settle(&server.store).await;
    let groups: Vec<String> = server
        .store
        .groups_of(hire.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(groups, vec!["Managers".to_string()], "left Engineering");
    let identity = posted_to(&arrived, "#it-identity");
    assert_eq!(
        identity.last().map(String::as_str),
        Some(
            "Ada Lovelace's title changed from \"Engineer\" to \"Manager\"; their groups follow it."
        ),
        "{identity:?}"
    );

    // Lockout: five wrong passwords, and the manager gets an email.
    let origin = domain::auth::Origin {
        client_address: None,
        request_id: None,
    };
    for _ in 0..5 {
        let wrong = secrecy::SecretString::from("not the password".to_string());
        assert!(
            domain::auth::sign_in(&server.store, "ada@example.com", wrong, &origin)
                .await
                .is_err()
        );
    }
    settle(&server.store).await;
    let to_boss = emails_to(&smtp, "boss@example.com");
    assert_eq!(to_boss.len(), 2);
    let locked = to_boss
        .iter()
        .find(|m| m.contains("Subject: Ada Lovelace is locked out"))
        .expect("the lockout email");
    assert!(locked.contains("Ask them to call the IT desk"), "{locked}");

    // MFA reminder: its schedule, fired by hand, emails everyone without MFA older than
    // three days: none yet (the accounts are new), so nothing is sent.
    let daily = server
        .store
        .flow_by_name("MFA enrollment reminder")
        .await
        .unwrap()
        .unwrap();
    let before = smtp.received().len();
    let run = server
        .store
        .enqueue_execution(&domain::store::NewExecution::by_hand(
            daily.id,
            daily.version,
            json!({}),
        ))
        .await
        .unwrap()
        .unwrap();
    settle(&server.store).await;
    let done = server.store.execution(run).await.unwrap().unwrap();
    assert_eq!(
        done.status,
        domain::engine::Status::Succeeded,
        "{:?}",
        done.error
    );
    assert_eq!(smtp.received().len(), before);
    // Its helper, called for one user as the schedule calls it, emails them.
    let mut remind = domain::flows::Flow::new("Remind Ada", "trigger.manual");
    remind.cards = vec![domain::flows::Card::new(1, "flow.for_each").with_inputs(&[
        (
            "flow",
            domain::flows::Binding::literal("Remind one user about MFA"),
        ),
        (
            "items",
            domain::flows::Binding::literal(json!([{
                "email": "ada@example.com",
                "display_name": "Ada Lovelace",
            }])),
        ),
        (
            "input",
            domain::flows::Binding::literal(json!({ "now": "2026-12-06T09:00:00Z" })),
        ),
    ])];
    let done = run_by_hand(&server.store, &remind).await;
    assert_eq!(
        done.status,
        domain::engine::Status::Succeeded,
        "{:?}",
        done.error
    );
    let to_ada = emails_to(&smtp, "ada@example.com");
    assert_eq!(to_ada.len(), 1);
    assert!(
        to_ada[0].contains("Subject: Please set up multi-factor authentication")
            && to_ada[0].contains("Hi Ada Lovelace, please set up multi-factor authentication."),
        "{}",
        to_ada[0]
    );

    // Offboarding: out of every group, and IT hears of it in #it-offboarding.
    let deactivated = server
        .post_form(
            &admin,
            &format!("/directory/users/{}/status", hire.id.0),
            &[("status", "deprovisioned")],
        )
        .await;
    assert_eq!(deactivated.status(), reqwest::StatusCode::SEE_OTHER);
    settle(&server.store).await;
    assert!(server.store.groups_of(hire.id).await.unwrap().is_empty());
    assert_eq!(
        posted_to(&arrived, "#it-offboarding"),
        vec![
            "Ada Lovelace (ada@example.com) was deactivated: removed from 1 groups and signed out everywhere."
                .to_string()
        ]
    );

    // The System Log and the executions show what was sent, never a secret.
    let log = format!("{:?}", server.store.recent_audit(500).await.unwrap());
    let executions = format!(
        "{:?}",
        server
            .store
            .executions(&domain::store::ExecutionFilter {
                limit: 200,
                ..Default::default()
            })
            .await
            .unwrap()
    );
    for seen in [log, executions] {
        assert!(!seen.contains(PASSWORD_MARKER) && !seen.contains(BOT_TOKEN));
    }
}

domain::backend_tests! {
    async fn templates_send_email_and_slack(store) {
        the_five_templates_send_for_real(store).await;
    }
}
