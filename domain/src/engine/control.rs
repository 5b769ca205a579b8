//! What a card that computes or steers does: the catalog's functions and the flow-control
//! cards, as pure code (no database, no clock but the one given), so they build for the
//! console's WASM and are tested without a store. The runner (`engine::runner`) stores
//! their records and does the rest.

use super::{Progress, Waiting, bind};
use crate::flows::{Card, functions};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

/// What a card did.
pub enum Done {
    /// Its outputs.
    Output(Value),
    /// Its outputs, and the table row it adds: written with the card's record, so both
    /// are stored or neither.
    #[cfg(feature = "server")]
    Adds(Value, crate::store::NewRow),
    /// A logic card chose a lane (by index), or none.
    Lane(Option<usize>),
    /// Return: the execution ends with this output.
    Return(Value),
    /// Continue If was false: the execution ends quietly, with this note.
    Stop(String),
    /// Wait: go on after this long.
    Wait(Duration),
    /// Call Flow, For Each, Pause: the execution waits (for its helper flows, or a
    /// resume) until this time at the latest; the card runs again when it wakes.
    Await(Waiting, chrono::DateTime<Utc>),
    /// Close: answer the API caller with this, and go on.
    Close(Value),
    /// The card could not run yet (the service's rate limit is spent, saying why): run
    /// it again at this time, without counting an attempt. The execution sleeps
    /// meanwhile, holding no worker.
    Later(chrono::DateTime<Utc>, String),
}

/// The longest a Pause card waits.
pub const MAX_PAUSE: Duration = Duration::days(30);
/// How deep helper flows may call helper flows.
pub const MAX_CALL_DEPTH: usize = 8;
/// The most items one For Each takes.
pub const MAX_FOR_EACH: usize = 10_000;

/// Why a card failed, and whether trying again could help.
#[derive(Debug, Clone)]
pub struct CardError {
    pub message: String,
    pub retryable: bool,
    /// How long the other side asked to be left alone (an HTTP `Retry-After`), in
    /// milliseconds: a retry waits at least this long.
    pub retry_after_ms: Option<u64>,
}

impl CardError {
    pub fn fatal(message: impl Into<String>) -> CardError {
        CardError {
            message: message.into(),
            retryable: false,
            retry_after_ms: None,
        }
    }
}

/// "card 3 \"Read Row\" failed: …"
pub fn failure_reason(card: &Card, message: &str) -> String {
    let name = crate::flows::catalog::catalog()
        .get(&card.kind)
        .map(|s| s.name)
        .unwrap_or(card.kind.as_str());
    format!("{} \"{name}\" failed: {message}", card.id)
}

/// The flow-control cards [`run`] steers with.
const STEERING: &[&str] = &[
    "flow.if_else",
    "flow.branch",
    "flow.continue_if",
    "flow.return",
    "flow.raise_error",
    "flow.wait",
    "flow.lookup",
    "flow.pause",
    "flow.close",
];

/// Runs a card that computes or steers (functions, If/Else, Branch, Continue If, Return,
/// Raise Error, Wait, Lookup, Pause, Close) at `now`: what it did, or `None` for a card
/// that reaches outside the execution (Call Flow, For Each, the apps' cards).
pub fn run(
    card: &Card,
    inputs: &Map<String, Value>,
    progress: &Progress,
    now: DateTime<Utc>,
) -> Option<Result<Done, CardError>> {
    if let Some(result) = functions::run(&card.kind, inputs) {
        return Some(
            result
                .map(|o| Done::Output(Value::Object(o)))
                .map_err(CardError::fatal),
        );
    }
    STEERING
        .contains(&card.kind.as_str())
        .then(|| steer(card, inputs, progress, now))
}

