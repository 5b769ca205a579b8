//! Checks a flow against the card catalog and names each problem the way the builder
//! shows it on a card: a required input left unmapped, a mapping to a card that does not
//! come before it or to a field that no longer exists, a value of the wrong type, lanes
//! that do not fit their card.
//!
//! A card sees the trigger and the cards before it: in its own lane, and before the logic
//! card that holds its lane (and so on outwards). Cards inside another lane, or inside a
//! lane of an earlier logic card, are not visible: whether they ran depends on a condition.

use super::catalog::{CardRole, CardSpec, Catalog, FieldType, Lanes};
use super::{Binding, Card, CardId, Flow, OnError, Source};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// The longest template idflow accepts, in characters.
pub const MAX_TEMPLATE_LENGTH: usize = 10_000;

/// Where a problem is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    Flow,
    Trigger,
    Card(CardId),
}

/// One problem, with a sentence an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub at: Place,
    /// The input field it concerns, if one.
    pub input: Option<String>,
    pub kind: ProblemKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    MissingName,
    UnknownCard,
    MisplacedTrigger,
    DuplicateCardId,
    UnknownInput,
    RequiredInputUnmapped,
    MappingToUnseenCard,
    MappingToMissingField,
    TypeMismatch,
    BadTemplate,
    WrongLanes,
    SelfTriggering,
}

struct Checker<'c> {
    catalog: &'c Catalog,
    problems: Vec<Problem>,
    seen_ids: HashSet<CardId>,
}

