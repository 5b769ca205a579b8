//! The Connections tab and the HTTP Request card through the real router, on both
//! backends: a connection is created, tested, used by a flow, changed, refused for
//! deletion while used, then deleted; a Connection Manager does all of it and cannot edit
//! flows; its secret is never seen again. The API the flow calls is a local server on
//! 127.0.0.1 (the test server allows loopback, as `IDFLOW_OUTBOUND_ALLOW` would).

mod common;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::{get, post};
use common::*;
use domain::access::Role;
use domain::flows::{Binding, Card, CardId, Flow, Source};
use domain::store::Store;
use reqwest::StatusCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const MARKER: &str = "s3cr3t-token-MARKER-7f3a";

/// A local API that wants `Authorization: Bearer MARKER`: `GET /v2` (the test),
/// `GET /v2/hello?name=…`, `POST /v2/echo` (answers the body and its Idempotency-Key).
async fn local_api() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    fn authorised(headers: &HeaderMap) -> bool {
        headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {MARKER}"))
    }
    let app = axum::Router::new()
        .route(
            "/v2",
            get(
                |State(hits): State<Arc<AtomicUsize>>, headers: HeaderMap| async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    if authorised(&headers) {
                        AxumStatus::OK
                    } else {
                        AxumStatus::UNAUTHORIZED
                    }
                },
            ),
        )
        .route(
            "/v2/hello",
            get(
                |State(hits): State<Arc<AtomicUsize>>,
                 headers: HeaderMap,
                 Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    if !authorised(&headers) {
                        return Err(AxumStatus::UNAUTHORIZED);
                    }
                    Ok(axum::Json(serde_json::json!({ "hello": q.get("name") })))
                },
            ),
        )
        .route(
            "/v2/echo",
            post(
                |State(hits): State<Arc<AtomicUsize>>,
                 headers: HeaderMap,
                 axum::Json(body): axum::Json<serde_json::Value>| async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    axum::Json(serde_json::json!({ "got": body, "idempotency_key": key }))
                },
            ),
        )
        .route(
            "/v2/busy",
            post(|State(hits): State<Arc<AtomicUsize>>| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                (
                    AxumStatus::TOO_MANY_REQUESTS,
                    [("retry-after", "120")],
                    "slow down",
                )
            }),
        )
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

async fn text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// A flow whose HTTP Request card calls `path` through the connection `id`.
fn calling(name: &str, id: &str, card: Card) -> Flow {
    let mut flow = Flow::new(name, "trigger.manual");
    let mut card = card;
    card.inputs
        .insert("connection".into(), Binding::literal(id));
    flow.cards = vec![
        card,
        Card::new(2, "flow.return")
            .with_inputs(&[("output", Binding::mapping(Source::Card(CardId(1)), "body"))]),
    ];
    flow
}

