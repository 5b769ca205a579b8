//! What a flow is, as data: a trigger card, then cards in order, left to right; logic
//! cards (If/Else, Branch) hold lanes of cards. Every card input is bound to a literal, a
//! mapping to an output field of the trigger or an earlier card, or a template.
//!
//! This module is pure and compiles to WASM: the builder edits these values in the
//! browser, the server validates and stores them (every save a new version), and the
//! engine runs them. What each card takes and gives is described once, in [`catalog`];
//! [`validate`] checks a flow against it and names each problem.

pub mod bundle;
pub mod catalog;
pub mod compare;
pub mod edit;
pub mod expressions;
pub mod functions;
pub mod needs;
pub mod sample;
pub mod templates;
pub mod validate;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A flow's id. v7, so ids sort by creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FlowId(pub Uuid);

impl FlowId {
    pub fn new() -> FlowId {
        FlowId(Uuid::now_v7())
    }
}

impl Default for FlowId {
    fn default() -> Self {
        FlowId::new()
    }
}

impl std::fmt::Display for FlowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A card's id, unique within its flow and stable across versions: mappings name the
/// card they read from by it, so moving a card never breaks them silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CardId(pub u32);

impl std::fmt::Display for CardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "card {}", self.0)
    }
}

/// A flow definition: everything a version holds. Whether the flow is on and which
/// folder it sits in belong to the flow, not to a version: turning it on or moving it
/// makes no new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default)]
    pub settings: FlowSettings,
    pub trigger: Trigger,
    /// The cards after the trigger, in order.
    #[serde(default)]
    pub cards: Vec<Card>,
}

/// How a flow's executions behave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowSettings {
    /// Keep each card's inputs and outputs in the history, not only status and timing.
    #[serde(default = "yes")]
    pub save_all_data: bool,
    /// At most this many executions of the flow run at once; more wait their turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// At most this many invocations per minute; past it, API callers get 429.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_minute: Option<u32>,
    /// A helper flow that runs when an execution fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_flow: Option<FlowId>,
    /// An execution running longer than this fails with a timeout.
    #[serde(default = "default_execution_timeout")]
    pub timeout_seconds: u32,
}

fn yes() -> bool {
    true
}

fn default_execution_timeout() -> u32 {
    3600
}

impl Default for FlowSettings {
    fn default() -> Self {
        FlowSettings {
            save_all_data: true,
            max_concurrent: None,
            max_per_minute: None,
            error_flow: None,
            timeout_seconds: default_execution_timeout(),
        }
    }
}

/// The card a flow starts with: which event, schedule or call starts it, and its options
/// (a filter, a cron line and time zone, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// A trigger's key in the catalog, such as `directory.user_deactivated`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, Binding>,
}

/// One card after the trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub id: CardId,
    /// The card's key in the catalog, such as `directory.remove_from_all_groups`.
    pub kind: String,
    /// What each input field is bound to, by the field's name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, Binding>,
    #[serde(default, skip_serializing_if = "OnError::is_default")]
    pub on_error: OnError,
    /// Per-card timeout; the catalog's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
    /// The admin's note on the card.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// For logic cards: their lanes (If/Else: then, else; Branch: one per case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lanes: Vec<Lane>,
}

/// A lane of cards inside a logic card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    /// "Then", "Else", or a Branch case's name.
    pub name: String,
    /// For a Branch case: the condition that picks this lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Binding>,
    #[serde(default)]
    pub cards: Vec<Card>,
}

/// What an input field gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Binding {
    /// A value typed into the card.
    Literal { value: Value },
    /// An output field of the trigger or of an earlier card, by its path
    /// (`user.email`).
    Mapping { from: Source, path: String },
    /// Text mixing literal parts and `{{ mappings }}`.
    Template { template: String },
}

/// Where a mapping reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Trigger,
    Card(CardId),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Trigger => f.write_str("the trigger"),
            Source::Card(id) => id.fmt(f),
        }
    }
}

