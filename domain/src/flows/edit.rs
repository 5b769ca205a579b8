//! The builder's edits on a flow, as pure functions: add a card from the catalog at a
//! place, move it, remove it, and list the fields an input may be mapped to. They run in
//! the browser (the builder) and are tested here; every edit keeps card ids stable, so
//! mappings follow the cards they name.

use super::catalog::{CardRole, CardSpec, Catalog, FieldType, Lanes};
use super::{Card, CardId, Flow, Lane, OnError, Source};

/// A row of cards: the flow's own, a lane of a logic card, or a card's error lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Row {
    Main,
    Lane(CardId, usize),
    ErrorLane(CardId),
}

impl Row {
    /// The row as a short key for the page (`main`, `lane-3-0`, `error-3`).
    pub fn key(&self) -> String {
        match self {
            Row::Main => "main".into(),
            Row::Lane(card, lane) => format!("lane-{}-{lane}", card.0),
            Row::ErrorLane(card) => format!("error-{}", card.0),
        }
    }

    /// Reads a key written by [`Row::key`].
    pub fn parse(key: &str) -> Option<Row> {
        let mut parts = key.split('-');
        let row = match (parts.next()?, parts.next(), parts.next()) {
            ("main", None, None) => Row::Main,
            ("lane", Some(card), Some(lane)) => {
                Row::Lane(CardId(card.parse().ok()?), lane.parse().ok()?)
            }
            ("error", Some(card), None) => Row::ErrorLane(CardId(card.parse().ok()?)),
            _ => return None,
        };
        parts.next().is_none().then_some(row)
    }
}

/// The card with this id, wherever it sits.
pub fn card(flow: &Flow, id: CardId) -> Option<&Card> {
    flow.all_cards().into_iter().find(|c| c.id == id)
}

/// The card with this id, to change it.
pub fn card_mut(flow: &mut Flow, id: CardId) -> Option<&mut Card> {
    fn find(cards: &mut [Card], id: CardId) -> Option<&mut Card> {
        for card in cards {
            if card.id == id {
                return Some(card);
            }
            for lane in &mut card.lanes {
                if let Some(found) = find(&mut lane.cards, id) {
                    return Some(found);
                }
            }
            if let OnError::ErrorLane { cards } = &mut card.on_error
                && let Some(found) = find(cards, id)
            {
                return Some(found);
            }
        }
        None
    }
    find(&mut flow.cards, id)
}

/// The cards of `row`, to change them; `None` when the row does not exist.
fn row_mut(flow: &mut Flow, row: Row) -> Option<&mut Vec<Card>> {
    match row {
        Row::Main => Some(&mut flow.cards),
        Row::Lane(owner, lane) => card_mut(flow, owner)?
            .lanes
            .get_mut(lane)
            .map(|l| &mut l.cards),
        Row::ErrorLane(owner) => match &mut card_mut(flow, owner)?.on_error {
            OnError::ErrorLane { cards } => Some(cards),
            _ => None,
        },
    }
}

/// Where the card `id` sits: its row and its place in it.
pub fn position(flow: &Flow, id: CardId) -> Option<(Row, usize)> {
    fn find(cards: &[Card], row: Row, id: CardId) -> Option<(Row, usize)> {
        for (index, card) in cards.iter().enumerate() {
            if card.id == id {
                return Some((row, index));
            }
            for (lane_index, lane) in card.lanes.iter().enumerate() {
                if let Some(found) = find(&lane.cards, Row::Lane(card.id, lane_index), id) {
                    return Some(found);
                }
            }
            if let OnError::ErrorLane { cards } = &card.on_error
                && let Some(found) = find(cards, Row::ErrorLane(card.id), id)
            {
                return Some(found);
            }
        }
        None
    }
    find(&flow.cards, Row::Main, id)
}

/// A new card of `spec`'s kind with an id no card of `flow` has, nothing bound, and the
/// lanes its kind holds (If/Else: Then and Else; Branch: one case to fill in).
pub fn new_card(flow: &Flow, spec: &CardSpec) -> Card {
    let mut card = Card::new(flow.next_card_id().0, spec.key);
    card.lanes = match spec.lanes {
        Lanes::None => Vec::new(),
        Lanes::Fixed(names) => names
            .iter()
            .map(|name| Lane {
                name: name.to_string(),
                condition: None,
                cards: Vec::new(),
            })
            .collect(),
        Lanes::Cases => vec![Lane {
            name: "Case 1".into(),
            condition: None,
            cards: Vec::new(),
        }],
    };
    card
}

/// Puts `card` at `index` of `row` (at its end when `index` is past it).
pub fn insert(flow: &mut Flow, row: Row, index: usize, card: Card) -> Result<(), String> {
    let cards = row_mut(flow, row).ok_or("that place is no longer in the flow")?;
    let index = index.min(cards.len());
    cards.insert(index, card);
    Ok(())
}

/// Takes the card `id` out of the flow, with its lanes.
pub fn remove(flow: &mut Flow, id: CardId) -> Option<Card> {
    let (row, index) = position(flow, id)?;
    Some(row_mut(flow, row)?.remove(index))
}

