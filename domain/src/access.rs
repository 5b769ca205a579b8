//! Roles and the one permission matrix.
//!
//! Every entry point of idflow (page, server function, HTTP route) names the
//! [`Permission`] it needs; whether a role holds it is answered here and nowhere else.
//! Deny by default: a permission no role lists is held by nobody but the Super Admin.

pub mod changes;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A console role, as Okta Workflows defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SuperAdmin,
    WorkflowsAdministrator,
    WorkflowsAuditor,
    ConnectionManager,
    UnassignedUser,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::SuperAdmin,
        Role::WorkflowsAdministrator,
        Role::WorkflowsAuditor,
        Role::ConnectionManager,
        Role::UnassignedUser,
    ];

    /// The name an admin reads in the console.
    pub fn label(self) -> &'static str {
        match self {
            Role::SuperAdmin => "Super Admin",
            Role::WorkflowsAdministrator => "Workflows Administrator",
            Role::WorkflowsAuditor => "Workflows Auditor",
            Role::ConnectionManager => "Connection Manager",
            Role::UnassignedUser => "Unassigned User",
        }
    }

    /// The value stored in the database and sent over SCIM.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::WorkflowsAdministrator => "workflows_administrator",
            Role::WorkflowsAuditor => "workflows_auditor",
            Role::ConnectionManager => "connection_manager",
            Role::UnassignedUser => "unassigned_user",
        }
    }

    /// The permission matrix: does this role hold `permission`?
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match (self, permission) {
            (SuperAdmin, _) => true,
            // Everything except what touches Super Admins: SCIM tokens carry the power to
            // give Super Admin, so only a Super Admin makes or revokes them.
            // Nor does an administrator open the outbound guard (that lets flows reach the
            // private network) or shorten what the System Log keeps (that erases evidence).
            (
                WorkflowsAdministrator,
                ManageSuperAdmins | ManageSignIn | ManageScimTokens | ManageOutbound
                | ManageSystemLog,
            ) => false,
            (WorkflowsAdministrator, _) => true,
            (WorkflowsAuditor, p) => p.is_read_only(),
            (ConnectionManager, ViewConnections | ManageConnections) => true,
            (ConnectionManager, _) => false,
            (UnassignedUser, _) => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}; expected one of super_admin, workflows_administrator, workflows_auditor, connection_manager, unassigned_user"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// What an entry point needs. Each area of the console has a view permission; change
/// permissions arrive with the features that change things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    ViewFlows,
    ViewTables,
    ViewExecutions,
    ViewDirectory,
    ViewAssignments,
    ViewConnections,
    ViewSystemLog,
    ViewSettings,
    /// Create and revoke the bearer tokens identity providers use for SCIM.
    ManageScimTokens,
    /// Create, edit, suspend and deactivate users and groups in the console.
    ManageDirectory,
    /// Assign and unassign users, change roles, map groups to roles.
    ManageAssignments,
    /// Give or take the Super Admin role, or change a Super Admin.
    ManageSuperAdmins,
    /// Set up how people sign in (single sign-on with an identity provider).
    ManageSignIn,
    /// Run flows by hand, re-run and cancel their executions.
    RunFlows,
    /// Build, import, turn on and off, and delete flows; create, fill and delete tables.
    EditFlows,
    /// Create, change, test and delete connections.
    ManageConnections,
    /// Let flows reach hosts and ranges the outbound guard refuses (Settings).
    ManageOutbound,
    /// Set how long the System Log keeps its entries.
    ManageSystemLog,
}

impl Permission {
    pub const ALL: [Permission; 18] = [
        Permission::RunFlows,
        Permission::EditFlows,
        Permission::ManageScimTokens,
        Permission::ManageSignIn,
        Permission::ManageDirectory,
        Permission::ManageAssignments,
        Permission::ManageSuperAdmins,
        Permission::ManageConnections,
        Permission::ManageOutbound,
        Permission::ManageSystemLog,
        Permission::ViewFlows,
        Permission::ViewTables,
        Permission::ViewExecutions,
        Permission::ViewDirectory,
        Permission::ViewAssignments,
        Permission::ViewConnections,
        Permission::ViewSystemLog,
        Permission::ViewSettings,
    ];

    /// Read-only permissions are the ones a Workflows Auditor holds.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Permission::ViewFlows
                | Permission::ViewTables
                | Permission::ViewExecutions
                | Permission::ViewDirectory
                | Permission::ViewAssignments
                | Permission::ViewConnections
                | Permission::ViewSystemLog
                | Permission::ViewSettings
        )
    }
}

