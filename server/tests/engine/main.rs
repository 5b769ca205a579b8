//! The execution engine inside the server: a change made in the console starts an
//! enabled flow, which runs to its end, on both backends.
//! One test binary, a module per part of it.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod dry_run;
mod flows_tab;
mod folders;
mod history;
mod runs;
mod secrets;
mod versions;

use common::*;
use domain::access::Role;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::engine::Status;
use domain::flows::{Binding, Card, CardId, Flow, OnError, Source};
use domain::store::{ExecutionFilter, Store};
use reqwest::StatusCode;

pub(crate) fn entry(action: Action) -> NewEntry {
    NewEntry::new(action, Outcome::Success, Actor::System)
}

pub(crate) fn api_flow(name: &str, synchronous: bool, max_per_minute: Option<u32>) -> Flow {
    let mut flow = Flow::new(name, "trigger.api_endpoint");
    flow.trigger
        .options
        .insert("synchronous".into(), Binding::literal(synchronous));
    flow.settings.max_per_minute = max_per_minute;
    flow.cards = vec![Card {
        id: CardId(1),
        kind: "flow.return".into(),
        inputs: [(
            "output".to_string(),
            Binding::template("Hello {{ trigger.body.name }}"),
        )]
        .into(),
        on_error: OnError::Stop,
        timeout_seconds: None,
        note: String::new(),
        lanes: vec![],
    }];
    flow
}

/// Creates `flow`, turns it on and makes its API secret.
pub(crate) async fn callable(store: &Store, flow: &Flow) -> (domain::store::FlowSummary, String) {
    store.test_callable(flow).await
}