/// What happens when a card fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "then", rename_all = "snake_case")]
pub enum OnError {
    /// The execution fails (the default).
    #[default]
    Stop,
    /// The card's outputs stay empty and the flow goes on.
    Continue,
    /// Try again up to `times` more times, with exponential backoff and jitter, then stop.
    Retry { times: u32 },
    /// Run the error lane's cards (with the error as input), then stop.
    ErrorLane { cards: Vec<Card> },
}

impl OnError {
    fn is_default(&self) -> bool {
        *self == OnError::Stop
    }
}

/// Whether a card of `kind` names a helper flow in its `flow` input: Call Flow, For
/// Each, and the Okta list cards (whose Stream mode hands each record to one).
pub fn names_helper_flow(kind: &str) -> bool {
    matches!(kind, "flow.call_flow" | "flow.for_each")
        || crate::okta::okta_card(kind).is_some_and(|c| c.streams())
}

impl Flow {
    /// A new, empty, disabled flow started by `trigger`.
    pub fn new(name: impl Into<String>, trigger: impl Into<String>) -> Flow {
        Flow {
            name: name.into(),
            description: String::new(),
            settings: FlowSettings::default(),
            trigger: Trigger {
                kind: trigger.into(),
                options: BTreeMap::new(),
            },
            cards: Vec::new(),
        }
    }

    /// Every card of the flow, lanes and error lanes included, depth first in the order
    /// they run.
    /// Whether a card of this flow uses the connection `id` (its `connection` input).
    pub fn uses_connection(&self, id: &str) -> bool {
        self.connection_references().iter().any(|named| named == id)
    }

    /// The connection ids its trigger and cards name, each once, in the order they come.
    pub fn connection_references(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        // An Okta trigger may name the connection whose Event Hook it listens to.
        let named = std::iter::once(&self.trigger.options)
            .chain(self.all_cards().into_iter().map(|card| &card.inputs));
        for inputs in named {
            if let Some(Binding::Literal { value }) = inputs.get("connection")
                && let Some(id) = value.as_str().map(str::trim).filter(|id| !id.is_empty())
                && !ids.iter().any(|known| known == id)
            {
                ids.push(id.to_string());
            }
        }
        ids
    }

