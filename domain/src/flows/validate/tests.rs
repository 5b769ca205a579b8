//! Tests of `flows::validate`.

use super::super::catalog::catalog;
use super::super::{Lane, Source};
use super::*;
use std::collections::BTreeMap;

fn card(id: u32, kind: &str, inputs: &[(&str, Binding)]) -> Card {
    Card::new(id, kind).with_inputs(inputs)
}

fn kinds(problems: &[Problem]) -> Vec<(Place, ProblemKind)> {
    problems.iter().map(|p| (p.at.clone(), p.kind)).collect()
}

/// The offboarding flow of reference use case 2, as the builder would save it.
fn offboarding() -> Flow {
    let mut flow = Flow::new("Offboarding", "directory.user_deactivated");
    flow.cards = vec![
        card(
            1,
            "directory.remove_from_all_groups",
            &[("user", Binding::mapping(Source::Trigger, "user.id"))],
        ),
        card(
            2,
            "directory.clear_sessions",
            &[("user", Binding::mapping(Source::Trigger, "user.id"))],
        ),
        card(3, "datetime.now", &[]),
        card(
            4,
            "tables.create_row",
            &[
                ("table", Binding::literal("offboarded")),
                ("row", Binding::literal(serde_json::json!({}))),
            ],
        ),
        card(
            5,
            "text.compose",
            &[(
                "template",
                Binding::template("{{ trigger.user.email }} left at {{ card_3.output }}"),
            )],
        ),
    ];
    flow
}

#[test]
fn a_well_built_flow_has_no_problems() {
    assert_eq!(validate(&offboarding(), catalog()), vec![]);
    assert_eq!(self_triggering(&offboarding()), vec![]);
}

#[test]
fn an_object_input_may_be_bound_field_by_field() {
    let mut flow = Flow::new("Offboarding log", "directory.user_deactivated");
    flow.cards.push(card(
        1,
        "tables.create_row",
        &[
            ("table", Binding::literal("offboarded")),
            ("row.email", Binding::mapping(Source::Trigger, "user.email")),
            ("row.when", Binding::mapping(Source::Trigger, "occurred_at")),
        ],
    ));
    assert_eq!(validate(&flow, catalog()), vec![]);
    // A field of an input that is not an object, and a mapping to nothing, are named.
    flow.cards[0]
        .inputs
        .insert("table.x".into(), Binding::literal(1));
    flow.cards[0].inputs.insert(
        "row.who".into(),
        Binding::mapping(Source::Trigger, "user.nickname"),
    );
    assert_eq!(
        kinds(&validate(&flow, catalog())),
        vec![
            (Place::Card(CardId(1)), ProblemKind::MappingToMissingField),
            (Place::Card(CardId(1)), ProblemKind::UnknownInput),
        ]
    );
}

#[test]
fn each_problem_is_named_on_its_card() {
    let mut flow = offboarding();
    flow.name = " ".into();
    // A required input left empty.
    flow.cards[1].inputs.clear();
    // A mapping to a field that does not exist, and to a card that comes later.
    flow.cards[0].inputs.insert(
        "user".into(),
        Binding::mapping(Source::Trigger, "user.nickname"),
    );
    flow.cards[2].inputs.clear();
    flow.cards.push(card(
        6,
        "text.length",
        &[("text", Binding::mapping(Source::Card(CardId(7)), "output"))],
    ));
    // A type mismatch: a list where text is expected; a word where a number is.
    flow.cards.push(card(
        7,
        "text.trim",
        &[("text", Binding::mapping(Source::Card(CardId(1)), "groups"))],
    ));
    flow.cards.push(card(
        8,
        "flow.wait",
        &[("seconds", Binding::literal("soon"))],
    ));
    // A card that does not exist, and an input a card does not have.
    flow.cards.push(card(9, "directory.teleport_user", &[]));
    flow.cards.push(card(
        10,
        "text.trim",
        &[
            ("text", Binding::literal("x")),
            ("colour", Binding::literal("red")),
        ],
    ));

    let problems = validate(&flow, catalog());
    assert_eq!(
        kinds(&problems),
        vec![
            (Place::Flow, ProblemKind::MissingName),
            (Place::Card(CardId(1)), ProblemKind::MappingToMissingField),
            (Place::Card(CardId(2)), ProblemKind::RequiredInputUnmapped),
            (Place::Card(CardId(6)), ProblemKind::MappingToUnseenCard),
            (Place::Card(CardId(7)), ProblemKind::TypeMismatch),
            (Place::Card(CardId(8)), ProblemKind::TypeMismatch),
            (Place::Card(CardId(9)), ProblemKind::UnknownCard),
            (Place::Card(CardId(10)), ProblemKind::UnknownInput),
        ]
    );
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    assert!(
        messages[1].contains("\"user.nickname\" of the trigger"),
        "{}",
        messages[1]
    );
    assert_eq!(
        messages[2],
        "needs \"User ID\": map a field to it or type a value"
    );
    assert!(
        messages[4].contains("expects Text, and \"groups\" gives List of Object"),
        "{}",
        messages[4]
    );
}

