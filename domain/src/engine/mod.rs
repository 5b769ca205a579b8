//! Executions as a state machine built from a flow definition.
//!
//! An execution's [`Progress`] is plain data: where it is (a cursor into the flow's cards
//! and lanes) and what each finished card gave. The runner stores it, with the finished
//! card's record, in one transaction as each card finishes; after a crash the execution
//! resumes from the stored progress, so a card whose completion was recorded never runs
//! again.
//!
//! This module decides; it does no I/O. Cards that touch the directory or tables run in
//! [`runner`] (server only).

pub mod control;
pub mod dry_run;
#[cfg(feature = "server")]
pub mod runner;
pub mod schedules;
#[cfg(feature = "server")]
pub mod triggers;
/// A user as cards and directory triggers give it.
#[cfg(feature = "server")]
pub use runner::directory::user_value;

use crate::flows::{Binding, Card, CardId, Flow, OnError, Source, expressions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExecutionId(pub Uuid);

impl ExecutionId {
    pub fn new() -> ExecutionId {
        ExecutionId(Uuid::now_v7())
    }
}

impl Default for ExecutionId {
    fn default() -> Self {
        ExecutionId::new()
    }
}

impl std::fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where an execution is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted, waiting for a worker (or for its retry time).
    Queued,
    /// A worker holds it.
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// Held by the blast-radius guard until an admin approves or cancels it.
    Paused,
    /// Waiting for its helper flows (Call Flow, For Each) to end, or for a Pause card's
    /// resume or time.
    Waiting,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::Paused => "paused",
            Status::Waiting => "waiting",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Status::Queued,
            Status::Running,
            Status::Succeeded,
            Status::Failed,
            Status::Cancelled,
            Status::Paused,
            Status::Waiting,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| format!("unknown execution status {s:?}"))
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an execution is: the path to the next card to run. Each level is a card's index
/// in its list; between levels, the lane index of the logic card above.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Cursor {
    /// `[card]`, `[card, lane, card]`, `[card, lane, card, lane, card]`, …
    pub path: Vec<usize>,
}

/// An execution's stored progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Progress {
    pub cursor: Cursor,
    /// What the trigger gave.
    pub trigger: Value,
    /// What each finished card gave, by card id.
    pub outputs: BTreeMap<u32, Value>,
    /// Attempts made at the card under the cursor (failures so far).
    pub attempt: u32,
    /// Set while an error lane runs: why the execution fails when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing: Option<String>,
    /// An admin approved it past the blast-radius guard.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approved: bool,
    /// The card under the cursor started helper flows or paused, and the execution waits
    /// for them (or for its resume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
    /// Milliseconds spent at Pause cards so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub paused_ms: i64,
    /// What a Close card answered the API caller with (the execution goes on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Value>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// What an execution waits for at the card under its cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "for", rename_all = "snake_case")]
pub enum Waiting {
    /// The helper flows that card `card` started on its attempt `attempt` (Call Flow: one;
    /// For Each: one per item).
    Children {
        card: u32,
        attempt: u32,
        count: usize,
    },
    /// A Pause card: resumed through the API (with `input`), or by its time.
    Resume {
        card: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<Value>,
        #[serde(default)]
        resumed: bool,
        /// When the pause began (milliseconds since 1970): paused time does not count
        /// against the execution's time limit.
        since_ms: i64,
    },
    /// An Okta list card in Stream mode: the helper executions it started for the records
    /// of the pages read so far; `next` is the page it reads once they have ended.
    Stream {
        card: u32,
        /// The page to read next (`Link: rel="next"`), `None` after the last.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
        /// Records streamed so far (the next record's index).
        started: usize,
        /// The index of the current page's first record.
        page_from: usize,
        pages: usize,
        /// Helper executions that did not succeed so far, and the first few reasons.
        #[serde(default, skip_serializing_if = "is_zero_usize")]
        failed: usize,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        failures: Vec<String>,
    },
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}

/// The deduplication key of the helper execution a Stream card of `parent` starts for
/// `record` (its Okta id, or its place in the stream): reading a page again after a
/// crash or a retry starts nothing twice.
pub fn stream_key(parent: ExecutionId, card: u32, record: &str) -> String {
    format!("stream:{parent}:{card}:{record}")
}