impl Checker<'_> {
    fn report(&mut self, at: Place, input: Option<&str>, kind: ProblemKind, message: String) {
        self.problems.push(Problem {
            at,
            input: input.map(str::to_string),
            kind,
            message,
        });
    }

    /// The type a mapping yields, or the problem with it.
    fn mapped_type(
        &self,
        trigger: Option<&CardSpec>,
        visible: &[&Card],
        from: Source,
        path: &str,
    ) -> Result<FieldType, (ProblemKind, String)> {
        let (spec, name) = match from {
            Source::Trigger => match trigger {
                Some(t) => (t, "the trigger".to_string()),
                // The trigger itself is reported; its mappings are not checked further.
                None => return Ok(FieldType::Any),
            },
            Source::Card(id) => {
                let Some(card) = visible.iter().find(|c| c.id == id) else {
                    return Err((
                        ProblemKind::MappingToUnseenCard,
                        format!(
                            "maps {id}, which does not come before this card (it was removed, moved after it, or is inside another lane)"
                        ),
                    ));
                };
                // Inside its error lane, a failed card gives what went wrong.
                if path == "error" && matches!(card.on_error, OnError::ErrorLane { .. }) {
                    return Ok(FieldType::Text);
                }
                match self.catalog.get(&card.kind) {
                    Some(spec) => (spec, format!("\"{}\" ({id})", spec.name)),
                    None => return Ok(FieldType::Any),
                }
            }
        };
        spec.output_at(path).ok_or_else(|| {
            (
                ProblemKind::MappingToMissingField,
                format!("maps {path:?} of {name}, which has no such field (any more)"),
            )
        })
    }

    fn check_binding(
        &mut self,
        at: Place,
        field: &str,
        expected: &FieldType,
        binding: &Binding,
        trigger: Option<&CardSpec>,
        visible: &[&Card],
    ) {
        match binding {
            Binding::Literal { value } => {
                if !literal_fits(expected, value) {
                    self.report(
                        at,
                        Some(field),
                        ProblemKind::TypeMismatch,
                        format!(
                            "expects {}, and the value typed is not one",
                            expected.label()
                        ),
                    );
                }
            }
            Binding::Mapping { from, path } => {
                match self.mapped_type(trigger, visible, *from, path) {
                    Ok(got) if expected.accepts(&got) => {}
                    Ok(got) => self.report(
                        at,
                        Some(field),
                        ProblemKind::TypeMismatch,
                        format!(
                            "expects {}, and {path:?} gives {}",
                            expected.label(),
                            got.label()
                        ),
                    ),
                    Err((kind, message)) => self.report(at, Some(field), kind, message),
                }
            }
            Binding::Template { template } => {
                if template.chars().count() > MAX_TEMPLATE_LENGTH {
                    self.report(
                        at,
                        Some(field),
                        ProblemKind::BadTemplate,
                        format!("is a template longer than {MAX_TEMPLATE_LENGTH} characters"),
                    );
                    return;
                }
                match template_references(template) {
                    Err(message) => self.report(at, Some(field), ProblemKind::BadTemplate, message),
                    Ok(references) => {
                        for (from, path) in references {
                            if let Err((kind, message)) =
                                self.mapped_type(trigger, visible, from, &path)
                            {
                                self.report(at.clone(), Some(field), kind, message);
                            }
                        }
                    }
                }
            }
        }
    }

    fn check_cards<'f>(
        &mut self,
        cards: &'f [Card],
        trigger: Option<&CardSpec>,
        visible: &mut Vec<&'f Card>,
    ) {
        for card in cards {
            self.check_card(card, trigger, visible);
            visible.push(card);
        }
    }

    fn check_card<'f>(&mut self, card: &'f Card, trigger: Option<&CardSpec>, visible: &[&'f Card]) {
        let at = Place::Card(card.id);
        if !self.seen_ids.insert(card.id) {
            self.report(
                at.clone(),
                None,
                ProblemKind::DuplicateCardId,
                format!("{} appears more than once in the flow", card.id),
            );
        }
        let Some(spec) = self.catalog.get(&card.kind) else {
            self.report(
                at,
                None,
                ProblemKind::UnknownCard,
                format!("is a {:?} card, which this idflow does not have", card.kind),
            );
            return;
        };
        if spec.role == CardRole::Trigger {
            self.report(
                at.clone(),
                None,
                ProblemKind::MisplacedTrigger,
                format!("\"{}\" is a trigger; it can only start a flow", spec.name),
            );
        }
        for (name, binding) in &card.inputs {
            match spec.input_type(name) {
                Some(expected) => {
                    self.check_binding(at.clone(), name, &expected, binding, trigger, visible)
                }
                None => self.report(
                    at.clone(),
                    Some(name),
                    ProblemKind::UnknownInput,
                    format!("\"{}\" has no input {name:?}", spec.name),
                ),
            }
        }
        for input in spec.inputs.iter().filter(|i| i.required) {
            // An object input is bound whole, or field by field (`row.email`).
            let fields = format!("{}.", input.name);
            if !card
                .inputs
                .keys()
                .any(|k| *k == input.name || k.starts_with(&fields))
            {
                self.report(
                    at.clone(),
                    Some(&input.name),
                    ProblemKind::RequiredInputUnmapped,
                    format!(
                        "needs \"{}\": map a field to it or type a value",
                        input.label
                    ),
                );
            }
        }
        self.check_lanes(card, spec, trigger, visible);
        if let OnError::ErrorLane { cards } = &card.on_error {
            // The error lane sees the card that failed (its `error`).
            let mut inner = visible.to_vec();
            inner.push(card);
            self.check_cards(cards, trigger, &mut inner);
        }
    }

    fn check_lanes<'f>(
        &mut self,
        card: &'f Card,
        spec: &CardSpec,
        trigger: Option<&CardSpec>,
        visible: &[&'f Card],
    ) {
        let at = Place::Card(card.id);
        let names: Vec<&str> = card.lanes.iter().map(|l| l.name.as_str()).collect();
        match spec.lanes {
            Lanes::None if !card.lanes.is_empty() => self.report(
                at.clone(),
                None,
                ProblemKind::WrongLanes,
                format!("\"{}\" holds no lanes", spec.name),
            ),
            Lanes::Fixed(expected) if names != expected => self.report(
                at.clone(),
                None,
                ProblemKind::WrongLanes,
                format!(
                    "\"{}\" holds the lanes {}",
                    spec.name,
                    expected.join(" and ")
                ),
            ),
            Lanes::Cases if card.lanes.is_empty() => self.report(
                at.clone(),
                None,
                ProblemKind::WrongLanes,
                format!("\"{}\" needs at least one case", spec.name),
            ),
            _ => {}
        }
        for lane in &card.lanes {
            match (&spec.lanes, &lane.condition) {
                (Lanes::Cases, None) => self.report(
                    at.clone(),
                    None,
                    ProblemKind::RequiredInputUnmapped,
                    format!("the case {:?} needs a condition", lane.name),
                ),
                (Lanes::Cases, Some(condition)) => {
                    let field = format!("case {}", lane.name);
                    self.check_binding(
                        at.clone(),
                        &field,
                        &FieldType::Boolean,
                        condition,
                        trigger,
                        visible,
                    )
                }
                _ => {}
            }
            let mut inner = visible.to_vec();
            self.check_cards(&lane.cards, trigger, &mut inner);
        }
    }
}

/// Whether a typed value fits a field of type `ty`.
fn literal_fits(ty: &FieldType, value: &Value) -> bool {
    match (ty, value) {
        (_, Value::Null) | (FieldType::Any, _) => true,
        (FieldType::Text, Value::String(_) | Value::Number(_) | Value::Bool(_)) => true,
        (FieldType::Number, Value::Number(_)) => true,
        (FieldType::Boolean, Value::Bool(_)) => true,
        (FieldType::DateTime, Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        (FieldType::Object { .. }, Value::Object(_)) => true,
        (FieldType::List { of }, Value::Array(items)) => items.iter().all(|i| literal_fits(of, i)),
        _ => false,
    }
}

/// The mappings a template names: `{{ trigger.user.email }}` or `{{ card_3.output }}`,
/// optionally followed by a filter (`| upper`), or inside a larger expression
/// (`{{ 'Engineer' in trigger.user.title }}`). A part that is only a name must name the
/// trigger or a card.
pub fn template_references(template: &str) -> Result<Vec<(Source, String)>, String> {
    let mut references = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("has a \"{{\" without its \"}}\"".into());
        };
        let expression = after[..end].trim();
        let reference = expression.split('|').next().unwrap_or("").trim();
        if is_dotted_name(reference) {
            references.push(reference_of(reference)?);
        } else {
            for name in names_in(expression) {
                if let Ok(found) = reference_of(&name) {
                    references.push(found);
                }
            }
        }
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        return Err("has a \"}}\" without its \"{{\"".into());
    }
    Ok(references)
}