#[test]
fn lanes_see_what_came_before_but_not_each_other() {
    let mut flow = Flow::new("Title change", "directory.user_profile_updated");
    let mut branch = card(2, "flow.if_else", &[("condition", Binding::literal(true))]);
    branch.lanes = vec![
        Lane {
            name: "Then".into(),
            condition: None,
            cards: vec![card(
                3,
                "text.trim",
                &[("text", Binding::mapping(Source::Card(CardId(1)), "output"))],
            )],
        },
        Lane {
            name: "Else".into(),
            condition: None,
            cards: vec![card(
                4,
                "text.trim",
                &[("text", Binding::mapping(Source::Card(CardId(3)), "output"))],
            )],
        },
    ];
    flow.cards = vec![
        card(
            1,
            "text.trim",
            &[("text", Binding::mapping(Source::Trigger, "user.title"))],
        ),
        branch,
        card(
            5,
            "text.length",
            &[("text", Binding::mapping(Source::Card(CardId(3)), "output"))],
        ),
    ];
    let problems = validate(&flow, catalog());
    assert_eq!(
        kinds(&problems),
        vec![
            (Place::Card(CardId(4)), ProblemKind::MappingToUnseenCard),
            (Place::Card(CardId(5)), ProblemKind::MappingToUnseenCard),
        ]
    );

    // If/Else holds exactly Then and Else; a Branch case needs a condition.
    flow.cards[1].lanes.pop();
    let mut cases = card(6, "flow.branch", &[]);
    cases.lanes = vec![Lane {
        name: "Engineers".into(),
        condition: None,
        cards: vec![],
    }];
    flow.cards.push(cases);
    let problems = validate(&flow, catalog());
    assert!(kinds(&problems).contains(&(Place::Card(CardId(2)), ProblemKind::WrongLanes)));
    assert!(
        kinds(&problems).contains(&(Place::Card(CardId(6)), ProblemKind::RequiredInputUnmapped))
    );
}

#[test]
fn triggers_start_flows_and_only_there() {
    let mut flow = Flow::new("Nightly", "trigger.scheduled");
    flow.cards.push(card(1, "directory.user_created", &[]));
    let problems = validate(&flow, catalog());
    assert_eq!(
        kinds(&problems),
        vec![
            (Place::Trigger, ProblemKind::RequiredInputUnmapped),
            (Place::Card(CardId(1)), ProblemKind::MisplacedTrigger),
        ]
    );
    flow.trigger.options = BTreeMap::from([("cron".to_string(), Binding::literal("0 6 * * *"))]);
    flow.trigger.kind = "directory.deactivate_user".into();
    let problems = validate(&flow, catalog());
    assert_eq!(
        kinds(&problems)[0],
        (Place::Trigger, ProblemKind::MisplacedTrigger)
    );
}

#[test]
fn templates_are_checked_like_mappings() {
    assert_eq!(
        template_references("Hi {{ trigger.user.given_name | title }}, see {{card_2.output}}")
            .unwrap(),
        vec![
            (Source::Trigger, "user.given_name".to_string()),
            (Source::Card(CardId(2)), "output".to_string())
        ]
    );
    assert!(template_references("{{ trigger.user.email").is_err());
    assert!(template_references("{{ secrets.key }}").is_err());
    assert!(template_references("{{ trigger }}").is_err());
    assert_eq!(
        template_references("{{ 'card_9.x' in trigger.user.title and card_2.output > 1 }}")
            .unwrap(),
        vec![
            (Source::Trigger, "user.title".to_string()),
            (Source::Card(CardId(2)), "output".to_string())
        ]
    );
    let mut flow = offboarding();
    flow.cards[4]
        .inputs
        .insert("template".into(), Binding::template("{{ card_9.output }}"));
    assert_eq!(
        kinds(&validate(&flow, catalog())),
        vec![(Place::Card(CardId(5)), ProblemKind::MappingToUnseenCard)]
    );
    flow.cards[4].inputs.insert(
        "template".into(),
        Binding::template("x".repeat(MAX_TEMPLATE_LENGTH + 1)),
    );
    assert_eq!(
        kinds(&validate(&flow, catalog())),
        vec![(Place::Card(CardId(5)), ProblemKind::BadTemplate)]
    );
}