/// The deduplication key of the helper execution that card `card` of `parent` starts on
/// attempt `attempt` for item `index`: starting it again after a crash starts nothing.
pub fn child_key(parent: ExecutionId, card: u32, attempt: u32, index: usize) -> String {
    format!("call:{parent}:{card}:{attempt}:{index}")
}

/// The blast-radius guard: a flow that would deactivate, suspend or remove more users
/// than this within the window pauses for an admin's approval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlastRadius {
    /// At most this many users…
    pub max_users: u32,
    /// …or this share of the directory, when it has at least 100 users…
    pub max_percent: u32,
    /// …within this window.
    pub window: chrono::Duration,
}

impl Default for BlastRadius {
    fn default() -> Self {
        BlastRadius {
            max_users: 25,
            max_percent: 10,
            window: chrono::Duration::hours(1),
        }
    }
}

impl BlastRadius {
    /// Whether one more destructive change, after `done` in the window, passes the guard in
    /// a directory of `directory` users.
    pub fn allows(&self, done: i64, directory: i64) -> bool {
        let by_count = done < i64::from(self.max_users);
        let by_share = directory < 100 || done * 100 < directory * i64::from(self.max_percent);
        by_count && by_share
    }
}

/// How an execution ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Ending {
    /// Every card ran, or Return or Continue If ended it early; with Return's output.
    Succeeded {
        output: Value,
        note: Option<String>,
    },
    Failed {
        reason: String,
    },
}

impl Progress {
    pub fn new(trigger: Value) -> Progress {
        Progress {
            cursor: Cursor { path: vec![0] },
            trigger,
            outputs: BTreeMap::new(),
            attempt: 0,
            failing: None,
            approved: false,
            waiting: None,
            paused_ms: 0,
            closed: None,
        }
    }

    /// The values templates see: `trigger`, and `card_N` per finished card (borrowed:
    /// nothing is copied to evaluate a template).
    pub fn scope(&self) -> Scope<'_> {
        Scope(self)
    }
}

/// What templates see of an execution: an object of `trigger` and `card_N` per finished
/// card, serialized straight from its [`Progress`].
pub struct Scope<'p>(&'p Progress);

impl Serialize for Scope<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let progress = self.0;
        let mut map = serializer.serialize_map(Some(1 + progress.outputs.len()))?;
        map.serialize_entry("trigger", &progress.trigger)?;
        for (id, output) in &progress.outputs {
            map.serialize_entry(&format_args!("card_{id}"), output)?;
        }
        map.end()
    }
}

/// The card under `cursor` in `flow`, if any.
pub fn card_at<'f>(flow: &'f Flow, cursor: &Cursor) -> Option<&'f Card> {
    let mut cards = &flow.cards;
    let mut path = cursor.path.iter();
    let mut card = cards.get(*path.next()?)?;
    while let Some(lane) = path.next() {
        cards = lane_cards(card, *lane)?;
        card = cards.get(*path.next()?)?;
    }
    Some(card)
}

/// The lane index that stands for a card's error lane in a [`Cursor`].
pub const ERROR_LANE: usize = usize::MAX;

fn lane_cards(card: &Card, lane: usize) -> Option<&Vec<Card>> {
    if lane == ERROR_LANE {
        match &card.on_error {
            OnError::ErrorLane { cards } => Some(cards),
            _ => None,
        }
    } else {
        card.lanes.get(lane).map(|l| &l.cards)
    }
}

/// Enters the error lane of the card under the cursor. `false` when it has none (or it
/// is empty).
pub fn enter_error_lane(flow: &Flow, cursor: &mut Cursor) -> bool {
    let Some(card) = card_at(flow, cursor) else {
        return false;
    };
    if lane_cards(card, ERROR_LANE).is_none_or(|cards| cards.is_empty()) {
        return false;
    }
    cursor.path.push(ERROR_LANE);
    cursor.path.push(0);
    true
}

