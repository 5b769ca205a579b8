//! The card catalog: every trigger and card, with its typed input and output fields,
//! described once. Validation, the engine and the builder's palette all read it; a card
//! kind that is not here does not exist.
//!
//! Pure data: no card runs here.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The type of a field's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    Boolean,
    DateTime,
    /// An object; its declared fields can be mapped one by one (`user.email`). With no
    /// declared fields, any path below it may be mapped, as [`FieldType::Any`].
    Object {
        fields: Vec<FieldSpec>,
    },
    List {
        of: Box<FieldType>,
    },
    /// Anything (JSON); checked when the card runs.
    Any,
}

impl FieldType {
    /// Whether a value of type `from` may be mapped to a field of this type. Text takes
    /// numbers, true/false and dates (they are written out); `Any` takes and goes
    /// anywhere; objects and lists go only where their kind is expected.
    pub fn accepts(&self, from: &FieldType) -> bool {
        use FieldType::*;
        match (self, from) {
            (Any, _) | (_, Any) => true,
            (Text, Text | Number | Boolean | DateTime) => true,
            (Number, Number) | (Boolean, Boolean) | (DateTime, DateTime) => true,
            (DateTime, Text) => true,
            (Object { .. }, Object { .. }) => true,
            (List { of: a }, List { of: b }) => a.accepts(b),
            _ => false,
        }
    }

    /// The name an admin reads ("Text", "List of Object").
    pub fn label(&self) -> String {
        match self {
            FieldType::Text => "Text".into(),
            FieldType::Number => "Number".into(),
            FieldType::Boolean => "True/False".into(),
            FieldType::DateTime => "Date & Time".into(),
            FieldType::Object { .. } => "Object".into(),
            FieldType::List { of } => format!("List of {}", of.label()),
            FieldType::Any => "Any".into(),
        }
    }

    /// The type at `path` below a value of this type (`email` below a user), if the path
    /// exists. Below an object without declared fields, or below `Any`, every path is
    /// `Any`.
    pub fn at(&self, path: &[&str]) -> Option<FieldType> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self.clone());
        };
        match self {
            FieldType::Object { fields } if fields.is_empty() => Some(FieldType::Any),
            FieldType::Object { fields } => fields
                .iter()
                .find(|f| f.name == *first)
                .and_then(|f| f.ty.at(rest)),
            FieldType::Any => Some(FieldType::Any),
            _ => None,
        }
    }
}

/// One input or output field of a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// The key in the flow definition (`user_id`).
    pub name: String,
    /// What the card shows ("User ID").
    pub label: String,
    #[serde(flatten)]
    pub ty: FieldType,
    /// Inputs only: the card cannot run without it.
    #[serde(default)]
    pub required: bool,
}

/// What a card is, for the palette and the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardRole {
    /// Starts a flow.
    Trigger,
    /// Does something (changes the directory, writes a table, calls out).
    Action,
    /// Steers the flow (If/Else, Branch, Return, …).
    Control,
    /// Computes a value from its inputs; changes nothing.
    Function,
}

/// The lanes a logic card holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lanes {
    None,
    /// Exactly these lanes, by name.
    Fixed(&'static [&'static str]),
    /// One or more lanes, each with its own condition (Branch).
    Cases,
}

/// One entry of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardSpec {
    /// The key a flow definition names it by (`directory.deactivate_user`).
    pub key: &'static str,
    /// The palette group it is listed under ("Directory", "Tables", "Text").
    pub app: &'static str,
    /// Its name on the card ("Deactivate User").
    pub name: &'static str,
    pub description: &'static str,
    pub role: CardRole,
    pub inputs: Vec<FieldSpec>,
    pub outputs: Vec<FieldSpec>,
    pub lanes: Lanes,
    /// Whether the card deactivates, suspends or removes users: the blast-radius guard
    /// counts what it does.
    pub destructive: bool,
}

/// Cards that only read: running one again changes nothing.
const READ_ONLY: &[&str] = &[
    "flow.if_else",
    "flow.branch",
    "flow.continue_if",
    "flow.lookup",
    "flow.return",
    "directory.read_user",
    "directory.find_users",
    "directory.list_group_members",
    "directory.list_user_groups",
    "tables.read_row",
    "tables.search_rows",
    "tables.count_rows",
    "okta.read_user",
    "okta.search_users",
    "okta.list_users",
    "okta.list_group_members",
    "okta.read_group",
    "okta.list_user_groups",
    "okta.search_system_log",
];

impl CardSpec {
    /// Whether the card changes nothing outside its execution (a function, a logic card,
    /// a read): the engine may store its record together with the next card's, since
    /// running it again after a crash does no harm.
    pub fn changes_nothing(&self) -> bool {
        self.role == CardRole::Function || READ_ONLY.contains(&self.key)
    }