async fn connections_are_made_tested_used_changed_and_kept_while_used(store: Store) {
    let server = start(store, Options::default()).await;
    let (api, hits) = local_api().await;
    let manager = server.client_as(Role::ConnectionManager).await;
    let auditor = server.client_as(Role::WorkflowsAuditor).await;

    let empty = text(&manager, server.url("/connections")).await;
    assert!(empty.contains("No connections yet"), "{empty}");

    // Created with a problem: refused, saying what, nothing made.
    let refused = server
        .post_form(
            &manager,
            "/connections",
            &[
                ("kind", "http"),
                ("name", "Payroll"),
                ("s.base_url", "ftp://x"),
                ("s.auth", "bearer"),
            ],
        )
        .await;
    let to = location(&refused);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("connection-problems"),
        "{to}"
    );
    assert!(
        query_param(&to, "why").unwrap().contains("Token is needed"),
        "{to}"
    );
    assert!(server.store.connections().await.unwrap().is_empty());

    // Created: its page says who changed it; the secret is nowhere on it.
    let made = server
        .post_form(
            &manager,
            "/connections",
            &[
                ("kind", "http"),
                ("name", "Payroll API"),
                ("s.base_url", &format!("{api}/v2")),
                ("s.auth", "bearer"),
                ("secret.token", MARKER),
            ],
        )
        .await;
    let to = location(&made);
    let connection = server.store.connections().await.unwrap().pop().unwrap();
    assert_eq!(
        to,
        format!("/connections/{}?notice=connection-created", connection.id)
    );
    assert_eq!(connection.secret_fields, vec!["token".to_string()]);
    let page = text(
        &manager,
        server.url(&format!("/connections/{}", connection.id)),
    )
    .await;
    assert!(
        page.contains("Payroll API") && page.contains("connection_manager@example.com"),
        "{page}"
    );
    assert!(!page.contains(MARKER));

    // Tested: it works.
    let tested = server
        .post_form(
            &manager,
            &format!("/connections/{}/test", connection.id),
            &[("go", "")],
        )
        .await;
    assert_eq!(
        query_param(&location(&tested), "notice").as_deref(),
        Some("connection-works")
    );
    let kept = server
        .store
        .connection(connection.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        kept.last_test.as_ref().is_some_and(|t| t.ok),
        "{:?}",
        kept.last_test
    );

    // Changed to a wrong token: the test fails, saying the credentials were refused.
    let changed = server
        .post_form(
            &manager,
            &format!("/connections/{}", connection.id),
            &[
                ("version", "1"),
                ("name", "Payroll API"),
                ("s.base_url", &format!("{api}/v2")),
                ("s.auth", "bearer"),
                ("secret.token", "wrong"),
            ],
        )
        .await;
    assert_eq!(
        query_param(&location(&changed), "notice").as_deref(),
        Some("connection-saved")
    );
    let failed = server
        .post_form(
            &manager,
            &format!("/connections/{}/test", connection.id),
            &[("go", "")],
        )
        .await;
    let to = location(&failed);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("connection-test-failed"),
        "{to}"
    );
    assert!(
        query_param(&to, "why")
            .unwrap()
            .contains("refused the credentials"),
        "{to}"
    );
    // A stale form is refused rather than overwriting the newer change.
    let stale = server
        .post_form(
            &manager,
            &format!("/connections/{}", connection.id),
            &[
                ("version", "1"),
                ("name", "Old"),
                ("s.base_url", &format!("{api}/v2")),
                ("s.auth", "bearer"),
            ],
        )
        .await;
    assert_eq!(
        query_param(&location(&stale), "error").as_deref(),
        Some("connection-changed")
    );
    // Renamed with the right token again; an empty secret field later keeps it.
    server
        .post_form(
            &manager,
            &format!("/connections/{}", connection.id),
            &[
                ("version", "2"),
                ("name", "Payroll"),
                ("s.base_url", &format!("{api}/v2")),
                ("s.auth", "bearer"),
                ("secret.token", MARKER),
            ],
        )
        .await;
    server
        .post_form(
            &manager,
            &format!("/connections/{}", connection.id),
            &[
                ("version", "3"),
                ("name", "Payroll"),
                ("s.base_url", &format!("{api}/v2")),
                ("s.auth", "bearer"),
                ("secret.token", ""),
            ],
        )
        .await;
    let renamed = server
        .store
        .connection(connection.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.version), ("Payroll", 4));
    let tested = server
        .post_form(
            &manager,
            &format!("/connections/{}/test", connection.id),
            &[("go", "")],
        )
        .await;
    assert_eq!(
        query_param(&location(&tested), "notice").as_deref(),
        Some("connection-works")
    );

    // Used by a flow: its HTTP Request card reaches the API with the connection's token.
    let id = connection.id.to_string();
    let hello = Card::new(1, "http.request").with_inputs(&[
        ("url", Binding::literal("/hello")),
        (
            "query",
            Binding::literal(serde_json::json!({ "name": "Ada" })),
        ),
    ]);
    let done = run_by_hand(&server.store, &calling("Greet payroll", &id, hello)).await;
    assert_eq!(
        done.status,
        domain::engine::Status::Succeeded,
        "{:?}",
        done.error
    );
    assert_eq!(done.output, Some(serde_json::json!({ "hello": "Ada" })));
    // A write carries an Idempotency-Key from the execution and the card.
    let echo = Card::new(1, "http.request").with_inputs(&[
        ("method", Binding::literal("POST")),
        ("url", Binding::literal("/echo")),
        (
            "body",
            Binding::literal(serde_json::json!({ "user": "ada" })),
        ),
    ]);
    let done = run_by_hand(&server.store, &calling("Echo payroll", &id, echo)).await;
    let output = done.output.unwrap();
    assert_eq!(output["got"], serde_json::json!({ "user": "ada" }));
    assert_eq!(output["idempotency_key"], format!("idflow-{}-1", done.id.0));
    // A 429 with Retry-After is retried, no sooner than asked: the execution waits, its
    // record says so.
    let mut busy = Card::new(1, "http.request").with_inputs(&[
        ("method", Binding::literal("POST")),
        ("url", Binding::literal("/busy")),
    ]);
    busy.on_error = domain::flows::OnError::Retry { times: 3 };
    let waiting = run_by_hand(&server.store, &calling("Busy payroll", &id, busy)).await;
    assert_eq!(
        waiting.status,
        domain::engine::Status::Queued,
        "{waiting:?}"
    );
    let steps = server.store.execution_steps(waiting.id).await.unwrap();
    assert_eq!(steps.len(), 1, "one try so far: {steps:?}");
    let tried = steps[0].error.clone().unwrap_or_default();
    assert!(
        tried.contains("429")
            && tried.contains("asked to retry after 120 s")
            && tried.contains("slow down"),
        "{tried}"
    );
    assert!(!tried.contains(MARKER));
    // Nothing runs it again before then.
    domain::engine::runner::Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    assert_eq!(
        server
            .store
            .execution_steps(waiting.id)
            .await
            .unwrap()
            .len(),
        1
    );

    // Credentials go only under the base URL.
    let elsewhere = Card::new(1, "http.request")
        .with_inputs(&[("url", Binding::literal(format!("{}/other", server.base)))]);
    let failed = run_by_hand(&server.store, &calling("Elsewhere", &id, elsewhere)).await;
    assert!(
        failed
            .error
            .unwrap_or_default()
            .contains("not under the connection's base URL")
    );

    // The list says which flows use it; deleting it is refused, naming them.
    let list = text(&manager, server.url("/connections")).await;
    assert!(list.contains("Greet payroll"), "{list}");
    let refused = server
        .post_form(
            &manager,
            &format!("/connections/{id}/delete"),
            &[("go", "")],
        )
        .await;
    let to = location(&refused);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("connection-in-use"),
        "{to}"
    );
    assert!(
        query_param(&to, "why").unwrap().contains("Greet payroll"),
        "{to}"
    );
    assert!(
        server
            .store
            .connection(connection.id)
            .await
            .unwrap()
            .is_some()
    );

    // The Connection Manager cannot edit flows; the auditor sees connections, changes none.
    let import = manager
        .post(server.url("/flows/import"))
        .form(&[("definition", "{}")])
        .send()
        .await
        .unwrap();
    assert_eq!(import.status(), StatusCode::FORBIDDEN);
    assert!(
        text(&auditor, server.url("/connections"))
            .await
            .contains("Payroll")
    );
    let create = auditor
        .post(server.url("/connections"))
        .form(&[("kind", "http"), ("name", "Mine")])
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::FORBIDDEN);

    // Once no flow uses it, it is deleted.
    for flow in server.store.flows().await.unwrap() {
        server
            .store
            .delete_flow(
                flow.id,
                &domain::audit::NewEntry::new(
                    domain::audit::Action::FlowDelete,
                    domain::audit::Outcome::Success,
                    domain::audit::Actor::System,
                ),
            )
            .await
            .unwrap();
    }
    let deleted = server
        .post_form(
            &manager,
            &format!("/connections/{id}/delete"),
            &[("go", "")],
        )
        .await;
    assert_eq!(location(&deleted), "/connections?notice=connection-deleted");
    assert!(server.store.connections().await.unwrap().is_empty());

    // Every change is in the System Log, never with the secret.
    let log = server.store.recent_audit(100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "connection.create",
        "connection.update",
        "connection.test",
        "connection.delete",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(!format!("{log:?}").contains(MARKER));
    assert!(hits.load(Ordering::SeqCst) >= 5);
}

