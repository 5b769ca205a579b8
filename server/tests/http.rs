//! The HTTP surface through the real router, on a real socket, on both backends.

mod common;

use app::entry_points::{ENTRY_POINTS, EntryPoint, Kind};
use common::*;
use domain::access::{Decision, FolderRole, Rights, Role};
use domain::assignments::Grantee;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::directory::UserStatus;
use domain::store::GroupWrite;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

/// Calls one entry point the way its kind is called.
async fn call(
    server: &TestServer,
    client: &reqwest::Client,
    entry: &EntryPoint,
) -> reqwest::Response {
    let path = entry
        .path
        .replace(":id", "00000000-0000-0000-0000-000000000000");
    match entry.kind {
        Kind::Page => client.get(server.url(&path)).send().await.unwrap(),
        Kind::ServerFn => client
            .post(server.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .unwrap(),
        Kind::Route => client
            .request(entry.method.parse().unwrap(), server.url(&path))
            .header("content-type", "application/scim+json")
            .body("{}")
            .send()
            .await
            .unwrap(),
    }
}

fn check(entry: &EntryPoint, who: &str, decision: Decision, response: &reqwest::Response) {
    let status = response.status();
    let what = format!("{} {} as {who}: got {status}", entry.method, entry.path);
    if entry.access == domain::access::Access::BearerToken {
        // Sent without a token, whoever is signed in.
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        return;
    }
    match (entry.kind, decision) {
        // A page about one thing, asked about a thing that does not exist: 404.
        (Kind::Page, Decision::Allow) if entry.path.contains(':') => {
            assert_eq!(status, StatusCode::NOT_FOUND, "{what}")
        }
        (Kind::Page, Decision::Allow) => assert_eq!(status, StatusCode::OK, "{what}"),
        (Kind::Page, Decision::SignInRequired) => {
            assert_eq!(status, StatusCode::SEE_OTHER, "{what}");
            assert!(location(response).starts_with("/sign-in"), "{what}");
        }
        (Kind::Page, Decision::Forbidden) => assert_eq!(status, StatusCode::FORBIDDEN, "{what}"),
        // Called without its arguments, a server function that takes some answers 400.
        (Kind::ServerFn, Decision::Allow) => assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{what}"
        ),
        (Kind::Route, Decision::Allow) => {
            assert!(
                status != StatusCode::UNAUTHORIZED
                    && status != StatusCode::FORBIDDEN
                    && status != StatusCode::NOT_FOUND,
                "{what}"
            )
        }
        (_, Decision::SignInRequired) => assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}"),
        (_, Decision::Forbidden) => assert_eq!(status, StatusCode::FORBIDDEN, "{what}"),
    }
}

#[test]
fn every_server_function_and_page_is_in_the_entry_point_table() {
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        assert!(
            ENTRY_POINTS
                .iter()
                .any(|e| e.kind == Kind::ServerFn && e.path == path && e.method == method.as_str()),
            "server function {method} {path} is missing from app::entry_points::ENTRY_POINTS"
        );
    }
    let routes = leptos_axum::generate_route_list(app::App);
    // The router writes variable segments as `{id}`, the table as `:id`.
    let normal = |path: &str| path.replace('{', ":").replace('}', "");
    for route in &routes {
        let path = normal(route.path());
        let path = path.as_str();
        assert!(
            ENTRY_POINTS
                .iter()
                .any(|e| e.kind == Kind::Page && e.path == path),
            "page {path} is missing from app::entry_points::ENTRY_POINTS"
        );
    }
    for entry in ENTRY_POINTS.iter().filter(|e| e.kind == Kind::Page) {
        assert!(
            routes.iter().any(|r| normal(r.path()) == entry.path),
            "the table lists page {} that the console does not have",
            entry.path
        );
    }
}

