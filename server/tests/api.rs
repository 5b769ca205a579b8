//! The REST API (`/api/v1`) with API tokens, through the real router, on both backends:
//! tokens made in Settings and shown once, scopes, rights that are never more than the
//! person's, folders, paging and problem+json errors.

mod common;

use common::*;
use domain::access::{FolderRole, Role};
use domain::actions::api_tokens::{TokenInput, create};
use domain::api_tokens::{Area, Scope, TokenKind};
use domain::assignments::Grantee;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::flows::Flow;
use domain::store::Store;
use reqwest::StatusCode;

fn entry(action: Action) -> NewEntry {
    NewEntry::new(action, Outcome::Success, Actor::System)
}

/// A token made through the domain's action for `user_name`, acting as that person.
async fn token_of(
    store: &Store,
    user_name: &str,
    kind: TokenKind,
    role: Option<Role>,
    scopes: &[Scope],
) -> String {
    let user = store.user_by_name(user_name).await.unwrap().unwrap();
    let rights = store.rights_of(&user).await.unwrap();
    let acting = domain::actions::Acting {
        actor: Actor::User {
            id: Some(user.id.0),
            display: user.user_name.clone(),
        },
        rights,
        person: Some(user.id),
        client_address: None,
        request_id: None,
        dry_run: false,
    };
    let input = TokenInput {
        name: format!("{user_name} {kind:?}"),
        kind,
        role,
        scopes: scopes.to_vec(),
        days: None,
    };
    create(store, &acting, &input).await.unwrap().1
}

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.json().await.unwrap_or(serde_json::Value::Null);
    (status, headers, body)
}

async fn get(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let (status, headers, body) = call(server, reqwest::Method::GET, path, token).await;
    if !status.is_success() {
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{path}"
        );
        assert_eq!(body["status"], status.as_u16(), "{path}");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.ends_with('.')),
            "{path}: {body}"
        );
    }
    (status, body)
}

