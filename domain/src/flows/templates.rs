//! Ready flows for the five reference use cases (hire → role by department, offboarding,
//! MFA reminder, lockout → manager, title change → groups), installable from the Flows
//! tab. Each names the tables and helper flows it needs; installing creates what is
//! missing, turned off, for the admin to adjust (groups, departments, messages) and turn
//! on. Their messages go out through connections: installing one asks which connection
//! of each kind its cards use (email, Slack); one left unchosen leaves those cards to be
//! set in the builder, and the flows off until they are.

use super::{Binding, Card, CardId, Flow, Lane, OnError, Source};
use crate::connections::{Kind, kind_for_card};
use crate::tables::{ColumnType, Schema};
use std::collections::BTreeMap;

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
    /// The kinds of connection its cards use, each once, in the order they first come.
    pub fn connection_kinds(&self) -> Vec<&'static Kind> {
        let mut kinds: Vec<&'static Kind> = Vec::new();
        for flow in &self.flows {
            for card in flow.all_cards() {
                if let Some(kind) = kind_for_card(&card.kind)
                    && !kinds.iter().any(|k| k.key == kind.key)
                {
                    kinds.push(kind);
                }
            }
        }
        kinds
    }

    /// The template as a bundle to install, like an export: its flows (each with a new
    /// id) and the tables they use; each card that uses a connection uses the one
    /// `chosen` names for its kind (by the kind's key), or none when none was chosen.
    pub fn bundle(&self, chosen: &BTreeMap<String, String>) -> super::bundle::Bundle {
        super::bundle::Bundle {
            format: super::bundle::FORMAT.to_string(),
            flows: self
                .flows
                .iter()
                .map(|flow| {
                    let mut flow = flow.clone();
                    choose_connections(&mut flow.cards, chosen);
                    super::bundle::BundledFlow {
                        id: super::FlowId::new(),
                        flow,
                    }
                })
                .collect(),
            tables: self.tables.clone(),
        }
    }
}

