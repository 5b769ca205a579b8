//! Roles and the one permission matrix.
//!
//! Every entry point of idflow (page, server function, HTTP route) names the
//! [`Permission`] it needs; whether a role holds it is answered here and nowhere else.
//! Deny by default: a permission no role lists is held by nobody but the Super Admin.

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
            (WorkflowsAdministrator, _) => true,
            (WorkflowsAuditor, p) => p.is_read_only(),
            (ConnectionManager, ViewConnections) => true,
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
}

impl Permission {
    pub const ALL: [Permission; 9] = [
        Permission::ManageScimTokens,
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
    pub fn decide(self, role: Option<Role>) -> Decision {
        match (self, role) {
            (Access::Public | Access::BearerToken, _) => Decision::Allow,
            (_, None) => Decision::SignInRequired,
            (Access::SignedIn, Some(_)) => Decision::Allow,
            (Access::Requires(p), Some(role)) if role.allows(p) => Decision::Allow,
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
    fn connection_manager_sees_only_connections() {
        for p in Permission::ALL {
            assert_eq!(
                Role::ConnectionManager.allows(p),
                p == Permission::ViewConnections,
                "{p:?}"
            );
        }
    }

    #[test]
    fn anonymous_callers_must_sign_in_except_on_public_entry_points() {
        assert_eq!(Access::Public.decide(None), Decision::Allow);
        assert_eq!(Access::SignedIn.decide(None), Decision::SignInRequired);
        assert_eq!(
            Access::Requires(Permission::ViewFlows).decide(None),
            Decision::SignInRequired
        );
        assert_eq!(
            Access::Requires(Permission::ViewFlows).decide(Some(Role::UnassignedUser)),
            Decision::Forbidden
        );
        assert_eq!(
            Access::SignedIn.decide(Some(Role::UnassignedUser)),
            Decision::Allow
        );
    }
}