/// What a folder grant lets its holder do inside that folder, as Okta Workflows names
/// them: each one holds everything the ones below it hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum FolderRole {
    /// Read the flows and tables in the folder.
    Reader,
    /// Also run its flows and read their history.
    Runner,
    /// Also build and change flows and tables in it.
    Editor,
    /// Also share the folder with others.
    Manager,
}

impl FolderRole {
    pub const ALL: [FolderRole; 4] = [
        FolderRole::Manager,
        FolderRole::Editor,
        FolderRole::Runner,
        FolderRole::Reader,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FolderRole::Manager => "Folder Manager",
            FolderRole::Editor => "Editor",
            FolderRole::Runner => "Runner",
            FolderRole::Reader => "Reader",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FolderRole::Manager => "manager",
            FolderRole::Editor => "editor",
            FolderRole::Runner => "runner",
            FolderRole::Reader => "reader",
        }
    }

    /// The console-wide permissions a grant on some folder opens: the tabs where that
    /// folder's flows, tables and executions are, each showing only what the grants
    /// reach.
    pub fn opens(self, permission: Permission) -> bool {
        use Permission::*;
        match permission {
            ViewFlows | ViewTables => true,
            ViewExecutions | RunFlows => self >= FolderRole::Runner,
            EditFlows => self >= FolderRole::Editor,
            _ => false,
        }
    }
}

impl FromStr for FolderRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FolderRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown folder role {s:?}; expected one of manager, editor, runner, reader"
                )
            })
    }
}

/// A user's effective rights: the union of their direct role, the roles mapped to their
/// groups, and their folder grants (direct or through a group). Worked out afresh for
/// every request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rights {
    /// Every role the user holds, highest first, without Unassigned User.
    roles: Vec<Role>,
    /// The strongest grant the user holds on each folder they have one on.
    folders: Vec<(uuid::Uuid, FolderRole)>,
}

impl Rights {
    pub fn new(
        roles: impl IntoIterator<Item = Role>,
        folders: impl IntoIterator<Item = (uuid::Uuid, FolderRole)>,
    ) -> Self {
        let mut roles: Vec<Role> = roles
            .into_iter()
            .filter(|r| *r != Role::UnassignedUser)
            .collect();
        roles.sort();
        roles.dedup();
        let mut strongest = std::collections::BTreeMap::new();
        for (folder, grant) in folders {
            let held = strongest.entry(folder).or_insert(grant);
            *held = (*held).max(grant);
        }
        Rights {
            roles,
            folders: strongest.into_iter().collect(),
        }
    }

    /// Rights of just one role.
    pub fn of(role: Role) -> Self {
        Rights::new([role], [])
    }

    /// The highest role held, the one the console names: Unassigned User when none.
    pub fn role(&self) -> Role {
        self.roles.first().copied().unwrap_or(Role::UnassignedUser)
    }

    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    pub fn folders(&self) -> &[(uuid::Uuid, FolderRole)] {
        &self.folders
    }

    /// Whether any role held, or any folder grant, holds `permission`.
    pub fn allows(&self, permission: Permission) -> bool {
        self.roles.iter().any(|r| r.allows(permission))
            || self.folders.iter().any(|(_, g)| g.opens(permission))
    }

    /// Whether `permission` holds on a flow in `folder` (none: at the top level): through
    /// a role, on every flow; through a folder grant, on that folder's flows.
    pub fn on_flow(&self, permission: Permission, folder: Option<uuid::Uuid>) -> bool {
        self.roles.iter().any(|r| r.allows(permission))
            || folder.is_some_and(|f| self.in_folder(f).is_some_and(|g| g.opens(permission)))
    }

    /// The grant held on one folder, if any; a role that sees or builds every flow
    /// counts as the matching grant on every folder.
    pub fn in_folder(&self, folder: uuid::Uuid) -> Option<FolderRole> {
        let by_role = if self
            .roles
            .iter()
            .any(|r| r.allows(Permission::ManageAssignments))
        {
            Some(FolderRole::Manager)
        } else if self.roles.iter().any(|r| r.allows(Permission::ViewFlows)) {
            Some(FolderRole::Reader)
        } else {
            None
        };
        let granted = self
            .folders
            .iter()
            .find(|(f, _)| *f == folder)
            .map(|(_, g)| *g);
        by_role.max(granted)
    }

    /// No role and no grant: the "you have no access" page.
    pub fn is_unassigned(&self) -> bool {
        self.roles.is_empty() && self.folders.is_empty()
    }
}

/// Who may call an entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    /// Anyone, signed in or not (the sign-in page, health checks).
    Public,
    /// Any signed-in user, whatever their role (their own profile, sign-out).
    SignedIn,
    /// A signed-in user whose role holds this permission.
    Requires(Permission),
    /// Not a console session at all: the request carries a bearer token (SCIM), which
    /// the entry point checks itself. Sessions neither grant nor refuse it.
    BearerToken,
}