/// Settings' outbound allow-list: on a server that allows nothing beyond the guard's
/// rules, a connection to a local API is refused before any request; a Super Admin
/// allows 127.0.0.1 in Settings and the same test works; an administrator may not change
/// the list, and a list that does not read is refused, naming the item.
async fn the_outbound_allow_list_of_settings_opens_the_guard(store: Store) {
    // First set wins: unlike the other tests, this server allows nothing itself.
    store.allow_outbound(domain::outbound::Allowed::default());
    let server = start(store, Options::default()).await;
    let (api, hits) = local_api().await;
    let root = server.client_as(Role::SuperAdmin).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    server
        .post_form(
            &root,
            "/connections",
            &[
                ("kind", "http"),
                ("name", "Intranet"),
                ("s.base_url", &format!("{api}/v2")),
                ("s.auth", "bearer"),
                ("secret.token", MARKER),
            ],
        )
        .await;
    let id = server.store.connections().await.unwrap().pop().unwrap().id;
    let test = || {
        let (server, root) = (&server, &root);
        async move {
            location(
                &server
                    .post_form(root, &format!("/connections/{id}/test"), &[("go", "")])
                    .await,
            )
        }
    };
    let to = test().await;
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("connection-test-failed"),
        "{to}"
    );
    assert!(
        query_param(&to, "why").unwrap().contains("loopback"),
        "{to}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "refused before any request");

    let page = text(&root, server.url("/settings")).await;
    assert!(page.contains("Outbound allow-list"), "{page}");
    let forbidden = admin
        .post(server.url("/settings/outbound"))
        .form(&[("allow", "127.0.0.1")])
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let bad = server
        .post_form(
            &root,
            "/settings/outbound",
            &[("allow", "127.0.0.1, not a host!")],
        )
        .await;
    let to = location(&bad);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("outbound-allow"),
        "{to}"
    );
    assert!(query_param(&to, "why").unwrap().contains("host!"), "{to}");
    assert!(server.store.outbound_setting().await.unwrap().is_none());

    let saved = server
        .post_form(&root, "/settings/outbound", &[("allow", "127.0.0.1")])
        .await;
    assert_eq!(location(&saved), "/settings?notice=outbound-saved");
    let to = test().await;
    assert_eq!(
        query_param(&to, "notice").as_deref(),
        Some("connection-works"),
        "{to}"
    );
    assert!(hits.load(Ordering::SeqCst) >= 1);
    let page = text(&admin, server.url("/settings")).await;
    assert!(page.contains("Also allowed: 127.0.0.1"), "{page}");
    let log = server.store.recent_audit(20).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "system.outbound_allow.update"
                && e.reason.as_deref() == Some("allowed: 127.0.0.1")),
        "{log:?}"
    );
}

