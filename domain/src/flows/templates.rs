//! Ready flows for the five reference use cases (hire → role by department, offboarding,
//! MFA reminder, lockout → manager, title change → groups), installable from the Flows
//! tab. Each names the tables and helper flows it needs; installing creates what is
//! missing, turned off, for the admin to adjust (groups, departments, messages) and turn
//! on. Until the Slack and email connectors exist, notifications are rows in the
//! `notifications` table.

use super::{Binding, Card, CardId, Flow, Lane, Source};
use crate::tables::{ColumnType, Schema};

/// One installable use case.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Its address (`offboarding`).
    pub key: &'static str,
    pub name: &'static str,
    /// What it does, for the list.
    pub description: &'static str,
    /// The tables it reads and writes, created when missing.
    pub tables: Vec<Schema>,
    /// Its flows, helper flows first.
    pub flows: Vec<Flow>,
}

impl Template {
    /// The template as a bundle to install, like an export: its flows (each with a new
    /// id) and the tables they use.
    pub fn bundle(&self) -> super::bundle::Bundle {
        super::bundle::Bundle {
            format: super::bundle::FORMAT.to_string(),
            flows: self
                .flows
                .iter()
                .map(|flow| super::bundle::BundledFlow {
                    id: super::FlowId::new(),
                    flow: flow.clone(),
                })
                .collect(),
            tables: self.tables.clone(),
        }
    }
}

fn card(id: u32, kind: &str, inputs: &[(&str, Binding)]) -> Card {
    Card::new(id, kind).with_inputs(inputs)
}

fn trigger(path: &str) -> Binding {
    Binding::mapping(Source::Trigger, path)
}

fn from(card: u32, path: &str) -> Binding {
    Binding::mapping(Source::Card(CardId(card)), path)
}

fn notifications() -> Schema {
    Schema::new(
        "notifications",
        &[
            ("to", ColumnType::Text),
            ("channel", ColumnType::Text),
            ("message", ColumnType::Text),
        ],
        None,
    )
}

fn hire() -> Template {
    let mut flow = Flow::new("Hire: role by department", "directory.user_created");
    flow.description = "A new user gets the console role the `department roles` table gives their department; no row, nothing happens.".into();
    flow.cards = vec![
        card(
            1,
            "tables.read_row",
            &[
                ("table", Binding::literal("department roles")),
                ("key", trigger("user.department")),
            ],
        ),
        card(2, "flow.continue_if", &[("condition", from(1, "found"))]),
        card(
            3,
            "directory.assign_app",
            &[("user", trigger("user.id")), ("role", from(1, "row.role"))],
        ),
    ];
    Template {
        key: "hire-by-department",
        name: "Hire: role by department",
        description: "When a user is created, give them the role their department is mapped to in a table.",
        tables: vec![Schema::new(
            "department roles",
            &[("department", ColumnType::Text), ("role", ColumnType::Text)],
            Some("department"),
        )],
        flows: vec![flow],
    }
}

fn offboarding() -> Template {
    let mut flow = Flow::new("Offboarding", "directory.user_deactivated");
    flow.description = "A deactivated user leaves every group and is signed out everywhere; the `offboarded` table records it.".into();
    flow.cards = vec![
        card(
            1,
            "directory.remove_from_all_groups",
            &[("user", trigger("user.id"))],
        ),
        card(
            2,
            "directory.clear_sessions",
            &[("user", trigger("user.id"))],
        ),
        card(
            3,
            "tables.create_row",
            &[
                ("table", Binding::literal("offboarded")),
                (
                    "row",
                    Binding::template(
                        "{{ {'email': trigger.user.email, 'when': trigger.occurred_at, 'groups': card_1.count} }}",
                    ),
                ),
            ],
        ),
    ];
    Template {
        key: "offboarding",
        name: "Offboarding",
        description: "When a user is deactivated, remove them from all groups, end their sessions and log it in a table.",
        tables: vec![Schema::new(
            "offboarded",
            &[
                ("email", ColumnType::Text),
                ("when", ColumnType::DateTime),
                ("groups", ColumnType::Number),
            ],
            None,
        )],
        flows: vec![flow],
    }
}