domain::backend_tests! {
    async fn every_entry_point_answers_every_role_as_the_matrix_says(store) {
        let server = start(store, Options::default()).await;
        // Each caller: who, the user to sign in as (none: anonymous), their rights.
        let mut callers: Vec<(String, Option<String>, Option<Rights>)> = vec![("anonymous".into(), None, None)];
        for role in Role::ALL {
            let name = format!("{}@example.com", role.as_str());
            server.add_user(&name, role).await;
            callers.push((role.label().to_string(), Some(name), Some(Rights::of(role))));
        }
        // Rights that come by other paths than a direct role give the same answers.
        let entry = NewEntry::new(Action::GroupRoleMap, Outcome::Success, Actor::System);
        server.add_user("via.group@example.com", Role::UnassignedUser).await;
        let member = server.store.user_by_name("via.group@example.com").await.unwrap().unwrap();
        let auditors = server.store.create_group(
            &GroupWrite { display_name: "Auditors".into(), external_id: None, attributes: Default::default(), members: vec![member.id] },
            &Actor::System, &entry,
        ).await.unwrap();
        server.store.map_group_role(auditors.id, Some(Role::WorkflowsAuditor), &Actor::System, &entry).await.unwrap();
        callers.push(("an auditor through a group".into(), Some(member.user_name.clone()), Some(Rights::of(Role::WorkflowsAuditor))));
        server.add_user("folder.runner@example.com", Role::UnassignedUser).await;
        let runner = server.store.user_by_name("folder.runner@example.com").await.unwrap().unwrap();
        let folder = server.store.create_folder("HR", &NewEntry::new(Action::FolderCreate, Outcome::Success, Actor::System)).await.unwrap();
        server.store.set_folder_grant(folder, &Grantee::User(runner.id), Some(FolderRole::Runner), &entry).await.unwrap();
        callers.push(("a folder runner".into(), Some(runner.user_name.clone()), Some(Rights::new([], [(folder, FolderRole::Runner)]))));
        for (who, user_name, rights) in callers {
            for entry in ENTRY_POINTS {
                // A fresh session for each call, so sign-out cannot spoil the next one.
                let client = match &user_name {
                    Some(name) => server.client_of(name).await,
                    None => client(),
                };
                // The guard decides whatever the method: an unlisted one is refused, and
                // HEAD is judged (and answered) as the GET it stands for.
                let path = entry.path.replace(":id", "00000000-0000-0000-0000-000000000000");
                let unlisted = ["PUT", "PATCH", "DELETE", "OPTIONS"]
                    .into_iter()
                    .find(|m| !app::entry_points::methods_at(entry.path).contains(m))
                    .unwrap();
                let other = client.request(unlisted.parse().unwrap(), server.url(&path)).send().await.unwrap();
                let what = format!("{unlisted} {} as {who}", entry.path);
                assert!(other.status().is_client_error(), "{what}: got {}", other.status());
                if !entry.path.starts_with("/scim/") {
                    assert_eq!(other.status(), StatusCode::METHOD_NOT_ALLOWED, "{what}");
                }
                let head = client.head(server.url(&path)).send().await.unwrap();
                assert!(!head.status().is_server_error(), "HEAD {} as {who}: got {}", entry.path, head.status());
                if !app::entry_points::methods_at(entry.path).contains(&"GET") && !entry.path.starts_with("/scim/") {
                    assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED, "HEAD {} as {who}", entry.path);
                }
                let response = call(&server, &client, entry).await;
                if entry.method == "GET" {
                    assert_eq!(head.status(), response.status(), "HEAD {} as {who} answers as GET does", entry.path);
                }
                assert!(!response.status().is_server_error(), "{} {} as {who}: got {}", entry.method, entry.path, response.status());
                check(entry, &who, entry.access.decide(rights.as_ref()), &response);
            }
        }
    }

    async fn head_never_runs_a_get_unchecked(store) {
        let server = start(store, Options::default()).await;
        let before = server.store.recent_audit(100).await.unwrap().len();
        let anonymous = client();
        for path in ["/assignments/access-review.csv", "/flows/00000000-0000-0000-0000-000000000000/export", "/settings"] {
            let head = anonymous.head(server.url(path)).send().await.unwrap();
            assert!(matches!(head.status(), StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER), "HEAD {path}: {}", head.status());
        }
        // Nothing ran: the export would have written its System Log entry.
        assert_eq!(server.store.recent_audit(100).await.unwrap().len(), before);
        let unknown = anonymous.post(server.url("/no/such/route")).send().await.unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let api = anonymous.get(server.url("/api/flows/list")).send().await.unwrap();
        assert_eq!(api.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(api.headers()["allow"], "POST");
    }

    async fn a_wrong_password_starts_no_session(store) {
        let server = start(store, Options::default()).await;
        server.add_user("ada@example.com", Role::SuperAdmin).await;
        let client = client();
        let response = server.sign_in(&client, "ada@example.com", "wrong password", "/flows").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/sign-in?error=invalid&email=ada%40example.com&next=%2Fflows");
        assert!(session_cookie(&response).is_none());
        let page = client.get(server.url("/flows")).send().await.unwrap();
        assert_eq!(location(&page), "/sign-in?next=%2Fflows");
    }

    async fn sign_in_cycles_the_session_id_and_the_old_one_dies(store) {
        let server = start(store, Options::default()).await;
        server.add_user("ada@example.com", Role::SuperAdmin).await;
        let client = client();
        let first = server.sign_in(&client, "ada@example.com", PASSWORD, "/").await;
        let first_cookie = session_cookie(&first).expect("a session cookie");
        assert!(first_cookie.contains("HttpOnly"), "{first_cookie}");
        assert!(first_cookie.contains("SameSite=Lax"), "{first_cookie}");
        assert!(!first_cookie.contains("Secure"), "{first_cookie}");

        // Signing in again on the same browser gives a new session id.
        let second = server.sign_in(&client, "ada@example.com", PASSWORD, "/").await;
        let second_cookie = session_cookie(&second).expect("a new session cookie");
        assert_ne!(first_cookie.split(';').next(), second_cookie.split(';').next());
        assert_eq!(client.get(server.url("/flows")).send().await.unwrap().status(), StatusCode::OK);

        // The first id no longer opens anything.
        let stale = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let old = first_cookie.split(';').next().unwrap().to_string();
        let response = stale.get(server.url("/flows")).header("cookie", old).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/sign-in?next=%2Fflows");
    }

    async fn sign_out_ends_the_session_and_logs_it(store) {
        let server = start(store, Options::default()).await;
        server.add_user("ada@example.com", Role::SuperAdmin).await;
        let client = client();
        let response = server.sign_in(&client, "ada@example.com", PASSWORD, "/").await;
        let cookie = session_cookie(&response).unwrap().split(';').next().unwrap().to_string();
        let out = client.post(server.url("/auth/sign-out")).send().await.unwrap();
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&out), "/sign-in?notice=signed-out");

        let stale = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let response = stale.get(server.url("/settings")).header("cookie", cookie).send().await.unwrap();
        assert_eq!(location(&response), "/sign-in?next=%2Fsettings");

        let log = server.store.recent_audit(10).await.unwrap();
        assert_eq!(log[0].action, "user.session.end");
        assert_eq!(log[0].actor_display.as_deref(), Some("ada@example.com"));
        assert_eq!(log[0].client_address.as_deref(), Some("127.0.0.1"));
        assert!(log[0].request_id.is_some());
        assert_eq!(log[1].action, "user.session.start");
    }

    async fn a_request_in_flight_at_sign_out_does_not_bring_the_session_back(store) {
        use tower_sessions::session_store::SessionStore;
        let server = start(store, Options::default()).await;
        server.add_user("ada@example.com", Role::SuperAdmin).await;
        let client = client();
        let response = server.sign_in(&client, "ada@example.com", PASSWORD, "/").await;
        let cookie = session_cookie(&response).unwrap().split(';').next().unwrap().to_string();
        let id: tower_sessions::session::Id =
            cookie.trim_start_matches("idflow_session=").parse().unwrap();

        // A request loads the session, as every request does, and is still running
        // when the person signs out in another tab.
        let sessions = idflow::sessions::DbSessionStore::for_store(&server.store).await.unwrap();
        let in_flight = sessions.load(&id).await.unwrap().expect("the signed-in session");
        let out = client.post(server.url("/auth/sign-out")).send().await.unwrap();
        assert_eq!(location(&out), "/sign-in?notice=signed-out");

        // The request ends and saves the session it holds, as every request does.
        sessions.save(&in_flight).await.unwrap();
        assert!(sessions.load(&id).await.unwrap().is_none(), "the ended session came back");
        let stale = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let response = stale.get(server.url("/settings")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(location(&response), "/sign-in?next=%2Fsettings");

        // A live session is still saved: signing in again and saving changes it.
        let again = server.sign_in(&client, "ada@example.com", PASSWORD, "/").await;
        let cookie = session_cookie(&again).unwrap().split(';').next().unwrap().to_string();
        let id: tower_sessions::session::Id =
            cookie.trim_start_matches("idflow_session=").parse().unwrap();
        let mut live = sessions.load(&id).await.unwrap().expect("the new session");
        live.data.insert("marker".into(), serde_json::json!("kept"));
        sessions.save(&live).await.unwrap();
        let saved = sessions.load(&id).await.unwrap().expect("the new session");
        assert_eq!(saved.data.get("marker"), Some(&serde_json::json!("kept")));
        assert_eq!(client.get(server.url("/settings")).send().await.unwrap().status(), StatusCode::OK);
    }

    async fn a_role_change_or_suspension_holds_from_the_next_request(store) {
        let server = start(store, Options::default()).await;
        let admin = server.client_as(Role::SuperAdmin).await;
        assert_eq!(admin.get(server.url("/settings")).send().await.unwrap().status(), StatusCode::OK);
        let user = server.store.user_by_name("super_admin@example.com").await.unwrap().unwrap();

        server.store.set_user_role(user.id, Role::UnassignedUser).await.unwrap();
        let response = admin.get(server.url("/settings")).send().await.unwrap();
        assert_eq!(location(&response), "/sign-in?next=%2Fsettings", "the session outlived a role change");

        // Signed in again, the new role is what counts.
        let response = server.sign_in(&admin, "super_admin@example.com", PASSWORD, "/").await;
        assert_eq!(location(&response), "/");
        assert_eq!(admin.get(server.url("/settings")).send().await.unwrap().status(), StatusCode::FORBIDDEN);

        server.store.set_user_status(user.id, UserStatus::Suspended).await.unwrap();
        let response = admin.get(server.url("/")).send().await.unwrap();
        assert_eq!(location(&response), "/sign-in");
        let response = server.sign_in(&admin, "super_admin@example.com", PASSWORD, "/").await;
        assert!(location(&response).starts_with("/sign-in?error=inactive"), "{}", location(&response));
    }

    async fn five_failures_lock_the_account_even_for_the_right_password(store) {
        let server = start(store, Options::default()).await;
        server.add_user("ada@example.com", Role::SuperAdmin).await;
        let client = client();
        for _ in 0..5 {
            let response = server.sign_in(&client, "ada@example.com", "wrong password", "/").await;
            assert!(location(&response).starts_with("/sign-in?error=invalid"));
        }
        let response = server.sign_in(&client, "ada@example.com", PASSWORD, "/").await;
        assert!(location(&response).starts_with("/sign-in?error=locked"), "{}", location(&response));
        assert!(session_cookie(&response).is_none());
    }

    async fn a_session_past_its_absolute_limit_is_over(store) {
        let server = start(store, Options { session_max_age: chrono::Duration::zero(), ..Options::default() }).await;
        server.add_user("ada@example.com", Role::SuperAdmin).await;
        let client = client();
        server.sign_in(&client, "ada@example.com", PASSWORD, "/").await;
        let response = client.get(server.url("/flows")).send().await.unwrap();
        assert_eq!(location(&response), "/sign-in?next=%2Fflows");
    }

    async fn an_idle_session_is_over(store) {
        let options = Options { session_idle: std::time::Duration::from_secs(1), ..Options::default() };
        let server = start(store, options).await;
        server.add_user("ada@example.com", Role::SuperAdmin).await;
        let response = server.sign_in(&client(), "ada@example.com", PASSWORD, "/").await;
        let cookie = session_cookie(&response).unwrap().split(';').next().unwrap().to_string();
        // Sent by hand: a browser would drop the cookie itself; the server must refuse it too.
        let bare = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let fresh = bare.get(server.url("/flows")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(fresh.status(), StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let idle = bare.get(server.url("/flows")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(location(&idle), "/sign-in?next=%2Fflows");
    }

    async fn only_relative_paths_are_followed_after_sign_in(store) {
        let server = start(store, Options::default()).await;
        server.add_user("ada@example.com", Role::SuperAdmin).await;
        for next in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"] {
            let response = server.sign_in(&client(), "ada@example.com", PASSWORD, next).await;
            assert_eq!(location(&response), "/", "followed {next}");
        }
        let response = server.sign_in(&client(), "ada@example.com", PASSWORD, "/system-log?x=1").await;
        assert_eq!(location(&response), "/system-log?x=1");
    }

    async fn secure_cookies_behind_tls(store) {
        let server = start(store, Options { secure: true, ..Options::default() }).await;
        server.add_user("ada@example.com", Role::SuperAdmin).await;
        let response = server.sign_in(&client(), "ada@example.com", PASSWORD, "/").await;
        assert!(session_cookie(&response).unwrap().contains("Secure"));
    }

    async fn a_server_function_without_its_arguments_answers_400(store) {
        let server = start(store, Options::default()).await;
        let admin = server.client_as(Role::SuperAdmin).await;
        let response = admin
            .post(server.url("/api/directory/users"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("q=x")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = admin
            .post(server.url("/api/directory/user"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("id=nope")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.text().await.unwrap().contains("No user has the id nope"));
    }

    async fn unknown_paths_answer_404_without_internals(store) {
        let server = start(store, Options::default()).await;
        let response = client().get(server.url("/no/such/page")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = response.text().await.unwrap();
        assert!(body.contains("Page not found"), "{body}");

        let response = client().post(server.url("/api/no_such_function")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = response.text().await.unwrap();
        assert!(body.contains("There is no POST /api/no_such_function"), "{body}");
    }

    async fn health_and_readiness(store) {
        let server = start(store.clone(), Options::default()).await;
        let response = client().get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let response = client().get(server.url("/readyz")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        assert_eq!(body["database"]["reachable"], true);

        store.close().await;
        let response = client().get(server.url("/readyz")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["database"]["reachable"], false);
        // Health is about the process, not the database.
        assert_eq!(client().get(server.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    }

    async fn a_database_outage_shows_a_plain_error_page_without_internals(store) {
        let server = start(store.clone(), Options::default()).await;
        let admin = server.client_as(Role::SuperAdmin).await;
        store.close().await;
        let response = admin.get(server.url("/flows")).send().await.unwrap();
        assert!(response.status().is_server_error(), "{}", response.status());
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let body = response.text().await.unwrap();
        assert!(body.contains("This page could not be shown"), "{body}");
        for internal in ["sqlx", "pool", "Pool", "database error", "SELECT"] {
            assert!(!body.contains(internal), "the page shows {internal:?}: {body}");
        }
    }

    async fn a_cross_site_form_post_is_refused(store) {
        let server = start(store, Options::default()).await;
        server.add_user("ada@example.com", Role::SuperAdmin).await;
        let response = client()
            .post(server.url("/auth/sign-in"))
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document")
            .form(&[("email", "ada@example.com"), ("password", PASSWORD), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(session_cookie(&response).is_none());
    }

    async fn the_system_log_page_shows_sign_ins(store) {
        let server = start(store, Options::default()).await;
        let admin = server.client_as(Role::WorkflowsAuditor).await;
        let body = admin.get(server.url("/system-log")).send().await.unwrap().text().await.unwrap();
        assert!(body.contains("user.session.start"), "{body}");
        assert!(body.contains("workflows_auditor@example.com"), "{body}");
    }
}

mod settings {
    use super::*;

    fn secret_in(page: &str) -> Option<String> {
        let at = page.find("idf_scim_")?;
        Some(
            page[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect(),
        )
    }

    domain::backend_tests! {
        async fn a_super_admin_makes_a_token_sees_it_once_and_revokes_it(store) {
            let server = start(store, Options::default()).await;
            // SCIM tokens carry the power to give Super Admin: only a Super Admin makes them.
            let administrator = server.client_as(Role::WorkflowsAdministrator).await;
            let response = administrator.post(server.url("/settings/scim-tokens")).form(&[("name", "Okta")]).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert!(!administrator.get(server.url("/settings")).send().await.unwrap().text().await.unwrap().contains("Create token"));
            let admin = server.client_as(Role::SuperAdmin).await;
            let response = admin.post(server.url("/settings/scim-tokens")).form(&[("name", "Okta production")]).send().await.unwrap();
            assert_eq!(location(&response), "/settings");
            let page = admin.get(server.url("/settings")).send().await.unwrap().text().await.unwrap();
            let secret = secret_in(&page).expect("the new token is shown");
            assert!(page.contains("Okta production"));
            let again = admin.get(server.url("/settings")).send().await.unwrap().text().await.unwrap();
            assert!(secret_in(&again).is_none(), "the token is shown only once");

            let scim = reqwest::Client::new();
            let ok = scim.get(server.url("/scim/v2/Users")).bearer_auth(&secret).send().await.unwrap();
            assert_eq!(ok.status(), StatusCode::OK);

            let token = server.store.scim_tokens().await.unwrap().remove(0);
            assert!(token.last_used_at.is_some());
            let maker = server.store.user_by_name("super_admin@example.com").await.unwrap().unwrap();
            assert_eq!(token.created_by, Some(maker.id.0));
            assert!(!token.created_by_operator);
            let response = admin.post(server.url(&format!("/settings/scim-tokens/{}/revoke", token.id))).send().await.unwrap();
            assert_eq!(location(&response), "/settings?notice=revoked");
            let refused = scim.get(server.url("/scim/v2/Users")).bearer_auth(&secret).send().await.unwrap();
            assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

            let log = server.store.recent_audit(10).await.unwrap();
            let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
            assert!(actions.contains(&"scim.token.create") && actions.contains(&"scim.token.revoke"), "{actions:?}");
            assert!(log.iter().all(|e| e.reason.as_deref().is_none_or(|r| !r.contains(&secret))));
        }

        async fn a_nameless_token_is_refused_and_an_auditor_cannot_make_one(store) {
            let server = start(store, Options::default()).await;
            let admin = server.client_as(Role::SuperAdmin).await;
            let response = admin.post(server.url("/settings/scim-tokens")).form(&[("name", "  ")]).send().await.unwrap();
            assert_eq!(location(&response), "/settings?error=name");
            let auditor = server.client_as(Role::WorkflowsAuditor).await;
            let page = auditor.get(server.url("/settings")).send().await.unwrap();
            assert_eq!(page.status(), StatusCode::OK);
            assert!(!page.text().await.unwrap().contains("Create token"));
            let response = auditor.post(server.url("/settings/scim-tokens")).form(&[("name", "sneaky")]).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert!(server.store.scim_tokens().await.unwrap().is_empty());
        }

        async fn the_scim_self_check_passes_starts_no_flow_and_leaves_nothing(store) {
            use domain::flows::{Binding, Card, Flow, Source};
            use domain::store::ExecutionFilter;
            let server = start(store, Options::default()).await;
            // A flow that is on for new users: the self-check's throwaway user must not start it.
            let mut on_hire = Flow::new("On hire", "directory.user_created");
            on_hire.cards = vec![Card::new(1, "directory.clear_sessions").with_inputs(&[("user", Binding::mapping(Source::Trigger, "user.id"))])];
            let made = server.store.test_flow_on(&on_hire).await;

            // Only a Super Admin runs it (it makes a SCIM token).
            let administrator = server.client_as(Role::WorkflowsAdministrator).await;
            let refused = administrator.post(server.url("/settings/scim-self-check")).send().await.unwrap();
            assert_eq!(refused.status(), StatusCode::FORBIDDEN);
            assert!(server.store.last_self_check().await.unwrap().is_none());

            let admin = server.client_as(Role::SuperAdmin).await;
            let users_before = server.store.count_users().await.unwrap();
            let page = admin.get(server.url("/settings")).send().await.unwrap().text().await.unwrap();
            assert!(page.contains("Run the SCIM self-check") && page.contains("The self-check has not run yet."));
            let response = admin.post(server.url("/settings/scim-self-check")).send().await.unwrap();
            let report = server.store.last_self_check().await.unwrap().expect("the report is kept");
            let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
            assert!(failed.is_empty(), "{failed:?}");
            assert_eq!(location(&response), "/settings?notice=self-check-passed#scim-self-check");
            let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, [
                "Discovery: ServiceProviderConfig", "Discovery: ResourceTypes", "Discovery: Schemas",
                "Create a user", "Read the user", "Filter users by userName", "PATCH replace an attribute",
                "PATCH remove an attribute", "Give a role (idflow extension)", "Create a group",
                "Find the group by displayName", "Add the user to the group", "Remove the user from the group",
                "Deactivate the user", "Delete the group", "Delete the user",
            ]);
            let page = admin.get(server.url("/settings?notice=self-check-passed")).send().await.unwrap().text().await.unwrap();
            assert!(page.contains("16 of 16 checks passed") && page.contains("The SCIM self-check passed"), "the page shows the report");
            assert!(page.contains("finds exactly this user"));

            // Nothing is left: no user, no group, no live token; and no flow ran for it,
            // though its changes were directory events.
            assert_eq!(server.store.count_users().await.unwrap(), users_before);
            assert!(server.store.all_groups().await.unwrap().iter().all(|g| !g.display_name.contains("self-check")));
            assert!(server.store.scim_tokens().await.unwrap().is_empty(), "the temporary token is not listed");
            domain::engine::triggers::dispatch_directory_events(&server.store, 1000).await.unwrap();
            let runs = server.store.executions(&ExecutionFilter { flow: Some(made.id), limit: 10, ..Default::default() }).await.unwrap();
            assert!(runs.is_empty(), "the self-check started {} execution(s)", runs.len());

            // The System Log names the run, its token made and revoked, and each SCIM write.
            let log = server.store.recent_audit(60).await.unwrap();
            let run = log.iter().find(|e| e.action.as_str() == "scim.self_check").expect("the run is logged");
            assert_eq!(run.reason.as_deref(), Some("16 of 16 checks passed"));
            assert_eq!(run.actor_display.as_deref(), Some("super_admin@example.com"));
            assert!(log.iter().any(|e| e.action.as_str() == "scim.user.create" && e.actor_kind == "scim_self_check"));
            assert!(log.iter().any(|e| e.action.as_str() == "scim.token.revoke"));
        }
    }
}

/// Every answer carries the security headers: a console page its own policy with the
/// nonce its inline scripts carry, anything else a policy that allows nothing; pages and
/// API answers are compressed for a client that asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_compressed_and_carry_security_headers() {
    use reqwest::header::{CONTENT_ENCODING, CONTENT_SECURITY_POLICY};
    let db = domain::store::testing::sqlite().await;
    let server = start(db.store.clone(), Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let hygienic = |response: &reqwest::Response| {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "same-origin");
        let policy = headers[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "not over https"
        );
        policy
    };

    // A page: its policy names the nonce its inline scripts carry, and no unsafe-inline
    // script.
    let page = admin.get(server.url("/flows")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = hygienic(&page);
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the page's policy")
        .to_string();
    let script_src = policy
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe-inline"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "{html}");
    let compressed = admin
        .get(server.url("/flows"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.headers()[CONTENT_ENCODING], "br");
    hygienic(&compressed);

    // An API answer.
    let api = admin
        .post(server.url("/api/flows/list"))
        .header("accept-encoding", "gzip")
        .form(&[("q", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    assert_eq!(api.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(hygienic(&api), "default-src 'none'; frame-ancestors 'none'");

    // Errors: a page that does not exist, and SCIM without a token.
    let missing = admin.get(server.url("/no-such-page")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    hygienic(&missing);
    let refused = reqwest::Client::new()
        .get(server.url("/scim/v2/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        hygienic(&refused),
        "default-src 'none'; frame-ancestors 'none'"
    );
}

/// The theme switch keeps the choice in a cookie and goes back to a path on this site
/// only: never to another site, however the address is dressed up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_theme_switch_goes_back_only_to_this_site() {
    let db = domain::store::testing::sqlite().await;
    let server = start(db.store.clone(), Options::default()).await;
    let browser = client();
    let post = |theme: &str, back: &str| {
        browser
            .post(server.url("/preferences/theme"))
            .form(&[("theme", theme), ("back", back)])
            .send()
    };
    let dark = post("dark", "/flows?q=x").await.unwrap();
    assert_eq!(location(&dark), "/flows?q=x");
    let cookie = dark.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("idflow_theme=dark;") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    for back in [
        "//evil.example",
        "/\t/evil.example",
        "/\\evil.example",
        "https://evil.example",
    ] {
        assert_eq!(
            location(&post("light", back).await.unwrap()),
            "/",
            "{back:?}"
        );
    }
    let system = post("system", "/").await.unwrap();
    assert!(
        system.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        location(&post("purple", "/settings").await.unwrap()),
        "/settings"
    );
}
