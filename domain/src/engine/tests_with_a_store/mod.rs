//! The engine over a real store, on both backends; each part in its own file.

use crate::access::Role;
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::engine::ExecutionId;
use crate::engine::runner::Runner;
use crate::engine::triggers::dispatch_directory_events;
use crate::flows::{Binding, Card, CardId, Flow, FlowId, Source};
use crate::store::*;
use serde_json::Value;

mod directory_events;
mod helpers_and_use_cases;
mod outbound;
mod runs;
mod schedules;

/// A System Log entry of `action`, by idflow itself.
fn entry(action: Action) -> NewEntry {
    NewEntry::new(action, Outcome::Success, Actor::System)
}

fn card(id: u32, kind: &str, inputs: &[(&str, Binding)]) -> Card {
    Card::new(id, kind).with_inputs(inputs)
}

/// Card `id`'s output at `path`.
fn from(id: u32, path: &str) -> Binding {
    Binding::mapping(Source::Card(CardId(id)), path)
}

/// `flow` made and turned on by the test author.
async fn turn_on(store: &Store, flow: &Flow) -> FlowId {
    store.test_flow_on(flow).await.id
}

/// Queues a run of `flow`'s current version by hand, with `input`.
async fn start(store: &Store, flow: FlowId, input: Value) -> ExecutionId {
    let version = store.flow_summary(flow).await.unwrap().unwrap().version;
    store
        .enqueue_execution(&NewExecution::by_hand(flow, version, input))
        .await
        .unwrap()
        .unwrap()
}

/// Dispatches directory events and runs executions until nothing is left.
async fn settle(store: &Store) {
    let runner = Runner::new(store.clone(), "worker-1");
    for _ in 0..10 {
        let started = dispatch_directory_events(store, 100).await.unwrap();
        let ran = runner.drain().await.unwrap();
        if started == 0 && ran == 0 {
            return;
        }
    }
    panic!("the flows did not settle in ten rounds");
}
