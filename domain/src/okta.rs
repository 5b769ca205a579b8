//! Okta: the pure parts of the Okta connection. Its org domain, checked as Okta's own
//! guidance asks (no `https://`, never the `-admin` console's domain); the Event Hook
//! events idflow turns into triggers, and what each gives a flow; and the shape of an
//! Event Hook delivery.
//!
//! No I/O here: the hook endpoint is the server's, the queue of received events the
//! store's, and handing them to flows the engine's (`engine::triggers`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// An Okta event that starts flows: its Okta `eventType`, and the trigger it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTrigger {
    /// Okta's event type (`user.lifecycle.deactivate`), as registered on the Event Hook.
    pub event_type: &'static str,
    /// The trigger's key in the card catalog (`okta.user_deactivated`).
    pub key: &'static str,
    pub name: &'static str,
    pub says: &'static str,
}

const fn on(
    event_type: &'static str,
    key: &'static str,
    name: &'static str,
    says: &'static str,
) -> EventTrigger {
    EventTrigger {
        event_type,
        key,
        name,
        says,
    }
}

/// Every Okta event idflow listens for, in the order the palette shows them. Register
/// these event types on the Event Hook at Okta.
pub const EVENT_TRIGGERS: &[EventTrigger] = &[
    on(
        "user.lifecycle.create",
        "okta.user_created",
        "Okta User Created",
        "A user was created in Okta.",
    ),
    on(
        "user.lifecycle.activate",
        "okta.user_activated",
        "Okta User Activated",
        "A user was activated in Okta.",
    ),
    on(
        "user.lifecycle.deactivate",
        "okta.user_deactivated",
        "Okta User Deactivated",
        "A user was deactivated in Okta.",
    ),
    on(
        "user.lifecycle.suspend",
        "okta.user_suspended",
        "Okta User Suspended",
        "A user was suspended in Okta.",
    ),
    on(
        "user.lifecycle.unsuspend",
        "okta.user_unsuspended",
        "Okta User Unsuspended",
        "A suspended Okta user is active again.",
    ),
    on(
        "user.account.lock",
        "okta.user_locked_out",
        "Okta User Locked Out",
        "Okta locked a user out after failed sign-ins.",
    ),
    on(
        "user.account.update_profile",
        "okta.user_profile_updated",
        "Okta User Profile Updated",
        "A user's Okta profile changed.",
    ),
    on(
        "group.user_membership.add",
        "okta.user_added_to_group",
        "Okta User Added to Group",
        "A user was added to an Okta group.",
    ),
    on(
        "group.user_membership.remove",
        "okta.user_removed_from_group",
        "Okta User Removed from Group",
        "A user was removed from an Okta group.",
    ),
    on(
        "application.user_membership.add",
        "okta.user_assigned_to_app",
        "Okta User Assigned to App",
        "A user was assigned to an application in Okta.",
    ),
    on(
        "application.user_membership.remove",
        "okta.user_unassigned_from_app",
        "Okta User Unassigned from App",
        "A user was unassigned from an application in Okta.",
    ),
    on(
        "user.mfa.factor.activate",
        "okta.factor_enrolled",
        "Okta MFA Factor Enrolled",
        "A user enrolled (activated) an MFA factor in Okta.",
    ),
];

/// The trigger an Okta event type starts, if idflow listens for it.
pub fn trigger_for(event_type: &str) -> Option<&'static EventTrigger> {
    EVENT_TRIGGERS.iter().find(|t| t.event_type == event_type)
}

/// What an Okta card gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gives {
    /// One user (`user`).
    User,
    /// One page of users (`users`, `count`, `next`).
    Users,
    /// One group (`group`).
    Group,
    /// One page of groups (`groups`, `count`, `next`).
    Groups,
    /// One page of System Log events (`events`, `count`, `next`).
    Events,
    /// Nothing but that it was done.
    Done,
    /// The answer as it came (`status`, `body`): the Custom API Action.
    Answer,
}

/// An Okta card: the request it makes, the scope that request takes, and what it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OktaCard {
    pub key: &'static str,
    pub name: &'static str,
    pub says: &'static str,
    pub method: &'static str,
    /// The path under the org; `{user}`, `{group}` and `{app}` are the card's inputs.
    pub path: &'static str,
    pub scope: &'static str,
    pub gives: Gives,
    /// Deactivates, suspends or removes: the blast-radius guard counts it.
    pub destructive: bool,
}