fn steer(
    card: &Card,
    inputs: &Map<String, Value>,
    progress: &Progress,
    now: DateTime<Utc>,
) -> Result<Done, CardError> {
    let text = |name: &str| -> Result<String, CardError> {
        match inputs.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(CardError::fatal(format!("{name}: has no value"))),
        }
    };
    let truth = |name: &str| -> Result<bool, CardError> {
        match inputs.get(name) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(CardError::fatal(format!(
                "{name}: expects true or false, got {other}"
            ))),
            None => Err(CardError::fatal(format!("{name}: has no value"))),
        }
    };
    match card.kind.as_str() {
        "flow.if_else" => Ok(Done::Lane(Some(if truth("condition")? { 0 } else { 1 }))),
        "flow.branch" => {
            for (index, lane) in card.lanes.iter().enumerate() {
                let holds = match &lane.condition {
                    Some(binding) => bind(binding, progress).map_err(CardError::fatal)?,
                    None => Value::Bool(false),
                };
                if holds == Value::Bool(true) {
                    return Ok(Done::Lane(Some(index)));
                }
            }
            Ok(Done::Lane(None))
        }
        "flow.continue_if" => {
            if truth("condition")? {
                Ok(Done::Output(json!({ "continued": true })))
            } else {
                Ok(Done::Stop(format!("{} \"Continue If\" was false", card.id)))
            }
        }
        "flow.return" => Ok(Done::Return(
            inputs.get("output").cloned().unwrap_or(Value::Null),
        )),
        "flow.raise_error" => Err(CardError::fatal(text("message")?)),
        "flow.wait" => {
            let seconds = inputs
                .get("seconds")
                .and_then(Value::as_f64)
                .unwrap_or(-1.0);
            if !(0.0..=30.0 * 86_400.0).contains(&seconds) {
                return Err(CardError::fatal("seconds: give 0 to 2,592,000 (30 days)"));
            }
            Ok(Done::Wait(Duration::milliseconds(
                (seconds * 1000.0) as i64,
            )))
        }
        "flow.lookup" => {
            let value = text("value")?;
            let pairs = inputs.get("pairs").and_then(Value::as_object);
            let found = pairs.and_then(|p| p.get(&value)).cloned();
            Ok(Done::Output(
                json!({ "output": found.or_else(|| inputs.get("default").cloned()) }),
            ))
        }
        "flow.pause" => {
            if let Some(Waiting::Resume {
                card: waited,
                input,
                resumed,
                ..
            }) = &progress.waiting
                && *waited == card.id.0
            {
                return Ok(Done::Output(
                    json!({ "input": input.clone().unwrap_or(Value::Null), "resumed": resumed }),
                ));
            }
            let until = match inputs.get("until") {
                None | Some(Value::Null) => now + MAX_PAUSE,
                Some(Value::String(s)) if s.trim().is_empty() => now + MAX_PAUSE,
                Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s.trim())
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        CardError::fatal(format!(
                            "until: {s:?} is not a date and time (such as 2026-12-01T09:00:00Z)"
                        ))
                    })?,
                Some(other) => {
                    return Err(CardError::fatal(format!(
                        "until: expects a date and time, got {other}"
                    )));
                }
            };
            if until > now + MAX_PAUSE {
                return Err(CardError::fatal(
                    "until: a Pause card waits at most 30 days",
                ));
            }
            if until <= now {
                return Ok(Done::Output(json!({ "input": null, "resumed": false })));
            }
            Ok(Done::Await(
                Waiting::Resume {
                    card: card.id.0,
                    input: None,
                    resumed: false,
                    since_ms: now.timestamp_millis(),
                },
                until,
            ))
        }
        "flow.close" => Ok(Done::Close(
            inputs.get("output").cloned().unwrap_or(Value::Null),
        )),
        other => Err(CardError::fatal(format!(
            "the {other:?} card is not one that steers a flow"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::Binding;

    fn card(kind: &str, inputs: &[(&str, Value)]) -> Card {
        let bound: Vec<(&str, Binding)> = inputs
            .iter()
            .map(|(k, v)| (*k, Binding::literal(v.clone())))
            .collect();
        Card::new(1, kind).with_inputs(&bound)
    }

    fn inputs(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn steer_now(kind: &str, given: &[(&str, Value)]) -> Option<Result<Done, CardError>> {
        let now = DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        run(
            &card(kind, given),
            &inputs(given),
            &Progress::new(json!({})),
            now,
        )
    }

    #[test]
    fn flow_control_decides_without_a_store() {
        assert!(matches!(
            steer_now("flow.if_else", &[("condition", json!(false))]),
            Some(Ok(Done::Lane(Some(1))))
        ));
        assert!(matches!(
            steer_now("flow.continue_if", &[("condition", json!(false))]),
            Some(Ok(Done::Stop(_)))
        ));
        assert!(matches!(
            steer_now("flow.return", &[("output", json!(7))]),
            Some(Ok(Done::Return(v))) if v == json!(7)
        ));
        let raised = steer_now("flow.raise_error", &[("message", json!("no manager"))]);
        assert!(matches!(raised, Some(Err(e)) if e.message == "no manager" && !e.retryable));
        assert!(matches!(
            steer_now("flow.wait", &[("seconds", json!(90))]),
            Some(Ok(Done::Wait(d))) if d == Duration::seconds(90)
        ));
        assert!(matches!(
            steer_now("flow.wait", &[("seconds", json!(-1))]),
            Some(Err(_))
        ));
        let looked = steer_now(
            "flow.lookup",
            &[
                ("value", json!("b")),
                ("pairs", json!({"a": 1})),
                ("default", json!(0)),
            ],
        );
        assert!(matches!(looked, Some(Ok(Done::Output(v))) if v == json!({"output": 0})));
        // A Pause until a time already past goes straight on; one far off is refused.
        let past = steer_now("flow.pause", &[("until", json!("2026-11-30T09:00:00Z"))]);
        assert!(matches!(past, Some(Ok(Done::Output(_)))));
        let far = steer_now("flow.pause", &[("until", json!("2027-06-01T09:00:00Z"))]);
        assert!(matches!(far, Some(Err(_))));
        let soon = steer_now("flow.pause", &[("until", json!("2026-12-02T09:00:00Z"))]);
        assert!(matches!(
            soon,
            Some(Ok(Done::Await(Waiting::Resume { .. }, _)))
        ));
    }

    #[test]
    fn cards_that_reach_outside_are_not_steered_here() {
        for kind in [
            "flow.call_flow",
            "flow.for_each",
            "directory.read_user",
            "tables.read_row",
        ] {
            assert!(steer_now(kind, &[]).is_none(), "{kind}");
        }
        assert!(matches!(
            steer_now("text.length", &[("text", json!("abc"))]),
            Some(Ok(Done::Output(_)))
        ));
    }
}
