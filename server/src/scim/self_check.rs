//! The SCIM self-check (Settings): the requests an identity provider relies on, sent to
//! idflow's own `/scim/v2` router with a temporary bearer token, each checked as an IdP
//! would read the answer. It makes a throwaway user and group, removes both (also when a
//! check fails on the way), and revokes the token. The directory events it causes start
//! no flow (its token's actor is the self-check).

use crate::AppState;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use domain::actions::Acting;
use domain::actions::settings::{finish_self_check, start_self_check};
use domain::scim::self_check::{Check, SelfCheck};
use domain::scim::{CORE_GROUP, CORE_USER, IDFLOW_USER};
use serde_json::{Value, json};
use tower::ServiceExt;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most bytes of an answer the check reads.
const MAX_ANSWER: usize = 1 << 20;

/// Runs the self-check for the one acting (a Super Admin in the console): every check's
/// result, kept as the last run. Refused, with nothing made, when they may not make a SCIM
/// token.
pub async fn run(
    state: &AppState,
    acting: &Acting,
    ran_by: &str,
) -> Result<SelfCheck, domain::actions::ActionError> {
    let (token, secret) = start_self_check(&state.store, acting).await?;
    let mut run = Run {
        router: super::routes(state.clone()).with_state(state.clone()),
        secret,
        checks: Vec::new(),
    };
    let stamp = uuid::Uuid::now_v7().simple().to_string();
    let mut made = Made::default();
    run.checks_in_order(&stamp, &mut made).await;
    run.clean_up(&made).await;
    let report = SelfCheck {
        id: uuid::Uuid::now_v7(),
        ran_at: chrono::Utc::now(),
        ran_by: ran_by.to_string(),
        checks: run.checks,
    };
    finish_self_check(&state.store, acting, &token, &report).await?;
    Ok(report)
}

/// What the checks made and have not removed yet.
#[derive(Default)]
struct Made {
    user: Option<String>,
    group: Option<String>,
}

struct Run {
    router: Router,
    secret: String,
    checks: Vec<Check>,
}

/// A check's finding: what it confirmed, or what went wrong.
type Finding = Result<String, String>;