domain::backend_tests! {
    async fn settings_allow_list_opens_the_outbound_guard(store) {
        the_outbound_allow_list_of_settings_opens_the_guard(store).await;
    }

    async fn connections_tab_and_http_card(store) {
        connections_are_made_tested_used_changed_and_kept_while_used(store).await;
    }

    async fn connections_are_shared_by_folder(store) {
        a_connection_serves_only_the_folders_it_is_shared_with(store).await;
    }
}

/// The secret typed into a connection is nowhere else: not in the database files (the
/// WAL included), a page, a server function's answer, the System Log or an execution's
/// records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connections_secret_is_sealed_and_never_shown() {
    let db = domain::store::testing::sqlite().await;
    let server = start(db.store.clone(), Options::default()).await;
    let (api, _) = local_api().await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    server
        .post_form(
            &admin,
            "/connections",
            &[
                ("kind", "http"),
                ("name", "Payroll"),
                ("s.base_url", &format!("{api}/v2")),
                ("s.auth", "bearer"),
                ("secret.token", MARKER),
            ],
        )
        .await;
    let connection = server.store.connections().await.unwrap().pop().unwrap();
    let id = connection.id.to_string();
    let mut flow = calling(
        "Greet",
        &id,
        Card::new(1, "http.request").with_inputs(&[("url", Binding::literal("/hello"))]),
    );
    flow.settings.save_all_data = true;
    let done = run_by_hand(&server.store, &flow).await;
    assert_eq!(
        done.status,
        domain::engine::Status::Succeeded,
        "{:?}",
        done.error
    );
    let steps = server.store.execution_steps(done.id).await.unwrap();
    assert!(!format!("{steps:?}").contains(MARKER));

    for path in [
        "/connections".to_string(),
        format!("/connections/{id}"),
        format!("/executions/{}", done.id),
        format!("/flows/{}/export", done.flow),
    ] {
        assert!(
            !text(&admin, server.url(&path)).await.contains(MARKER),
            "{path}"
        );
    }
    let detail = admin
        .post(server.url(app::connections::DETAIL_PATH))
        .form(&[("id", id.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        detail.contains("token") && !detail.contains(MARKER),
        "{detail}"
    );
    assert!(!format!("{:?}", server.store.recent_audit(100).await.unwrap()).contains(MARKER));

    // The database files, WAL included, hold only the sealed value.
    let folder = db
        .url
        .trim_start_matches("sqlite://")
        .trim_end_matches("/idflow.db")
        .to_string();
    let mut files = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        assert!(!bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()));
    }
    assert!(files >= 2, "the database and its WAL were read");
    // …and it still opens where it belongs.
    let opened = server
        .store
        .connection_secrets(connection.id)
        .await
        .unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(opened["token"].expose_secret(), MARKER);
}