impl Access {
    /// The outcome for a caller: `None` is anonymous.
    pub fn decide(self, rights: Option<&Rights>) -> Decision {
        match (self, rights) {
            (Access::Public | Access::BearerToken, _) => Decision::Allow,
            (_, None) => Decision::SignInRequired,
            (Access::SignedIn, Some(_)) => Decision::Allow,
            (Access::Requires(p), Some(rights)) if rights.allows(p) => Decision::Allow,
            (Access::Requires(_), Some(_)) => Decision::Forbidden,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    SignInRequired,
    Forbidden,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trips_through_its_stored_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("owner".parse::<Role>().is_err());
    }

    #[test]
    fn unassigned_user_holds_nothing() {
        for p in Permission::ALL {
            assert!(!Role::UnassignedUser.allows(p), "{p:?}");
        }
    }

    #[test]
    fn super_admin_holds_everything() {
        for p in Permission::ALL {
            assert!(Role::SuperAdmin.allows(p), "{p:?}");
        }
    }

    #[test]
    fn connection_manager_sees_and_manages_only_connections() {
        for p in Permission::ALL {
            assert_eq!(
                Role::ConnectionManager.allows(p),
                matches!(
                    p,
                    Permission::ViewConnections | Permission::ManageConnections
                ),
                "{p:?}"
            );
        }
    }

    #[test]
    fn an_administrator_may_do_everything_but_touch_super_admins_sign_in_or_scim_tokens() {
        for p in Permission::ALL {
            assert_eq!(
                Role::WorkflowsAdministrator.allows(p),
                !matches!(
                    p,
                    Permission::ManageSuperAdmins
                        | Permission::ManageSignIn
                        | Permission::ManageScimTokens
                        | Permission::ManageOutbound
                        | Permission::ManageSystemLog
                ),
                "{p:?}"
            );
        }
    }

    #[test]
    fn rights_are_the_union_of_every_role_held() {
        let rights = Rights::new([Role::ConnectionManager, Role::WorkflowsAuditor], []);
        assert_eq!(rights.role(), Role::WorkflowsAuditor);
        assert!(rights.allows(Permission::ViewSystemLog));
        assert!(rights.allows(Permission::ViewConnections));
        assert!(!rights.allows(Permission::ManageDirectory));
        assert_eq!(
            Rights::new([Role::UnassignedUser], []).role(),
            Role::UnassignedUser
        );
        assert!(Rights::new([Role::UnassignedUser], []).is_unassigned());
    }

    #[test]
    fn a_folder_grant_opens_the_tabs_of_what_it_reaches() {
        let folder = uuid::Uuid::now_v7();
        let other = uuid::Uuid::now_v7();
        let reader = Rights::new([], [(folder, FolderRole::Reader)]);
        assert!(reader.allows(Permission::ViewFlows));
        assert!(!reader.allows(Permission::ViewExecutions));
        assert!(!reader.allows(Permission::ViewDirectory));
        assert!(!reader.is_unassigned());
        // The strongest of several grants on one folder holds.
        let runner = Rights::new(
            [],
            [(folder, FolderRole::Reader), (folder, FolderRole::Runner)],
        );
        assert_eq!(runner.in_folder(folder), Some(FolderRole::Runner));
        assert!(runner.allows(Permission::ViewExecutions));
        assert!(runner.allows(Permission::RunFlows));
        assert!(!reader.allows(Permission::RunFlows));
        assert!(!Rights::of(Role::WorkflowsAuditor).allows(Permission::RunFlows));
        assert_eq!(runner.in_folder(other), None);
        let admin = Rights::of(Role::WorkflowsAdministrator);
        assert_eq!(admin.in_folder(other), Some(FolderRole::Manager));
        let auditor = Rights::of(Role::WorkflowsAuditor);
        assert_eq!(auditor.in_folder(other), Some(FolderRole::Reader));
    }

    #[test]
    fn anonymous_callers_must_sign_in_except_on_public_entry_points() {
        assert_eq!(Access::Public.decide(None), Decision::Allow);
        assert_eq!(Access::SignedIn.decide(None), Decision::SignInRequired);
        assert_eq!(
            Access::Requires(Permission::ViewFlows).decide(None),
            Decision::SignInRequired
        );
        let nobody = Rights::of(Role::UnassignedUser);
        assert_eq!(
            Access::Requires(Permission::ViewFlows).decide(Some(&nobody)),
            Decision::Forbidden
        );
        assert_eq!(Access::SignedIn.decide(Some(&nobody)), Decision::Allow);
    }
}