const fn card(
    key: &'static str,
    name: &'static str,
    says: &'static str,
    (method, path): (&'static str, &'static str),
    scope: &'static str,
    gives: Gives,
    destructive: bool,
) -> OktaCard {
    OktaCard {
        key,
        name,
        says,
        method,
        path,
        scope,
        gives,
        destructive,
    }
}

const READ_USERS: &str = "okta.users.read";
const MANAGE_USERS: &str = "okta.users.manage";

/// Every Okta card, in the order the palette lists them (Okta's own card names).
pub const CARDS: &[OktaCard] = &[
    card(
        "okta.read_user",
        "Read User",
        "Reads an Okta user by id or login.",
        ("GET", "/api/v1/users/{user}"),
        READ_USERS,
        Gives::User,
        false,
    ),
    card(
        "okta.search_users",
        "Search Users",
        "The first 200 users matching a search expression (search) or a filter (filter); in Stream mode, every match, each handed to a helper flow.",
        ("GET", "/api/v1/users"),
        READ_USERS,
        Gives::Users,
        false,
    ),
    card(
        "okta.list_users",
        "List Users",
        "The first 200 users of the org; in Stream mode, every user, each handed to a helper flow.",
        ("GET", "/api/v1/users"),
        READ_USERS,
        Gives::Users,
        false,
    ),
    card(
        "okta.list_group_members",
        "List Group Members",
        "The first 200 members of a group; in Stream mode, every member, each handed to a helper flow.",
        ("GET", "/api/v1/groups/{group}/users"),
        "okta.groups.read",
        Gives::Users,
        false,
    ),
    card(
        "okta.create_user",
        "Create User",
        "Creates a user with a profile (login, email, firstName, lastName …), active or staged.",
        ("POST", "/api/v1/users"),
        MANAGE_USERS,
        Gives::User,
        false,
    ),
    card(
        "okta.update_profile",
        "Update User Profile",
        "Sets the given profile attributes; others keep their value.",
        ("POST", "/api/v1/users/{user}"),
        MANAGE_USERS,
        Gives::User,
        false,
    ),
    card(
        "okta.activate_user",
        "Activate User",
        "Activates a staged or deactivated user (no email sent).",
        (
            "POST",
            "/api/v1/users/{user}/lifecycle/activate?sendEmail=false",
        ),
        MANAGE_USERS,
        Gives::Done,
        false,
    ),
    card(
        "okta.deactivate_user",
        "Deactivate User",
        "Deactivates a user.",
        ("POST", "/api/v1/users/{user}/lifecycle/deactivate"),
        MANAGE_USERS,
        Gives::Done,
        true,
    ),
    card(
        "okta.suspend_user",
        "Suspend User",
        "Suspends an active user.",
        ("POST", "/api/v1/users/{user}/lifecycle/suspend"),
        MANAGE_USERS,
        Gives::Done,
        true,
    ),
    card(
        "okta.unsuspend_user",
        "Unsuspend User",
        "Returns a suspended user to active.",
        ("POST", "/api/v1/users/{user}/lifecycle/unsuspend"),
        MANAGE_USERS,
        Gives::Done,
        false,
    ),
    card(
        "okta.unlock_user",
        "Unlock User",
        "Unlocks a locked-out user.",
        ("POST", "/api/v1/users/{user}/lifecycle/unlock"),
        MANAGE_USERS,
        Gives::Done,
        false,
    ),
    card(
        "okta.reset_factors",
        "Reset Factors",
        "Resets every MFA factor the user enrolled.",
        ("POST", "/api/v1/users/{user}/lifecycle/reset_factors"),
        MANAGE_USERS,
        Gives::Done,
        false,
    ),
    card(
        "okta.clear_sessions",
        "Clear User Sessions",
        "Ends every Okta session of the user.",
        ("DELETE", "/api/v1/users/{user}/sessions"),
        MANAGE_USERS,
        Gives::Done,
        false,
    ),
    card(
        "okta.add_to_group",
        "Add User to Group",
        "Adds a user to a group.",
        ("PUT", "/api/v1/groups/{group}/users/{user}"),
        "okta.groups.manage",
        Gives::Done,
        false,
    ),
    card(
        "okta.remove_from_group",
        "Remove User from Group",
        "Removes a user from a group.",
        ("DELETE", "/api/v1/groups/{group}/users/{user}"),
        "okta.groups.manage",
        Gives::Done,
        true,
    ),
    card(
        "okta.assign_app",
        "Assign User to Application",
        "Assigns an application to a user.",
        ("POST", "/api/v1/apps/{app}/users"),
        "okta.apps.manage",
        Gives::Done,
        false,
    ),
    card(
        "okta.unassign_app",
        "Unassign User from Application",
        "Unassigns an application from a user.",
        ("DELETE", "/api/v1/apps/{app}/users/{user}"),
        "okta.apps.manage",
        Gives::Done,
        true,
    ),
    card(
        "okta.list_user_groups",
        "List User's Groups",
        "The first 200 groups a user is a member of.",
        ("GET", "/api/v1/users/{user}/groups"),
        READ_USERS,
        Gives::Groups,
        false,
    ),
    card(
        "okta.read_group",
        "Read Group",
        "Reads a group by id.",
        ("GET", "/api/v1/groups/{group}"),
        "okta.groups.read",
        Gives::Group,
        false,
    ),
    card(
        "okta.search_system_log",
        "Search System Log",
        "The first 200 System Log events matching a time range, keywords (q), key/value pairs (each eq, joined with and) and a custom filter (joined with and); in Stream mode, every match, each handed to a helper flow.",
        ("GET", "/api/v1/logs"),
        "okta.logs.read",
        Gives::Events,
        false,
    ),
    card(
        "okta.custom_api_action",
        "Custom API Action",
        "Any request to the org's API: method, path under the org, query and body.",
        ("GET", ""),
        "",
        Gives::Answer,
        false,
    ),
];