/// An API that takes each way an HTTP connection authenticates: `GET /bearer`, `/basic`,
/// `/key` (header `X-Api-Key`), and `/oauth` with a token from `POST /token` (client
/// credentials in Basic, as RFC 6749 §2.3.1 says). Counts the tokens it handed out.
async fn authenticating_api() -> (String, Arc<AtomicUsize>) {
    use base64::Engine;
    let issued = Arc::new(AtomicUsize::new(0));
    let header = |headers: &HeaderMap, name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("payroll:pw-MARKER")
    );
    let client = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("client-1:cs-MARKER")
    );
    let ok = |yes: bool| {
        if yes {
            AxumStatus::OK
        } else {
            AxumStatus::UNAUTHORIZED
        }
    };
    let app = axum::Router::new()
        .route(
            "/bearer",
            get(move |h: HeaderMap| async move { ok(header(&h, "authorization") == "Bearer tk-MARKER") }),
        )
        .route(
            "/basic",
            get(move |h: HeaderMap| async move { ok(header(&h, "authorization") == basic) }),
        )
        .route(
            "/key",
            get(move |h: HeaderMap| async move { ok(header(&h, "x-api-key") == "key-MARKER") }),
        )
        .route(
            "/token",
            post(
                move |State(issued): State<Arc<AtomicUsize>>, h: HeaderMap, body: String| async move {
                    if header(&h, "authorization") != client || !body.contains("grant_type=client_credentials") {
                        return Err((AxumStatus::UNAUTHORIZED, axum::Json(serde_json::json!({ "error": "invalid_client" }))));
                    }
                    issued.fetch_add(1, Ordering::SeqCst);
                    Ok(axum::Json(serde_json::json!({ "access_token": "at-MARKER", "token_type": "Bearer", "expires_in": 3600 })))
                },
            ),
        )
        .route(
            "/oauth",
            get(move |h: HeaderMap| async move { ok(header(&h, "authorization") == "Bearer at-MARKER") }),
        )
        .with_state(issued.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), issued)
}