/// Moves past the card under the cursor: to its next sibling, or out of a finished lane
/// to the card after the logic card that held it. `false` when the flow is done.
pub fn advance(flow: &Flow, cursor: &mut Cursor) -> bool {
    loop {
        let Some(last) = cursor.path.last_mut() else {
            return false;
        };
        *last += 1;
        if card_at(flow, cursor).is_some() {
            return true;
        }
        // Past the end of this list: leave the lane (drop the card index and lane index).
        if cursor.path.len() == 1 {
            return false;
        }
        let lane = cursor.path[cursor.path.len() - 2];
        cursor.path.truncate(cursor.path.len() - 2);
        // After an error lane the execution stops: the card it handled failed.
        if lane == ERROR_LANE {
            return false;
        }
    }
}

/// Enters lane `lane` of the logic card under the cursor. `false` when the lane is empty
/// (the cursor then stays on the logic card).
pub fn enter_lane(flow: &Flow, cursor: &mut Cursor, lane: usize) -> bool {
    let Some(card) = card_at(flow, cursor) else {
        return false;
    };
    if card.lanes.get(lane).is_none_or(|l| l.cards.is_empty()) {
        return false;
    }
    cursor.path.push(lane);
    cursor.path.push(0);
    true
}

/// Reads `path` (`user.email`, `groups.0.name`) below `value`.
pub fn value_at<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = value;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        current = match current {
            Value::Object(o) => o.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// A binding's value in an execution: the literal, the mapped field, or the rendered
/// template. A mapped field that has no value is empty (null); a template naming one is
/// an error.
pub fn bind(binding: &Binding, progress: &Progress) -> Result<Value, String> {
    match binding {
        Binding::Literal { value } => Ok(value.clone()),
        Binding::Mapping { from, path } => {
            let source = match from {
                Source::Trigger => Some(&progress.trigger),
                Source::Card(id) => progress.outputs.get(&id.0),
            };
            Ok(source
                .and_then(|s| value_at(s, path))
                .cloned()
                .unwrap_or(Value::Null))
        }
        Binding::Template { template } => match single_expression(template) {
            // `{{ expr }}` alone keeps its value's type (a condition stays true/false).
            Some(expression) => expressions::evaluate(expression, &progress.scope()),
            None => expressions::render(template, &progress.scope()).map(Value::String),
        },
    }
}

/// The expression of a template that is exactly one `{{ … }}` and nothing else.
fn single_expression(template: &str) -> Option<&str> {
    let inner = template.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then_some(inner)
}

/// A card's inputs, bound; or the first input that could not be. Inputs bound field by
/// field (`row.email`, `row.when`) arrive as one object (`row`), on top of the object
/// bound whole, if any.
pub fn inputs_of(card: &Card, progress: &Progress) -> Result<Map<String, Value>, String> {
    let mut inputs = Map::new();
    let mut fields = Vec::new();
    for (name, binding) in &card.inputs {
        let value = bind(binding, progress).map_err(|e| format!("{name}: {e}"))?;
        match name.split_once('.') {
            Some((root, path)) => fields.push((root, path, value)),
            None => {
                inputs.insert(name.clone(), value);
            }
        }
    }
    for (root, path, value) in fields {
        let mut at = inputs
            .entry(root.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        for part in path.split('.') {
            if !at.is_object() {
                return Err(format!(
                    "{root}: is not an object, so {root}.{path} cannot be set"
                ));
            }
            at = at
                .as_object_mut()
                .expect("checked to be an object")
                .entry(part.to_string())
                .or_insert(Value::Null);
        }
        *at = value;
    }
    Ok(inputs)
}

/// What the card an execution stopped at would do to users, when it is one the
/// blast-radius guard counts (deactivate, suspend, remove): its id and kind, and the
/// users its `user` input names as bound now. `None` for any other card.
pub fn users_at_stake(flow: &Flow, progress: &Progress) -> Option<(CardId, String, Vec<String>)> {
    let card = card_at(flow, &progress.cursor)?;
    let spec = crate::flows::catalog::catalog().get(&card.kind)?;
    if !spec.destructive {
        return None;
    }
    let users = match card.inputs.get("user").map(|b| bind(b, progress)) {
        Some(Ok(Value::String(user))) => vec![user],
        Some(Ok(Value::Array(users))) => users
            .iter()
            .filter_map(|u| u.as_str().map(str::to_string))
            .collect(),
        Some(Ok(Value::Null)) | None => Vec::new(),
        Some(Ok(other)) => vec![other.to_string()],
        Some(Err(why)) => vec![format!("(cannot tell: {why})")],
    };
    Some((card.id, card.kind.clone(), users))
}

/// What a card's failure leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterFailure {
    /// Try the card again after this many milliseconds.
    RetryIn(u64),
    /// Record the failure and go on to the next card, the card's outputs empty.
    Continue,
    /// Run the card's error lane, then fail.
    ErrorLane,
    /// The execution fails.
    Fail,
}

/// The delay before retry number `attempt` (1-based): exponential from one second,
/// capped at five minutes, with up to 25% jitter taken from `jitter` (0.0–1.0).
pub fn backoff_ms(attempt: u32, jitter: f64) -> u64 {
    let base = 1_000u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(16));
    let capped = base.min(300_000);
    capped + (capped as f64 * 0.25 * jitter.clamp(0.0, 1.0)) as u64
}

