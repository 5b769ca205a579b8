//! Who may change whom in the directory: the console's rules for changing a user, their
//! role and their groups, and for mapping a group to a role. Every path that changes the
//! directory is judged by these same rules on the rights of whoever acts: a person in the
//! console, a flow acting for its owner, a SCIM token acting for its maker.
//!
//! Pure: the caller looks up what the rules need (the roles a user holds directly and
//! through groups, the role a group is mapped to). A refusal says why in words an admin
//! can act on, and carries a code the console turns into its message.

use super::{Permission, Rights, Role};

/// Why a change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    /// What the console shows (`app::console::flash_message`): `not-allowed`,
    /// `super-admin`, `self`, `last-super-admin`.
    pub code: &'static str,
    pub reason: String,
}

impl Refusal {
    pub fn new(code: &'static str, reason: impl Into<String>) -> Refusal {
        Refusal {
            code,
            reason: reason.into(),
        }
    }

    /// Whether the refusal is about the rights of whoever acts (rather than about the
    /// input or the state of things): more rights would have let the change through.
    pub fn is_about_rights(&self) -> bool {
        matches!(self.code, "not-allowed" | "super-admin" | "beyond-rights")
    }
}

/// Whether `role` is beyond what `rights` may hand out or touch: a role above the
/// highest one held, or Super Admin without the right to manage Super Admins.
pub fn beyond(rights: &Rights, role: Role) -> bool {
    role < rights.role()
        || (role == Role::SuperAdmin && !rights.allows(Permission::ManageSuperAdmins))
}

fn needs(rights: &Rights, permission: Permission, what: &str) -> Result<(), Refusal> {
    if rights.allows(permission) {
        Ok(())
    } else {
        Err(Refusal::new(
            "not-allowed",
            format!("{what} needs a role that may do it in the console; it is not held"),
        ))
    }
}

/// A refusal because `role` is above what may be given, taken or touched; `says` words
/// it with the role's name.
fn above(role: Role, says: impl FnOnce(&str) -> String) -> Refusal {
    Refusal::new("super-admin", says(role.label()))
}

/// Refused when `user_name` holds (in `holds`: directly or through a group) a role beyond
/// what `rights` may touch, whatever the change.
pub fn may_touch(rights: &Rights, user_name: &str, holds: &[Role]) -> Result<(), Refusal> {
    match holds.iter().copied().filter(|r| beyond(rights, *r)).min() {
        Some(role) => Err(above(role, |label| {
            format!(
                "{user_name} holds the {label} role (directly or through a group), which is above what may be changed here"
            )
        })),
        None => Ok(()),
    }
}

/// May `rights` change the account of `user_name`, who holds `holds` (their direct role
/// and every role mapped to their groups): edit it, suspend, deactivate, reactivate it,
/// end its sessions, or change its groups?
pub fn may_change_user(rights: &Rights, user_name: &str, holds: &[Role]) -> Result<(), Refusal> {
    needs(
        rights,
        Permission::ManageDirectory,
        &format!("changing {user_name}"),
    )?;
    may_touch(rights, user_name, holds)
}

/// May `rights` change the direct role of `user_name` from `from` to `to`?
pub fn may_give_role(
    rights: &Rights,
    user_name: &str,
    from: Role,
    to: Role,
) -> Result<(), Refusal> {
    if from == to {
        return Ok(());
    }
    needs(
        rights,
        Permission::ManageAssignments,
        &format!("changing the role of {user_name}"),
    )?;
    for (role, verb) in [(to, "give"), (from, "take away")] {
        if role != Role::UnassignedUser && beyond(rights, role) {
            return Err(above(role, |label| {
                format!(
                    "cannot {verb} the {label} role ({user_name}): it is above what may be given or taken here"
                )
            }));
        }
    }
    Ok(())
}

/// May `rights` add someone to, or remove someone from, the group `group_name`, which is
/// mapped to `mapped` (joining or leaving it gives or takes that role)?
pub fn may_change_membership(
    rights: &Rights,
    group_name: &str,
    mapped: Option<Role>,
) -> Result<(), Refusal> {
    needs(
        rights,
        Permission::ManageDirectory,
        &format!("changing the members of {group_name}"),
    )?;
    match mapped {
        Some(role) if beyond(rights, role) => Err(above(role, |label| {
            format!(
                "the group {group_name} is mapped to the {label} role: joining or leaving it gives or takes that role, which is above what may be given or taken here"
            )
        })),
        _ => Ok(()),
    }
}

