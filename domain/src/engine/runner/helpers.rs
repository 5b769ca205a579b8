//! Call Flow and For Each: a helper flow's executions, started as children of the one
//! that calls them (acting for whoever it acts for), and their outputs once they end.

use super::{Context, Runner, where_};
use crate::engine::control::{CardError, Done, MAX_CALL_DEPTH, MAX_FOR_EACH, MAX_PAUSE};
use crate::engine::{Progress, Status, Waiting, child_key};
use crate::flows::Card;
use crate::store::{FlowVersion, NewExecution, Parent};
use chrono::Utc;
use serde_json::{Map, Value, json};

impl Runner {
    /// Call Flow and For Each: the first time, starts the helper flow's executions (one,
    /// or one per item) and waits; woken when they have all ended, gives their outputs.
    pub(super) async fn helpers(
        &self,
        context: &Context<'_>,
        card: &Card,
        inputs: &Map<String, Value>,
        progress: &Progress,
    ) -> Result<Done, CardError> {
        let parent = context.execution.id;
        let attempt = progress.attempt;
        let prefix = format!("call:{parent}:{}:{attempt}:", card.id.0);
        let for_each = card.kind == "flow.for_each";
        if let Some(Waiting::Children {
            card: waited,
            attempt: on,
            count,
        }) = &progress.waiting
            && *waited == card.id.0
            && *on == attempt
        {
            let children = self
                .store
                .child_executions(parent, card.id.0, &prefix)
                .await?;
            if children.len() < *count || children.iter().any(|c| !c.status.is_final()) {
                // Woken before they all ended (a helper was started elsewhere): wait on.
                return Ok(Done::Await(
                    Waiting::Children {
                        card: card.id.0,
                        attempt,
                        count: *count,
                    },
                    Utc::now() + MAX_PAUSE,
                ));
            }
            let failed: Vec<String> = children
                .iter()
                .filter(|c| c.status != Status::Succeeded)
                .map(|c| {
                    let why = c.error.as_deref().unwrap_or("no reason given");
                    if for_each {
                        format!("item {}: {why}", c.parent.map_or(0, |p| p.index) + 1)
                    } else {
                        why.to_string()
                    }
                })
                .collect();
            if !failed.is_empty() {
                let shown = failed
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ");
                let more = if failed.len() > 3 { "; …" } else { "" };
                return Err(CardError::fatal(if for_each {
                    format!(
                        "{} of {} helper executions failed: {shown}{more}",
                        failed.len(),
                        children.len()
                    )
                } else {
                    format!("the helper flow failed: {shown}")
                }));
            }
            let outputs: Vec<Value> = children
                .into_iter()
                .map(|c| c.output.unwrap_or(Value::Null))
                .collect();
            return Ok(Done::Output(if for_each {
                json!({ "count": outputs.len(), "outputs": outputs })
            } else {
                json!({ "output": outputs.into_iter().next().unwrap_or(Value::Null) })
            }));
        }

        let helper = self.helper_flow(context, inputs).await?;
        let shared = inputs.get("input").cloned().unwrap_or(Value::Null);
        let items: Vec<Value> = if for_each {
            match inputs.get("items") {
                Some(Value::Array(items)) => items.clone(),
                None | Some(Value::Null) => vec![],
                Some(other) => {
                    return Err(CardError::fatal(format!(
                        "items: expects a list, got {other}"
                    )));
                }
            }
        } else {
            vec![Value::Null]
        };
        if items.len() > MAX_FOR_EACH {
            return Err(CardError::fatal(format!(
                "items: {} items; For Each takes at most {MAX_FOR_EACH}",
                items.len()
            )));
        }
        if items.is_empty() {
            return Ok(Done::Output(json!({ "count": 0, "outputs": [] })));
        }
        self.check_call_depth(context).await?;
        let count = items.len();
        for (index, item) in items.into_iter().enumerate() {
            let input = if for_each {
                json!({ "input": shared, "item": item, "index": index })
            } else {
                json!({ "input": shared })
            };
            let key = child_key(parent, card.id.0, attempt, index);
            self.start_helper(context, &helper, card, index, key, input)
                .await?;
        }
        Ok(Done::Await(
            Waiting::Children {
                card: card.id.0,
                attempt,
                count,
            },
            Utc::now() + MAX_PAUSE,
        ))
    }

    /// Helper flows calling helper flows: not without end.
    pub(super) async fn check_call_depth(&self, context: &Context<'_>) -> Result<(), CardError> {
        let mut depth = 1;
        let mut above = context.execution.parent;
        while let Some(up) = above {
            depth += 1;
            if depth > MAX_CALL_DEPTH {
                return Err(CardError::fatal(format!(
                    "flow: helper flows call each other more than {MAX_CALL_DEPTH} deep"
                )));
            }
            above = self
                .store
                .execution(up.execution)
                .await?
                .and_then(|e| e.parent);
        }
        Ok(())
    }

    /// Starts (once: `key` deduplicates) a `helper` execution with `input`, as item
    /// `index` of what card `card` of the context's execution started.
    pub(super) async fn start_helper(
        &self,
        context: &Context<'_>,
        helper: &FlowVersion,
        card: &Card,
        index: usize,
        key: String,
        input: Value,
    ) -> Result<(), CardError> {
        let parent = context.execution.id;
        self.store
            .enqueue_execution(&NewExecution {
                flow: helper.flow,
                flow_version: helper.version,
                trigger_kind: "trigger.helper".into(),
                input,
                subject: None,
                dedupe_key: Some(key),
                causal_chain: context.execution.causal_chain.clone(),
                parent: Some(Parent {
                    execution: parent,
                    card: card.id.0,
                    index: index as i64,
                }),
                test: false,
                // A dry run's helpers are dry runs too: they change nothing either.
                dry_run: context.execution.dry_run,
                // A helper acts for whoever its caller acts for: calling a flow never
                // borrows its owner's rights.
                acting_for: context.execution.acting_for,
            })
            .await?;
        Ok(())
    }

    /// The helper flow a Call Flow or For Each card names (by ID or name): on, and
    /// started by the Helper Flow trigger.
    pub(super) async fn helper_flow(
        &self,
        context: &Context<'_>,
        inputs: &Map<String, Value>,
    ) -> Result<FlowVersion, CardError> {
        let key = inputs
            .get("flow")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CardError::fatal("flow: has no value"))?;
        let by_id = match uuid::Uuid::parse_str(key) {
            Ok(id) => self.store.flow_summary(crate::flows::FlowId(id)).await?,
            Err(_) => None,
        };
        let found = match by_id {
            Some(flow) => Some(flow),
            None => self.store.flow_by_name(key).await?,
        };
        let folder = self.folder_of(context).await?;
        // Only what the flow's own folder holds (the top level for a flow at the top
        // level): a name never reaches into a folder the flow's people may not see.
        let summary = found.filter(|f| f.folder == folder).ok_or_else(|| {
            CardError::fatal(format!("flow: there is no flow {key:?} {}", where_(folder)))
        })?;
        if summary.trigger_kind != "trigger.helper" {
            return Err(CardError::fatal(format!(
                "flow: \"{}\" is not a helper flow (its trigger must be Helper Flow)",
                summary.name
            )));
        }
        if !summary.enabled {
            return Err(CardError::fatal(format!(
                "flow: the helper flow \"{}\" is off; turn it on",
                summary.name
            )));
        }
        self.store
            .flow_version(summary.id, None)
            .await?
            .ok_or_else(|| CardError::fatal("flow: the helper flow was deleted meanwhile"))
    }
}