/// The Okta card `key`.
impl OktaCard {
    /// Whether the card reads pages of records and so has Okta Workflows' two modes:
    /// First 200 (one page, given as a list) and Stream (every page, following
    /// `Link: rel="next"`, each record handed to a helper flow).
    pub fn streams(&self) -> bool {
        matches!(self.gives, Gives::Users | Gives::Events)
    }
}

/// A streaming card's mode, from its `mode` input: `Ok(true)` for Stream.
pub fn stream_mode(mode: &str) -> Result<bool, String> {
    match mode
        .trim()
        .to_ascii_lowercase()
        .replace(['_', '-'], " ")
        .as_str()
    {
        "" | "first 200" => Ok(false),
        "stream" => Ok(true),
        other => Err(format!(
            "mode: {other:?} is neither \"First 200\" nor \"Stream\""
        )),
    }
}

pub fn okta_card(key: &str) -> Option<&'static OktaCard> {
    CARDS.iter().find(|c| c.key == key)
}

/// The System Log filter a Search System Log card sends: each key/value pair as
/// `key eq "value"`, joined with `and`, and the custom filter joined to them with `and`
/// (as Okta Workflows' card builds it).
pub fn system_log_filter(pairs: &[(String, String)], custom: &str) -> Option<String> {
    let mut parts: Vec<String> = pairs
        .iter()
        .map(|(key, value)| {
            format!(
                "{key} eq \"{}\"",
                value.replace('\\', "\\\\").replace('"', "\\\"")
            )
        })
        .collect();
    let custom = custom.trim();
    if !custom.is_empty() {
        parts.push(if parts.is_empty() {
            custom.to_string()
        } else {
            format!("({custom})")
        });
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// An org's domain as it is kept (trimmed, lower case), or why it is not one. Okta's
/// guidance: the domain alone (`dev-123456.okta.com`), without `https://`, and never
/// the admin console's (`dev-123456-admin.okta.com`).
pub fn check_domain(domain: &str) -> Result<String, String> {
    let domain = domain.trim().trim_end_matches('/').to_ascii_lowercase();
    if domain.is_empty() {
        return Err("Okta domain is needed (for example dev-123456.okta.com).".into());
    }
    // Both mistakes Okta's guidance warns of, named together with the domain to enter.
    let mut mistakes = Vec::new();
    let mut fixed = domain.clone();
    if let Some((_, rest)) = domain.split_once("://") {
        fixed = rest.trim_end_matches('/').to_string();
        mistakes.push("without its scheme");
    }
    if fixed.contains("-admin.") {
        fixed = fixed.replacen("-admin.", ".", 1);
        mistakes.push("of the org itself, not of its admin console");
    }
    if !mistakes.is_empty() {
        return Err(format!(
            "Enter the Okta domain {}: {fixed} rather than {domain}.",
            mistakes.join(" and ")
        ));
    }
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain.as_str(), None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if !host_ok || !port_ok {
        return Err(format!(
            "{domain:?} is not a domain (for example dev-123456.okta.com)."
        ));
    }
    Ok(domain)
}

/// Whether `domain` names this machine (`127.0.0.1:8443`, `localhost:8443`): only a
/// local, Okta-shaped test org lives there.
pub fn is_loopback(domain: &str) -> bool {
    let host = domain.rsplit_once(':').map_or(domain, |(h, _)| h);
    host == "localhost" || host == "127.0.0.1"
}

/// The org's base address: `https://` and the domain; plain `http://` only for a test
/// org on this machine, whose traffic never leaves it.
pub fn base_url(domain: &str) -> String {
    if is_loopback(domain) {
        format!("http://{domain}")
    } else {
        format!("https://{domain}")
    }
}

/// One event of an Event Hook delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    /// Okta's id of the event: a delivery sent twice repeats it.
    pub uuid: String,
    pub event_type: String,
    pub published: DateTime<Utc>,
    /// The event as Okta sent it.
    pub event: Value,
}

/// The events of an Event Hook delivery (`data.events`), or why the body is not one.
pub fn delivery_events(body: &Value) -> Result<Vec<HookEvent>, String> {
    let events = body
        .pointer("/data/events")
        .and_then(Value::as_array)
        .ok_or("the body is not an Okta Event Hook delivery: it has no data.events list")?;
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let text = |name: &str| {
                event
                    .get(name)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| format!("event {i} has no {name}"))
            };
            let uuid = text("uuid")?;
            if uuid.len() > 100 {
                return Err(format!("event {i}'s uuid is longer than 100 characters"));
            }
            let published = DateTime::parse_from_rfc3339(text("published")?)
                .map_err(|e| format!("event {i}'s published is not a time ({e})"))?
                .with_timezone(&Utc);
            Ok(HookEvent {
                uuid: uuid.to_string(),
                event_type: text("eventType")?.to_string(),
                published,
                event: event.clone(),
            })
        })
        .collect()
}