    pub fn input(&self, name: &str) -> Option<&FieldSpec> {
        self.inputs.iter().find(|f| f.name == name)
    }

    /// The type an input binding named `name` must give: an input's own type, or for a
    /// field of an object input (`row.email`, one column of the row a Create Row card
    /// writes) the type that field has, `Any` when the object declares none.
    pub fn input_type(&self, name: &str) -> Option<FieldType> {
        if let Some(input) = self.input(name) {
            return Some(input.ty.clone());
        }
        let (root, rest) = name.split_once('.')?;
        let input = self.input(root)?;
        if rest.is_empty() || !matches!(input.ty, FieldType::Object { .. } | FieldType::Any) {
            return None;
        }
        let parts: Vec<&str> = rest.split('.').collect();
        input.ty.at(&parts)
    }

    /// The type of the output at `path` (`user.email`), if the card has it.
    pub fn output_at(&self, path: &str) -> Option<FieldType> {
        let parts: Vec<&str> = path.split('.').collect();
        let (first, rest) = parts.split_first()?;
        self.outputs
            .iter()
            .find(|f| f.name == *first)
            .and_then(|f| f.ty.at(rest))
    }
}

/// The whole catalog.
pub struct Catalog {
    cards: Vec<CardSpec>,
    /// Each card's place in `cards`, by key: the engine looks cards up several times per
    /// card it runs.
    by_key: std::collections::HashMap<&'static str, usize>,
}

impl Catalog {
    fn new(cards: Vec<CardSpec>) -> Catalog {
        let mut by_key = std::collections::HashMap::with_capacity(cards.len());
        for (i, card) in cards.iter().enumerate() {
            by_key.entry(card.key).or_insert(i);
        }
        Catalog { cards, by_key }
    }

    pub fn get(&self, key: &str) -> Option<&CardSpec> {
        self.by_key.get(key).map(|&i| &self.cards[i])
    }

    pub fn all(&self) -> &[CardSpec] {
        &self.cards
    }

    /// Cards whose name, app or description contains `query` (ignoring case), for the
    /// palette's search.
    pub fn search<'a>(&'a self, query: &str) -> impl Iterator<Item = &'a CardSpec> {
        let query = query.trim().to_lowercase();
        self.cards.iter().filter(move |c| {
            query.is_empty()
                || c.name.to_lowercase().contains(&query)
                || c.app.to_lowercase().contains(&query)
                || c.description.to_lowercase().contains(&query)
        })
    }
}

/// The catalog of this build.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::new(build()))
}

// Short constructors keep the catalog readable as a table.

fn field(name: &str, label: &str, ty: FieldType) -> FieldSpec {
    FieldSpec {
        name: name.into(),
        label: label.into(),
        ty,
        required: false,
    }
}

fn required(name: &str, label: &str, ty: FieldType) -> FieldSpec {
    FieldSpec {
        required: true,
        ..field(name, label, ty)
    }
}

fn list(of: FieldType) -> FieldType {
    FieldType::List { of: Box::new(of) }
}

fn object() -> FieldType {
    FieldType::Object { fields: vec![] }
}

/// A directory user as cards give it.
fn user_type() -> FieldType {
    use FieldType::*;
    FieldType::Object {
        fields: vec![
            field("id", "ID", Text),
            field("user_name", "Username", Text),
            field("email", "Email", Text),
            field("display_name", "Display Name", Text),
            field("given_name", "First Name", Text),
            field("family_name", "Last Name", Text),
            field("title", "Title", Text),
            field("department", "Department", Text),
            field("manager", "Manager", Text),
            field("status", "Status", Text),
            field("role", "Console Role", Text),
            field("external_id", "External ID", Text),
            field("attributes", "All Attributes", object()),
        ],
    }
}

fn group_type() -> FieldType {
    use FieldType::*;
    FieldType::Object {
        fields: vec![
            field("id", "ID", Text),
            field("name", "Name", Text),
            field("external_id", "External ID", Text),
        ],
    }
}

struct Spec(CardSpec);

impl Spec {
    fn new(key: &'static str, app: &'static str, name: &'static str, role: CardRole) -> Spec {
        Spec(CardSpec {
            key,
            app,
            name,
            description: "",
            role,
            inputs: vec![],
            outputs: vec![],
            lanes: Lanes::None,
            destructive: false,
        })
    }
    fn says(mut self, description: &'static str) -> Spec {
        self.0.description = description;
        self
    }
    fn takes(mut self, inputs: Vec<FieldSpec>) -> Spec {
        self.0.inputs = inputs;
        self
    }
    fn gives(mut self, outputs: Vec<FieldSpec>) -> Spec {
        self.0.outputs = outputs;
        self
    }
    fn lanes(mut self, lanes: Lanes) -> Spec {
        self.0.lanes = lanes;
        self
    }
    fn destructive(mut self) -> Spec {
        self.0.destructive = true;
        self
    }
}

