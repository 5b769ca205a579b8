//! What starts flows from the directory: each directory event, once, starts the enabled
//! flows its trigger names (those whose condition holds), unless the event came from a
//! change the flow itself made (the loop guard).

use super::runner::directory::user_value;
use crate::directory::{DirectoryEvent, UserId};
use crate::store::{NewExecution, Store, StoreError};
use serde_json::{Map, Value, json};

/// The loop guard's reason, on an execution that did not run.
pub const LOOP_STOPPED: &str = "Stopped before it ran: the event came from a change this flow made \
     (directly or through other flows), so running it would re-trigger itself";

/// What a directory event gives a flow's trigger.
async fn trigger_input(store: &Store, event: &DirectoryEvent) -> Result<Value, StoreError> {
    let user = match event.subject_kind.as_str() {
        "user" => store
            .user(UserId(event.subject_id))
            .await?
            .map(|u| user_value(&u))
            .unwrap_or_else(|| json!({ "id": event.subject_id.to_string() })),
        _ => Value::Null,
    };
    let group = match event.subject_kind.as_str() {
        "group" => {
            let was = |name: &str| {
                event
                    .changes
                    .iter()
                    .find(|c| c.attribute == name)
                    .map(|c| {
                        if c.new.is_null() {
                            c.old.clone()
                        } else {
                            c.new.clone()
                        }
                    })
                    .unwrap_or(Value::Null)
            };
            match store
                .group(crate::directory::GroupId(event.subject_id))
                .await?
            {
                Some(g) => {
                    json!({ "id": g.id.to_string(), "name": g.display_name, "external_id": g.external_id })
                }
                // Deleted: as the event remembers it.
                None => json!({
                    "id": event.subject_id.to_string(),
                    "name": was("displayName"),
                    "external_id": was("externalId"),
                }),
            }
        }
        _ => Value::Null,
    };
    let mut input = json!({
        "user": user,
        "group": group,
        "event_id": event.id.to_string(),
        "occurred_at": event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "actor": event.actor_display,
        "changed": event.changes.iter().map(|c| c.attribute.clone()).collect::<Vec<_>>(),
        "old_values": event.changes.iter().map(|c| (c.attribute.clone(), c.old.clone())).collect::<Map<_, _>>(),
    });
    if let Some(group) = event.changes.iter().find(|c| c.attribute == "group") {
        let group = if group.new.is_null() {
            &group.old
        } else {
            &group.new
        };
        input["group"] = json!({ "id": group.get("id"), "name": group.get("displayName") });
    }
    Ok(input)
}

/// Hands the directory's new events to the enabled flows they start, each accepted as an
/// execution (deduplicated by event, so handing an event over twice starts nothing
/// twice), then marks them handed over. A flow whose own change led to the event gets an
/// execution that says it stopped, instead of running again. Returns how many
/// executions were started.
pub async fn dispatch_directory_events(store: &Store, limit: i64) -> Result<usize, StoreError> {
    let mut started = 0;
    for event in store.unprocessed_directory_events(limit).await? {
        if event.actor_kind == crate::audit::SCIM_SELF_CHECK {
            // The self-check's throwaway user and group are no one's business.
            store.mark_event_processed(event.id).await?;
            continue;
        }
        let trigger = format!("directory.{}", event.event_type.replace('.', "_"));
        let flows = store.enabled_flows_for(&trigger).await?;
        if !flows.is_empty() {
            let input = trigger_input(store, &event).await?;
            let mut chain = event.causal_chain.clone();
            chain.push(event.id);
            let behind = store.flows_behind(&chain).await?;
            for flow in flows {
                let new = NewExecution {
                    flow: flow.flow,
                    flow_version: flow.version,
                    trigger_kind: trigger.clone(),
                    input: input.clone(),
                    subject: (event.subject_kind == "user").then(|| event.subject_id.to_string()),
                    dedupe_key: Some(event.id.to_string()),
                    causal_chain: chain.clone(),
                    parent: None,
                    test: false,
                    dry_run: false,
                    acting_for: None,
                };
                if behind.contains(&flow.flow.0) {
                    store.enqueue_stopped_execution(&new, LOOP_STOPPED).await?;
                    continue;
                }
                match trigger_filter(&flow.definition, &input) {
                    Ok(true) => {
                        if store.enqueue_execution(&new).await?.is_some() {
                            started += 1;
                        }
                    }
                    Ok(false) => {}
                    Err(why) => {
                        let reason =
                            format!("Stopped before it ran: the trigger's condition {why}");
                        store.enqueue_stopped_execution(&new, &reason).await?;
                    }
                }
            }
        }
        store.mark_event_processed(event.id).await?;
    }
    Ok(started)
}