async fn tokens_are_made_in_settings_shown_once_scoped_and_revoked(store: Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::SuperAdmin).await;

    // Made on the Settings page, shown once.
    let made = server
        .post_form(
            &admin,
            "/settings/api-tokens",
            &[
                ("name", "Nightly report"),
                ("kind", "personal"),
                ("scope", "flows:read"),
                ("scope", "logs:read"),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(location(&made), "/settings#api-tokens");
    let page = admin
        .get(server.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = page
        .match_indices("idf_api_")
        .map(|(at, _)| {
            page[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .find(|t| t.len() == "idf_api_".len() + 40)
        .expect("the new token is shown");
    assert!(page.contains("Nightly report"));
    let again = admin
        .get(server.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains(&token), "shown only once");
    assert!(again.contains("flows:read logs:read"));

    // Who it is.
    let (status, me) = get(&server, "/api/v1/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["roles"], serde_json::json!(["super_admin"]));
    assert_eq!(
        me["token"]["scopes"],
        serde_json::json!(["flows:read", "logs:read"])
    );

    // Without a token, with a wrong one, outside its scopes.
    let (status, headers, body) = call(&server, reqwest::Method::GET, "/api/v1/flows", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key("www-authenticate"));
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer")
    );
    let (status, _) = get(&server, "/api/v1/flows", Some("idf_api_nottherightone")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = get(&server, "/api/v1/executions", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("executions:read"));
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        "/api/v1/flows/00000000-0000-0000-0000-000000000000/enable",
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "flows:read does not write");

    // Paging by cursor, with a Link header.
    for name in ["One", "Two", "Three"] {
        server
            .store
            .test_flow(
                &Flow::new(name, "trigger.manual"),
                None,
                "admin@example.com",
            )
            .await;
    }
    let (status, headers, first) = call(
        &server,
        reqwest::Method::GET,
        "/api/v1/flows?limit=2",
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().expect("a next page").to_string();
    assert!(
        headers["link"]
            .to_str()
            .unwrap()
            .contains(&format!("after={next}"))
    );
    let (_, second) = get(
        &server,
        &format!("/api/v1/flows?limit=2&after={next}"),
        Some(&token),
    )
    .await;
    let names: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["One", "Two", "Three"]);
    assert!(second["next"].is_null());
    let (status, body) = get(&server, "/api/v1/flows?limit=500", Some(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("limit"));
    let one = first["items"][0]["id"].as_str().unwrap();
    let (status, flow) = get(&server, &format!("/api/v1/flows/{one}"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(flow["definition"]["trigger"]["kind"], "trigger.manual");
    let (status, _) = get(&server, "/api/v1/flows/not-an-id", Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The System Log, searched as on its tab.
    let filter = urlencoding::encode(r#"eventType eq "api.token.create""#);
    let (status, logs) = get(
        &server,
        &format!("/api/v1/logs?filter={filter}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let items = logs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["target_display"], "Nightly report");
    let (status, body) = get(
        &server,
        "/api/v1/logs?filter=colour+eq+%22red%22",
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("not an attribute")
    );

    // Refused when made wrongly, each with its reason.
    for (fields, code) in [
        (vec![("name", "x"), ("kind", "personal")], "token-scopes"),
        (
            vec![("name", ""), ("kind", "personal"), ("scope", "logs:read")],
            "token-name",
        ),
        (
            vec![("name", "x"), ("kind", "personal"), ("scope", "logs:write")],
            "token-scopes",
        ),
        (
            vec![("name", "x"), ("kind", "service"), ("scope", "logs:read")],
            "token-role",
        ),
        (
            vec![
                ("name", "x"),
                ("kind", "personal"),
                ("scope", "logs:read"),
                ("days", "400"),
            ],
            "token-days",
        ),
    ] {
        let refused = server
            .post_form(&admin, "/settings/api-tokens", &fields)
            .await;
        assert!(
            location(&refused).contains(&format!("error={code}")),
            "{fields:?}: {}",
            location(&refused)
        );
    }

    // Revoked: refused from then on.
    let id = server.store.api_tokens(None).await.unwrap()[0].id;
    let revoked = server
        .post_form(
            &admin,
            &format!("/settings/api-tokens/{id}/revoke"),
            &[("", "")],
        )
        .await;
    assert!(location(&revoked).contains("notice=api-token-revoked"));
    let (status, body) = get(&server, "/api/v1/me", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["detail"].as_str().unwrap().contains("revoked"));
    let log = server.store.recent_audit(20).await.unwrap();
    assert!(log.iter().any(|e| e.action == "api.token.revoke"));
    assert!(log.iter().any(|e| e.action == "api.token.create"
        && e.reason.as_deref() == Some("personal token; scopes flows:read logs:read; 30 days")));
}

async fn a_token_never_does_more_than_the_person_behind_it(store: Store) {
    let server = start(store, Options::default()).await;
    let every = Scope::all();
    server
        .add_user("ann@example.com", Role::WorkflowsAdministrator)
        .await;
    server
        .add_user("audrey@example.com", Role::WorkflowsAuditor)
        .await;
    server
        .add_user("rita@example.com", Role::UnassignedUser)
        .await;

    // A flow in a folder Rita reads, and one outside it.
    let folder = server
        .store
        .create_folder("HR", &entry(Action::FolderCreate))
        .await
        .unwrap();
    let rita = server
        .store
        .user_by_name("rita@example.com")
        .await
        .unwrap()
        .unwrap();
    server
        .store
        .set_folder_grant(
            folder,
            &Grantee::User(rita.id),
            Some(FolderRole::Reader),
            &entry(Action::FolderGrant),
        )
        .await
        .unwrap();
    let inside = server
        .store
        .test_flow(
            &Flow::new("Inside", "trigger.manual"),
            Some(folder),
            "ann@example.com",
        )
        .await;
    let outside = server
        .store
        .test_flow(
            &Flow::new("Outside", "trigger.manual"),
            None,
            "ann@example.com",
        )
        .await;

    // A personal token sees what its person sees, by list and by id.
    let ritas = token_of(
        &server.store,
        "rita@example.com",
        TokenKind::Personal,
        None,
        &every,
    )
    .await;
    let (status, list) = get(&server, "/api/v1/flows", Some(&ritas)).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Inside"]);
    let (status, _) = get(
        &server,
        &format!("/api/v1/flows/{}", inside.id),
        Some(&ritas),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = get(
        &server,
        &format!("/api/v1/flows/{}", outside.id),
        Some(&ritas),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another folder's flow does not exist for her"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("not yours to see")
    );
    // A reader may not turn a flow on, whatever the token's scopes say.
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        &format!("/api/v1/flows/{}/enable", inside.id),
        Some(&ritas),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An auditor's token reads and never writes.
    let audrey = token_of(
        &server.store,
        "audrey@example.com",
        TokenKind::Personal,
        None,
        &every,
    )
    .await;
    let (status, _) = get(&server, "/api/v1/executions", Some(&audrey)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        &format!("/api/v1/flows/{}/disable", inside.id),
        Some(&audrey),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An administrator's token turns a flow on; it then acts for her.
    let anns = token_of(
        &server.store,
        "ann@example.com",
        TokenKind::Personal,
        None,
        &[Scope::write(Area::Flows)],
    )
    .await;
    let (status, _, body) = call(
        &server,
        reqwest::Method::POST,
        &format!("/api/v1/flows/{}/enable", outside.id),
        Some(&anns),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], true);
    let ann = server
        .store
        .user_by_name("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let flow = server
        .store
        .flow_summary(outside.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(flow.owner, Some(ann.id));
    let log = server.store.recent_audit(10).await.unwrap();
    assert!(log.iter().any(|e| e.action == "flow.activate"
        && e.actor_display.as_deref() == Some("API token: ann@example.com Personal")));

    // A service token acts as its role while its maker holds that role's rights.
    let service = token_of(
        &server.store,
        "ann@example.com",
        TokenKind::Service,
        Some(Role::WorkflowsAuditor),
        &every,
    )
    .await;
    let (status, me) = get(&server, "/api/v1/me", Some(&service)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["roles"], serde_json::json!(["workflows_auditor"]));
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        &format!("/api/v1/flows/{}/disable", outside.id),
        Some(&service),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an auditor's role does not write"
    );
    // Ann may not make a token stronger than she is.
    let user = server
        .store
        .user_by_name("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let acting = domain::actions::Acting {
        actor: Actor::User {
            id: Some(user.id.0),
            display: user.user_name.clone(),
        },
        rights: server.store.rights_of(&user).await.unwrap(),
        person: Some(user.id),
        client_address: None,
        request_id: None,
        dry_run: false,
    };
    let stronger = TokenInput {
        name: "too strong".into(),
        kind: TokenKind::Service,
        role: Some(Role::SuperAdmin),
        scopes: every.clone(),
        days: None,
    };
    assert!(create(&server.store, &acting, &stronger).await.is_err());

    // When Ann no longer holds an administrator's rights or is deactivated, her tokens stop.
    server
        .store
        .set_user_role(user.id, Role::UnassignedUser)
        .await
        .unwrap();
    let (status, body) = get(&server, "/api/v1/me", Some(&service)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["detail"].as_str().unwrap().contains("no longer holds"));
    server
        .store
        .set_user_status(user.id, domain::directory::UserStatus::Deprovisioned)
        .await
        .unwrap();
    let (status, body) = get(&server, "/api/v1/me", Some(&anns)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no longer an active user")
    );
}

/// Every REST API route with a service token of every role (all scopes): refused (403)
/// exactly where the role lacks the route's permission, and never a 5xx; and with a token
/// lacking the route's scope, refused (403) whatever the role.
async fn every_api_route_with_every_role(store: Store) {
    let server = start(store, Options::default()).await;
    server.add_user("root@example.com", Role::SuperAdmin).await;
    let nobody = "00000000-0000-0000-0000-000000000000";
    for role in [
        Role::SuperAdmin,
        Role::WorkflowsAdministrator,
        Role::WorkflowsAuditor,
        Role::ConnectionManager,
    ] {
        let token = token_of(
            &server.store,
            "root@example.com",
            TokenKind::Service,
            Some(role),
            &Scope::all(),
        )
        .await;
        // Tokens whose one scope is not the one a route needs.
        let only_logs = token_of(
            &server.store,
            "root@example.com",
            TokenKind::Service,
            Some(role),
            &[Scope::read(Area::Logs)],
        )
        .await;
        let only_flows = token_of(
            &server.store,
            "root@example.com",
            TokenKind::Service,
            Some(role),
            &[Scope::read(Area::Flows)],
        )
        .await;
        for route in idflow::api::ROUTES {
            let path = route.path.replace("{id}", nobody);
            let method: reqwest::Method = route.method.parse().unwrap();
            let (status, _, body) = call(&server, method.clone(), &path, Some(&token)).await;
            assert!(
                !status.is_server_error(),
                "{role:?} {} {path}: {status} {body}",
                route.method
            );
            let allowed = route.permission.is_none_or(|p| role.allows(p));
            if allowed {
                assert_ne!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role:?} {} {path}: {body}",
                    route.method
                );
                assert_ne!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{role:?} {} {path}: {body}",
                    route.method
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role:?} {} {path}: {body}",
                    route.method
                );
            }
            if let Some(scope) = route.scope {
                let scopeless = if scope.area == Area::Logs {
                    &only_flows
                } else {
                    &only_logs
                };
                let (status, _, _) = call(&server, method, &path, Some(scopeless)).await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role:?} {} {path} without its scope",
                    route.method
                );
            }
        }
    }
}

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    key: Option<&str>,
    body: Option<reqwest::Body>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut request = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let headers = answer.headers().clone();
    (status, headers, answer.text().await.unwrap())
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Every resource of the API, as a script uses it, with an Idempotency-Key on creating.
async fn every_resource_as_a_script_uses_it(store: Store) {
    use domain::tables::{Column, ColumnType, Schema};
    use reqwest::Method;
    let server = start(store, Options::default()).await;
    server.add_user("root@example.com", Role::SuperAdmin).await;
    let token = token_of(
        &server.store,
        "root@example.com",
        TokenKind::Personal,
        None,
        &Scope::all(),
    )
    .await;
    let flow_json = |name: &str, text: &str| {
        serde_json::json!({
            "name": name,
            "trigger": {"kind": "trigger.manual"},
            "cards": [{"id": 1, "kind": "text.compose", "inputs": {"template": {"type": "template", "template": text}}}],
        })
        .to_string()
    };

    // Flows: created (once per Idempotency-Key), versions, export, delete.
    let body = flow_json("Greeter", "Hello");
    let (status, headers, made) = send(
        &server,
        Method::POST,
        "/api/v1/flows",
        &token,
        Some("make-greeter"),
        Some(body.clone().into()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let made = json(&made);
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(headers["location"], format!("/api/v1/flows/{id}"));
    let (status, headers, again) = send(
        &server,
        Method::POST,
        "/api/v1/flows",
        &token,
        Some("make-greeter"),
        Some(body.into()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(json(&again)["id"], made["id"]);
    assert_eq!(server.store.flows().await.unwrap().len(), 1, "made once");
    let (status, _, other) = send(
        &server,
        Method::POST,
        "/api/v1/flows",
        &token,
        Some("make-greeter"),
        Some(flow_json("Other", "x").into()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{other}");
    let (status, _, taken) = send(
        &server,
        Method::POST,
        "/api/v1/flows",
        &token,
        None,
        Some(flow_json("greeter", "x").into()),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        json(&taken)["detail"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    let (status, _, bad) = send(
        &server,
        Method::POST,
        "/api/v1/flows",
        &token,
        None,
        Some("{\"name\": 3}".into()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json(&bad)["detail"]
            .as_str()
            .unwrap()
            .contains("not a flow's JSON")
    );

    let next = serde_json::json!({"based_on": 1, "definition": json(&flow_json("Greeter", "Hello again"))}).to_string();
    let (status, _, saved) = send(
        &server,
        Method::POST,
        &format!("/api/v1/flows/{id}/versions"),
        &token,
        None,
        Some(next.clone().into()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(json(&saved)["version"], 2);
    let (status, _, stale) = send(
        &server,
        Method::POST,
        &format!("/api/v1/flows/{id}/versions"),
        &token,
        None,
        Some(next.into()),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        json(&stale)["detail"]
            .as_str()
            .unwrap()
            .contains("saved meanwhile")
    );
    let (_, versions) = get(
        &server,
        &format!("/api/v1/flows/{id}/versions"),
        Some(&token),
    )
    .await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    let (_, newest) = get(
        &server,
        &format!("/api/v1/flows/{id}/versions?limit=1"),
        Some(&token),
    )
    .await;
    assert_eq!(newest["items"][0]["version"], 2);
    assert_eq!(newest["items"][0]["current"], true);
    let (_, older) = get(
        &server,
        &format!(
            "/api/v1/flows/{id}/versions?limit=1&after={}",
            newest["next"].as_str().unwrap()
        ),
        Some(&token),
    )
    .await;
    assert_eq!(older["items"][0]["version"], 1);
    assert!(older["next"].is_null());
    let (_, export) = get(&server, &format!("/api/v1/flows/{id}/export"), Some(&token)).await;
    assert_eq!(export["flows"][0]["flow"]["name"], "Greeter");

    // Executions: searched, read with their cards, run again, cancelled.
    let run = run_by_hand(&server.store, &Flow::new("Runner", "trigger.manual")).await;
    let (_, found) = get(
        &server,
        &format!("/api/v1/executions?flow={}", run.flow),
        Some(&token),
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (status, one) = get(
        &server,
        &format!("/api/v1/executions/{}", run.id),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["status"], "succeeded");
    assert!(one["cards"].is_array());
    let (status, _, again) = send(
        &server,
        Method::POST,
        &format!("/api/v1/executions/{}/rerun", run.id),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    let again = json(&again)["execution_id"].as_str().unwrap().to_string();
    let (status, _, cancelled) = send(
        &server,
        Method::POST,
        &format!("/api/v1/executions/{again}/cancel"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(json(&cancelled)["status"], "cancelled");
    let (status, _, _) = send(
        &server,
        Method::POST,
        &format!("/api/v1/executions/{again}/cancel"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = get(&server, "/api/v1/executions?status=sideways", Some(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Tables: rows added, refused, paged, replaced, deleted; CSV out and in.
    let schema = Schema {
        name: "Laptops".into(),
        columns: vec![
            Column {
                name: "email".into(),
                ty: ColumnType::Text,
            },
            Column {
                name: "count".into(),
                ty: ColumnType::Number,
            },
        ],
        key: Some("email".into()),
    };
    let (status, _, made) = send(
        &server,
        Method::POST,
        "/api/v1/tables",
        &token,
        None,
        Some(serde_json::to_string(&schema).unwrap().into()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let table_id = json(&made)["id"].as_str().unwrap().to_string();
    let (status, _, bad) = send(
        &server,
        Method::POST,
        "/api/v1/tables",
        &token,
        None,
        Some(r#"{"name": "", "columns": []}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let rows = format!("/api/v1/tables/{table_id}/rows");
    let (status, _, ann) = send(
        &server,
        Method::POST,
        &rows,
        &token,
        None,
        Some(r#"{"email": "ann@example.com", "count": 1}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ann}");
    let ann = json(&ann)["id"].as_str().unwrap().to_string();
    let (status, _, _) = send(
        &server,
        Method::POST,
        &rows,
        &token,
        None,
        Some(r#"{"email": "ann@example.com"}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "the key is taken");
    let (status, _, misfit) = send(
        &server,
        Method::POST,
        &rows,
        &token,
        None,
        Some(r#"{"email": "bob@example.com", "count": "many"}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json(&misfit)["detail"]
            .as_str()
            .unwrap()
            .contains("does not fit")
    );
    send(
        &server,
        Method::POST,
        &rows,
        &token,
        None,
        Some(r#"{"email": "bob@example.com", "count": 2}"#.into()),
    )
    .await;
    let (_, first) = get(&server, &format!("{rows}?limit=1"), Some(&token)).await;
    assert_eq!(first["items"][0]["values"]["email"], "ann@example.com");
    let after = first["next"].as_str().unwrap();
    let (_, second) = get(
        &server,
        &format!("{rows}?limit=1&after={after}"),
        Some(&token),
    )
    .await;
    assert_eq!(second["items"][0]["values"]["email"], "bob@example.com");
    assert!(second["next"].is_null());
    let (status, _, replaced) = send(
        &server,
        Method::PUT,
        &format!("{rows}/{ann}"),
        &token,
        None,
        Some(r#"{"email": "ann@example.com", "count": 5}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(json(&replaced)["values"]["count"], 5.0);
    let (status, _, _) = send(
        &server,
        Method::DELETE,
        &format!("{rows}/{ann}"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = send(
        &server,
        Method::DELETE,
        &format!("{rows}/{ann}"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let csv = format!("/api/v1/tables/{table_id}/csv");
    let (status, headers, out) = send(&server, Method::GET, &csv, &token, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(out.lines().next(), Some("email,count"));
    let (status, _, report) = send(
        &server,
        Method::POST,
        &csv,
        &token,
        None,
        Some("email,count\ncarl@example.com,3\ndora@example.com,lots\n".into()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let report = json(&report);
    assert_eq!(report["added"], 1);
    assert_eq!(report["rejected"][0]["line"], 3);
    let (_, tables) = get(&server, "/api/v1/tables", Some(&token)).await;
    assert_eq!(tables["items"][0]["name"], "Laptops");
    let (status, _, _) = send(
        &server,
        Method::DELETE,
        &format!("/api/v1/tables/{table_id}"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = get(&server, &format!("/api/v1/tables/{table_id}"), Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The directory, read; connections, listed.
    let (_, users) = get(&server, "/api/v1/users", Some(&token)).await;
    let root = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_name"] == "root@example.com")
        .expect("root is listed")
        .clone();
    let (status, one) = get(
        &server,
        &format!("/api/v1/users/{}", root["id"].as_str().unwrap()),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(one["groups"].is_array());
    let (status, groups) = get(&server, "/api/v1/groups", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(groups["items"].is_array());
    let (status, connections) = get(&server, "/api/v1/connections", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(connections["items"], serde_json::json!([]));

    // Deleted: gone.
    let (status, _, _) = send(
        &server,
        Method::DELETE,
        &format!("/api/v1/flows/{id}"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = get(&server, &format!("/api/v1/flows/{id}"), Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A paused execution resumed with an API token (the same route takes the flow's secret).
async fn a_paused_execution_is_resumed_with_an_api_token(store: Store) {
    use domain::flows::{Binding, Card, CardId, Source};
    let server = start(store, Options::default()).await;
    server.add_user("root@example.com", Role::SuperAdmin).await;
    server
        .add_user("audrey@example.com", Role::WorkflowsAuditor)
        .await;
    let mut flow = Flow::new("Waits for a decision", "trigger.manual");
    flow.cards = vec![
        Card::new(1, "flow.pause"),
        Card::new(2, "flow.return").with_inputs(&[(
            "output",
            Binding::mapping(Source::Card(CardId(1)), "input.decision"),
        )]),
    ];
    let paused = run_by_hand(&server.store, &flow).await;
    assert_eq!(paused.status.as_str(), "waiting");
    let path = format!("/api/v1/executions/{}/resume", paused.id);
    let post = |token: String, body: &'static str| {
        let url = server.url(&path);
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    // An auditor's token may not; a token without executions:write may not.
    let audrey = token_of(
        &server.store,
        "audrey@example.com",
        TokenKind::Personal,
        None,
        &Scope::all(),
    )
    .await;
    assert_eq!(post(audrey, "{}").await.status(), StatusCode::FORBIDDEN);
    let reader = token_of(
        &server.store,
        "root@example.com",
        TokenKind::Personal,
        None,
        &[Scope::read(Area::Executions)],
    )
    .await;
    assert_eq!(post(reader, "{}").await.status(), StatusCode::FORBIDDEN);
    let root = token_of(
        &server.store,
        "root@example.com",
        TokenKind::Personal,
        None,
        &[Scope::write(Area::Executions)],
    )
    .await;
    let bad = post(root.clone(), "{not json").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let resumed = post(root.clone(), r#"{"decision": "approved"}"#).await;
    assert_eq!(resumed.status(), StatusCode::ACCEPTED);
    domain::engine::runner::Runner::new(server.store.clone(), "test")
        .drain()
        .await
        .unwrap();
    let ended = server.store.execution(paused.id).await.unwrap().unwrap();
    assert_eq!(ended.status.as_str(), "succeeded");
    assert_eq!(ended.output, Some(serde_json::json!("approved")));
    let again = post(root, "{}").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let log = server.store.recent_audit(10).await.unwrap();
    assert!(log.iter().any(|e| {
        e.action == "execution.resume"
            && e.actor_display
                .as_deref()
                .is_some_and(|a| a.starts_with("API token:"))
    }));
}

/// The OpenAPI document is public; the reference page reads it for anyone signed in.
async fn the_api_is_described_and_its_reference_shown(store: Store) {
    let server = start(store, Options::default()).await;
    let doc = reqwest::get(server.url("/api/v1/openapi.json"))
        .await
        .unwrap();
    assert_eq!(doc.status(), StatusCode::OK);
    let doc: serde_json::Value = doc.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for route in idflow::api::ROUTES {
        let item = &paths[route.path];
        assert!(
            item.get(route.method.to_lowercase()).is_some(),
            "{} {}",
            route.method,
            route.path
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let page = auditor
        .get(server.url("/api-reference"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("/api/v1/tables/{id}/rows/{row}"),
        "every operation is listed"
    );
    assert!(page.contains("Page_FlowItem"));
    assert!(page.contains("Download the OpenAPI document"));
    let anonymous = client()
        .get(server.url("/api-reference"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "signed in only");
}

domain::backend_tests! {
    async fn api_is_described_and_its_reference_shown(store) {
        the_api_is_described_and_its_reference_shown(store).await;
    }
    async fn api_a_paused_execution_is_resumed_with_an_api_token(store) {
        a_paused_execution_is_resumed_with_an_api_token(store).await;
    }
    async fn api_every_resource_as_a_script_uses_it(store) {
        every_resource_as_a_script_uses_it(store).await;
    }
    async fn api_every_route_with_every_role(store) {
        every_api_route_with_every_role(store).await;
    }
    async fn api_tokens_are_made_in_settings_shown_once_scoped_and_revoked(store) {
        tokens_are_made_in_settings_shown_once_scoped_and_revoked(store).await;
    }
    async fn api_a_token_never_does_more_than_the_person_behind_it(store) {
        a_token_never_does_more_than_the_person_behind_it(store).await;
    }
}