fn directory_trigger(key: &'static str, name: &'static str, says: &'static str) -> Spec {
    use FieldType::*;
    Spec::new(key, "Directory", name, CardRole::Trigger)
        .says(says)
        .takes(vec![field("filter", "Only when (condition)", Text)])
        .gives(vec![
            field("user", "User", user_type()),
            field("event_id", "Event ID", Text),
            field("occurred_at", "Time", DateTime),
            field("actor", "Changed by", Text),
        ])
}

fn group_trigger(key: &'static str, name: &'static str, says: &'static str) -> Spec {
    use FieldType::*;
    Spec::new(key, "Directory", name, CardRole::Trigger)
        .says(says)
        .takes(vec![field("filter", "Only when (condition)", Text)])
        .gives(vec![
            field("group", "Group", group_type()),
            field("event_id", "Event ID", Text),
            field("occurred_at", "Time", DateTime),
            field("actor", "Changed by", Text),
        ])
}

/// Who or what an Okta event names: id, login and name.
fn okta_party_type() -> FieldType {
    use FieldType::*;
    FieldType::Object {
        fields: vec![
            field("id", "ID", Text),
            field("login", "Login", Text),
            field("name", "Name", Text),
            field("type", "Type", Text),
        ],
    }
}

/// An Okta group or application an event names.
fn okta_named_type() -> FieldType {
    use FieldType::*;
    FieldType::Object {
        fields: vec![field("id", "ID", Text), field("name", "Name", Text)],
    }
}

/// The trigger an Okta Event Hook event starts (see `crate::okta::EVENT_TRIGGERS`).
fn okta_trigger(on: &crate::okta::EventTrigger) -> Spec {
    use FieldType::*;
    Spec::new(on.key, "Okta", on.name, CardRole::Trigger)
        .says(on.says)
        .takes(vec![
            field("connection", "Okta connection (empty: any)", Text),
            field("filter", "Only when (condition)", Text),
        ])
        .gives(vec![
            field("user", "User", okta_party_type()),
            field("actor", "Done by", okta_party_type()),
            field("group", "Group", okta_named_type()),
            field("app", "Application", okta_named_type()),
            field("event_type", "Event Type", Text),
            field("uuid", "Event ID", Text),
            field("published", "Time", DateTime),
            field("message", "Message", Text),
            field("event", "Raw Event", object()),
        ])
}

/// An Okta user as Okta cards give it.
fn okta_user_type() -> FieldType {
    use FieldType::*;
    FieldType::Object {
        fields: vec![
            field("id", "ID", Text),
            field("status", "Status", Text),
            field("login", "Login", Text),
            field("email", "Email", Text),
            field("first_name", "First Name", Text),
            field("last_name", "Last Name", Text),
            field("manager_id", "Manager ID", Text),
            field("profile", "Profile", object()),
        ],
    }
}

