//! What a flow's cards need of the person it acts for. A flow acts for whoever last saved
//! it or turned it on, and its directory cards may do only what that person may do in the
//! console: reading the directory needs the right to see it, changing users and groups
//! the right to manage it, giving or taking roles the right to manage assignments. Saving
//! or turning on a flow whose cards its saver could never run is refused with these
//! reasons; what the cards do at run time is judged again, on the owner's rights then.
//!
//! Pure: it compiles to WASM, so the builder can say the same before saving.

use super::{Binding, Card, Flow};
use crate::access::changes::beyond;
use crate::access::{Permission, Rights};
use crate::flows::catalog::{CardRole, catalog};

/// The console permission a card (or trigger) of kind `kind` needs of its flow's owner,
/// if any.
pub fn permission_for(kind: &str) -> Option<Permission> {
    let spec = catalog().get(kind)?;
    if !kind.starts_with("directory.") {
        return None;
    }
    Some(match kind {
        "directory.assign_app" | "directory.unassign_app" => Permission::ManageAssignments,
        // Triggers and reads hand the directory's data to the flow (and its history).
        _ if spec.role == CardRole::Trigger || spec.changes_nothing() => Permission::ViewDirectory,
        _ => Permission::ManageDirectory,
    })
}

fn what(permission: Permission) -> &'static str {
    match permission {
        Permission::ViewDirectory => "reads the directory",
        Permission::ManageDirectory => "changes users and groups",
        Permission::ManageAssignments => "gives or takes console roles",
        _ => "needs a right",
    }
}

fn card_name(kind: &str) -> &str {
    catalog().get(kind).map(|c| c.name).unwrap_or(kind)
}

/// Why `rights` could never run `flow`: one sentence for each card (the trigger
/// included) that needs a right they do not hold, or that names a role above theirs.
/// Empty when they could.
pub fn beyond_rights(flow: &Flow, rights: &Rights) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(permission) = permission_for(&flow.trigger.kind)
        && !rights.allows(permission)
    {
        reasons.push(format!(
            "its trigger ({}) {}, which the person saving or turning it on may not do",
            card_name(&flow.trigger.kind),
            what(permission)
        ));
    }
    for card in flow.all_cards() {
        if let Some(reason) = card_beyond(card, rights) {
            reasons.push(reason);
        }
    }
    reasons
}

fn card_beyond(card: &Card, rights: &Rights) -> Option<String> {
    let permission = permission_for(&card.kind)?;
    let name = card_name(&card.kind);
    if !rights.allows(permission) {
        return Some(format!(
            "card {} ({name}) {}, which the person saving or turning it on may not do",
            card.id.0,
            what(permission)
        ));
    }
    // A role typed into the card is judged now; one mapped from elsewhere when it runs.
    if card.kind == "directory.assign_app"
        && let Some(Binding::Literal { value }) = card.inputs.get("role")
        && let Ok(role) = crate::scim::user::role(value)
        && beyond(rights, role)
    {
        return Some(format!(
            "card {} ({name}) gives the {} role, which the person saving or turning it on may not give",
            card.id.0,
            role.label()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{FolderRole, Role};
    use crate::flows::{Binding, Card};

    fn flow(trigger: &str, cards: Vec<Card>) -> Flow {
        let mut flow = Flow::new("f", trigger);
        flow.cards = cards;
        flow
    }

    #[test]
    fn directory_cards_need_the_owners_console_rights() {
        assert_eq!(
            permission_for("directory.deactivate_user"),
            Some(Permission::ManageDirectory)
        );
        assert_eq!(
            permission_for("directory.read_user"),
            Some(Permission::ViewDirectory)
        );
        assert_eq!(
            permission_for("directory.user_created"),
            Some(Permission::ViewDirectory)
        );
        assert_eq!(
            permission_for("directory.assign_app"),
            Some(Permission::ManageAssignments)
        );
        assert_eq!(permission_for("tables.create_row"), None);
        assert_eq!(permission_for("text.compose"), None);
    }

    #[test]
    fn a_folder_editor_could_never_run_a_flow_that_changes_the_directory() {
        let editor = Rights::new([], [(uuid::Uuid::now_v7(), FolderRole::Editor)]);
        let offboard = flow(
            "trigger.manual",
            vec![
                Card::new(1, "text.compose"),
                Card::new(2, "directory.add_to_group"),
            ],
        );
        let reasons = beyond_rights(&offboard, &editor);
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(
            reasons[0].contains("card 2 (Add User to Group)"),
            "{reasons:?}"
        );
        assert!(beyond_rights(&offboard, &Rights::of(Role::WorkflowsAdministrator)).is_empty());
        let on_events = flow("directory.user_deactivated", vec![]);
        assert_eq!(beyond_rights(&on_events, &editor).len(), 1);
        assert!(beyond_rights(&flow("trigger.manual", vec![]), &editor).is_empty());
    }

    #[test]
    fn a_typed_role_above_the_savers_is_refused() {
        let give = |role: &str| {
            flow(
                "trigger.manual",
                vec![Card::new(1, "directory.assign_app").with_inputs(&[
                    ("user", Binding::literal("ann")),
                    ("role", Binding::literal(role)),
                ])],
            )
        };
        let admin = Rights::of(Role::WorkflowsAdministrator);
        let reasons = beyond_rights(&give("super_admin"), &admin);
        assert_eq!(reasons.len(), 1);
        assert!(reasons[0].contains("Super Admin"), "{reasons:?}");
        assert!(beyond_rights(&give("workflows_auditor"), &admin).is_empty());
        assert!(beyond_rights(&give("super_admin"), &Rights::of(Role::SuperAdmin)).is_empty());
    }
}
