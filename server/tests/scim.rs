//! The SCIM service provider as Okta and Entra ID use it, through the real router.

mod common;

use common::*;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const IDFLOW: &str = "urn:ietf:params:scim:schemas:extension:idflow:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Scim {
    server: TestServer,
    token: String,
    http: reqwest::Client,
}

impl Scim {
    async fn start(store: domain::store::Store) -> Scim {
        let server = start(store, Options::default()).await;
        let audit = NewEntry::new(Action::ScimTokenCreate, Outcome::Success, Actor::Operator);
        let (_, token) = server
            .store
            .create_scim_token("Okta", domain::store::TokenMaker::Operator, &audit)
            .await
            .unwrap();
        Scim {
            server,
            token,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(
                method.parse().unwrap(),
                self.server.url(&format!("/scim/v2{path}")),
            )
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        if status != StatusCode::NO_CONTENT {
            assert_eq!(
                response.headers()["content-type"],
                "application/scim+json",
                "{method} {path}"
            );
        }
        let text = response.text().await.unwrap();
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap()
            },
        )
    }

    async fn create(&self, user_name: &str) -> Value {
        let (status, body) = self
            .send(
                "POST",
                "/Users",
                Some(json!({
                    "schemas": [CORE, ENTERPRISE],
                    "userName": user_name,
                    "externalId": "00u1",
                    "name": {"givenName": "Ada", "familyName": "Lovelace"},
                    "emails": [{"value": user_name, "type": "work", "primary": true}],
                    "active": true,
                    "title": "Engineer",
                    ENTERPRISE: {"department": "R&D"}
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    async fn get(&self, id: &str) -> Value {
        let (status, body) = self.send("GET", &format!("/Users/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn patch(&self, id: &str, operations: Value) -> (StatusCode, Value) {
        self.send(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH], "Operations": operations})),
        )
        .await
    }
}

domain::backend_tests! {
    async fn a_missing_or_wrong_token_gets_a_scim_401(store) {
        let scim = Scim::start(store).await;
        let response = reqwest::get(scim.server.url("/scim/v2/Users")).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
        assert_eq!(body["status"], "401");
        let response = scim.http.get(scim.server.url("/scim/v2/Users")).bearer_auth("idf_scim_nope").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let log = scim.server.store.recent_audit(5).await.unwrap();
        assert_eq!(log[0].action, "scim.auth.failure");
    }

    async fn create_read_and_find_by_user_name(store) {
        let scim = Scim::start(store).await;
        let user = scim.create("ada@example.com").await;
        let id = user["id"].as_str().unwrap();
        assert_eq!(user["meta"]["version"], "W/\"1\"");
        assert!(user.get(IDFLOW).is_none(), "no role means Unassigned User: {user}");
        let stored = scim.server.store.user_by_name("ada@example.com").await.unwrap().unwrap();
        assert_eq!(stored.role, domain::access::Role::UnassignedUser);
        assert_eq!(user[ENTERPRISE]["department"], "R&D");
        let read = scim.get(id).await;
        assert_eq!(read, user);

        // Okta's lookup before it creates: case-insensitive.
        let (status, list) = scim.send("GET", "/Users?filter=userName%20eq%20%22ADA%40example.com%22", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["totalResults"], 1);
        assert_eq!(list["Resources"][0]["id"], id);
        let (_, list) = scim.send("GET", "/Users?filter=userName%20eq%20%22nobody%40example.com%22", None).await;
        assert_eq!(list["totalResults"], 0);
        assert_eq!(list["Resources"], json!([]));

        // Another userName differing only in case is a conflict.
        let (status, body) = scim.send("POST", "/Users", Some(json!({"schemas": [CORE], "userName": "ADA@EXAMPLE.COM"}))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["scimType"], "uniqueness");
    }

    async fn filters_paging_and_projection(store) {
        let scim = Scim::start(store).await;
        for i in 0..5 {
            scim.create(&format!("user{i}@example.com")).await;
        }
        let (_, page) = scim.send("GET", "/Users?startIndex=2&count=2", None).await;
        assert_eq!(page["totalResults"], 5);
        assert_eq!(page["startIndex"], 2);
        assert_eq!(page["itemsPerPage"], 2);
        assert_eq!(page["Resources"][0]["userName"], "user1@example.com");
        let (_, found) = scim.send("GET", "/Users?filter=userName%20sw%20%22user3%22%20or%20title%20eq%20%22nobody%22", None).await;
        assert_eq!(found["totalResults"], 1);
        let (status, body) = scim.send("GET", "/Users?filter=userName%20eq", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["scimType"], "invalidFilter");
        let (_, projected) = scim.send("GET", "/Users?count=1&attributes=userName,name.givenName", None).await;
        let first = &projected["Resources"][0];
        assert!(first.get("id").is_some());
        assert!(first.get("title").is_none());
        assert_eq!(first["name"], json!({"givenName": "Ada"}));
        let (_, excluded) = scim.send("GET", "/Users?count=1&excludedAttributes=emails", None).await;
        assert!(excluded["Resources"][0].get("emails").is_none());
        assert!(excluded["Resources"][0].get("userName").is_some());
    }

    async fn an_unknown_role_is_refused_and_nothing_changes(store) {
        let scim = Scim::start(store).await;
        let (status, body) = scim.send("POST", "/Users", Some(json!({"schemas": [CORE, IDFLOW], "userName": "x@example.com", IDFLOW: {"role": "owner"}}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["scimType"], "invalidValue");
        assert_eq!(scim.server.store.count_users().await.unwrap(), 0);

        let user = scim.create("ada@example.com").await;
        let id = user["id"].as_str().unwrap();
        let (status, body) = scim.patch(id, json!([{"op": "replace", "path": format!("{IDFLOW}:role"), "value": "owner"}])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["scimType"], "invalidValue");
        assert_eq!(scim.get(id).await, user);

        let (status, body) = scim.patch(id, json!([{"op": "replace", "path": format!("{IDFLOW}:role"), "value": "Workflows Auditor"}])).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body[IDFLOW]["role"], "workflows_auditor");

        // An Okta PUT of the whole user without the extension keeps the role…
        let mut whole = body.clone();
        whole.as_object_mut().unwrap().remove(IDFLOW);
        let (_, after_put) = scim.send("PUT", &format!("/Users/{id}"), Some(whole)).await;
        assert_eq!(after_put[IDFLOW]["role"], "workflows_auditor");
        // …and removing the role makes the user an Unassigned User.
        let (_, removed) = scim.patch(id, json!([{"op": "remove", "path": format!("{IDFLOW}:role")}])).await;
        assert!(removed.get(IDFLOW).is_none(), "{removed}");
    }

    async fn search_requests_in_a_body(store) {
        let scim = Scim::start(store).await;
        scim.create("ada@example.com").await;
        scim.create("grace@example.com").await;
        let search = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName sw \"grace\"",
            "attributes": ["userName"],
            "startIndex": 1,
            "count": 10
        });
        for path in ["/Users/.search", "/.search"] {
            let (status, body) = scim.send("POST", path, Some(search.clone())).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["totalResults"], 1);
            assert_eq!(body["Resources"][0]["userName"], "grace@example.com");
            assert!(body["Resources"][0].get("emails").is_none());
        }
    }

    async fn filters_run_in_the_database_and_a_filter_that_cannot_is_bounded(store) {
        let scim = Scim::start(store).await;
        let limit = domain::store::SCAN_LIMIT;
        scim.server.store.seed_directory(limit + 1, 3, 0).await.unwrap();
        let get = |query: &str| {
            let path = format!("/Users?{query}");
            let scim = &scim;
            async move { scim.send("GET", &path, None).await }
        };
        let q = |filter: &str| urlencoding::encode(filter).into_owned();

        // Answered in the database: every operator on the indexed attributes, with paging.
        let (status, found) = get(&format!("filter={}&startIndex=3&count=4", q(r#"displayName co "User 00001" and active eq true"#))).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["totalResults"], 10, "{found}");
        let names: Vec<&str> = found["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap()).collect();
        assert_eq!(names, ["user000012@example.com", "user000013@example.com", "user000014@example.com", "user000015@example.com"]);
        let (_, found) = get(&format!("filter={}", q(r#"emails.value ew "010000@example.com" or externalId gt "ext010000""#))).await;
        assert_eq!(found["totalResults"], 2, "{found}");
        let (_, found) = get(&format!("filter={}&count=0", q(r#"not (userName sw "user00")"#))).await;
        assert_eq!(found["totalResults"], limit + 1 - 9_999, "{found}");

        // Another attribute, narrowed by an indexed one: read and matched in memory.
        let (status, found) = get(&format!("filter={}", q(r#"title eq "Engineer" and userName sw "user00001""#))).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["totalResults"], 10, "{found}");
        // Alone, it would read every user: refused with what to do instead.
        let (status, body) = get(&format!("filter={}", q(r#"title eq "Engineer""#))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["scimType"], "tooMany");
        assert!(body["detail"].as_str().unwrap().contains("userName, externalId"), "{body}");

        // The root search lists users, then groups, paged in the database.
        let search = |filter: Option<&str>, start: usize, count: usize| {
            let mut body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "startIndex": start,
                "count": count,
                "attributes": ["displayName"]
            });
            if let Some(filter) = filter {
                body["filter"] = json!(filter);
            }
            let scim = &scim;
            async move { scim.send("POST", "/.search", Some(body)).await }
        };
        let (status, page) = search(None, limit, 3).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["totalResults"], limit + 4);
        let shown: Vec<&str> = page["Resources"].as_array().unwrap().iter().map(|r| r["displayName"].as_str().unwrap()).collect();
        assert_eq!(shown, ["User 010000", "User 010001", "Group 0001"]);
        let (_, page) = search(Some(r#"displayName sw "group" or displayName eq "User 000007""#), 1, 10).await;
        assert_eq!(page["totalResults"], 4, "{page}");
        let shown: Vec<&str> = page["Resources"].as_array().unwrap().iter().map(|r| r["displayName"].as_str().unwrap()).collect();
        assert_eq!(shown, ["User 000007", "Group 0001", "Group 0002", "Group 0003"]);
    }

    async fn okta_put_of_the_whole_user_and_path_less_deactivation(store) {
        let scim = Scim::start(store).await;
        let user = scim.create("ada@example.com").await;
        let id = user["id"].as_str().unwrap();

        // Okta's PUT of the whole user, without `active`: not a deactivation.
        let mut whole = user.clone();
        whole.as_object_mut().unwrap().remove("active");
        whole["title"] = json!("Manager");
        let (status, body) = scim.send("PUT", &format!("/Users/{id}"), Some(whole)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let read = scim.get(id).await;
        assert_eq!(read["active"], true);
        assert_eq!(read["title"], "Manager");
        assert_eq!(read["meta"]["version"], "W/\"2\"");

        // The same PUT again changes nothing: no new version, no new event.
        let (_, again) = scim.send("PUT", &format!("/Users/{id}"), Some(read.clone())).await;
        assert_eq!(again["meta"]["version"], "W/\"2\"");

        // Okta deactivates with a path-less replace of `active`.
        let (status, _) = scim.patch(id, json!([{"op": "replace", "value": {"active": false}}])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(scim.get(id).await["active"], false);
        let events = scim.server.store.directory_events_about(uuid::Uuid::parse_str(id).unwrap()).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(kinds, vec!["user.created", "user.profile_updated", "user.deactivated"]);

        // And reactivates with `active: true` in a PUT.
        let mut back = scim.get(id).await;
        back["active"] = json!(true);
        scim.send("PUT", &format!("/Users/{id}"), Some(back)).await;
        assert_eq!(scim.get(id).await["active"], true);
    }

    async fn entra_id_patch_forms(store) {
        let scim = Scim::start(store).await;
        let user = scim.create("ada@example.com").await;
        let id = user["id"].as_str().unwrap();
        let (status, body) = scim
            .patch(id, json!([
                {"op": "Replace", "value": {
                    "name.familyName": "Byron",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Mathematics",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": "m-1"}
                }},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada@byron.example"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}
            ]))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let read = scim.get(id).await;
        assert_eq!(read["name"]["familyName"], "Byron");
        assert_eq!(read[ENTERPRISE]["department"], "Mathematics");
        assert_eq!(read[ENTERPRISE]["manager"]["value"], "m-1");
        assert_eq!(read["emails"][0]["value"], "ada@byron.example");
        assert_eq!(read["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555 0100"}]));

        // Entra ID's soft delete: `active` as the string "False", capitalised op.
        let (status, _) = scim.patch(id, json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(scim.get(id).await["active"], false);
        let (status, _) = scim.patch(id, json!([{"op": "Replace", "value": {"active": "True"}}])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(scim.get(id).await["active"], true);

        // Removing `active` hides it without changing the status; setting it shows it again.
        let (_, removed) = scim.patch(id, json!([{"op": "remove", "path": "active"}])).await;
        assert!(removed.get("active").is_none(), "{removed}");
        let stored = scim.server.store.user_by_name("ada@example.com").await.unwrap().unwrap();
        assert_eq!(stored.status, domain::directory::UserStatus::Active);
        let (_, back) = scim.patch(id, json!([{"op": "add", "path": "active", "value": true}])).await;
        assert_eq!(back["active"], true);
    }

    async fn a_deactivation_ends_a_signed_in_users_session(store) {
        let scim = Scim::start(store).await;
        let user = scim.create("ada@example.com").await;
        let id = user["id"].as_str().unwrap();
        // Give Ada a password and a role so she can sign in locally.
        let user_id = domain::directory::UserId(uuid::Uuid::parse_str(id).unwrap());
        let hash = domain::auth::hash_password(PASSWORD.to_string().into()).await.unwrap();
        scim.server.store.set_password_hash(user_id, &hash, &NewEntry::new(Action::PasswordReset, Outcome::Success, Actor::Operator)).await.unwrap();
        scim.patch(id, json!([{"op": "replace", "path": format!("{IDFLOW}:role"), "value": "workflows_administrator"}])).await;
        let browser = client();
        let response = scim.server.sign_in(&browser, "ada@example.com", PASSWORD, "/").await;
        assert_eq!(location(&response), "/");
        assert_eq!(browser.get(scim.server.url("/flows")).send().await.unwrap().status(), StatusCode::OK);

        scim.patch(id, json!([{"op": "replace", "value": {"active": false}}])).await;
        let response = browser.get(scim.server.url("/flows")).send().await.unwrap();
        assert_eq!(location(&response), "/sign-in?next=%2Fflows");
    }

    async fn delete_and_unknown_ids(store) {
        let scim = Scim::start(store).await;
        let user = scim.create("ada@example.com").await;
        let id = user["id"].as_str().unwrap();
        let (status, _) = scim.send("DELETE", &format!("/Users/{id}"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = scim.send("GET", &format!("/Users/{id}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["status"], "404");
        let (status, _) = scim.send("GET", "/Users/not-a-uuid", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = scim.send("DELETE", &format!("/Users/{id}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = scim.send("POST", "/Users", Some(json!("not an object"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }

    async fn a_stale_if_match_is_refused(store) {
        let scim = Scim::start(store).await;
        let user = scim.create("ada@example.com").await;
        let id = user["id"].as_str().unwrap();
        let response = scim
            .http
            .patch(scim.server.url(&format!("/scim/v2/Users/{id}")))
            .bearer_auth(&scim.token)
            .header("if-match", "W/\"7\"")
            .body(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(scim.get(id).await, user);
    }

    async fn fifty_concurrent_creates_of_one_user_name_make_one_user(store) {
        let scim = std::sync::Arc::new(Scim::start(store).await);
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let scim = scim.clone();
            tasks.push(tokio::spawn(async move {
                scim.send("POST", "/Users", Some(json!({"schemas": [CORE], "userName": "race@example.com"}))).await.0
            }));
        }
        let mut created = 0;
        let mut conflicts = 0;
        for task in tasks {
            match task.await.unwrap() {
                StatusCode::CREATED => created += 1,
                StatusCode::CONFLICT => conflicts += 1,
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!((created, conflicts), (1, 49));
        assert_eq!(scim.server.store.count_users().await.unwrap(), 1);
    }

    async fn writes_are_in_the_system_log(store) {
        let scim = Scim::start(store).await;
        let user = scim.create("ada@example.com").await;
        let id = user["id"].as_str().unwrap();
        scim.patch(id, json!([{"op": "replace", "path": "title", "value": "Boss"}])).await;
        scim.send("DELETE", &format!("/Users/{id}"), None).await;
        let log = scim.server.store.recent_audit(10).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).take(3).collect();
        assert_eq!(actions, vec!["scim.user.delete", "scim.user.update", "scim.user.create"]);
        assert!(log.iter().take(3).all(|e| e.actor_display.as_deref() == Some("SCIM: Okta")));
        assert_eq!(log[2].target_display.as_deref(), Some("ada@example.com"));
        assert_eq!(log[2].target_id.as_deref(), Some(id));
    }

    async fn reads_and_refused_writes_are_in_the_system_log_too(store) {
        let scim = Scim::start(store).await;
        let (status, _) = scim.send("GET", "/Users?filter=userName%20eq%20%22x%40example.com%22", None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = scim.send("POST", "/Users", Some(json!({"schemas": [CORE]}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let log = scim.server.store.recent_audit(2).await.unwrap();
        assert_eq!((log[1].action.as_str(), log[1].outcome.as_str()), ("scim.read", "success"));
        assert_eq!(log[1].target_display.as_deref(), Some("GET /scim/v2/Users?filter=userName%20eq%20%22x%40example.com%22"));
        assert_eq!((log[0].action.as_str(), log[0].outcome.as_str()), ("scim.user.create", "failure"));
        assert_eq!(log[0].reason.as_deref(), Some("400: userName is required."));
        assert_eq!(log[0].actor_display.as_deref(), Some("SCIM: Okta"));
    }
}

#[tokio::test]
async fn service_provider_config_and_resource_types() {
    let db = domain::store::testing::sqlite().await;
    let scim = Scim::start(db.store.clone()).await;
    let (status, config) = scim.send("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["filter"]["maxResults"], 200);
    let (_, types) = scim.send("GET", "/ResourceTypes", None).await;
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    assert_eq!(types["Resources"][1]["endpoint"], "/Groups");
    let (status, body) = scim.send("GET", "/Nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], "404");
}

mod groups {
    use super::*;

    const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    const ADSCIM: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

    async fn members(scim: &Scim, id: &str) -> Vec<String> {
        let (status, body) = scim.send("GET", &format!("/Groups/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_string())
            .collect()
    }

    async fn event_kinds(scim: &Scim, user: &str) -> Vec<String> {
        let events = scim
            .server
            .store
            .directory_events_about(uuid::Uuid::parse_str(user).unwrap())
            .await
            .unwrap();
        events.into_iter().map(|e| e.event_type).collect()
    }

    domain::backend_tests! {
        async fn okta_group_push(store) {
            let scim = Scim::start(store).await;
            let ada = scim.create("ada@example.com").await["id"].as_str().unwrap().to_string();
            let bob = scim.create("bob@example.com").await["id"].as_str().unwrap().to_string();

            // Okta looks the group up by name, then creates it with its members.
            let (_, found) = scim.send("GET", "/Groups?filter=displayName%20eq%20%22Engineering%22", None).await;
            assert_eq!(found["totalResults"], 0);
            let (status, group) = scim
                .send("POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "Engineering", "members": [{"value": ada, "display": "ada@example.com"}]})))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{group}");
            let id = group["id"].as_str().unwrap().to_string();
            assert_eq!(group["members"][0]["value"], ada.as_str());
            let (_, found) = scim.send("GET", "/Groups?filter=displayName%20eq%20%22engineering%22&excludedAttributes=members", None).await;
            assert_eq!(found["totalResults"], 1);
            assert!(found["Resources"][0].get("members").is_none());

            // Okta adds a member, removes one with a value-path filter, renames with a path-less replace.
            let (status, _) = scim.send("PATCH", &format!("/Groups/{id}"), Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": bob, "display": "bob@example.com"}]}
            ]}))).await;
            // Member changes alone answer 204, as Okta and Entra ID expect, without
            // listing every member back.
            assert_eq!(status, StatusCode::NO_CONTENT);
            assert_eq!(members(&scim, &id).await, vec![ada.clone(), bob.clone()]);
            let (status, _) = scim.send("PATCH", &format!("/Groups/{id}"), Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "remove", "path": format!("members[value eq \"{ada}\"]")}
            ]}))).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            assert_eq!(members(&scim, &id).await, vec![bob.clone()], "membership right after the removal");
            let (_, renamed) = scim.send("PATCH", &format!("/Groups/{id}"), Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "replace", "value": {"id": id, "displayName": "Engineers"}}
            ]}))).await;
            assert_eq!(renamed["displayName"], "Engineers");

            assert_eq!(event_kinds(&scim, &ada).await, vec!["user.created", "user.added_to_group", "user.removed_from_group"]);
            assert_eq!(event_kinds(&scim, &bob).await, vec!["user.created", "user.added_to_group"]);

            let (status, _) = scim.send("DELETE", &format!("/Groups/{id}"), None).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            assert_eq!(event_kinds(&scim, &bob).await.last().unwrap(), "user.removed_from_group");
            let (status, _) = scim.send("GET", &format!("/Groups/{id}"), None).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }

        async fn entra_id_group_forms(store) {
            let scim = Scim::start(store).await;
            let ada = scim.create("ada@example.com").await["id"].as_str().unwrap().to_string();
            let bob = scim.create("bob@example.com").await["id"].as_str().unwrap().to_string();
            let (status, group) = scim
                .send("POST", "/Groups", Some(json!({"schemas": [GROUP, ADSCIM], "displayName": "Sales", "externalId": "e-1", "members": []})))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{group}");
            let id = group["id"].as_str().unwrap().to_string();
            let (status, _) = scim.send("PATCH", &format!("/Groups/{id}"), Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": ada}, {"value": bob}]}
            ]}))).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            assert_eq!(members(&scim, &id).await.len(), 2);
            // Adding a member again changes nothing and writes no event.
            let (status, _) = scim.send("PATCH", &format!("/Groups/{id}"), Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": ada}]}
            ]}))).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            assert_eq!(event_kinds(&scim, &ada).await, vec!["user.created", "user.added_to_group"]);
            // A member who is not a user is refused, and nothing changes.
            let (status, body) = scim.send("PATCH", &format!("/Groups/{id}"), Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "remove", "path": "members", "value": [{"value": ada}]},
                {"op": "add", "path": "members", "value": [{"value": "0190aaaa-0000-7000-8000-000000000001"}]}
            ]}))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["scimType"], "invalidValue");
            assert_eq!(members(&scim, &id).await.len(), 2);
            // Entra ID removes members with a value array.
            let (status, _) = scim.send("PATCH", &format!("/Groups/{id}"), Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": ada}]}
            ]}))).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            assert_eq!(members(&scim, &id).await, vec![bob.clone()], "membership right after the removal");
        }

        async fn bad_groups_change_nothing(store) {
            let scim = Scim::start(store).await;
            let (status, body) = scim
                .send("POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": "0190aaaa-0000-7000-8000-000000000001"}]})))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["scimType"], "invalidValue");
            let (_, all) = scim.send("GET", "/Groups", None).await;
            assert_eq!(all["totalResults"], 0, "a refused group is not half-made");
            scim.send("POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "G"}))).await;
            let (status, body) = scim.send("POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "g"}))).await;
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert_eq!(body["scimType"], "uniqueness");
        }
    }
}