/// Points every card in `cards` (lanes and error lanes included) that uses a connection at
/// the one `chosen` names for its kind.
fn choose_connections(cards: &mut [Card], chosen: &BTreeMap<String, String>) {
    for card in cards {
        if let Some(id) = kind_for_card(&card.kind).and_then(|kind| chosen.get(kind.key)) {
            card.inputs
                .insert("connection".into(), Binding::literal(id.as_str()));
        }
        for lane in &mut card.lanes {
            choose_connections(&mut lane.cards, chosen);
        }
        if let OnError::ErrorLane { cards } = &mut card.on_error {
            choose_connections(cards, chosen);
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

fn literal(text: &str) -> Binding {
    Binding::literal(text)
}

fn text(template: &str) -> Binding {
    Binding::template(template)
}

/// A Send Email card (its connection chosen at install).
fn email(id: u32, to: Binding, subject: &str, body: &str) -> Card {
    card(
        id,
        "email.send",
        &[("to", to), ("subject", text(subject)), ("text", text(body))],
    )
}

/// Carries on only when the user the trigger names has a manager.
fn has_manager(id: u32) -> Card {
    card(
        id,
        "flow.continue_if",
        &[(
            "condition",
            text("{{ (trigger.user.manager or '') != '' }}"),
        )],
    )
}

fn hire() -> Template {
    let mut flow = Flow::new("Hire: role by department", "directory.user_created");
    flow.description = "A new user gets the console role the `department roles` table gives their department (no row: no role), and their manager gets an email.".into();
    let mut role = card(2, "flow.if_else", &[("condition", from(1, "found"))]);
    role.lanes = vec![
        Lane {
            name: "Then".into(),
            condition: None,
            cards: vec![card(
                3,
                "directory.assign_app",
                &[("user", trigger("user.id")), ("role", from(1, "row.role"))],
            )],
        },
        Lane {
            name: "Else".into(),
            condition: None,
            cards: vec![],
        },
    ];
    flow.cards = vec![
        card(
            1,
            "tables.read_row",
            &[
                ("table", literal("department roles")),
                ("key", trigger("user.department")),
            ],
        ),
        role,
        has_manager(4),
        card(
            5,
            "directory.read_user",
            &[("user", trigger("user.manager"))],
        ),
        email(
            6,
            from(5, "user.email"),
            "{{ trigger.user.display_name }} joins your team",
            "Hi {{ card_5.user.display_name }},\n\n{{ trigger.user.display_name }} ({{ trigger.user.email }}) has an account now and joins your team. Please welcome them.\n\nidflow",
        ),
    ];
    Template {
        key: "hire-by-department",
        name: "Hire: role by department",
        description: "When a user is created, give them the role their department is mapped to in a table, and email their manager.",
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
    flow.description = "A deactivated user leaves every group and is signed out everywhere; the `offboarded` table records it and IT hears of it in Slack (#it-offboarding).".into();
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
                ("table", literal("offboarded")),
                (
                    "row",
                    text(
                        "{{ {'email': trigger.user.email, 'when': trigger.occurred_at, 'groups': card_1.count} }}",
                    ),
                ),
            ],
        ),
        card(
            4,
            "slack.send_message",
            &[
                ("channel", literal("#it-offboarding")),
                (
                    "text",
                    text(
                        "{{ trigger.user.display_name }} ({{ trigger.user.email }}) was deactivated: removed from {{ card_1.count }} groups and signed out everywhere.",
                    ),
                ),
            ],
        ),
    ];
    Template {
        key: "offboarding",
        name: "Offboarding",
        description: "When a user is deactivated, remove them from all groups, end their sessions, log it in a table and tell IT in Slack.",
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

/// A scheduled flow's trigger: every morning at nine (UTC).
fn every_morning(flow: &mut Flow) {
    flow.trigger
        .options
        .insert("cron".into(), literal("0 0 9 * * *"));
    flow.trigger
        .options
        .insert("time_zone".into(), literal("UTC"));
}

fn now(id: u32) -> Card {
    card(id, "datetime.now", &[])
}

/// The time three days before card `of`'s output.
fn three_days_before(id: u32, of: u32) -> Card {
    card(
        id,
        "datetime.add",
        &[
            ("date", from(of, "output")),
            ("amount", Binding::literal(-3)),
            ("unit", literal("days")),
        ],
    )
}

fn mfa_reminder() -> Template {
    let mut remind = Flow::new("Remind one user about MFA", "trigger.helper");
    remind.description =
        "Helper of \"MFA enrollment reminder\": emails one reminder and counts it.".into();
    remind.cards = vec![
        card(
            1,
            "text.compose",
            &[(
                "template",
                text(
                    "Hi {{ trigger.item.display_name }}, please set up multi-factor authentication.",
                ),
            )],
        ),
        email(
            2,
            trigger("item.email"),
            "Please set up multi-factor authentication",
            "{{ card_1.output }}\n\nUntil you do, you get this reminder every morning.\n\nIT",
        ),
        card(
            3,
            "tables.find_or_create_row",
            &[
                ("table", literal("mfa_reminders")),
                ("key", trigger("item.email")),
                (
                    "row",
                    text("{{ {'first_reminded': trigger.input.now, 'times': 0} }}"),
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
                ("table", literal("mfa_reminders")),
                ("key", trigger("item.email")),
                ("row", text("{{ {'times': card_4.output} }}")),
            ],
        ),
    ];
    let mut daily = Flow::new("MFA enrollment reminder", "trigger.scheduled");
    daily.description = "Every morning, users without MFA whose account is older than three days get a reminder by email, until they enroll (attribute `mfaEnrolled`).".into();
    every_morning(&mut daily);
    daily.cards = vec![
        now(1),
        three_days_before(2, 1),
        card(
            3,
            "text.compose",
            &[(
                "template",
                text(
                    "not (mfaEnrolled eq true) and active eq true and meta.created lt \"{{ card_2.output }}\"",
                ),
            )],
        ),
        card(4, "directory.find_users", &[("filter", from(3, "output"))]),
        card(
            5,
            "flow.for_each",
            &[
                ("flow", literal("Remind one user about MFA")),
                ("items", from(4, "users")),
                ("input", text("{{ {'now': card_1.output} }}")),
            ],
        ),
    ];
    Template {
        key: "mfa-reminder",
        name: "MFA enrollment reminder",
        description: "Daily: email users without MFA after three days, log who was reminded, stop once they enroll.",
        tables: vec![Schema::new(
            "mfa_reminders",
            &[
                ("email", ColumnType::Text),
                ("first_reminded", ColumnType::DateTime),
                ("times", ColumnType::Number),
            ],
            Some("email"),
        )],
        flows: vec![remind, daily],
    }
}

fn lockout() -> Template {
    let mut flow = Flow::new(
        "Tell the manager about a lockout",
        "directory.user_locked_out",
    );
    flow.description =
        "When a user is locked out, their manager gets an email (no manager: nothing is sent)."
            .into();
    flow.cards = vec![
        has_manager(1),
        card(
            2,
            "directory.read_user",
            &[("user", trigger("user.manager"))],
        ),
        email(
            3,
            from(2, "user.email"),
            "{{ trigger.user.display_name }} is locked out",
            "Hi {{ card_2.user.display_name }},\n\n{{ trigger.user.display_name }} is locked out of their account after failed sign-ins. Ask them to call the IT desk.\n\nidflow",
        ),
    ];
    Template {
        key: "lockout-manager",
        name: "Lockout: tell the manager",
        description: "When a user's account is locked, look up their manager and email them.",
        tables: vec![],
        flows: vec![flow],
    }
}

/// A lane of a Branch on a title: runs `card` when `when` holds.
fn title_lane(name: &str, when: &str, card: Card) -> Lane {
    Lane {
        name: name.into(),
        condition: Some(text(when)),
        cards: vec![card],
    }
}

fn title_change() -> Template {
    let mut flow = Flow::new("Title change: groups", "directory.user_profile_updated");
    flow.description = "When a user's title changes, they join the group their new title calls for and leave the one their old title did (groups `Engineering` and `Managers`; adjust the lanes), and IT hears of it in Slack (#it-identity).".into();
    flow.trigger
        .options
        .insert("filter".into(), literal("'title' in trigger.changed"));
    let group_card = |id: u32, kind: &str, group: &str| {
        card(
            id,
            kind,
            &[("user", trigger("user.id")), ("group", literal(group))],
        )
    };
    let mut join = card(1, "flow.branch", &[]);
    join.lanes = vec![
        title_lane(
            "Engineers",
            "{{ 'Engineer' in (trigger.user.title or '') }}",
            group_card(2, "directory.add_to_group", "Engineering"),
        ),
        title_lane(
            "Managers",
            "{{ 'Manager' in (trigger.user.title or '') }}",
            group_card(3, "directory.add_to_group", "Managers"),
        ),
    ];
    let mut leave = card(4, "flow.branch", &[]);
    leave.lanes = vec![
        title_lane(
            "Was an engineer",
            "{{ 'Engineer' in (trigger.old_values.title or '') and 'Engineer' not in (trigger.user.title or '') }}",
            group_card(5, "directory.remove_from_group", "Engineering"),
        ),
        title_lane(
            "Was a manager",
            "{{ 'Manager' in (trigger.old_values.title or '') and 'Manager' not in (trigger.user.title or '') }}",
            group_card(6, "directory.remove_from_group", "Managers"),
        ),
    ];
    let tell = card(
        7,
        "slack.send_message",
        &[
            ("channel", literal("#it-identity")),
            (
                "text",
                text(
                    "{{ trigger.user.display_name }}'s title changed from \"{{ trigger.old_values.title or '' }}\" to \"{{ trigger.user.title or '' }}\"; their groups follow it.",
                ),
            ),
        ],
    );
    flow.cards = vec![join, leave, tell];
    Template {
        key: "title-change-groups",
        name: "Title change: groups",
        description: "When a user's title changes, put them in the group that goes with it, take them out of the old one, and tell IT in Slack.",
        tables: vec![],
        flows: vec![flow],
    }
}

/// Carries on only when `user` (a path to an Okta user a card gave) has a manager.
fn okta_has_manager(id: u32, user: &str) -> Card {
    card(
        id,
        "flow.continue_if",
        &[(
            "condition",
            text(&format!("{{{{ ({user}.manager_id or '') != '' }}}}")),
        )],
    )
}

fn okta_hire() -> Template {
    let mut flow = Flow::new("Okta: group by department", "okta.user_created");
    flow.description = "A user created in Okta joins the Okta group the `okta department groups` table gives their department (no row: no group), and their manager gets an email.".into();
    let mut group = card(3, "flow.if_else", &[("condition", from(2, "found"))]);
    group.lanes = vec![
        Lane {
            name: "Then".into(),
            condition: None,
            cards: vec![card(
                4,
                "okta.add_to_group",
                &[
                    ("user", trigger("user.id")),
                    ("group", from(2, "row.group")),
                ],
            )],
        },
        Lane {
            name: "Else".into(),
            condition: None,
            cards: vec![],
        },
    ];
    flow.cards = vec![
        card(1, "okta.read_user", &[("user", trigger("user.id"))]),
        card(
            2,
            "tables.read_row",
            &[
                ("table", literal("okta department groups")),
                ("key", from(1, "user.profile.department")),
            ],
        ),
        group,
        okta_has_manager(5, "card_1.user"),
        card(6, "okta.read_user", &[("user", from(1, "user.manager_id"))]),
        email(
            7,
            from(6, "user.email"),
            "{{ trigger.user.name }} joins your team",
            "Hi {{ card_6.user.first_name }},\n\n{{ trigger.user.name }} ({{ trigger.user.login }}) has an Okta account now and joins your team. Please welcome them.\n\nidflow",
        ),
    ];
    Template {
        key: "okta-hire",
        name: "Okta: group by department",
        description: "When a user is created in Okta, add them to the Okta group their department is mapped to in a table, and email their manager.",
        tables: vec![Schema::new(
            "okta department groups",
            &[
                ("department", ColumnType::Text),
                ("group", ColumnType::Text),
            ],
            Some("department"),
        )],
        flows: vec![flow],
    }
}

fn okta_offboarding() -> Template {
    let mut leave = Flow::new("Okta: leave one group", "trigger.helper");
    leave.description =
        "Helper of \"Okta: offboarding\": removes the user (input.user) from one Okta group."
            .into();
    leave.cards = vec![card(
        1,
        "okta.remove_from_group",
        &[
            ("user", trigger("input.user")),
            ("group", trigger("item.id")),
        ],
    )];
    let mut flow = Flow::new("Okta: offboarding", "okta.user_deactivated");
    flow.description = "A user deactivated in Okta is signed out of every Okta session and leaves every Okta group; the `okta offboarded` table records it and IT hears of it in Slack (#it-offboarding).".into();
    flow.cards = vec![
        card(1, "okta.clear_sessions", &[("user", trigger("user.id"))]),
        card(2, "okta.list_user_groups", &[("user", trigger("user.id"))]),
        card(
            3,
            "flow.for_each",
            &[
                ("flow", literal("Okta: leave one group")),
                ("items", from(2, "groups")),
                ("input", text("{{ {'user': trigger.user.id} }}")),
            ],
        ),
        card(
            4,
            "tables.create_row",
            &[
                ("table", literal("okta offboarded")),
                (
                    "row",
                    text(
                        "{{ {'login': trigger.user.login, 'when': trigger.published, 'groups': card_2.count} }}",
                    ),
                ),
            ],
        ),
        card(
            5,
            "slack.send_message",
            &[
                ("channel", literal("#it-offboarding")),
                (
                    "text",
                    text(
                        "{{ trigger.user.name }} ({{ trigger.user.login }}) was deactivated in Okta: signed out everywhere and removed from {{ card_2.count }} groups.",
                    ),
                ),
            ],
        ),
    ];
    Template {
        key: "okta-offboarding",
        name: "Okta: offboarding",
        description: "When Okta deactivates a user (user.lifecycle.deactivate), clear their sessions, remove them from their groups, log it and tell IT in Slack.",
        tables: vec![Schema::new(
            "okta offboarded",
            &[
                ("login", ColumnType::Text),
                ("when", ColumnType::DateTime),
                ("groups", ColumnType::Number),
            ],
            None,
        )],
        flows: vec![leave, flow],
    }
}

fn okta_mfa_reminder() -> Template {
    let mut enrolled = Flow::new("Okta: note MFA enrollment", "okta.factor_enrolled");
    enrolled.description =
        "Records in `okta mfa enrolled` each user who enrolled an MFA factor in Okta.".into();
    enrolled.cards = vec![card(
        1,
        "tables.find_or_create_row",
        &[
            ("table", literal("okta mfa enrolled")),
            ("key", trigger("user.id")),
            (
                "row",
                text("{{ {'login': trigger.user.login, 'enrolled': trigger.published} }}"),
            ),
        ],
    )];
    let mut remind = Flow::new("Okta: remind one user about MFA", "trigger.helper");
    remind.description =
        "Helper of \"Okta: MFA enrollment reminder\": emails one user who has not enrolled.".into();
    remind.cards = vec![
        card(
            1,
            "tables.read_row",
            &[
                ("table", literal("okta mfa enrolled")),
                ("key", trigger("item.id")),
            ],
        ),
        card(
            2,
            "flow.continue_if",
            &[("condition", text("{{ not card_1.found }}"))],
        ),
        email(
            3,
            trigger("item.email"),
            "Please set up multi-factor authentication",
            "Hi {{ trigger.item.first_name }},\n\nplease set up multi-factor authentication for your Okta account. Until you do, you get this reminder every morning.\n\nIT",
        ),
    ];
    let mut daily = Flow::new("Okta: MFA enrollment reminder", "trigger.scheduled");
    daily.description = "Every morning, active Okta users created over three days ago who have not enrolled MFA (as `Okta: note MFA enrollment` recorded) get a reminder by email.".into();
    every_morning(&mut daily);
    daily.cards = vec![
        now(1),
        three_days_before(2, 1),
        card(
            3,
            "text.compose",
            &[(
                "template",
                text("status eq \"ACTIVE\" and created lt \"{{ card_2.output }}\""),
            )],
        ),
        card(4, "okta.search_users", &[("filter", from(3, "output"))]),
        card(
            5,
            "flow.for_each",
            &[
                ("flow", literal("Okta: remind one user about MFA")),
                ("items", from(4, "users")),
            ],
        ),
    ];
    Template {
        key: "okta-mfa-reminder",
        name: "Okta: MFA enrollment reminder",
        description: "Note each MFA enrollment Okta reports; daily, email Okta users without one after three days.",
        tables: vec![Schema::new(
            "okta mfa enrolled",
            &[
                ("user", ColumnType::Text),
                ("login", ColumnType::Text),
                ("enrolled", ColumnType::DateTime),
            ],
            Some("user"),
        )],
        flows: vec![enrolled, remind, daily],
    }
}

fn okta_lockout() -> Template {
    let mut flow = Flow::new(
        "Okta: tell the manager about a lockout",
        "okta.user_locked_out",
    );
    flow.description = "When Okta locks a user out (user.account.lock), their manager (profile.managerId) gets an email; no manager: nothing is sent.".into();
    flow.cards = vec![
        card(1, "okta.read_user", &[("user", trigger("user.id"))]),
        okta_has_manager(2, "card_1.user"),
        card(3, "okta.read_user", &[("user", from(1, "user.manager_id"))]),
        email(
            4,
            from(3, "user.email"),
            "{{ trigger.user.name }} is locked out",
            "Hi {{ card_3.user.first_name }},\n\n{{ trigger.user.name }} is locked out of Okta after failed sign-ins. Ask them to call the IT desk.\n\nidflow",
        ),
    ];
    Template {
        key: "okta-lockout-manager",
        name: "Okta: lockout, tell the manager",
        description: "When Okta locks a user out, read their manager in Okta and email them.",
        tables: vec![],
        flows: vec![flow],
    }
}

/// The `okta titles` row of the title Okta has now (card 1 read the user).
fn title_now() -> Binding {
    text("{{ {'title': card_1.user.profile.title or ''} }}")
}

fn okta_title_change() -> Template {
    let mut flow = Flow::new("Okta: title change, groups", "okta.user_profile_updated");
    flow.description = "When a user's title changes in Okta (as the `okta titles` table last saw it), they join the Okta group their new title calls for (replace the group IDs 00g-engineering and 00g-managers in the lanes with yours), and IT hears of it in Slack (#it-identity).".into();
    let group_card = |id: u32, group: &str| {
        card(
            id,
            "okta.add_to_group",
            &[("user", trigger("user.id")), ("group", literal(group))],
        )
    };
    let mut join = card(4, "flow.branch", &[]);
    join.lanes = vec![
        title_lane(
            "Engineers",
            "{{ 'Engineer' in (card_1.user.profile.title or '') }}",
            group_card(5, "00g-engineering"),
        ),
        title_lane(
            "Managers",
            "{{ 'Manager' in (card_1.user.profile.title or '') }}",
            group_card(6, "00g-managers"),
        ),
    ];
    flow.cards = vec![
        card(1, "okta.read_user", &[("user", trigger("user.id"))]),
        card(
            2,
            "tables.read_row",
            &[
                ("table", literal("okta titles")),
                ("key", trigger("user.id")),
            ],
        ),
        card(
            3,
            "flow.continue_if",
            &[(
                "condition",
                text("{{ ((card_2.row or {}).title or '') != (card_1.user.profile.title or '') }}"),
            )],
        ),
        join,
        card(
            7,
            "tables.find_or_create_row",
            &[
                ("table", literal("okta titles")),
                ("key", trigger("user.id")),
                ("row", title_now()),
            ],
        ),
        card(
            8,
            "tables.update_row",
            &[
                ("table", literal("okta titles")),
                ("key", trigger("user.id")),
                ("row", title_now()),
            ],
        ),
        card(
            9,
            "slack.send_message",
            &[
                ("channel", literal("#it-identity")),
                (
                    "text",
                    text(
                        "{{ trigger.user.name }}'s title in Okta changed from \"{{ (card_2.row or {}).title or '' }}\" to \"{{ card_1.user.profile.title or '' }}\"; their groups follow it.",
                    ),
                ),
            ],
        ),
    ];
    Template {
        key: "okta-title-change-groups",
        name: "Okta: title change, groups",
        description: "When a user's title changes in Okta, add them to the Okta group that goes with it and tell IT in Slack.",
        tables: vec![Schema::new(
            "okta titles",
            &[("user", ColumnType::Text), ("title", ColumnType::Text)],
            Some("user"),
        )],
        flows: vec![flow],
    }
}

/// Every template, in the order the Flows tab lists them: the directory's, then the
/// same use cases on an Okta org.
pub fn templates() -> Vec<Template> {
    vec![
        hire(),
        offboarding(),
        mfa_reminder(),
        lockout(),
        title_change(),
        okta_hire(),
        okta_offboarding(),
        okta_mfa_reminder(),
        okta_lockout(),
        okta_title_change(),
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
            // With a connection chosen for each kind its cards use.
            let chosen = template
                .connection_kinds()
                .iter()
                .map(|k| (k.key.to_string(), uuid::Uuid::nil().to_string()))
                .collect();
            for flow in template.bundle(&chosen).flows.iter().map(|f| &f.flow) {
                let problems = validate(flow, catalog());
                assert!(problems.is_empty(), "{}: {problems:?}", flow.name);
            }
            for table in &template.tables {
                assert!(table.problems().is_empty(), "{}", table.name);
            }
        }
        assert_eq!(templates().len(), 10);
        let okta = template("okta-offboarding").unwrap();
        let kinds: Vec<&str> = okta.connection_kinds().iter().map(|k| k.key).collect();
        assert_eq!(kinds, vec!["okta", "slack"]);
        assert!(template("offboarding").is_some());
    }

    #[test]
    fn installing_points_each_card_at_the_connection_chosen_for_its_kind() {
        let title = template("title-change-groups").unwrap();
        let kinds: Vec<&str> = title.connection_kinds().iter().map(|k| k.key).collect();
        assert_eq!(kinds, vec!["slack"]);
        let mfa = template("mfa-reminder").unwrap();
        let kinds: Vec<&str> = mfa.connection_kinds().iter().map(|k| k.key).collect();
        assert_eq!(kinds, vec!["smtp"]);

        // Chosen: every card of the kind names it, and only those.
        let chosen = BTreeMap::from([("smtp".to_string(), "c-1".to_string())]);
        let bundle = mfa.bundle(&chosen);
        let remind = &bundle.flows[0].flow;
        assert_eq!(remind.connection_references(), vec!["c-1".to_string()]);
        assert!(
            crate::flows::validate::validate(remind, catalog()).is_empty(),
            "complete once chosen"
        );
        assert!(bundle.flows[1].flow.connection_references().is_empty());
        // Not chosen: the card lacks its connection, which validation names.
        let bare = mfa.bundle(&BTreeMap::new());
        let problems = crate::flows::validate::validate(&bare.flows[0].flow, catalog());
        assert!(
            problems
                .iter()
                .any(|p| p.input.as_deref() == Some("connection")),
            "{problems:?}"
        );
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