/// May `rights` map the group `group_name` from `from` to `to` (`None`: no role)?
pub fn may_map_group(
    rights: &Rights,
    group_name: &str,
    from: Option<Role>,
    to: Option<Role>,
) -> Result<(), Refusal> {
    if from == to {
        return Ok(());
    }
    needs(
        rights,
        Permission::ManageAssignments,
        &format!("mapping {group_name} to a role"),
    )?;
    match [to, from]
        .into_iter()
        .flatten()
        .find(|r| beyond(rights, *r))
    {
        Some(role) => Err(above(role, |label| {
            format!("the {label} role is above what may be given or taken here ({group_name})")
        })),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin() -> Rights {
        Rights::of(Role::WorkflowsAdministrator)
    }

    #[test]
    fn an_administrator_changes_anyone_but_a_super_admin_by_any_path() {
        assert!(may_change_user(&admin(), "ann", &[Role::WorkflowsAuditor]).is_ok());
        assert!(may_change_user(&admin(), "ann", &[Role::WorkflowsAdministrator]).is_ok());
        // Super Admin directly, or only through a group: the same refusal.
        for holds in [
            vec![Role::SuperAdmin],
            vec![Role::UnassignedUser, Role::SuperAdmin],
        ] {
            let refused = may_change_user(&admin(), "root", &holds).unwrap_err();
            assert_eq!(refused.code, "super-admin");
            assert!(refused.reason.contains("Super Admin"), "{refused}");
        }
        assert!(
            may_change_user(&Rights::of(Role::SuperAdmin), "root", &[Role::SuperAdmin]).is_ok()
        );
    }

    #[test]
    fn nobody_without_directory_rights_changes_a_user() {
        let editor = Rights::new(
            [],
            [(uuid::Uuid::now_v7(), super::super::FolderRole::Editor)],
        );
        for rights in [
            editor,
            Rights::of(Role::WorkflowsAuditor),
            Rights::of(Role::ConnectionManager),
            Rights::default(),
        ] {
            let refused = may_change_user(&rights, "ann", &[]).unwrap_err();
            assert_eq!(refused.code, "not-allowed");
            assert_eq!(
                may_change_membership(&rights, "Sales", None)
                    .unwrap_err()
                    .code,
                "not-allowed"
            );
            assert_eq!(
                may_give_role(&rights, "ann", Role::UnassignedUser, Role::WorkflowsAuditor)
                    .unwrap_err()
                    .code,
                "not-allowed"
            );
        }
    }

    #[test]
    fn a_role_above_ones_own_is_never_given_or_taken() {
        let refused = may_give_role(&admin(), "ann", Role::UnassignedUser, Role::SuperAdmin);
        assert_eq!(refused.unwrap_err().code, "super-admin");
        let refused = may_give_role(&admin(), "root", Role::SuperAdmin, Role::UnassignedUser);
        assert_eq!(refused.unwrap_err().code, "super-admin");
        assert!(
            may_give_role(
                &admin(),
                "ann",
                Role::UnassignedUser,
                Role::WorkflowsAdministrator
            )
            .is_ok()
        );
        assert!(
            may_give_role(
                &Rights::of(Role::SuperAdmin),
                "ann",
                Role::UnassignedUser,
                Role::SuperAdmin
            )
            .is_ok()
        );
        // Not changing anything is never refused.
        assert!(may_give_role(&Rights::default(), "a", Role::SuperAdmin, Role::SuperAdmin).is_ok());
    }

    #[test]
    fn a_group_mapped_to_super_admin_is_joined_or_left_only_by_a_super_admin() {
        let refused = may_change_membership(&admin(), "Root", Some(Role::SuperAdmin)).unwrap_err();
        assert_eq!(refused.code, "super-admin");
        assert!(refused.reason.contains("Root"));
        assert!(may_change_membership(&admin(), "Ops", Some(Role::WorkflowsAdministrator)).is_ok());
        assert!(
            may_change_membership(
                &Rights::of(Role::SuperAdmin),
                "Root",
                Some(Role::SuperAdmin)
            )
            .is_ok()
        );
        assert_eq!(
            may_map_group(&admin(), "Root", Some(Role::SuperAdmin), None)
                .unwrap_err()
                .code,
            "super-admin"
        );
        assert_eq!(
            may_map_group(&admin(), "Ops", None, Some(Role::SuperAdmin))
                .unwrap_err()
                .code,
            "super-admin"
        );
        assert!(may_map_group(&admin(), "Ops", None, Some(Role::WorkflowsAuditor)).is_ok());
    }
}