/// The longest a retry waits for a service that asked for more (`Retry-After`): one hour.
pub const LONGEST_RETRY_AFTER_MS: u64 = 3_600_000;

/// Decides what a failure of `card` leads to, given the attempts already made
/// (`attempt`, counting this one), whether the error could pass on retry, and how long
/// the other side asked to be left alone (`retry_after_ms`: the retry waits at least that,
/// up to [`LONGEST_RETRY_AFTER_MS`]).
pub fn after_failure(
    card: &Card,
    attempt: u32,
    error: &control::CardError,
    jitter: f64,
) -> AfterFailure {
    match &card.on_error {
        OnError::Retry { times } if error.retryable && attempt <= *times => {
            let asked = error
                .retry_after_ms
                .unwrap_or(0)
                .min(LONGEST_RETRY_AFTER_MS);
            AfterFailure::RetryIn(backoff_ms(attempt, jitter).max(asked))
        }
        OnError::Continue => AfterFailure::Continue,
        OnError::ErrorLane { cards } if !cards.is_empty() => AfterFailure::ErrorLane,
        _ => AfterFailure::Fail,
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests_with_a_store;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::{CardId, Lane};
    use serde_json::json;

    fn card(id: u32, kind: &str) -> Card {
        Card::new(id, kind)
    }

    fn with_lanes() -> Flow {
        let mut flow = Flow::new("Lanes", "trigger.manual");
        let mut branch = card(2, "flow.if_else");
        branch.lanes = vec![
            Lane {
                name: "Then".into(),
                condition: None,
                cards: vec![card(3, "text.trim"), card(4, "text.trim")],
            },
            Lane {
                name: "Else".into(),
                condition: None,
                cards: vec![],
            },
        ];
        flow.cards = vec![card(1, "text.trim"), branch, card(5, "text.trim")];
        flow
    }

    #[test]
    fn the_cursor_walks_into_lanes_and_out_again() {
        let flow = with_lanes();
        let mut cursor = Cursor { path: vec![0] };
        let mut visited = vec![card_at(&flow, &cursor).unwrap().id.0];
        assert!(advance(&flow, &mut cursor));
        assert_eq!(card_at(&flow, &cursor).unwrap().id.0, 2);
        assert!(enter_lane(&flow, &mut cursor, 0));
        visited.push(card_at(&flow, &cursor).unwrap().id.0);
        while advance(&flow, &mut cursor) {
            visited.push(card_at(&flow, &cursor).unwrap().id.0);
        }
        assert_eq!(visited, [1, 3, 4, 5]);
        // An empty lane is not entered.
        let mut at_branch = Cursor { path: vec![1] };
        assert!(!enter_lane(&flow, &mut at_branch, 1));
        assert_eq!(at_branch.path, vec![1]);
    }

    #[test]
    fn object_inputs_bound_field_by_field_arrive_as_one_object() {
        let progress = Progress::new(json!({"user": {"email": "ada@example.com"}}));
        let card = card(2, "tables.create_row").with_inputs(&[
            ("table", Binding::literal("offboarded")),
            (
                "row",
                Binding::literal(json!({"source": "flow", "email": "old"})),
            ),
            ("row.email", Binding::mapping(Source::Trigger, "user.email")),
            ("row.when", Binding::literal("now")),
        ]);
        let inputs = inputs_of(&card, &progress).unwrap();
        assert_eq!(
            inputs["row"],
            json!({"source": "flow", "email": "ada@example.com", "when": "now"})
        );
        assert_eq!(inputs["table"], "offboarded");
        assert!(!inputs.contains_key("row.email"));
        // A field of something that is not an object cannot be set.
        let bad = card.with_inputs(&[("table.x", Binding::literal(1))]);
        assert!(inputs_of(&bad, &progress).unwrap_err().contains("table"));
    }

    #[test]
    fn bindings_read_the_trigger_and_earlier_cards() {
        let mut progress = Progress::new(
            json!({"user": {"email": "ada@example.com", "groups": [{"name": "IT"}]}}),
        );
        progress.outputs.insert(1, json!({"output": 3}));
        assert_eq!(
            bind(
                &Binding::mapping(Source::Trigger, "user.groups.0.name"),
                &progress
            )
            .unwrap(),
            "IT"
        );
        assert_eq!(
            bind(
                &Binding::mapping(Source::Card(CardId(1)), "output"),
                &progress
            )
            .unwrap(),
            3
        );
        assert_eq!(
            bind(
                &Binding::mapping(Source::Card(CardId(9)), "output"),
                &progress
            )
            .unwrap(),
            Value::Null
        );
        assert_eq!(
            bind(
                &Binding::template("{{ trigger.user.email }} / {{ card_1.output }}"),
                &progress
            )
            .unwrap(),
            "ada@example.com / 3"
        );
        assert!(bind(&Binding::template("{{ card_9.output }}"), &progress).is_err());
        // A template that is one expression keeps its type.
        assert_eq!(
            bind(&Binding::template("{{ card_1.output > 2 }}"), &progress).unwrap(),
            true
        );
        assert_eq!(
            bind(&Binding::template(" {{ card_1.output }} "), &progress).unwrap(),
            3
        );
    }

    #[test]
    fn the_blast_radius_guard_counts_users_and_share() {
        let guard = BlastRadius {
            max_users: 25,
            max_percent: 10,
            window: chrono::Duration::hours(1),
        };
        assert!(guard.allows(24, 10));
        assert!(!guard.allows(25, 10_000));
        assert!(guard.allows(19, 200));
        assert!(!guard.allows(20, 200), "10% of 200");
    }

    #[test]
    fn failures_follow_the_card_policy() {
        let passing = control::CardError {
            message: "busy".into(),
            retryable: true,
            retry_after_ms: None,
        };
        let fatal = control::CardError::fatal("no");
        let mut c = card(1, "directory.read_user");
        assert_eq!(after_failure(&c, 1, &passing, 0.0), AfterFailure::Fail);
        c.on_error = OnError::Retry { times: 2 };
        assert_eq!(
            after_failure(&c, 1, &passing, 0.0),
            AfterFailure::RetryIn(1_000)
        );
        assert_eq!(
            after_failure(&c, 2, &passing, 1.0),
            AfterFailure::RetryIn(2_500)
        );
        assert_eq!(after_failure(&c, 3, &passing, 0.0), AfterFailure::Fail);
        assert_eq!(
            after_failure(&c, 1, &fatal, 0.0),
            AfterFailure::Fail,
            "a fatal error is not retried"
        );
        // A service that asks for a longer wait gets it, up to an hour; a shorter ask
        // does not shorten the backoff.
        let asked = |ms| control::CardError {
            retry_after_ms: Some(ms),
            ..passing.clone()
        };
        assert_eq!(
            after_failure(&c, 1, &asked(30_000), 0.0),
            AfterFailure::RetryIn(30_000)
        );
        assert_eq!(
            after_failure(&c, 2, &asked(10), 0.0),
            AfterFailure::RetryIn(2_000)
        );
        assert_eq!(
            after_failure(&c, 1, &asked(86_400_000), 0.0),
            AfterFailure::RetryIn(LONGEST_RETRY_AFTER_MS)
        );
        c.on_error = OnError::Continue;
        assert_eq!(after_failure(&c, 1, &fatal, 0.0), AfterFailure::Continue);
        assert_eq!(backoff_ms(30, 0.0), 300_000);
    }
}