#[test]
fn a_profile_flow_that_updates_the_profile_is_flagged() {
    let mut flow = Flow::new("Title sync", "directory.user_profile_updated");
    flow.cards.push(card(
        1,
        "directory.update_profile",
        &[
            ("user", Binding::mapping(Source::Trigger, "user.id")),
            (
                "attributes",
                Binding::literal(serde_json::json!({"title": "x"})),
            ),
        ],
    ));
    assert_eq!(validate(&flow, catalog()), vec![]);
    let warnings = self_triggering(&flow);
    assert_eq!(
        kinds(&warnings),
        vec![(Place::Card(CardId(1)), ProblemKind::SelfTriggering)]
    );
}

#[test]
fn activate_user_re_triggers_the_events_it_makes() {
    // Activate User makes a deactivated user "reactivated" and a suspended one
    // "unsuspended": flows on either trigger are warned; "User Activated" is no trigger.
    for trigger in ["directory.user_reactivated", "directory.user_unsuspended"] {
        let mut flow = Flow::new("Back again", trigger);
        flow.cards.push(card(
            1,
            "directory.activate_user",
            &[("user", Binding::mapping(Source::Trigger, "user.id"))],
        ));
        assert_eq!(
            kinds(&self_triggering(&flow)),
            vec![(Place::Card(CardId(1)), ProblemKind::SelfTriggering)],
            "{trigger}"
        );
    }
    assert!(catalog().get("directory.user_activated").is_none());
}

/// A flow on `trigger` with one card of `kind` on the triggering user.
fn one_card_flow(name: &str, trigger: &str, kind: &str) -> Flow {
    let mut flow = Flow::new(name, trigger);
    flow.cards.push(card(
        1,
        kind,
        &[("user", Binding::mapping(Source::Trigger, "user.id"))],
    ));
    flow
}

#[test]
fn a_loop_through_another_flow_is_named_card_by_card() {
    // A (on User Deactivated) reactivates; B (on User Reactivated) deactivates: each
    // starts the other.
    let a = one_card_flow("A", "directory.user_deactivated", "directory.activate_user");
    let b = one_card_flow(
        "B",
        "directory.user_reactivated",
        "directory.deactivate_user",
    );
    assert_eq!(self_triggering(&a), vec![]);
    let others = [Neighbour {
        name: "\"B\"".into(),
        flow: &b,
    }];
    let warnings = loops(&a, &others);
    assert_eq!(
        kinds(&warnings),
        vec![(Place::Card(CardId(1)), ProblemKind::SelfTriggering)]
    );
    assert!(
        warnings[0].message.starts_with(
            "\"Activate User\" starts \"B\" (on \"User Reactivated\"), whose \"Deactivate User\" \
             starts this flow again (on \"User Deactivated\")"
        ),
        "{}",
        warnings[0].message
    );
}

#[test]
fn a_chain_of_three_flows_is_followed_and_a_flow_that_ends_it_is_not_a_loop() {
    let a = one_card_flow("A", "directory.user_suspended", "directory.add_to_group");
    let b = one_card_flow(
        "B",
        "directory.user_added_to_group",
        "directory.update_profile",
    );
    let c = one_card_flow(
        "C",
        "directory.user_profile_updated",
        "directory.suspend_user",
    );
    let unrelated = one_card_flow("D", "directory.user_deleted", "directory.suspend_user");
    let others = [
        Neighbour {
            name: "\"D\"".into(),
            flow: &unrelated,
        },
        Neighbour {
            name: "\"C\"".into(),
            flow: &c,
        },
        Neighbour {
            name: "\"B\"".into(),
            flow: &b,
        },
    ];
    let warnings = loops(&a, &others);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].message.starts_with(
            "\"Add User to Group\" starts \"B\" (on \"User Added to Group\"), whose \"Update \
             User Profile\" starts \"C\" (on \"User Profile Updated\"), whose \"Suspend User\" \
             starts this flow again (on \"User Suspended\")"
        ),
        "{}",
        warnings[0].message
    );
    // Without C the chain ends at B: no loop.
    assert_eq!(loops(&a, &others[..1]), vec![]);
    assert_eq!(
        loops(
            &a,
            &[Neighbour {
                name: "\"B\"".into(),
                flow: &b
            }]
        ),
        vec![]
    );
}