/// Each way an HTTP connection authenticates is sent as the service expects, and an
/// OAuth 2.0 access token is fetched once and kept until it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_http_authentication_reaches_its_service() {
    let db = domain::store::testing::sqlite().await;
    let server = start(db.store.clone(), Options::default()).await;
    let (api, issued) = authenticating_api().await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let cases: [(&str, Vec<(&str, String)>); 4] = [
        (
            "bearer",
            vec![
                ("s.auth", "bearer".into()),
                ("secret.token", "tk-MARKER".into()),
            ],
        ),
        (
            "basic",
            vec![
                ("s.auth", "basic".into()),
                ("s.username", "payroll".into()),
                ("secret.password", "pw-MARKER".into()),
            ],
        ),
        (
            "key",
            vec![
                ("s.auth", "api_key".into()),
                ("s.header", "X-Api-Key".into()),
                ("secret.api_key", "key-MARKER".into()),
            ],
        ),
        (
            "oauth",
            vec![
                ("s.auth", "oauth2".into()),
                ("s.token_url", format!("{api}/token")),
                ("s.client_id", "client-1".into()),
                ("secret.client_secret", "cs-MARKER".into()),
            ],
        ),
    ];
    for (path, auth) in cases {
        let mut fields = vec![
            ("kind", "http".to_string()),
            ("name", format!("API {path}")),
            ("s.base_url", format!("{api}/{path}")),
        ];
        fields.extend(auth);
        let made = server.post_form(&admin, "/connections", &fields).await;
        let id = created_connection_id(&made);
        let tested = server
            .post_form(&admin, &format!("/connections/{id}/test"), &[("go", "")])
            .await;
        let to = location(&tested);
        assert_eq!(
            query_param(&to, "notice").as_deref(),
            Some("connection-works"),
            "{path}: {to}"
        );
        // The card too, with the same credentials.
        let done = run_by_hand(
            &server.store,
            &calling(
                &format!("Call {path}"),
                &id,
                Card::new(1, "http.request").with_inputs(&[("url", Binding::literal(""))]),
            ),
        )
        .await;
        assert_eq!(
            done.status,
            domain::engine::Status::Succeeded,
            "{path}: {:?}",
            done.error
        );
    }
    assert_eq!(
        issued.load(Ordering::SeqCst),
        1,
        "the access token was kept for the card"
    );
    let page = text(&admin, server.url("/connections")).await;
    assert!(!page.contains("MARKER"));
}