/// Someone or something an event names: its id, login (Okta's `alternateId`) and name.
fn party(value: &Value) -> Value {
    json!({
        "id": value.get("id").cloned().unwrap_or(Value::Null),
        "login": value.get("alternateId").cloned().unwrap_or(Value::Null),
        "name": value.get("displayName").cloned().unwrap_or(Value::Null),
        "type": value.get("type").cloned().unwrap_or(Value::Null),
    })
}

/// What an Okta event gives a flow's trigger: the actor, the target user, group and
/// application (each `null` when the event names none), and the raw event.
pub fn trigger_input(event: &HookEvent) -> Value {
    let targets = event
        .event
        .get("target")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let target = |kind: &str| {
        targets
            .iter()
            .find(|t| t.get("type").and_then(Value::as_str) == Some(kind))
            .map(party)
            .unwrap_or(Value::Null)
    };
    let group = target("UserGroup");
    let app = target("AppInstance");
    json!({
        "event_type": event.event_type,
        "uuid": event.uuid,
        "published": event.published.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "message": event.event.get("displayMessage").cloned().unwrap_or(Value::Null),
        "actor": event.event.get("actor").map(party).unwrap_or(Value::Null),
        "user": target("User"),
        "group": if group.is_null() { group } else { json!({ "id": group["id"], "name": group["name"] }) },
        "app": if app.is_null() { app } else { json!({ "id": app["id"], "name": app["name"] }) },
        "event": event.event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_log_filter_joins_pairs_with_eq_and_and() {
        let pairs = vec![
            ("eventType".to_string(), "user.session.start".to_string()),
            ("actor.alternateId".to_string(), "ada@acme.com".to_string()),
        ];
        assert_eq!(
            system_log_filter(&pairs, "outcome.result ne \"SUCCESS\"").unwrap(),
            "eventType eq \"user.session.start\" and actor.alternateId eq \"ada@acme.com\" and (outcome.result ne \"SUCCESS\")"
        );
        assert_eq!(
            system_log_filter(&[], " severity eq \"WARN\" ").unwrap(),
            "severity eq \"WARN\""
        );
        assert_eq!(system_log_filter(&[], ""), None);
        let quoted = vec![("target.displayName".to_string(), "a \"b\"".to_string())];
        assert_eq!(
            system_log_filter(&quoted, "").unwrap(),
            "target.displayName eq \"a \\\"b\\\"\""
        );
        for card in CARDS {
            assert!(card.key.starts_with("okta."));
            assert_eq!(okta_card(card.key), Some(card));
        }
    }

    #[test]
    fn a_domain_is_the_org_alone() {
        assert_eq!(
            check_domain(" Dev-123456.okta.com/ ").unwrap(),
            "dev-123456.okta.com"
        );
        assert!(
            check_domain("https://dev-123456.okta.com")
                .unwrap_err()
                .contains("without its scheme: dev-123456.okta.com")
        );
        assert!(
            check_domain("dev-123456-admin.okta.com")
                .unwrap_err()
                .contains("not of its admin console: dev-123456.okta.com rather than")
        );
        assert_eq!(
            check_domain("https://dev-1-admin.okta.com/").unwrap_err(),
            "Enter the Okta domain without its scheme and of the org itself, not of its admin console: dev-1.okta.com rather than https://dev-1-admin.okta.com."
        );
        assert!(check_domain("").is_err());
        assert!(check_domain("acme.okta.com/api").is_err());
        assert!(check_domain("acme .okta.com").is_err());
        assert!(check_domain("-acme.okta.com").is_err());
        assert!(check_domain("127.0.0.1:99999").is_err());
        assert_eq!(check_domain("127.0.0.1:8443").unwrap(), "127.0.0.1:8443");
        assert_eq!(base_url("127.0.0.1:8443"), "http://127.0.0.1:8443");
        assert_eq!(base_url("acme.okta.com"), "https://acme.okta.com");
        assert_eq!(
            base_url("localhost.evil.example"),
            "https://localhost.evil.example"
        );
    }

    #[test]
    fn each_trigger_is_one_event_type() {
        for (i, a) in EVENT_TRIGGERS.iter().enumerate() {
            assert!(a.key.starts_with("okta."), "{}", a.key);
            for b in &EVENT_TRIGGERS[i + 1..] {
                assert_ne!(a.event_type, b.event_type);
                assert_ne!(a.key, b.key);
            }
        }
        assert_eq!(
            trigger_for("user.lifecycle.deactivate").unwrap().key,
            "okta.user_deactivated"
        );
        assert!(trigger_for("user.session.start").is_none());
    }

    fn delivery() -> Value {
        json!({
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "data": { "events": [{
                "uuid": "1a2b3c",
                "published": "2026-12-06T10:00:00.123Z",
                "eventType": "group.user_membership.add",
                "displayMessage": "Add user to group membership",
                "actor": { "id": "00uadmin", "type": "User", "alternateId": "admin@acme.com", "displayName": "Ada Admin" },
                "target": [
                    { "id": "00ubob", "type": "User", "alternateId": "bob@acme.com", "displayName": "Bob Lee" },
                    { "id": "00gsales", "type": "UserGroup", "alternateId": "unknown", "displayName": "Sales" }
                ]
            }]}
        })
    }

    #[test]
    fn a_delivery_gives_each_event_with_its_parties() {
        let events = delivery_events(&delivery()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].uuid, "1a2b3c");
        assert_eq!(events[0].event_type, "group.user_membership.add");
        let input = trigger_input(&events[0]);
        assert_eq!(input["user"]["login"], "bob@acme.com");
        assert_eq!(input["user"]["name"], "Bob Lee");
        assert_eq!(input["actor"]["login"], "admin@acme.com");
        assert_eq!(input["group"], json!({ "id": "00gsales", "name": "Sales" }));
        assert_eq!(input["app"], Value::Null);
        assert_eq!(input["published"], "2026-12-06T10:00:00.123Z");
        assert_eq!(input["event"]["uuid"], "1a2b3c");
    }

    #[test]
    fn a_malformed_delivery_is_named() {
        assert!(
            delivery_events(&json!({ "data": {} }))
                .unwrap_err()
                .contains("no data.events")
        );
        let mut no_time = delivery();
        no_time["data"]["events"][0]["published"] = json!("yesterday");
        assert!(
            delivery_events(&no_time)
                .unwrap_err()
                .contains("published is not a time")
        );
        let mut no_uuid = delivery();
        no_uuid["data"]["events"][0]
            .as_object_mut()
            .unwrap()
            .remove("uuid");
        assert_eq!(
            delivery_events(&no_uuid).unwrap_err(),
            "event 0 has no uuid"
        );
    }

    #[test]
    fn list_cards_have_two_modes() {
        let streaming: Vec<&str> = CARDS
            .iter()
            .filter(|c| c.streams())
            .map(|c| c.key)
            .collect();
        assert_eq!(
            streaming,
            [
                "okta.search_users",
                "okta.list_users",
                "okta.list_group_members",
                "okta.search_system_log"
            ]
        );
        for first in ["", "First 200", "first_200", " FIRST-200 "] {
            assert_eq!(stream_mode(first), Ok(false), "{first:?}");
        }
        assert_eq!(stream_mode("Stream"), Ok(true));
        assert!(stream_mode("all").unwrap_err().contains("\"Stream\""));
    }
}