fn is_dotted_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with(|c: char| c.is_ascii_digit())
        && text.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// The dotted names in an expression, outside quoted strings.
fn names_in(expression: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    for c in expression.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                current.clear();
            }
            None if c.is_ascii_alphanumeric() || c == '_' || c == '.' => current.push(c),
            None => {
                if is_dotted_name(&current) {
                    names.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    if quote.is_none() && is_dotted_name(&current) {
        names.push(current);
    }
    names
}

/// The mapping a dotted name stands for: `trigger.<path>` or `card_<n>.<path>`.
fn reference_of(reference: &str) -> Result<(Source, String), String> {
    let (root, path) = reference.split_once('.').unwrap_or((reference, ""));
    let from = if root == "trigger" {
        Source::Trigger
    } else if let Some(n) = root.strip_prefix("card_").and_then(|n| n.parse().ok()) {
        Source::Card(CardId(n))
    } else {
        return Err(format!(
            "names {reference:?} in a template; use trigger.<field> or card_<number>.<field>"
        ));
    };
    if path.is_empty() {
        return Err(format!("names {root:?} in a template without a field"));
    }
    Ok((from, path.to_string()))
}

/// Every problem of `flow` against `catalog`, in the order the cards run. No problems:
/// the flow can be turned on.
pub fn validate(flow: &Flow, catalog: &Catalog) -> Vec<Problem> {
    let mut checker = Checker {
        catalog,
        problems: Vec::new(),
        seen_ids: HashSet::new(),
    };
    if flow.name.trim().is_empty() {
        checker.report(
            Place::Flow,
            None,
            ProblemKind::MissingName,
            "needs a name".into(),
        );
    }
    let trigger = match catalog.get(&flow.trigger.kind) {
        Some(spec) if spec.role == CardRole::Trigger => Some(spec),
        Some(spec) => {
            checker.report(
                Place::Trigger,
                None,
                ProblemKind::MisplacedTrigger,
                format!("\"{}\" cannot start a flow; choose a trigger", spec.name),
            );
            None
        }
        None => {
            checker.report(
                Place::Trigger,
                None,
                ProblemKind::UnknownCard,
                format!(
                    "is a {:?} trigger, which this idflow does not have",
                    flow.trigger.kind
                ),
            );
            None
        }
    };
    if let Some(spec) = trigger {
        for (name, binding) in &flow.trigger.options {
            match spec.input(name) {
                Some(input) => {
                    let expected = input.ty.clone();
                    checker.check_binding(Place::Trigger, name, &expected, binding, None, &[])
                }
                None => checker.report(
                    Place::Trigger,
                    Some(name),
                    ProblemKind::UnknownInput,
                    format!("\"{}\" has no option {name:?}", spec.name),
                ),
            }
        }
        for input in spec.inputs.iter().filter(|i| i.required) {
            if !flow.trigger.options.contains_key(&input.name) {
                checker.report(
                    Place::Trigger,
                    Some(&input.name),
                    ProblemKind::RequiredInputUnmapped,
                    format!("needs \"{}\"", input.label),
                );
            }
        }
    }
    if flow.trigger.kind == "trigger.scheduled"
        && flow.trigger.options.contains_key("cron")
        && let Err(message) = check_schedule(flow)
    {
        checker.report(
            Place::Trigger,
            Some("cron"),
            ProblemKind::TypeMismatch,
            message,
        );
    }
    let mut visible = Vec::new();
    checker.check_cards(&flow.cards, trigger, &mut visible);
    checker.problems
}

/// Whether a Scheduled trigger's cron line and time zone can be read.
fn check_schedule(flow: &Flow) -> Result<(), String> {
    let text = |name: &str| match flow.trigger.options.get(name) {
        Some(Binding::Literal {
            value: Value::String(s),
        }) => Some(s.trim().to_string()),
        _ => None,
    };
    let line = text("cron").unwrap_or_default();
    line.parse::<croner::Cron>()
        .map_err(|e| format!("the cron line {line:?} is not valid ({e})"))?;
    if let Some(zone) = text("time_zone").filter(|z| !z.is_empty()) {
        zone.parse::<chrono_tz::Tz>()
            .map_err(|_| format!("{zone:?} is not a time zone (such as Europe/Paris)"))?;
    }
    Ok(())
}

mod loops;
pub use loops::{Neighbour, fed_triggers, loops, self_triggering};

#[cfg(test)]
mod tests;