/// Moves the card `id` to `index` of `row`, as counted before the move (a drop zone's
/// place). A card cannot go into its own lanes.
pub fn move_card(flow: &mut Flow, id: CardId, row: Row, index: usize) -> Result<(), String> {
    let (from_row, from_index) = position(flow, id).ok_or("that card is no longer in the flow")?;
    let inside_itself = match row {
        Row::Main => false,
        Row::Lane(owner, _) | Row::ErrorLane(owner) => {
            owner == id
                || card(flow, id)
                    .is_some_and(|moved| moved.lanes.iter().any(|l| holds(&l.cards, owner)))
                || card(flow, id).is_some_and(|moved| match &moved.on_error {
                    OnError::ErrorLane { cards } => holds(cards, owner),
                    _ => false,
                })
        }
    };
    if inside_itself {
        return Err("a card cannot go inside its own lanes".into());
    }
    if row_mut(flow, row).is_none() {
        return Err("that place is no longer in the flow".into());
    }
    let moved = remove(flow, id).ok_or("that card is no longer in the flow")?;
    let index = if from_row == row && from_index < index {
        index - 1
    } else {
        index
    };
    insert(flow, row, index, moved)
}

/// Whether `id` is among `cards` or inside their lanes.
fn holds(cards: &[Card], id: CardId) -> bool {
    cards.iter().any(|c| {
        c.id == id
            || c.lanes.iter().any(|l| holds(&l.cards, id))
            || matches!(&c.on_error, OnError::ErrorLane { cards } if holds(cards, id))
    })
}

/// The cards whose outputs the card `id` may read: those before it in its row, and
/// before the logic card holding its lane, outwards (the rule [`super::validate`]
/// checks). A card in an error lane also reads the card that failed.
pub fn cards_before(flow: &Flow, id: CardId) -> Vec<&Card> {
    fn walk<'f>(cards: &'f [Card], id: CardId, visible: &mut Vec<&'f Card>) -> bool {
        for card in cards {
            if card.id == id {
                return true;
            }
            for lane in &card.lanes {
                let mut inner = visible.clone();
                if walk(&lane.cards, id, &mut inner) {
                    *visible = inner;
                    return true;
                }
            }
            if let OnError::ErrorLane { cards } = &card.on_error {
                let mut inner = visible.clone();
                inner.push(card);
                if walk(cards, id, &mut inner) {
                    *visible = inner;
                    return true;
                }
            }
            visible.push(card);
        }
        false
    }
    let mut visible = Vec::new();
    if walk(&flow.cards, id, &mut visible) {
        visible
    } else {
        Vec::new()
    }
}

/// One field a mapping may read.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub from: Source,
    /// `user.email`
    pub path: String,
    /// "User › Email"
    pub label: String,
    pub ty: FieldType,
}

/// A card's output fields, objects opened one level down (`user`, `user.email`, …).
pub fn outputs(spec: &CardSpec, from: Source) -> Vec<Output> {
    let mut out = Vec::new();
    for field in &spec.outputs {
        out.push(Output {
            from,
            path: field.name.clone(),
            label: field.label.clone(),
            ty: field.ty.clone(),
        });
        if let FieldType::Object { fields } = &field.ty {
            for inner in fields {
                out.push(Output {
                    from,
                    path: format!("{}.{}", field.name, inner.name),
                    label: format!("{} › {}", field.label, inner.label),
                    ty: inner.ty.clone(),
                });
            }
        }
    }
    out
}