/// A connection shared with the folder HR only: a flow in IT cannot be saved with it,
/// moved there, or (once the sharing changes under it) run it; the builder of an IT flow
/// does not offer it; the change is logged and names the flows it strands.
async fn a_connection_serves_only_the_folders_it_is_shared_with(store: Store) {
    use domain::audit::{Action, Actor, NewEntry, Outcome};
    let server = start(store, Options::default()).await;
    let (api, _hits) = local_api().await;
    let manager = server.client_as(Role::ConnectionManager).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let entry = NewEntry::new(Action::FolderCreate, Outcome::Success, Actor::System);
    let hr = server.store.create_folder("HR", &entry).await.unwrap();
    let it = server.store.create_folder("IT", &entry).await.unwrap();
    server
        .post_form(
            &manager,
            "/connections",
            &[
                ("kind", "http"),
                ("name", "HR API"),
                ("s.base_url", &format!("{api}/v2")),
                ("s.auth", "bearer"),
                ("secret.token", MARKER),
            ],
        )
        .await;
    let connection = server.store.connections().await.unwrap().pop().unwrap();
    let id = connection.id.to_string();
    assert!(connection.usable_in(None) && connection.usable_in(Some(it)));

    // "Only these folders" with none ticked is refused, saying what to do.
    let none = server
        .post_form(
            &manager,
            &format!("/connections/{id}/sharing"),
            &[("who", "folders")],
        )
        .await;
    let to = location(&none);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("connection-share-none"),
        "{to}"
    );
    assert!(
        query_param(&to, "why")
            .unwrap()
            .contains("at least one folder")
    );

    // Shared with HR only.
    let shared = server
        .post_form(
            &manager,
            &format!("/connections/{id}/sharing"),
            &[("who", "folders"), ("folder", &hr.to_string())],
        )
        .await;
    assert_eq!(
        query_param(&location(&shared), "notice").as_deref(),
        Some("connection-shared")
    );
    let page = text(&manager, server.url(&format!("/connections/{id}"))).await;
    assert!(page.contains("Flows in HR"), "{page}");

    // A flow in IT using it is refused, naming the connection; in HR it is made.
    let hello = Card::new(1, "http.request").with_inputs(&[
        ("url", Binding::literal("/hello")),
        (
            "query",
            Binding::literal(serde_json::json!({ "name": "Ada" })),
        ),
    ]);
    let flow = calling("Greet from HR", &id, hello);
    let import = |folder: uuid::Uuid| {
        let definition = flow.to_stable_json();
        let admin = admin.clone();
        let url = server.url("/flows/import");
        async move {
            admin
                .post(url)
                .form(&[
                    ("definition", definition.as_str()),
                    ("folder", &folder.to_string()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let refused = import(it).await;
    let to = location(&refused);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("connection-not-shared"),
        "{to}"
    );
    assert!(query_param(&to, "why").unwrap().contains("HR API"), "{to}");
    assert!(server.store.flows().await.unwrap().is_empty());
    import(hr).await;
    let made = server
        .store
        .flow_by_name("Greet from HR")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(made.folder, Some(hr));

    // The builder of a flow in HR offers it; of a new flow at the top level, not.
    let in_hr = text(&admin, server.url(&format!("/flows/{}/edit", made.id))).await;
    assert!(in_hr.contains("HR API"), "builder in HR");
    let new = text(&admin, server.url("/flows/new/edit")).await;
    assert!(!new.contains("HR API"), "builder at the top level");

    // Moving it to IT is refused.
    let moved = server
        .post_form(
            &admin,
            &format!("/flows/{}/move", made.id),
            &[("folder", it.to_string())],
        )
        .await;
    assert_eq!(
        query_param(&location(&moved), "error").as_deref(),
        Some("connection-not-shared"),
        "{}",
        location(&moved)
    );
    assert_eq!(
        server
            .store
            .flow_by_name("Greet from HR")
            .await
            .unwrap()
            .unwrap()
            .folder,
        Some(hr)
    );

    // Sharing it with IT only strands the HR flow: the answer names it, and its card
    // fails saying why.
    let strand = server
        .post_form(
            &manager,
            &format!("/connections/{id}/sharing"),
            &[("who", "folders"), ("folder", &it.to_string())],
        )
        .await;
    let to = location(&strand);
    assert_eq!(
        query_param(&to, "notice").as_deref(),
        Some("connection-shared-stranded"),
        "{to}"
    );
    assert_eq!(query_param(&to, "why").as_deref(), Some("Greet from HR"));
    let execution = server
        .store
        .enqueue_execution(&domain::store::NewExecution::by_hand(
            made.id,
            made.version,
            serde_json::json!({}),
        ))
        .await
        .unwrap()
        .unwrap();
    domain::engine::runner::Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    let done = server.store.execution(execution).await.unwrap().unwrap();
    assert_eq!(done.status, domain::engine::Status::Failed);
    assert!(
        done.error
            .unwrap_or_default()
            .contains("not shared with this flow's folder"),
    );

    // Shared with every flow again; only a manager may change it.
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let forbidden = auditor
        .post(server.url(&format!("/connections/{id}/sharing")))
        .form(&[("who", "every")])
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    server
        .post_form(
            &manager,
            &format!("/connections/{id}/sharing"),
            &[("who", "every")],
        )
        .await;
    let kept = server
        .store
        .connection(connection.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.folders, None);
    let log = server.store.recent_audit(20).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.reason.as_deref() == Some("usable by the flows in HR")),
        "{log:?}"
    );
}
