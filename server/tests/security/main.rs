//! Nobody gets more power than they were given, by any path: flows act for their owner,
//! SCIM tokens for their maker, changes are judged on effective rights, names stay inside
//! their folder; and every request is bounded, same-origin and rate-limited. Each test is
//! named after the item of the security review it proves, through the real router, on
//! both backends.

#[path = "../common/mod.rs"]
mod common;

mod data;
mod requests;
mod rights;

use common::*;
use domain::access::{FolderRole, Role};
use domain::assignments::Grantee;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::directory::{User, UserStatus};
use domain::engine::Status;
use domain::engine::runner::Runner;
use domain::store::{FlowSummary, GroupWrite, NewExecution, TokenMaker};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

pub(crate) fn entry(action: Action) -> NewEntry {
    NewEntry::new(action, Outcome::Success, Actor::System)
}

pub(crate) async fn user(server: &TestServer, name: &str) -> User {
    server.store.user_by_name(name).await.unwrap().unwrap()
}

/// Runs every queued execution to its end.
async fn drain(server: &TestServer) {
    Runner::new(server.store.clone(), "security-test")
        .drain()
        .await
        .unwrap();
}

/// A group named `name` with `members`, mapped to `role`.
async fn mapped_group(server: &TestServer, name: &str, members: &[&User], role: Role) -> Uuid {
    let group = server
        .store
        .create_group(
            &GroupWrite {
                display_name: name.into(),
                external_id: None,
                attributes: Default::default(),
                members: members.iter().map(|u| u.id).collect(),
            },
            &Actor::System,
            &entry(Action::ScimGroupCreate),
        )
        .await
        .unwrap();
    server
        .store
        .map_group_role(
            group.id,
            Some(role),
            &Actor::System,
            &entry(Action::GroupRoleMap),
        )
        .await
        .unwrap();
    group.id.0
}

pub(crate) async fn folder_for(
    server: &TestServer,
    name: &str,
    who: &User,
    grant: FolderRole,
) -> Uuid {
    let folder = server
        .store
        .create_folder(name, &entry(Action::FolderCreate))
        .await
        .unwrap();
    server
        .store
        .set_folder_grant(
            folder,
            &Grantee::User(who.id),
            Some(grant),
            &entry(Action::FolderGrant),
        )
        .await
        .unwrap();
    folder
}

pub(crate) fn flow(name: &str, trigger: &str, cards: Value) -> Value {
    json!({ "name": name, "trigger": { "kind": trigger }, "cards": cards })
}

pub(crate) fn literal(value: &str) -> Value {
    json!({ "type": "literal", "value": value })
}

/// Imports `definition` with the Flows tab's form; where it sent the browser.
async fn import(
    server: &TestServer,
    client: &reqwest::Client,
    definition: &Value,
    folder: Option<Uuid>,
) -> String {
    let folder = folder.map(|f| f.to_string()).unwrap_or_default();
    let response = server
        .post_form(
            client,
            "/flows/import",
            &[("definition", definition.to_string()), ("folder", folder)],
        )
        .await;
    location(&response)
}

pub(crate) async fn flow_named(server: &TestServer, name: &str) -> Option<FlowSummary> {
    server.store.flow_by_name(name).await.unwrap()
}

pub(crate) async fn post(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> String {
    let response = server.post_form(client, path, form).await;
    location(&response)
}

/// Runs `flow` by hand (it is on) as `client`; the execution once it has ended.
async fn run(
    server: &TestServer,
    client: &reqwest::Client,
    flow: &FlowSummary,
) -> domain::store::ExecutionRecord {
    let to = post(
        server,
        client,
        &format!("/flows/{}/run", flow.id),
        &[("input", "")],
    )
    .await;
    assert!(to.starts_with("/executions/"), "{to}");
    let id: Uuid = to["/executions/".len()..to.find('?').unwrap()]
        .parse()
        .unwrap();
    drain(server).await;
    server
        .store
        .execution(domain::engine::ExecutionId(id))
        .await
        .unwrap()
        .unwrap()
}