/// Every field the card `id` may map its inputs to: the trigger's outputs, then each
/// earlier card's, in order, with the card's name.
pub fn mappable(flow: &Flow, id: CardId, catalog: &Catalog) -> Vec<(String, Vec<Output>)> {
    let mut groups = Vec::new();
    if let Some(trigger) = catalog
        .get(&flow.trigger.kind)
        .filter(|s| s.role == CardRole::Trigger)
    {
        groups.push((trigger.name.to_string(), outputs(trigger, Source::Trigger)));
    }
    for earlier in cards_before(flow, id) {
        if let Some(spec) = catalog.get(&earlier.kind) {
            let fields = outputs(spec, Source::Card(earlier.id));
            if !fields.is_empty() {
                groups.push((format!("{} · {}", earlier.id.0, spec.name), fields));
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::catalog::catalog;
    use crate::flows::validate::validate;
    use crate::flows::{Binding, Source};

    fn spec(key: &str) -> &'static CardSpec {
        catalog().get(key).unwrap()
    }

    fn ids(cards: &[Card]) -> Vec<u32> {
        cards.iter().map(|c| c.id.0).collect()
    }

    /// Trigger → 1 If/Else (Then: 2, Else: 3) → 4.
    fn flow_with_lanes() -> Flow {
        let mut flow = Flow::new("Lanes", "directory.user_deactivated");
        for key in ["flow.if_else", "directory.clear_sessions"] {
            let card = new_card(&flow, spec(key));
            insert(&mut flow, Row::Main, 99, card).unwrap();
        }
        let then = new_card(&flow, spec("directory.clear_sessions"));
        insert(&mut flow, Row::Lane(CardId(1), 0), 0, then).unwrap();
        let other = new_card(&flow, spec("directory.remove_from_all_groups"));
        insert(&mut flow, Row::Lane(CardId(1), 1), 0, other).unwrap();
        flow
    }

    #[test]
    fn rows_read_back_their_keys() {
        for row in [
            Row::Main,
            Row::Lane(CardId(3), 1),
            Row::ErrorLane(CardId(12)),
        ] {
            assert_eq!(Row::parse(&row.key()), Some(row));
        }
        for bad in ["", "lane-3", "lane-x-1", "error-1-2", "main-1"] {
            assert_eq!(Row::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn new_cards_get_fresh_ids_and_their_lanes() {
        let flow = flow_with_lanes();
        assert_eq!(ids(&flow.cards), vec![1, 2]);
        let lanes: Vec<&str> = flow.cards[0]
            .lanes
            .iter()
            .map(|l| l.name.as_str())
            .collect();
        assert_eq!(lanes, vec!["Then", "Else"]);
        assert_eq!(ids(&flow.cards[0].lanes[0].cards), vec![3]);
        assert_eq!(ids(&flow.cards[0].lanes[1].cards), vec![4]);
        assert_eq!(new_card(&flow, spec("flow.branch")).lanes.len(), 1);
        assert_eq!(
            position(&flow, CardId(4)),
            Some((Row::Lane(CardId(1), 1), 0))
        );
    }

    #[test]
    fn moving_counts_places_as_the_drop_zones_showed_them() {
        let mut flow = Flow::new("Order", "directory.user_deactivated");
        for _ in 0..3 {
            let card = new_card(&flow, spec("text.trim"));
            insert(&mut flow, Row::Main, 99, card).unwrap();
        }
        // Card 1 dropped on the zone after card 2 (zone 2).
        move_card(&mut flow, CardId(1), Row::Main, 2).unwrap();
        assert_eq!(ids(&flow.cards), vec![2, 1, 3]);
        // Card 3 dropped on the first zone.
        move_card(&mut flow, CardId(3), Row::Main, 0).unwrap();
        assert_eq!(ids(&flow.cards), vec![3, 2, 1]);
        // Into a lane and back out.
        let mut flow = flow_with_lanes();
        move_card(&mut flow, CardId(2), Row::Lane(CardId(1), 0), 1).unwrap();
        assert_eq!(ids(&flow.cards), vec![1]);
        assert_eq!(ids(&flow.cards[0].lanes[0].cards), vec![3, 2]);
        move_card(&mut flow, CardId(3), Row::Main, 1).unwrap();
        assert_eq!(ids(&flow.cards), vec![1, 3]);
    }

    #[test]
    fn a_card_cannot_go_inside_itself() {
        let mut flow = flow_with_lanes();
        let before = flow.clone();
        assert!(move_card(&mut flow, CardId(1), Row::Lane(CardId(1), 0), 0).is_err());
        assert!(move_card(&mut flow, CardId(9), Row::Main, 0).is_err());
        assert!(move_card(&mut flow, CardId(2), Row::Lane(CardId(7), 0), 0).is_err());
        assert_eq!(flow, before, "a refused move changes nothing");
        assert_eq!(remove(&mut flow, CardId(1)).unwrap().lanes.len(), 2);
        assert!(flow.all_cards().len() == 1);
    }

    #[test]
    fn a_card_maps_from_the_trigger_and_the_cards_before_it() {
        let mut flow = flow_with_lanes();
        let groups = mappable(&flow, CardId(2), catalog());
        let names: Vec<&str> = groups.iter().map(|(n, _)| n.as_str()).collect();
        // If/Else gives nothing; the cards in its lanes are not certain to have run.
        assert_eq!(names, vec!["User Deactivated"]);
        let email = groups[0].1.iter().find(|o| o.path == "user.email").unwrap();
        assert_eq!(email.label, "User › Email");
        // Inside the Else lane, the Then lane's card is out of sight.
        assert!(cards_before(&flow, CardId(4)).is_empty());
        let then = new_card(&flow, spec("directory.remove_from_all_groups"));
        insert(&mut flow, Row::Lane(CardId(1), 0), 0, then).unwrap();
        let seen: Vec<u32> = cards_before(&flow, CardId(3))
            .iter()
            .map(|c| c.id.0)
            .collect();
        assert_eq!(seen, vec![5]);
        let groups = mappable(&flow, CardId(3), catalog());
        assert_eq!(groups[1].0, "5 · Remove User from All Groups");
        // Mapping what the builder offers passes validation.
        let count = groups[1].1.iter().find(|o| o.path == "count").unwrap();
        assert_eq!(count.from, Source::Card(CardId(5)));
        card_mut(&mut flow, CardId(3)).unwrap().inputs.insert(
            "user".into(),
            Binding::mapping(email.from, email.path.clone()),
        );
        let problems = validate(&flow, catalog());
        assert!(
            problems.iter().all(|p| p.input.as_deref() != Some("user")
                || p.at != super::super::validate::Place::Card(CardId(3))),
            "{problems:?}"
        );
    }
}
