//! What changed between two versions of a flow, as an admin reads it: the trigger and
//! settings, and card by card (matched by their ids, lanes included) which were added,
//! removed, moved, or had their action, inputs and mappings, error handling or note
//! changed. The versions page shows it when two versions are compared.

use super::catalog::catalog;
use super::{Binding, Card, Flow, OnError, Source};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One difference, in a sentence, with the card it is about (none: the flow itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// "Card 3 · Create Row", or "Flow" for the flow's own fields.
    pub subject: String,
    pub kind: ChangeKind,
    /// What changed, from the older to the newer version.
    pub details: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// A binding as the builder shows it: a literal's JSON, a mapping's source and path, a
/// template's text.
pub fn describe(binding: &Binding) -> String {
    match binding {
        Binding::Literal { value } => value.to_string(),
        Binding::Mapping { from, path } => match from {
            Source::Trigger => format!("mapped from the trigger's {path}"),
            Source::Card(id) => format!("mapped from card {}'s {path}", id.0),
        },
        Binding::Template { template } => format!("template {template:?}"),
    }
}

fn card_name(card: &Card) -> String {
    let name = catalog()
        .get(&card.kind)
        .map_or_else(|| card.kind.clone(), |spec| spec.name.to_string());
    format!("Card {} · {name}", card.id.0)
}

fn on_error(on_error: &OnError) -> String {
    match on_error {
        OnError::Stop => "stop".into(),
        OnError::Continue => "continue".into(),
        OnError::Retry { times } => format!("retry {times} times"),
        OnError::ErrorLane { cards } => format!("error lane of {} cards", cards.len()),
    }
}

/// Where each card is: its lane path ("main", "If/Else 2 › true") and place in it.
fn places(flow: &Flow) -> BTreeMap<u32, (String, usize)> {
    fn walk(cards: &[Card], lane: &str, out: &mut BTreeMap<u32, (String, usize)>) {
        for (n, card) in cards.iter().enumerate() {
            out.insert(card.id.0, (lane.to_string(), n + 1));
            for inner in &card.lanes {
                walk(
                    &inner.cards,
                    &format!("card {}'s lane {:?}", card.id.0, inner.name),
                    out,
                );
            }
            if let OnError::ErrorLane { cards } = &card.on_error {
                walk(cards, &format!("card {}'s error lane", card.id.0), out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&flow.cards, "the main row", &mut out);
    out
}

fn inputs_changes(old: &BTreeMap<String, Binding>, new: &BTreeMap<String, Binding>) -> Vec<String> {
    let mut details = Vec::new();
    for (name, binding) in new {
        match old.get(name) {
            None => details.push(format!("{name}: set to {}", describe(binding))),
            Some(was) if was != binding => {
                details.push(format!("{name}: {} → {}", describe(was), describe(binding)))
            }
            _ => {}
        }
    }
    for (name, was) in old {
        if !new.contains_key(name) {
            details.push(format!("{name}: cleared (was {})", describe(was)));
        }
    }
    details
}

fn card_changes(
    old: &Card,
    new: &Card,
    old_place: &(String, usize),
    new_place: &(String, usize),
) -> Vec<String> {
    let mut details = Vec::new();
    if old.kind != new.kind {
        details.push(format!("action: {} → {}", old.kind, new.kind));
    }
    if old_place != new_place {
        details.push(format!(
            "moved from {} place {} to {} place {}",
            old_place.0, old_place.1, new_place.0, new_place.1
        ));
    }
    details.extend(inputs_changes(&old.inputs, &new.inputs));
    if std::mem::discriminant(&old.on_error) != std::mem::discriminant(&new.on_error)
        || matches!((&old.on_error, &new.on_error), (OnError::Retry { times: a }, OnError::Retry { times: b }) if a != b)
    {
        details.push(format!(
            "on error: {} → {}",
            on_error(&old.on_error),
            on_error(&new.on_error)
        ));
    }
    if old.timeout_seconds != new.timeout_seconds {
        let t = |s: Option<u32>| s.map_or_else(|| "none".to_string(), |s| format!("{s} s"));
        details.push(format!(
            "timeout: {} → {}",
            t(old.timeout_seconds),
            t(new.timeout_seconds)
        ));
    }
    if old.note != new.note {
        details.push(format!("note: {:?} → {:?}", old.note, new.note));
    }
    let lanes = |c: &Card| c.lanes.iter().map(|l| l.name.clone()).collect::<Vec<_>>();
    if lanes(old) != lanes(new) {
        details.push(format!("lanes: {:?} → {:?}", lanes(old), lanes(new)));
    }
    for (was, now) in old.lanes.iter().zip(&new.lanes) {
        if was.name == now.name && was.condition != now.condition {
            let c = |b: &Option<Binding>| b.as_ref().map_or_else(|| "none".into(), describe);
            details.push(format!(
                "lane {:?} condition: {} → {}",
                now.name,
                c(&was.condition),
                c(&now.condition)
            ));
        }
    }
    details
}

/// What changed from `old` to `new`: the flow's own fields first, then the cards in the
/// newer version's order, then the cards it no longer has.
pub fn compare(old: &Flow, new: &Flow) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut flow = Vec::new();
    if old.name != new.name {
        flow.push(format!("name: {:?} → {:?}", old.name, new.name));
    }
    if old.description != new.description {
        flow.push(format!(
            "description: {:?} → {:?}",
            old.description, new.description
        ));
    }
    if old.trigger.kind != new.trigger.kind {
        flow.push(format!(
            "trigger: {} → {}",
            old.trigger.kind, new.trigger.kind
        ));
    }
    flow.extend(
        inputs_changes(&old.trigger.options, &new.trigger.options)
            .into_iter()
            .map(|d| format!("trigger option {d}")),
    );
    if old.settings != new.settings {
        let json = |s: &super::FlowSettings| serde_json::to_string(s).unwrap_or_default();
        flow.push(format!(
            "settings: {} → {}",
            json(&old.settings),
            json(&new.settings)
        ));
    }
    if !flow.is_empty() {
        changes.push(Change {
            subject: "Flow".into(),
            kind: ChangeKind::Changed,
            details: flow,
        });
    }
    let old_cards: BTreeMap<u32, &Card> =
        old.all_cards().into_iter().map(|c| (c.id.0, c)).collect();
    let new_cards: BTreeMap<u32, &Card> =
        new.all_cards().into_iter().map(|c| (c.id.0, c)).collect();
    let (old_places, new_places) = (places(old), places(new));
    for card in new.all_cards() {
        let place = &new_places[&card.id.0];
        match old_cards.get(&card.id.0) {
            None => changes.push(Change {
                subject: card_name(card),
                kind: ChangeKind::Added,
                details: vec![format!("added to {} at place {}", place.0, place.1)],
            }),
            Some(was) => {
                let details = card_changes(was, card, &old_places[&card.id.0], place);
                if !details.is_empty() {
                    changes.push(Change {
                        subject: card_name(card),
                        kind: ChangeKind::Changed,
                        details,
                    });
                }
            }
        }
    }
    for card in old.all_cards() {
        if !new_cards.contains_key(&card.id.0) {
            let place = &old_places[&card.id.0];
            changes.push(Change {
                subject: card_name(card),
                kind: ChangeKind::Removed,
                details: vec![format!("was in {} at place {}", place.0, place.1)],
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::{CardId, Lane};

    fn offboarding() -> Flow {
        let mut flow = Flow::new("Offboarding", "directory.user_deactivated");
        flow.cards = vec![
            Card::new(1, "directory.remove_from_all_groups")
                .with_inputs(&[("user", Binding::mapping(Source::Trigger, "user.id"))]),
            Card::new(2, "directory.clear_sessions")
                .with_inputs(&[("user", Binding::mapping(Source::Trigger, "user.id"))]),
        ];
        flow
    }

    #[test]
    fn the_same_flow_has_no_changes() {
        assert!(compare(&offboarding(), &offboarding()).is_empty());
    }

    #[test]
    fn cards_added_removed_moved_and_remapped_are_named() {
        let old = offboarding();
        let mut new = offboarding();
        new.description = "Leavers".into();
        new.cards.swap(0, 1);
        new.cards[0].inputs.insert(
            "user".into(),
            Binding::mapping(Source::Trigger, "user.userName"),
        );
        new.cards[1].on_error = OnError::Retry { times: 3 };
        new.cards.remove(1);
        new.cards.push(
            Card::new(3, "tables.create_row")
                .with_inputs(&[("table", Binding::literal("offboarded"))]),
        );
        let changes = compare(&old, &new);
        let flow = &changes[0];
        assert_eq!(flow.subject, "Flow");
        assert_eq!(flow.details, vec!["description: \"\" → \"Leavers\""]);
        let clear = &changes[1];
        assert_eq!(clear.kind, ChangeKind::Changed);
        assert!(clear.subject.starts_with("Card 2 · "), "{clear:?}");
        assert!(
            clear
                .details
                .contains(&"moved from the main row place 2 to the main row place 1".to_string())
        );
        assert!(clear.details.contains(&"user: mapped from the trigger's user.id → mapped from the trigger's user.userName".to_string()));
        let added = &changes[2];
        assert_eq!(
            (added.kind, added.subject.as_str()),
            (ChangeKind::Added, "Card 3 · Create Row")
        );
        let removed = &changes[3];
        assert_eq!(removed.kind, ChangeKind::Removed);
        assert!(removed.subject.starts_with("Card 1 · "));
        assert_eq!(changes.len(), 4);
    }

    #[test]
    fn cards_in_lanes_are_compared_too() {
        let mut old = Flow::new("Branchy", "trigger.manual");
        let mut branch = Card::new(1, "flow.if_else");
        branch.lanes = vec![
            Lane {
                name: "true".into(),
                condition: None,
                cards: vec![Card::new(2, "directory.clear_sessions")],
            },
            Lane {
                name: "false".into(),
                condition: None,
                cards: vec![],
            },
        ];
        old.cards = vec![branch];
        let mut new = old.clone();
        let moved = new.cards[0].lanes[0].cards.remove(0);
        new.cards[0].lanes[1].cards.push(moved);
        new.cards[0].lanes[1].cards[0].id = CardId(2);
        let changes = compare(&old, &new);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].details,
            vec!["moved from card 1's lane \"true\" place 1 to card 1's lane \"false\" place 1"]
        );
    }
}