/// How long a received Okta event waits before it is handed to flows, so that an event
/// Okta published earlier but delivered a moment later still goes first.
pub const OKTA_REORDER_WINDOW: chrono::Duration = chrono::Duration::seconds(2);

/// Whether a flow on an Okta trigger hears an event from one connection.
#[derive(Debug, PartialEq, Eq)]
enum Hears {
    Yes,
    No,
    /// Its trigger names the connection, which is no longer shared with its folder.
    NotShared,
}

/// Whether a flow in `folder` on an Okta trigger hears events from `connection`: its
/// trigger names that connection, or none (any Okta org); either way only a connection
/// shared with its folder, as for a card.
fn hears(
    flow: &crate::flows::Flow,
    folder: Option<uuid::Uuid>,
    connection: &crate::store::Connection,
) -> Hears {
    let named = match flow.trigger.options.get("connection") {
        Some(crate::flows::Binding::Literal {
            value: Value::String(id),
        }) if !id.trim().is_empty() => Some(uuid::Uuid::parse_str(id.trim()) == Ok(connection.id)),
        _ => None,
    };
    match named {
        Some(false) => Hears::No,
        _ if connection.usable_in(folder) => Hears::Yes,
        Some(true) => Hears::NotShared,
        None => Hears::No,
    }
}

/// Hands received Okta events (those received before `received_before`, the engine's
/// reorder window; oldest published first) to the enabled flows their trigger starts,
/// each accepted once per flow and event (`okta:` and the event's uuid), then marks them
/// handed over. Events no trigger listens for are only marked. Returns how many
/// executions were started.
pub async fn dispatch_okta_events(
    store: &Store,
    received_before: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<usize, StoreError> {
    let mut started = 0;
    let mut connections = std::collections::HashMap::new();
    for waiting in store.waiting_okta_events(received_before, limit).await? {
        if let std::collections::hash_map::Entry::Vacant(slot) =
            connections.entry(waiting.connection)
        {
            slot.insert(store.connection(waiting.connection).await?);
        }
        let connection = connections[&waiting.connection].as_ref();
        if let (Some(on), Some(connection)) = (
            crate::okta::trigger_for(&waiting.event.event_type),
            connection,
        ) {
            let input = crate::okta::trigger_input(&waiting.event);
            let subject = input["user"]["login"]
                .as_str()
                .or_else(|| input["user"]["id"].as_str())
                .map(str::to_string);
            for flow in store.enabled_flows_for(on.key).await? {
                let folder = store.recent_flow(flow.flow).await?.and_then(|f| f.folder);
                let heard = hears(&flow.definition, folder, connection);
                if heard == Hears::No {
                    continue;
                }
                let new = NewExecution {
                    flow: flow.flow,
                    flow_version: flow.version,
                    trigger_kind: on.key.to_string(),
                    input: input.clone(),
                    subject: subject.clone(),
                    dedupe_key: Some(format!("okta:{}", waiting.event.uuid)),
                    causal_chain: Vec::new(),
                    parent: None,
                    test: false,
                    dry_run: false,
                    acting_for: None,
                };
                if heard == Hears::NotShared {
                    let reason = format!(
                        "Stopped before it ran: the trigger's Okta connection {} is not shared with this flow's folder (a Connection Manager can share it on its page)",
                        connection.name
                    );
                    store.enqueue_stopped_execution(&new, &reason).await?;
                    continue;
                }
                match trigger_filter(&flow.definition, &input) {
                    Ok(true) => {
                        if store.enqueue_execution(&new).await?.is_some() {
                            started += 1;
                        }
                    }
                    Ok(false) => {}
                    Err(why) => {
                        let reason =
                            format!("Stopped before it ran: the trigger's condition {why}");
                        store.enqueue_stopped_execution(&new, &reason).await?;
                    }
                }
            }
        }
        store.mark_okta_event_processed(waiting.id).await?;
    }
    Ok(started)
}

/// Whether a trigger's "Only when" condition lets `input` through (no condition: yes).
fn trigger_filter(flow: &crate::flows::Flow, input: &Value) -> Result<bool, String> {
    match flow.trigger.options.get("filter") {
        Some(crate::flows::Binding::Literal {
            value: Value::String(condition),
        }) if !condition.trim().is_empty() => {
            crate::flows::expressions::holds(condition, &json!({ "trigger": input }))
        }
        _ => Ok(true),
    }
}
