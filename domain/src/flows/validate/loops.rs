//! Loop warnings: a flow whose cards make the change its own trigger listens for starts
//! itself again, directly ("User Profile Updated" updating the profile) or through other
//! flows that are on (A's card starts B, B's card starts A). The engine's causal chain stops
//! such a loop after one round; the builder and turning a flow on warn about it first.

use super::{Place, Problem, ProblemKind};
use crate::flows::catalog::catalog;
use crate::flows::{Card, Flow};
use std::collections::VecDeque;

/// Which cards make the event each directory trigger listens for, as the engine emits them.
const FEEDS: &[(&str, &[&str])] = &[
    (
        "directory.user_profile_updated",
        &["directory.update_profile"],
    ),
    ("directory.user_deactivated", &["directory.deactivate_user"]),
    ("directory.user_suspended", &["directory.suspend_user"]),
    // Activate User makes a suspended user active (unsuspended) or a deactivated one
    // (reactivated).
    (
        "directory.user_unsuspended",
        &["directory.unsuspend_user", "directory.activate_user"],
    ),
    ("directory.user_reactivated", &["directory.activate_user"]),
    ("directory.user_added_to_group", &["directory.add_to_group"]),
    (
        "directory.user_removed_from_group",
        &[
            "directory.remove_from_group",
            "directory.remove_from_all_groups",
        ],
    ),
    ("directory.user_assigned_to_app", &["directory.assign_app"]),
    (
        "directory.user_unassigned_from_app",
        &["directory.unassign_app"],
    ),
];

/// The longest chain of other flows a warning follows back to the flow.
const MAX_CHAIN: usize = 4;

/// The triggers a card can fire.
fn fires(card_kind: &str) -> impl Iterator<Item = &'static str> {
    FEEDS
        .iter()
        .filter(move |(_, cards)| cards.contains(&card_kind))
        .map(|(trigger, _)| *trigger)
}

/// The triggers some card can fire (only flows on these can be part of a loop).
pub fn fed_triggers() -> impl Iterator<Item = &'static str> {
    FEEDS.iter().map(|(trigger, _)| *trigger)
}

/// Another flow that is on, as a loop warning names it.
pub struct Neighbour<'a> {
    /// How the warning names it: its name in quotes, or words for a flow the reader may
    /// not see.
    pub name: String,
    pub flow: &'a Flow,
}

fn card_name(card: &Card) -> String {
    let name = catalog()
        .get(&card.kind)
        .map_or(card.kind.as_str(), |s| s.name);
    format!("\"{name}\"")
}

fn trigger_name(kind: &str) -> &str {
    catalog().get(kind).map_or(kind, |s| s.name)
}

/// The cards of `flow` through which it can start itself again, each with a warning that
/// names the trigger and every card and flow on the way. `others` are the other flows that
/// are on; a chain through them is followed up to four flows long.
pub fn loops(flow: &Flow, others: &[Neighbour<'_>]) -> Vec<Problem> {
    let own = flow.trigger.kind.as_str();
    let own_name = trigger_name(own);
    let mut warnings = Vec::new();
    for card in flow.all_cards() {
        let fired: Vec<&str> = fires(&card.kind).collect();
        if fired.is_empty() {
            continue;
        }
        let message = if fired.contains(&own) {
            Some(format!(
                "{} makes the change this flow's trigger \"{own_name}\" listens for, so it \
                 starts this flow again; idflow stops the loop after one round, but check \
                 this is what you want",
                card_name(card)
            ))
        } else {
            chain(&fired, own, others).map(|steps| {
                format!(
                    "{} starts {} this flow again (on \"{own_name}\"); idflow stops the loop \
                     after one round, but check this is what you want",
                    card_name(card),
                    steps.join(" ")
                )
            })
        };
        if let Some(message) = message {
            warnings.push(Problem {
                at: Place::Card(card.id),
                input: None,
                kind: ProblemKind::SelfTriggering,
                message,
            });
        }
    }
    warnings
}

/// The shortest chain of `others` that triggers in `fired` start and whose last flow fires
/// `target`, each step told as `"B" (on "User Deactivated"), whose "Activate User" starts`.
fn chain(fired: &[&str], target: &str, others: &[Neighbour<'_>]) -> Option<Vec<String>> {
    // Breadth first over the other flows; `came_from[i]` is how flow i was reached.
    let mut came_from: Vec<Option<Option<usize>>> = vec![None; others.len()];
    let mut queue = VecDeque::new();
    for (i, other) in others.iter().enumerate() {
        if fired.contains(&other.flow.trigger.kind.as_str()) {
            came_from[i] = Some(None);
            queue.push_back((i, 1));
        }
    }
    while let Some((i, depth)) = queue.pop_front() {
        let cards = others[i].flow.all_cards();
        if let Some(closing) = cards.iter().find(|c| fires(&c.kind).any(|t| t == target)) {
            let (mut path, mut at) = (vec![i], i);
            while let Some(Some(before)) = came_from[at] {
                path.push(before);
                at = before;
            }
            path.reverse();
            let steps = path
                .iter()
                .enumerate()
                .map(|(n, &at)| {
                    let other = &others[at];
                    let next_card = match path.get(n + 1) {
                        Some(&next) => others[at]
                            .flow
                            .all_cards()
                            .into_iter()
                            .find(|c| fires(&c.kind).any(|t| t == others[next].flow.trigger.kind))
                            .map(card_name),
                        None => Some(card_name(closing)),
                    };
                    format!(
                        "{} (on \"{}\"), whose {} starts",
                        other.name,
                        trigger_name(&other.flow.trigger.kind),
                        next_card.unwrap_or_default()
                    )
                })
                .collect();
            return Some(steps);
        }
        if depth >= MAX_CHAIN {
            continue;
        }
        for card in cards {
            for trigger in fires(&card.kind) {
                for (j, next) in others.iter().enumerate() {
                    if came_from[j].is_none() && next.flow.trigger.kind == trigger {
                        came_from[j] = Some(Some(i));
                        queue.push_back((j, depth + 1));
                    }
                }
            }
        }
    }
    None
}

/// Whether the flow can start itself again through its own changes, such as a "User
/// Profile Updated" flow that updates the profile. Names the cards that would.
pub fn self_triggering(flow: &Flow) -> Vec<Problem> {
    loops(flow, &[])
}