    pub fn all_cards(&self) -> Vec<&Card> {
        fn walk<'a>(cards: &'a [Card], out: &mut Vec<&'a Card>) {
            for card in cards {
                out.push(card);
                for lane in &card.lanes {
                    walk(&lane.cards, out);
                }
                if let OnError::ErrorLane { cards } = &card.on_error {
                    walk(cards, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.cards, &mut out);
        out
    }

    /// Calls `change` on every card of the flow, lanes and error lanes included.
    pub fn for_each_card_mut(&mut self, mut change: impl FnMut(&mut Card)) {
        fn walk(cards: &mut [Card], change: &mut impl FnMut(&mut Card)) {
            for card in cards {
                change(card);
                for lane in &mut card.lanes {
                    walk(&mut lane.cards, change);
                }
                if let OnError::ErrorLane { cards } = &mut card.on_error {
                    walk(cards, change);
                }
            }
        }
        walk(&mut self.cards, &mut change);
    }

    /// The flows this one uses, as it names them, lowercased: the helper flow of each Call
    /// Flow or For Each card (an id or a name) and its error flow's id.
    pub fn helper_references(&self) -> Vec<String> {
        let mut references: Vec<String> = self
            .all_cards()
            .iter()
            .filter(|card| names_helper_flow(&card.kind))
            .filter_map(|card| match card.inputs.get("flow") {
                Some(Binding::Literal { value }) => value.as_str(),
                _ => None,
            })
            .map(|named| named.trim().to_lowercase())
            .collect();
        references.extend(self.settings.error_flow.map(|id| id.to_string()));
        references
    }

    /// The tables this flow's cards name (lowercased, as table names compare): every
    /// Tables card whose table is a literal.
    pub fn table_references(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .all_cards()
            .iter()
            .filter(|card| card.kind.starts_with("tables."))
            .filter_map(|card| match card.inputs.get("table") {
                Some(Binding::Literal { value }) => value.as_str(),
                _ => None,
            })
            .map(|named| named.trim().to_lowercase())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// An id no card of the flow has yet.
    pub fn next_card_id(&self) -> CardId {
        CardId(
            self.all_cards()
                .iter()
                .map(|c| c.id.0 + 1)
                .max()
                .unwrap_or(1),
        )
    }

    /// The flow as stable, diff-friendly JSON: keys sorted, two-space indents, one
    /// trailing newline.
    pub fn to_stable_json(&self) -> String {
        let value = serde_json::to_value(self).expect("a flow is plain data");
        let mut text = serde_json::to_string_pretty(&value).expect("a value serializes");
        text.push('\n');
        text
    }
}

impl Card {
    /// A card of `kind` with no inputs bound, stopping the execution when it fails.
    pub fn new(id: u32, kind: impl Into<String>) -> Card {
        Card {
            id: CardId(id),
            kind: kind.into(),
            inputs: BTreeMap::new(),
            on_error: OnError::Stop,
            timeout_seconds: None,
            note: String::new(),
            lanes: Vec::new(),
        }
    }

    /// The same card with these inputs bound, by field name.
    pub fn with_inputs(mut self, inputs: &[(&str, Binding)]) -> Card {
        self.inputs
            .extend(inputs.iter().map(|(name, b)| (name.to_string(), b.clone())));
        self
    }
}

impl Binding {
    pub fn literal(value: impl Into<Value>) -> Binding {
        Binding::Literal {
            value: value.into(),
        }
    }

    pub fn mapping(from: Source, path: impl Into<String>) -> Binding {
        Binding::Mapping {
            from,
            path: path.into(),
        }
    }

    pub fn template(template: impl Into<String>) -> Binding {
        Binding::Template {
            template: template.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offboarding() -> Flow {
        let mut flow = Flow::new("Offboarding", "directory.user_deactivated");
        flow.cards.push(Card {
            id: CardId(1),
            kind: "directory.remove_from_all_groups".into(),
            inputs: [(
                "user".to_string(),
                Binding::mapping(Source::Trigger, "user.id"),
            )]
            .into(),
            on_error: OnError::Retry { times: 3 },
            timeout_seconds: None,
            note: String::new(),
            lanes: vec![],
        });
        flow
    }

    #[test]
    fn a_flow_round_trips_through_stable_json() {
        let flow = offboarding();
        let json = flow.to_stable_json();
        let back: Flow = serde_json::from_str(&json).unwrap();
        assert_eq!(back, flow);
        // Stable: the same flow gives the same text, keys in order.
        assert_eq!(back.to_stable_json(), json);
        assert!(json.find("\"cards\"").unwrap() < json.find("\"name\"").unwrap());
        assert!(json.contains("\"then\": \"retry\""), "{json}");
    }

    #[test]
    fn card_ids_are_unique_across_lanes() {
        let mut flow = offboarding();
        flow.cards.push(Card {
            id: CardId(7),
            kind: "flow.if_else".into(),
            inputs: BTreeMap::new(),
            on_error: OnError::Stop,
            timeout_seconds: None,
            note: String::new(),
            lanes: vec![Lane {
                name: "Then".into(),
                condition: None,
                cards: vec![Card {
                    id: CardId(9),
                    kind: "flow.return".into(),
                    inputs: BTreeMap::new(),
                    on_error: OnError::Stop,
                    timeout_seconds: None,
                    note: String::new(),
                    lanes: vec![],
                }],
            }],
        });
        assert_eq!(flow.all_cards().len(), 3);
        assert_eq!(flow.next_card_id(), CardId(10));
    }
}