impl Run {
    /// One request through the SCIM router: its status and JSON answer (`Null` when empty).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), String> {
        let mut request = Request::builder()
            .method(method.clone())
            .header(header::AUTHORIZATION, format!("Bearer {}", self.secret))
            .header(header::ACCEPT, super::SCIM_JSON);
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, super::SCIM_JSON);
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        // The SCIM router on its own serves at its root (the app nests it at /scim/v2).
        let request = request
            .uri(path)
            .body(body)
            .map_err(|e| format!("the request could not be made: {e}"))?;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| format!("{method} {path} failed: {e}"))?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER)
            .await
            .map_err(|e| format!("{method} {path}: the answer could not be read: {e}"))?;
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                format!("{method} {path} answered {status} with a body that is not JSON: {e}")
            })?
        };
        Ok((status, json))
    }

    /// A request that must answer `expected`; its JSON answer.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> Result<Value, String> {
        let (status, json) = self.call(method.clone(), path, body).await?;
        if status == expected {
            Ok(json)
        } else {
            let detail = json["detail"].as_str().unwrap_or("no detail");
            Err(format!(
                "{method} /scim/v2{path} answered {status} ({detail}), not {expected}"
            ))
        }
    }

    fn record(&mut self, name: &str, finding: Finding) {
        let (passed, detail) = match finding {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        self.checks.push(Check {
            name: name.to_string(),
            passed,
            detail,
        });
    }

    fn not_run(&mut self, names: &[&str], because: &str) {
        for name in names {
            self.record(name, Err(format!("Not run: {because}.")));
        }
    }

    async fn checks_in_order(&mut self, stamp: &str, made: &mut Made) {
        let finding = self.service_provider_config().await;
        self.record("Discovery: ServiceProviderConfig", finding);
        let finding = self.resource_types().await;
        self.record("Discovery: ResourceTypes", finding);
        let finding = self.schemas().await;
        self.record("Discovery: Schemas", finding);

        let user_name = format!("scim-self-check-{stamp}@idflow.invalid");
        const USER_CHECKS: &[&str] = &[
            "Read the user",
            "Filter users by userName",
            "PATCH replace an attribute",
            "PATCH remove an attribute",
            "Give a role (idflow extension)",
            "Create a group",
            "Find the group by displayName",
            "Add the user to the group",
            "Remove the user from the group",
            "Deactivate the user",
            "Delete the group",
            "Delete the user",
        ];
        match self.create_user(&user_name).await {
            Ok((id, detail)) => {
                made.user = Some(id.clone());
                self.record("Create a user", Ok(detail));
                self.user_checks(&id, &user_name, stamp, made).await;
            }
            Err(why) => {
                self.record("Create a user", Err(why));
                self.not_run(USER_CHECKS, "the user could not be created");
            }
        }
    }

    async fn user_checks(&mut self, id: &str, user_name: &str, stamp: &str, made: &mut Made) {
        let finding = self.read_user(id, user_name).await;
        self.record("Read the user", finding);
        let finding = self.filter_by_user_name(id, user_name).await;
        self.record("Filter users by userName", finding);
        let finding = self.patch_replace(id).await;
        self.record("PATCH replace an attribute", finding);
        let finding = self.patch_remove(id).await;
        self.record("PATCH remove an attribute", finding);
        let finding = self.give_role(id).await;
        self.record("Give a role (idflow extension)", finding);

        let group_name = format!("idflow SCIM self-check {stamp}");
        match self.create_group(&group_name).await {
            Ok((group, detail)) => {
                made.group = Some(group.clone());
                self.record("Create a group", Ok(detail));
                let finding = self.find_group(&group, &group_name).await;
                self.record("Find the group by displayName", finding);
                let finding = self.add_member(&group, id).await;
                self.record("Add the user to the group", finding);
                let finding = self.remove_member(&group, id).await;
                self.record("Remove the user from the group", finding);
            }
            Err(why) => {
                self.record("Create a group", Err(why));
                self.not_run(
                    &[
                        "Find the group by displayName",
                        "Add the user to the group",
                        "Remove the user from the group",
                    ],
                    "the group could not be created",
                );
            }
        }
        let finding = self.deactivate(id).await;
        self.record("Deactivate the user", finding);
        match made.group.clone() {
            Some(group) => {
                let finding = self.delete(&format!("/Groups/{group}")).await;
                if finding.is_ok() {
                    made.group = None;
                }
                self.record("Delete the group", finding);
            }
            None => self.not_run(&["Delete the group"], "there is no group to delete"),
        }
        let finding = self.delete(&format!("/Users/{id}")).await;
        if finding.is_ok() {
            made.user = None;
        }
        self.record("Delete the user", finding);
    }

    /// Removes what a failed check left behind; a failure to is a failed check of its own.
    async fn clean_up(&mut self, made: &Made) {
        let mut left = Vec::new();
        for path in [
            made.group.as_ref().map(|g| format!("/Groups/{g}")),
            made.user.as_ref().map(|u| format!("/Users/{u}")),
        ]
        .into_iter()
        .flatten()
        {
            if let Err(why) = self.delete(&path).await {
                left.push(why);
            }
        }
        if !left.is_empty() {
            self.record(
                "Clean up",
                Err(format!("{} Remove it in the Directory.", left.join(" "))),
            );
        }
    }

    async fn service_provider_config(&self) -> Finding {
        let config = self
            .expect(Method::GET, "/ServiceProviderConfig", None, StatusCode::OK)
            .await?;
        let supported = |feature: &str| config[feature]["supported"] == Value::Bool(true);
        let missing: Vec<&str> = ["patch", "filter"]
            .into_iter()
            .filter(|f| !supported(f))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "it does not say {} is supported",
                missing.join(" and ")
            ));
        }
        Ok(format!(
            "PATCH and filtering supported; up to {} results per page.",
            config["filter"]["maxResults"]
        ))
    }

    async fn resource_types(&self) -> Finding {
        let types = self
            .expect(Method::GET, "/ResourceTypes", None, StatusCode::OK)
            .await?;
        let names = resource_field(&types, "name");
        for wanted in ["User", "Group"] {
            if !names.iter().any(|n| n == wanted) {
                return Err(format!(
                    "the {wanted} resource type is missing (found {names:?})"
                ));
            }
        }
        Ok(format!("Resource types: {}.", names.join(", ")))
    }

    async fn schemas(&self) -> Finding {
        let schemas = self
            .expect(Method::GET, "/Schemas", None, StatusCode::OK)
            .await?;
        let ids = resource_field(&schemas, "id");
        for wanted in [CORE_USER, CORE_GROUP, IDFLOW_USER] {
            if !ids.iter().any(|id| id == wanted) {
                return Err(format!("the schema {wanted} is missing"));
            }
        }
        Ok(format!(
            "{} schemas, the User, Group and role extension among them.",
            ids.len()
        ))
    }

    async fn create_user(&self, user_name: &str) -> Result<(String, String), String> {
        let user = self
            .expect(
                Method::POST,
                "/Users",
                Some(json!({
                    "schemas": [CORE_USER],
                    "userName": user_name,
                    "externalId": user_name,
                    "name": {"givenName": "Self", "familyName": "Check"},
                    "emails": [{"value": user_name, "type": "work", "primary": true}],
                    "active": true,
                })),
                StatusCode::CREATED,
            )
            .await?;
        let id = user["id"]
            .as_str()
            .ok_or("the created user has no id")?
            .to_string();
        if user["userName"] != user_name {
            return Err(format!(
                "the created user's userName is {}",
                user["userName"]
            ));
        }
        Ok((id.clone(), format!("Created {user_name} (id {id}).")))
    }

    async fn read_user(&self, id: &str, user_name: &str) -> Finding {
        let user = self.get(&format!("/Users/{id}")).await?;
        if user["userName"] != user_name {
            return Err(format!("it reads back as {}", user["userName"]));
        }
        if user["meta"]["location"].as_str().is_none() {
            return Err("it has no meta.location".into());
        }
        Ok(format!(
            "It reads back with its userName and meta (version {}).",
            user["meta"]["version"].as_str().unwrap_or("none")
        ))
    }

    async fn filter_by_user_name(&self, id: &str, user_name: &str) -> Finding {
        let filter = format!("userName eq \"{user_name}\"");
        let path = format!("/Users?filter={}", urlencoding::encode(&filter));
        let found = self.get(&path).await?;
        let ids = resource_field(&found, "id");
        if found["totalResults"] != 1 || ids != [id] {
            return Err(format!(
                "{filter} found {} user(s), not just this one",
                found["totalResults"]
            ));
        }
        Ok(format!("{filter} finds exactly this user."))
    }

    async fn patch(&self, path: &str, operations: Value) -> Result<Value, String> {
        let (status, json) = self
            .call(
                Method::PATCH,
                path,
                Some(json!({"schemas": [PATCH_OP], "Operations": operations})),
            )
            .await?;
        match status {
            StatusCode::OK => Ok(json),
            StatusCode::NO_CONTENT => self.get(path).await,
            _ => Err(format!(
                "PATCH /scim/v2{path} answered {status} ({})",
                json["detail"].as_str().unwrap_or("no detail")
            )),
        }
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.expect(Method::GET, path, None, StatusCode::OK).await
    }

    async fn patch_replace(&self, id: &str) -> Finding {
        let path = format!("/Users/{id}");
        self.patch(
            &path,
            json!([{"op": "replace", "path": "title", "value": "Self-check"}]),
        )
        .await?;
        let user = self.get(&path).await?;
        if user["title"] != "Self-check" {
            return Err(format!(
                "title reads back as {} after the replace",
                user["title"]
            ));
        }
        Ok("Replaced title; it reads back changed.".into())
    }

    async fn patch_remove(&self, id: &str) -> Finding {
        let path = format!("/Users/{id}");
        self.patch(&path, json!([{"op": "remove", "path": "title"}]))
            .await?;
        let user = self.get(&path).await?;
        if !user["title"].is_null() {
            return Err(format!("title is still {} after the remove", user["title"]));
        }
        Ok("Removed title; it is gone when read back.".into())
    }

    async fn give_role(&self, id: &str) -> Finding {
        let path = format!("/Users/{id}");
        self.patch(
            &path,
            json!([{"op": "replace", "path": format!("{IDFLOW_USER}:role"), "value": "Workflows Auditor"}]),
        )
        .await?;
        let user = self.get(&path).await?;
        if user[IDFLOW_USER]["role"] != "workflows_auditor" {
            return Err(format!(
                "the role reads back as {}",
                user[IDFLOW_USER]["role"]
            ));
        }
        Ok("Gave Workflows Auditor through the role extension; it reads back.".into())
    }

    async fn create_group(&self, name: &str) -> Result<(String, String), String> {
        let group = self
            .expect(
                Method::POST,
                "/Groups",
                Some(json!({"schemas": [CORE_GROUP], "displayName": name, "members": []})),
                StatusCode::CREATED,
            )
            .await?;
        let id = group["id"]
            .as_str()
            .ok_or("the created group has no id")?
            .to_string();
        Ok((id.clone(), format!("Created \"{name}\" (id {id}).")))
    }

    async fn find_group(&self, id: &str, name: &str) -> Finding {
        let filter = format!("displayName eq \"{name}\"");
        let found = self
            .get(&format!("/Groups?filter={}", urlencoding::encode(&filter)))
            .await?;
        if resource_field(&found, "id") != [id] {
            return Err(format!("{filter} found {} group(s)", found["totalResults"]));
        }
        Ok(format!("{filter} finds exactly this group."))
    }

    async fn members(&self, group: &str) -> Result<Vec<String>, String> {
        let group = self.get(&format!("/Groups/{group}")).await?;
        Ok(group["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|m| m["value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn add_member(&self, group: &str, user: &str) -> Finding {
        self.patch(
            &format!("/Groups/{group}"),
            json!([{"op": "add", "path": "members", "value": [{"value": user}]}]),
        )
        .await?;
        if self.members(group).await? != [user] {
            return Err("the user is not among the group's members after the add".into());
        }
        Ok("Added with PATCH add members; the group lists the user.".into())
    }

    async fn remove_member(&self, group: &str, user: &str) -> Finding {
        self.patch(
            &format!("/Groups/{group}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]),
        )
        .await?;
        if !self.members(group).await?.is_empty() {
            return Err("the user is still a member after the remove".into());
        }
        Ok("Removed with PATCH remove members[value eq …]; the group is empty.".into())
    }

    async fn deactivate(&self, id: &str) -> Finding {
        let path = format!("/Users/{id}");
        self.patch(
            &path,
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await?;
        let user = self.get(&path).await?;
        if user["active"] != false {
            return Err(format!("active reads back as {}", user["active"]));
        }
        Ok("Set active to false; it reads back inactive.".into())
    }

    /// Deletes `path` and confirms it is gone.
    async fn delete(&self, path: &str) -> Finding {
        self.expect(Method::DELETE, path, None, StatusCode::NO_CONTENT)
            .await?;
        let (status, _) = self.call(Method::GET, path, None).await?;
        if status != StatusCode::NOT_FOUND {
            return Err(format!(
                "GET /scim/v2{path} answered {status} after the delete, not 404"
            ));
        }
        Ok("Deleted; reading it again answers 404.".into())
    }
}

/// `field` of each resource of a list response, as text.
fn resource_field(list: &Value, field: &str) -> Vec<String> {
    list["Resources"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|r| r[field].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