/// An Okta card (see `crate::okta::CARDS`): its connection, the inputs its request
/// takes, and what it gives, with Okta's request id.
fn okta_card(card: &crate::okta::OktaCard) -> Spec {
    use crate::okta::Gives;
    use FieldType::*;
    let mut inputs = vec![required("connection", "Okta connection", Text)];
    if card.path.contains("{user}") || card.key == "okta.assign_app" {
        inputs.push(required("user", "User ID or login", Text));
    }
    if card.path.contains("{group}") {
        inputs.push(required("group", "Group ID", Text));
    }
    if card.path.contains("{app}") {
        inputs.push(required("app", "Application ID", Text));
    }
    match card.key {
        "okta.search_users" => inputs.extend([
            field("search", "Search (search expression)", Text),
            field("filter", "Filter (filter expression)", Text),
        ]),
        "okta.create_user" => inputs.extend([
            required("profile", "Profile", object()),
            field("activate", "Activate", Boolean),
        ]),
        "okta.update_profile" => inputs.push(required("profile", "Profile", object())),
        "okta.search_system_log" => inputs.extend([
            field("since", "Since", DateTime),
            field("until", "Until", DateTime),
            field("keyword", "Keyword (q)", Text),
            field(
                "pairs",
                "Key/value pairs (each eq, joined with and)",
                object(),
            ),
            field("custom_filter", "Custom Filter", Text),
            field("sort_order", "Sort Order (ASCENDING or DESCENDING)", Text),
        ]),
        "okta.custom_api_action" => inputs.extend([
            field("method", "Method", Text),
            required("path", "Path (under the org, /api/v1/…)", Text),
            field("query", "Query", object()),
            field("body", "Body", Any),
        ]),
        _ => {}
    }
    if matches!(card.gives, Gives::Users | Gives::Groups | Gives::Events) {
        inputs.push(field("limit", "Limit (at most 200)", Number));
    }
    if card.streams() {
        inputs.extend([
            field("mode", "Mode (First 200 or Stream)", Text),
            field("flow", "Helper Flow (Stream)", Text),
            field("input", "Shared Input (Stream)", Any),
        ]);
    }
    let mut outputs = match card.gives {
        Gives::User => vec![field("user", "User", okta_user_type())],
        Gives::Users => vec![
            field("users", "Users", list(okta_user_type())),
            field("count", "Count", Number),
            field("next", "Next Page", Text),
        ],
        Gives::Group => vec![field(
            "group",
            "Group",
            FieldType::Object {
                fields: vec![
                    field("id", "ID", Text),
                    field("name", "Name", Text),
                    field("description", "Description", Text),
                ],
            },
        )],
        Gives::Groups => vec![
            field(
                "groups",
                "Groups",
                list(FieldType::Object {
                    fields: vec![field("id", "ID", Text), field("name", "Name", Text)],
                }),
            ),
            field("count", "Count", Number),
            field("next", "Next Page", Text),
        ],
        Gives::Events => vec![
            field("events", "Events", list(object())),
            field("count", "Count", Number),
            field("next", "Next Page", Text),
        ],
        Gives::Done => vec![field("done", "Done", Boolean)],
        Gives::Answer => vec![
            field("status", "Status", Number),
            field("body", "Body", Any),
        ],
    };
    if card.streams() {
        outputs.push(field("pages", "Pages Read (Stream)", Number));
    }
    outputs.push(field("request_id", "Okta Request ID", Text));
    let spec = Spec::new(card.key, "Okta", card.name, CardRole::Action)
        .says(card.says)
        .takes(inputs)
        .gives(outputs);
    if card.destructive {
        spec.destructive()
    } else {
        spec
    }
}