fn mfa_reminder() -> Template {
    let mut remind = Flow::new("Remind one user about MFA", "trigger.helper");
    remind.description =
        "Helper of \"MFA enrollment reminder\": writes one reminder and counts it.".into();
    remind.cards = vec![
        card(
            1,
            "text.compose",
            &[(
                "template",
                Binding::template(
                    "Hi {{ trigger.item.display_name }}, please set up multi-factor authentication.",
                ),
            )],
        ),
        card(
            2,
            "tables.create_row",
            &[
                ("table", Binding::literal("notifications")),
                (
                    "row",
                    Binding::template(
                        "{{ {'to': trigger.item.email, 'channel': 'email', 'message': card_1.output} }}",
                    ),
                ),
            ],
        ),
        card(
            3,
            "tables.find_or_create_row",
            &[
                ("table", Binding::literal("mfa_reminders")),
                ("key", trigger("item.email")),
                (
                    "row",
                    Binding::template("{{ {'first_reminded': trigger.input.now, 'times': 0} }}"),
                ),
            ],
        ),
        card(
            4,
            "number.add",
            &[("a", from(3, "row.times")), ("b", Binding::literal(1))],
        ),
        card(
            5,
            "tables.update_row",
            &[
                ("table", Binding::literal("mfa_reminders")),
                ("key", trigger("item.email")),
                ("row", Binding::template("{{ {'times': card_4.output} }}")),
            ],
        ),
    ];
    let mut daily = Flow::new("MFA enrollment reminder", "trigger.scheduled");
    daily.description = "Every morning, users without MFA whose account is older than three days get a reminder, until they enroll (attribute `mfaEnrolled`).".into();
    daily
        .trigger
        .options
        .insert("cron".into(), Binding::literal("0 0 9 * * *"));
    daily
        .trigger
        .options
        .insert("time_zone".into(), Binding::literal("UTC"));
    daily.cards = vec![
        card(1, "datetime.now", &[]),
        card(
            2,
            "datetime.add",
            &[
                ("date", from(1, "output")),
                ("amount", Binding::literal(-3)),
                ("unit", Binding::literal("days")),
            ],
        ),
        card(
            3,
            "text.compose",
            &[(
                "template",
                Binding::template(
                    "not (mfaEnrolled eq true) and active eq true and meta.created lt \"{{ card_2.output }}\"",
                ),
            )],
        ),
        card(4, "directory.find_users", &[("filter", from(3, "output"))]),
        card(
            5,
            "flow.for_each",
            &[
                ("flow", Binding::literal("Remind one user about MFA")),
                ("items", from(4, "users")),
                ("input", Binding::template("{{ {'now': card_1.output} }}")),
            ],
        ),
    ];
    Template {
        key: "mfa-reminder",
        name: "MFA enrollment reminder",
        description: "Daily: remind users without MFA after three days, log who was reminded, stop once they enroll.",
        tables: vec![
            notifications(),
            Schema::new(
                "mfa_reminders",
                &[
                    ("email", ColumnType::Text),
                    ("first_reminded", ColumnType::DateTime),
                    ("times", ColumnType::Number),
                ],
                Some("email"),
            ),
        ],
        flows: vec![remind, daily],
    }
}

fn lockout() -> Template {
    let mut flow = Flow::new(
        "Tell the manager about a lockout",
        "directory.user_locked_out",
    );
    flow.description = "When a user is locked out, their manager gets a message (a row in `notifications` until the Slack and email connectors exist).".into();
    flow.cards = vec![
        card(
            1,
            "directory.read_user",
            &[("user", trigger("user.manager"))],
        ),
        card(
            2,
            "text.compose",
            &[(
                "template",
                Binding::template(
                    "{{ trigger.user.display_name }} is locked out of their account. Ask them to call the IT desk.",
                ),
            )],
        ),
        card(
            3,
            "tables.create_row",
            &[
                ("table", Binding::literal("notifications")),
                (
                    "row",
                    Binding::template(
                        "{{ {'to': card_1.user.email, 'channel': 'slack', 'message': card_2.output} }}",
                    ),
                ),
            ],
        ),
    ];
    Template {
        key: "lockout-manager",
        name: "Lockout: tell the manager",
        description: "When a user's account is locked, look up their manager and notify them.",
        tables: vec![notifications()],
        flows: vec![flow],
    }
}

fn title_change() -> Template {
    let mut flow = Flow::new("Title change: groups", "directory.user_profile_updated");
    flow.description = "When a user's title changes, add them to the group their new title calls for (groups `Engineering` and `Managers`; adjust the lanes).".into();
    flow.trigger.options.insert(
        "filter".into(),
        Binding::literal("'title' in trigger.changed"),
    );
    let mut branch = card(1, "flow.branch", &[]);
    branch.lanes = vec![
        Lane {
            name: "Engineers".into(),
            condition: Some(Binding::template(
                "{{ 'Engineer' in (trigger.user.title or '') }}",
            )),
            cards: vec![card(
                2,
                "directory.add_to_group",
                &[
                    ("user", trigger("user.id")),
                    ("group", Binding::literal("Engineering")),
                ],
            )],
        },
        Lane {
            name: "Managers".into(),
            condition: Some(Binding::template(
                "{{ 'Manager' in (trigger.user.title or '') }}",
            )),
            cards: vec![card(
                3,
                "directory.add_to_group",
                &[
                    ("user", trigger("user.id")),
                    ("group", Binding::literal("Managers")),
                ],
            )],
        },
    ];
    flow.cards = vec![branch];
    Template {
        key: "title-change-groups",
        name: "Title change: groups",
        description: "When a user's title changes, put them in the group that goes with it.",
        tables: vec![],
        flows: vec![flow],
    }
}

/// Every template, in the order the Flows tab lists them.
pub fn templates() -> Vec<Template> {
    vec![
        hire(),
        offboarding(),
        mfa_reminder(),
        lockout(),
        title_change(),
    ]
}

/// The template with this key.
pub fn template(key: &str) -> Option<Template> {
    templates().into_iter().find(|t| t.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::catalog::catalog;
    use crate::flows::validate::validate;

    #[test]
    fn every_template_is_valid_and_its_tables_are_sound() {
        for template in templates() {
            for flow in &template.flows {
                let problems = validate(flow, catalog());
                assert!(problems.is_empty(), "{}: {problems:?}", flow.name);
            }
            for table in &template.tables {
                assert!(table.problems().is_empty(), "{}", table.name);
            }
        }
        assert_eq!(templates().len(), 5);
        assert!(template("offboarding").is_some());
    }

    #[test]
    fn a_flow_names_the_tables_its_cards_use() {
        let offboarding = template("offboarding").unwrap();
        let uses: Vec<Vec<String>> = offboarding
            .flows
            .iter()
            .map(|f| f.table_references())
            .collect();
        assert!(uses.contains(&vec!["offboarded".to_string()]), "{uses:?}");
        // A flow without Tables cards uses none.
        let title = template("title-change-groups").unwrap();
        assert!(title.flows.iter().all(|f| f.table_references().is_empty()));
    }
}