fn build() -> Vec<CardSpec> {
    use CardRole::*;
    use FieldType::*;
    let user_id = || required("user", "User ID", Text);
    let group_id = || required("group", "Group ID", Text);
    let row = || field("row", "Row", object());
    let table = || required("table", "Table", Text);
    let text_in = || required("text", "Text", Text);
    let text_out = || vec![field("output", "Output", Text)];
    let number_out = || vec![field("output", "Output", Number)];
    let bool_out = || vec![field("output", "Output", Boolean)];
    let any_list = || list(Any);

    let specs = vec![
        // Triggers
        directory_trigger("directory.user_created", "User Created", "A user was created (SCIM, the console or a flow)."),
        directory_trigger("directory.user_deactivated", "User Deactivated", "A user was deactivated."),
        directory_trigger("directory.user_suspended", "User Suspended", "A user was suspended."),
        directory_trigger("directory.user_unsuspended", "User Unsuspended", "A suspended user is active again."),
        directory_trigger("directory.user_reactivated", "User Reactivated", "A deactivated user is active again (Activate User, SCIM active: true, the console)."),
        directory_trigger("directory.user_provisioned", "User Provisioned", "A user's assignment was sent again (Provision User on the Assignments page); gives the user with their current role."),
        group_trigger("directory.group_created", "Group Created", "A group was created (SCIM, the console or a flow)."),
        group_trigger("directory.group_deleted", "Group Deleted", "A group was deleted; gives the group as it was."),
        directory_trigger("directory.user_deleted", "User Deleted", "A user was deleted."),
        directory_trigger("directory.user_locked_out", "User Account Locked", "A user was locked out after failed sign-ins."),
        directory_trigger("directory.user_role_changed", "User Role Changed", "A user's console role changed."),
        directory_trigger("directory.user_assigned_to_app", "User Assigned to App", "A user was assigned to the app."),
        directory_trigger("directory.user_unassigned_from_app", "User Unassigned from App", "A user was unassigned from the app."),
        directory_trigger("directory.user_profile_updated", "User Profile Updated", "A user's attributes changed; gives the changed attributes and their old values.")
            .gives(vec![
                field("user", "User", user_type()),
                field("changed", "Changed Attributes", list(Text)),
                field("old_values", "Old Values", object()),
                field("event_id", "Event ID", Text),
                field("occurred_at", "Time", DateTime),
                field("actor", "Changed by", Text),
            ]),
        directory_trigger("directory.user_added_to_group", "User Added to Group", "A user joined a group.")
            .gives(vec![
                field("user", "User", user_type()),
                field("group", "Group", group_type()),
                field("event_id", "Event ID", Text),
                field("occurred_at", "Time", DateTime),
                field("actor", "Changed by", Text),
            ]),
        directory_trigger("directory.user_removed_from_group", "User Removed from Group", "A user left a group.")
            .gives(vec![
                field("user", "User", user_type()),
                field("group", "Group", group_type()),
                field("event_id", "Event ID", Text),
                field("occurred_at", "Time", DateTime),
                field("actor", "Changed by", Text),
            ]),
        Spec::new("trigger.scheduled", "Schedule", "Scheduled Flow", Trigger)
            .says("Runs on a schedule: a cron line in a time zone, every N minutes, daily or weekly.")
            .takes(vec![required("cron", "Schedule (cron)", Text), field("time_zone", "Time Zone", Text)])
            .gives(vec![field("fired_at", "Scheduled Time", DateTime)]),
        Spec::new("trigger.api_endpoint", "API", "API Endpoint", Trigger)
            .says("Runs when called at /api/v1/flows/{id}/invoke with the flow's secret; answers with Return's outputs or 202.")
            .takes(vec![field("synchronous", "Wait for the result", Boolean)])
            .gives(vec![field("body", "Body", Any), field("query", "Query", object()), field("headers", "Headers", object())]),
        Spec::new("trigger.helper", "Flow control", "Helper Flow", Trigger)
            .says("Runs when another flow calls it: Call Flow gives it an input; For Each (and an Okta list card in Stream mode) gives it each item, the item's place (from 0) and a shared input.")
            .gives(vec![field("input", "Input", Any), field("item", "Item (For Each, Stream)", Any), field("index", "Index (For Each, Stream)", Number)]),
        Spec::new("trigger.manual", "Flow control", "Manual", Trigger)
            .says("Runs when someone presses Run (or Test Flow).")
            .gives(vec![field("input", "Input", Any)]),
        // Directory
        Spec::new("directory.read_user", "Directory", "Read User", Action)
            .says("Reads a user by ID or username.")
            .takes(vec![user_id()])
            .gives(vec![field("user", "User", user_type())]),
        Spec::new("directory.find_users", "Directory", "Find Users", Action)
            .says("Users matching a filter (SCIM filter syntax).")
            .takes(vec![required("filter", "Filter", Text), field("limit", "Limit", Number)])
            .gives(vec![field("users", "Users", list(user_type())), field("count", "Count", Number)]),
        Spec::new("directory.update_profile", "Directory", "Update User Profile", Action)
            .says("Sets the given attributes; others keep their value.")
            .takes(vec![user_id(), required("attributes", "Attributes", object())])
            .gives(vec![field("user", "User", user_type())]),
        Spec::new("directory.activate_user", "Directory", "Activate User", Action).takes(vec![user_id()]).gives(vec![field("user", "User", user_type())]),
        Spec::new("directory.deactivate_user", "Directory", "Deactivate User", Action).takes(vec![user_id()]).gives(vec![field("user", "User", user_type())]).destructive(),
        Spec::new("directory.suspend_user", "Directory", "Suspend User", Action).takes(vec![user_id()]).gives(vec![field("user", "User", user_type())]).destructive(),
        Spec::new("directory.unsuspend_user", "Directory", "Unsuspend User", Action).takes(vec![user_id()]).gives(vec![field("user", "User", user_type())]),
        Spec::new("directory.clear_sessions", "Directory", "Clear User Sessions", Action)
            .says("Signs the user out of idflow everywhere.")
            .takes(vec![user_id()]),
        Spec::new("directory.add_to_group", "Directory", "Add User to Group", Action).takes(vec![user_id(), group_id()]),
        Spec::new("directory.remove_from_group", "Directory", "Remove User from Group", Action).takes(vec![user_id(), group_id()]).destructive(),
        Spec::new("directory.remove_from_all_groups", "Directory", "Remove User from All Groups", Action)
            .takes(vec![user_id()])
            .gives(vec![field("groups", "Removed From", list(group_type())), field("count", "Count", Number)])
            .destructive(),
        Spec::new("directory.assign_app", "Directory", "Assign User to App", Action).takes(vec![user_id(), required("role", "Role", Text)]),
        Spec::new("directory.unassign_app", "Directory", "Unassign User from App", Action).takes(vec![user_id()]).destructive(),
        Spec::new("directory.list_group_members", "Directory", "List Group Members", Action).takes(vec![group_id()]).gives(vec![field("users", "Members", list(user_type())), field("count", "Count", Number)]),
        Spec::new("directory.list_user_groups", "Directory", "List User's Groups", Action).takes(vec![user_id()]).gives(vec![field("groups", "Groups", list(group_type())), field("count", "Count", Number)]),
        // Tables
        Spec::new("tables.create_row", "Tables", "Create Row", Action).takes(vec![table(), required("row", "Row", object())]).gives(vec![row()]),
        Spec::new("tables.read_row", "Tables", "Read Row", Action).says("The row with this key.").takes(vec![table(), required("key", "Key", Text)]).gives(vec![row(), field("found", "Found", Boolean)]),
        Spec::new("tables.search_rows", "Tables", "Search Rows", Action).takes(vec![table(), field("where", "Where (column = value)", object()), field("limit", "Limit", Number)]).gives(vec![field("rows", "Rows", list(object())), field("count", "Count", Number)]),
        Spec::new("tables.update_row", "Tables", "Update Row", Action).takes(vec![table(), required("key", "Key", Text), required("row", "Values", object())]).gives(vec![row()]),
        Spec::new("tables.delete_row", "Tables", "Delete Row", Action).takes(vec![table(), required("key", "Key", Text)]).gives(vec![field("deleted", "Deleted", Boolean)]),
        Spec::new("tables.find_or_create_row", "Tables", "Find or Create Row", Action).takes(vec![table(), required("key", "Key", Text), required("row", "Row If New", object())]).gives(vec![row(), field("created", "Created", Boolean)]),
        Spec::new("tables.count_rows", "Tables", "Count Rows", Action).takes(vec![table(), field("where", "Where (column = value)", object())]).gives(number_out()),
        // HTTP
        Spec::new("http.request", "HTTP", "HTTP Request", Action)
            .says("Calls an HTTP API, with a connection's base URL and credentials when one is chosen.")
            .takes(vec![
                field("connection", "Connection", Text),
                field("method", "Method", Text),
                required("url", "URL or path", Text),
                field("query", "Query", object()),
                field("headers", "Headers", object()),
                field("body", "Body", Any),
                field("body_type", "Body type (json, form, raw)", Text),
                field("timeout_seconds", "Timeout (seconds)", Number),
            ])
            .gives(vec![
                field("status", "Status", Number),
                field("headers", "Headers", object()),
                field("body", "Body", Any),
                field("request", "Request", object()),
            ]),
        // Slack
        Spec::new("slack.send_message", "Slack", "Send Message", Action)
            .says("Posts a message to a channel (a webhook posts to its own channel).")
            .takes(vec![
                required("connection", "Connection", Text),
                field("channel", "Channel (bot token only)", Text),
                required("text", "Text", Text),
                field("blocks", "Blocks", list(object())),
            ])
            .gives(vec![
                field("ok", "Sent", Boolean),
                field("channel", "Channel", Text),
                field("ts", "Message time stamp", Text),
            ]),
        Spec::new("slack.send_direct_message", "Slack", "Send Direct Message", Action)
            .says("Finds a person in Slack by email and sends them a direct message (bot token).")
            .takes(vec![
                required("connection", "Connection", Text),
                required("email", "Email", Text),
                required("text", "Text", Text),
                field("blocks", "Blocks", list(object())),
            ])
            .gives(vec![
                field("ok", "Sent", Boolean),
                field("user_id", "Slack user", Text),
                field("channel", "Channel", Text),
                field("ts", "Message time stamp", Text),
            ]),
        // Email
        Spec::new("email.send", "Email", "Send Email", Action)
            .says("Sends an email through an SMTP connection.")
            .takes(vec![
                required("connection", "Connection", Text),
                required("to", "To (addresses, comma-separated)", Text),
                field("cc", "Cc", Text),
                required("subject", "Subject", Text),
                required("text", "Text", Text),
                field("html", "HTML (optional)", Text),
            ])
            .gives(vec![
                field("sent", "Sent", Boolean),
                field("to", "To", list(Text)),
                field("cc", "Cc", list(Text)),
                field("server", "Server's answer", Text),
            ]),
        // Flow control
        Spec::new("flow.if_else", "Flow control", "If/Else", Control)
            .says("Runs the Then lane when the condition holds, else the Else lane.")
            .takes(vec![required("condition", "Condition", Boolean)])
            .lanes(Lanes::Fixed(&["Then", "Else"])),
        Spec::new("flow.branch", "Flow control", "Branch", Control)
            .says("Runs the first lane whose condition holds.")
            .lanes(Lanes::Cases),
        Spec::new("flow.continue_if", "Flow control", "Continue If", Control)
            .says("Ends the execution quietly unless the condition holds.")
            .takes(vec![required("condition", "Condition", Boolean)]),
        Spec::new("flow.call_flow", "Flow control", "Call Flow", Control)
            .takes(vec![required("flow", "Helper Flow", Text), field("input", "Input", Any)])
            .gives(vec![field("output", "Output", Any)]),
        Spec::new("flow.for_each", "Flow control", "For Each", Control)
            .says("Calls a helper flow once per item of a list.")
            .takes(vec![required("flow", "Helper Flow", Text), required("items", "Items", any_list()), field("input", "Shared Input", Any)])
            .gives(vec![field("outputs", "Outputs", any_list()), field("count", "Count", Number)]),
        Spec::new("flow.return", "Flow control", "Return", Control).says("Ends the execution with these outputs.").takes(vec![field("output", "Output", Any)]),
        Spec::new("flow.wait", "Flow control", "Wait", Control).takes(vec![required("seconds", "Seconds", Number)]),
        Spec::new("flow.pause", "Flow control", "Pause", Control)
            .says("Waits until resumed through POST /api/v1/executions/{id}/resume, or until a time (at most 30 days).")
            .takes(vec![field("until", "Resume At", DateTime)])
            .gives(vec![field("input", "Resume Input", Any), field("resumed", "Resumed", Boolean)]),
        Spec::new("flow.lookup", "Flow control", "Lookup", Control)
            .says("The value for a key in a list of pairs, or a default.")
            .takes(vec![required("value", "Value", Text), required("pairs", "Pairs", object()), field("default", "Default", Any)])
            .gives(vec![field("output", "Output", Any)]),
        Spec::new("flow.raise_error", "Flow control", "Raise Error", Control).takes(vec![required("message", "Message", Text)]),
        Spec::new("flow.close", "Flow control", "Close", Control).says("Answers an API caller now and keeps running.").takes(vec![field("output", "Output", Any)]),
        // Functions: text
        Spec::new("text.compose", "Text", "Compose", Function).says("Text with {{ mapped }} parts.").takes(vec![required("template", "Text", Text)]).gives(text_out()),
        Spec::new("text.concatenate", "Text", "Concatenate", Function).takes(vec![required("items", "Parts", list(Text)), field("separator", "Separator", Text)]).gives(text_out()),
        Spec::new("text.split", "Text", "Split", Function).takes(vec![text_in(), required("separator", "Separator", Text)]).gives(vec![field("output", "Output", list(Text))]),
        Spec::new("text.replace", "Text", "Replace", Function).takes(vec![text_in(), required("find", "Find", Text), field("replace", "Replace With", Text)]).gives(text_out()),
        Spec::new("text.regex_match", "Text", "Match Pattern", Function).takes(vec![text_in(), required("pattern", "Pattern", Text)]).gives(vec![field("matched", "Matched", Boolean), field("groups", "Groups", list(Text))]),
        Spec::new("text.change_case", "Text", "Change Case", Function).takes(vec![text_in(), required("case", "Case (upper, lower, title)", Text)]).gives(text_out()),
        Spec::new("text.trim", "Text", "Trim", Function).takes(vec![text_in()]).gives(text_out()),
        Spec::new("text.length", "Text", "Length", Function).takes(vec![text_in()]).gives(number_out()),
        // Functions: number
        Spec::new("number.add", "Number", "Add", Function).takes(vec![required("a", "A", Number), required("b", "B", Number)]).gives(number_out()),
        Spec::new("number.subtract", "Number", "Subtract", Function).takes(vec![required("a", "A", Number), required("b", "B", Number)]).gives(number_out()),
        Spec::new("number.compare", "Number", "Compare", Function).takes(vec![required("a", "A", Number), required("operator", "Operator", Text), required("b", "B", Number)]).gives(bool_out()),
        // Functions: true/false
        Spec::new("boolean.and", "True/False", "And", Function).takes(vec![required("values", "Values", list(Boolean))]).gives(bool_out()),
        Spec::new("boolean.or", "True/False", "Or", Function).takes(vec![required("values", "Values", list(Boolean))]).gives(bool_out()),
        Spec::new("boolean.not", "True/False", "Not", Function).takes(vec![required("value", "Value", Boolean)]).gives(bool_out()),
        Spec::new("boolean.compare", "True/False", "Compare", Function).says("Compares two values (equal, not equal, contains, starts with, is empty).").takes(vec![required("a", "A", Any), required("operator", "Operator", Text), field("b", "B", Any)]).gives(bool_out()),
        // Functions: date & time
        Spec::new("datetime.now", "Date & Time", "Now", Function).gives(vec![field("output", "Now", DateTime)]),
        Spec::new("datetime.add", "Date & Time", "Add", Function).takes(vec![required("date", "Date", DateTime), required("amount", "Amount", Number), required("unit", "Unit", Text)]).gives(vec![field("output", "Output", DateTime)]),
        Spec::new("datetime.format", "Date & Time", "Format", Function).takes(vec![required("date", "Date", DateTime), required("format", "Format", Text), field("time_zone", "Time Zone", Text)]).gives(text_out()),
        Spec::new("datetime.parse", "Date & Time", "Parse", Function).takes(vec![text_in(), field("format", "Format", Text)]).gives(vec![field("output", "Output", DateTime)]),
        Spec::new("datetime.difference", "Date & Time", "Difference", Function).takes(vec![required("start", "Start", DateTime), required("end", "End", DateTime), required("unit", "Unit", Text)]).gives(number_out()),
        // Functions: list
        Spec::new("list.count", "List", "Count", Function).takes(vec![required("list", "List", any_list())]).gives(number_out()),
        Spec::new("list.filter", "List", "Filter", Function).takes(vec![required("list", "List", any_list()), required("condition", "Keep When", Text)]).gives(vec![field("output", "Output", any_list())]),
        Spec::new("list.pluck", "List", "Pluck", Function).takes(vec![required("list", "List", list(object())), required("key", "Key", Text)]).gives(vec![field("output", "Output", any_list())]),
        Spec::new("list.join", "List", "Join", Function).takes(vec![required("list", "List", any_list()), field("separator", "Separator", Text)]).gives(text_out()),
        Spec::new("list.get", "List", "Get", Function).takes(vec![required("list", "List", any_list()), required("index", "Index", Number)]).gives(vec![field("output", "Output", Any)]),
        Spec::new("list.unique", "List", "Unique", Function).takes(vec![required("list", "List", any_list())]).gives(vec![field("output", "Output", any_list())]),
        Spec::new("list.sort", "List", "Sort", Function).takes(vec![required("list", "List", any_list()), field("key", "By Key", Text)]).gives(vec![field("output", "Output", any_list())]),
        Spec::new("list.contains", "List", "Contains", Function).takes(vec![required("list", "List", any_list()), required("value", "Value", Any)]).gives(bool_out()),
        // Functions: object
        Spec::new("object.get", "Object", "Get", Function).takes(vec![required("object", "Object", object()), required("path", "Path", Text)]).gives(vec![field("output", "Output", Any)]),
        Spec::new("object.set", "Object", "Set", Function).takes(vec![required("object", "Object", object()), required("path", "Path", Text), required("value", "Value", Any)]).gives(vec![field("output", "Output", object())]),
        Spec::new("object.merge", "Object", "Merge", Function).takes(vec![required("objects", "Objects", list(object()))]).gives(vec![field("output", "Output", object())]),
        Spec::new("object.keys", "Object", "Keys", Function).takes(vec![required("object", "Object", object())]).gives(vec![field("output", "Output", list(Text))]),
        // Functions: JSON
        Spec::new("json.parse", "JSON", "Parse", Function).takes(vec![text_in()]).gives(vec![field("output", "Output", Any)]),
        Spec::new("json.stringify", "JSON", "Stringify", Function).takes(vec![required("value", "Value", Any)]).gives(text_out()),
        Spec::new("json.query", "JSON", "Query", Function).says("A JSONPath query (RFC 9535).").takes(vec![required("value", "Value", Any), required("query", "JSONPath", Text)]).gives(vec![field("output", "Output", any_list())]),
    ];
    let okta_triggers = crate::okta::EVENT_TRIGGERS.iter().map(okta_trigger);
    let okta_cards = crate::okta::CARDS.iter().map(okta_card);
    specs
        .into_iter()
        .chain(okta_triggers)
        .chain(okta_cards)
        .map(|s| s.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_namespaced() {
        let all = catalog().all();
        for (i, a) in all.iter().enumerate() {
            assert!(a.key.contains('.'), "{}", a.key);
            assert!(!a.name.is_empty());
            for b in &all[i + 1..] {
                assert_ne!(a.key, b.key);
            }
        }
        assert!(all.len() > 80, "{}", all.len());
    }

    #[test]
    fn output_paths_reach_into_declared_objects() {
        let deactivated = catalog().get("directory.user_deactivated").unwrap();
        assert_eq!(deactivated.output_at("user.email"), Some(FieldType::Text));
        assert_eq!(
            deactivated.output_at("user.attributes.costCenter"),
            Some(FieldType::Any)
        );
        assert_eq!(deactivated.output_at("user.nickname"), None);
        assert_eq!(
            deactivated.output_at("occurred_at"),
            Some(FieldType::DateTime)
        );
    }

    #[test]
    fn types_accept_what_an_admin_would_expect() {
        assert!(FieldType::Text.accepts(&FieldType::Number));
        assert!(FieldType::Text.accepts(&FieldType::DateTime));
        assert!(!FieldType::Number.accepts(&FieldType::Text));
        assert!(!FieldType::Text.accepts(&list(FieldType::Text)));
        assert!(list(FieldType::Any).accepts(&list(user_type())));
        assert!(!list(FieldType::Number).accepts(&list(FieldType::Text)));
        assert_eq!(list(object()).label(), "List of Object");
    }

    #[test]
    fn the_palette_search_finds_by_name_and_app() {
        let names: Vec<&str> = catalog().search("all groups").map(|c| c.name).collect();
        assert_eq!(names, ["Remove User from All Groups"]);
        assert!(catalog().search("tables").all(|c| c.app == "Tables"));
        assert!(catalog().search("").count() == catalog().all().len());
    }
}
