//! The System Log: an append-only record of who did what, to what, and how it ended.
//!
//! Entries are only ever appended (the database refuses updates); the retention setting
//! deletes the oldest. Every feature that changes something or lets someone in appends
//! here. [`search`] is how it is searched.

pub mod search;

/// The columns of a System Log CSV export, in order.
pub const CSV_COLUMNS: [&str; 13] = [
    "published",
    "eventType",
    "displayMessage",
    "outcome",
    "actor.type",
    "actor.id",
    "actor.displayName",
    "target.type",
    "target.id",
    "target.displayName",
    "client.ipAddress",
    "requestId",
    "reason",
];

/// `entries` as CSV with [`CSV_COLUMNS`], every cell one a spreadsheet shows as text.
#[cfg(feature = "server")]
pub fn entries_csv(entries: &[Entry], with_header: bool) -> Result<String, csv::Error> {
    use crate::spreadsheet::cell;
    let mut writer = csv::Writer::from_writer(Vec::new());
    if with_header {
        writer.write_record(CSV_COLUMNS)?;
    }
    for e in entries {
        let text = |v: &Option<String>| cell(v.as_deref().unwrap_or("")).into_owned();
        writer.write_record([
            e.occurred_at.to_rfc3339(),
            cell(&e.action).into_owned(),
            e.action_label().to_string(),
            e.outcome.to_uppercase(),
            cell(&e.actor_kind).into_owned(),
            text(&e.actor_id),
            text(&e.actor_display),
            text(&e.target_kind),
            text(&e.target_id),
            text(&e.target_display),
            text(&e.client_address),
            text(&e.request_id),
            text(&e.reason),
        ])?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What happened, in Okta's System Log vocabulary where one exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// A sign-in attempt (success or failure).
    SessionStart,
    /// A sign-out.
    SessionEnd,
    /// The first Super Admin was created on an empty database.
    BootstrapAdminCreated,
    /// An operator set a new password from the command line.
    PasswordReset,
    /// A SCIM client created, changed or deleted a user.
    ScimUserCreate,
    ScimUserUpdate,
    ScimUserDelete,
    /// A SCIM client created, changed or deleted a group.
    ScimGroupCreate,
    ScimGroupUpdate,
    ScimGroupDelete,
    /// A SCIM request was refused for its token.
    ScimAuthFailure,
    /// A SCIM bearer token was created or revoked.
    ScimTokenCreate,
    ScimTokenRevoke,
    /// An admin ran the SCIM self-check (Settings).
    ScimSelfCheck,
    /// A SCIM client read users, groups or the service's description.
    ScimRead,
    /// An admin created, changed, suspended, deactivated or reactivated a user in the console.
    ConsoleUserCreate,
    ConsoleUserUpdate,
    ConsoleUserSuspend,
    ConsoleUserUnsuspend,
    ConsoleUserDeactivate,
    ConsoleUserReactivate,
    /// An admin created a group or changed its members in the console.
    ConsoleGroupCreate,
    ConsoleGroupUpdate,
    /// A user's direct console role was given, changed or taken away.
    RoleChange,
    /// A group was mapped to a role (push group) or unmapped.
    GroupRoleMap,
    GroupRoleUnmap,
    /// A user's assignment was sent again to the flows that listen for it.
    UserProvision,
    /// Direct assignments were moved under a group assignment.
    AssignmentsConvert,
    /// Someone downloaded the access review.
    AccessReviewExport,
    /// A folder grant was given to or taken from a user or group.
    FolderGrant,
    FolderGrantRevoke,
    /// A folder was created or renamed; a flow was moved into or out of a folder.
    FolderCreate,
    FolderRename,
    FlowMove,
    /// An identity provider's account was linked to a user at their first single sign-on.
    SsoLink,
    /// A user was created at their first single sign-on (no directory user matched).
    SsoUserCreate,
    /// A Super Admin set up, changed or removed single sign-on in Settings.
    SsoSettingsChange,
    /// A flow was created, saved as a new version, turned on or off, or deleted.
    FlowCreate,
    FlowSave,
    FlowEnable,
    FlowDisable,
    FlowDelete,
    /// Someone ran a Manual flow by hand, or tested a flow (the reason says which).
    FlowRun,
    /// A table was created, deleted, or filled from a CSV file.
    TableCreate,
    TableDelete,
    TableImport,
    /// A person added, changed or deleted a row in the Tables tab (a flow's changes are
    /// in its execution's history).
    TableRowCreate,
    TableRowUpdate,
    TableRowDelete,
    /// A flow changed a user or a group (the actor says which flow and execution).
    FlowUserChange,
    FlowGroupChange,
    /// A new secret was made for calling a flow's API endpoint.
    FlowTokenCreate,
    /// A flow's API endpoint secrets were revoked.
    FlowTokenRevoke,
    /// An API token for the REST API was made or revoked.
    ApiTokenCreate,
    ApiTokenRevoke,
    /// A Super Admin changed how long the System Log keeps its entries.
    LogRetentionChange,
    /// The System Log's oldest entries were deleted, as its retention says.
    LogPrune,
    AccountLock,
    ExecutionCancel,
    ExecutionRerun,
    ExecutionApprove,
    ExecutionResume,
    /// A connection was created, changed (or renamed), tested or deleted.
    ConnectionCreate,
    ConnectionUpdate,
    ConnectionTest,
    ConnectionDelete,
    /// Every secret was re-sealed under a new key (`idflow admin rotate-key`).
    SecretKeyRotate,
    /// The hosts and ranges flows may reach despite the outbound guard changed.
    OutboundAllowChange,
}

const ALL_ACTIONS: [Action; 68] = [
    Action::FlowRun,
    Action::FlowTokenCreate,
    Action::FlowTokenRevoke,
    Action::ApiTokenCreate,
    Action::ApiTokenRevoke,
    Action::LogRetentionChange,
    Action::LogPrune,
    Action::AccountLock,
    Action::ExecutionCancel,
    Action::ExecutionRerun,
    Action::ExecutionApprove,
    Action::ExecutionResume,
    Action::FlowUserChange,
    Action::FlowGroupChange,
    Action::TableCreate,
    Action::TableDelete,
    Action::TableImport,
    Action::TableRowCreate,
    Action::TableRowUpdate,
    Action::TableRowDelete,
    Action::FlowCreate,
    Action::FlowSave,
    Action::FlowEnable,
    Action::FlowDisable,
    Action::FlowDelete,
    Action::SsoLink,
    Action::SsoUserCreate,
    Action::SsoSettingsChange,
    Action::ScimGroupCreate,
    Action::ScimGroupUpdate,
    Action::ScimGroupDelete,
    Action::SessionStart,
    Action::SessionEnd,
    Action::BootstrapAdminCreated,
    Action::PasswordReset,
    Action::ScimUserCreate,
    Action::ScimUserUpdate,
    Action::ScimUserDelete,
    Action::ScimAuthFailure,
    Action::ScimTokenCreate,
    Action::ScimTokenRevoke,
    Action::ScimSelfCheck,
    Action::ScimRead,
    Action::ConsoleUserCreate,
    Action::ConsoleUserUpdate,
    Action::ConsoleUserSuspend,
    Action::ConsoleUserUnsuspend,
    Action::ConsoleUserDeactivate,
    Action::ConsoleUserReactivate,
    Action::ConsoleGroupCreate,
    Action::ConsoleGroupUpdate,
    Action::RoleChange,
    Action::GroupRoleMap,
    Action::GroupRoleUnmap,
    Action::UserProvision,
    Action::AssignmentsConvert,
    Action::AccessReviewExport,
    Action::FolderGrant,
    Action::FolderGrantRevoke,
    Action::FolderCreate,
    Action::FolderRename,
    Action::FlowMove,
    Action::ConnectionCreate,
    Action::ConnectionUpdate,
    Action::ConnectionTest,
    Action::ConnectionDelete,
    Action::SecretKeyRotate,
    Action::OutboundAllowChange,
];

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::SessionStart => "user.session.start",
            Action::SessionEnd => "user.session.end",
            Action::BootstrapAdminCreated => "system.bootstrap.admin_created",
            Action::PasswordReset => "user.account.reset_password",
            Action::ScimUserCreate => "scim.user.create",
            Action::ScimUserUpdate => "scim.user.update",
            Action::ScimUserDelete => "scim.user.delete",
            Action::ScimGroupCreate => "scim.group.create",
            Action::ScimGroupUpdate => "scim.group.update",
            Action::ScimGroupDelete => "scim.group.delete",
            Action::ScimAuthFailure => "scim.auth.failure",
            Action::ScimTokenCreate => "scim.token.create",
            Action::ScimTokenRevoke => "scim.token.revoke",
            Action::ScimSelfCheck => "scim.self_check",
            Action::ScimRead => "scim.read",
            Action::ConsoleUserCreate => "directory.user.create",
            Action::ConsoleUserUpdate => "directory.user.update",
            Action::ConsoleUserSuspend => "directory.user.suspend",
            Action::ConsoleUserUnsuspend => "directory.user.unsuspend",
            Action::ConsoleUserDeactivate => "directory.user.deactivate",
            Action::ConsoleUserReactivate => "directory.user.reactivate",
            Action::ConsoleGroupCreate => "directory.group.create",
            Action::ConsoleGroupUpdate => "directory.group.update",
            Action::RoleChange => "app.user.role_change",
            Action::GroupRoleMap => "app.group.role_map",
            Action::GroupRoleUnmap => "app.group.role_unmap",
            Action::UserProvision => "app.user.provision",
            Action::AssignmentsConvert => "app.assignments.convert",
            Action::AccessReviewExport => "app.access_review.export",
            Action::FolderGrant => "folder.grant",
            Action::FolderGrantRevoke => "folder.grant.revoke",
            Action::FolderCreate => "folder.create",
            Action::FolderRename => "folder.rename",
            Action::FlowMove => "flow.move",
            Action::SsoLink => "user.sso.link",
            Action::SsoUserCreate => "user.sso.create",
            Action::SsoSettingsChange => "system.sso.update",
            Action::ConnectionCreate => "connection.create",
            Action::ConnectionUpdate => "connection.update",
            Action::ConnectionTest => "connection.test",
            Action::ConnectionDelete => "connection.delete",
            Action::SecretKeyRotate => "system.secret_key.rotate",
            Action::OutboundAllowChange => "system.outbound_allow.update",
            Action::FlowCreate => "flow.create",
            Action::FlowSave => "flow.save",
            Action::FlowEnable => "flow.activate",
            Action::FlowDisable => "flow.deactivate",
            Action::FlowDelete => "flow.delete",
            Action::FlowRun => "flow.run",
            Action::TableCreate => "table.create",
            Action::TableDelete => "table.delete",
            Action::TableImport => "table.import",
            Action::TableRowCreate => "table.row.create",
            Action::TableRowUpdate => "table.row.update",
            Action::TableRowDelete => "table.row.delete",
            Action::FlowUserChange => "flow.user.change",
            Action::FlowGroupChange => "flow.group.change",
            Action::FlowTokenCreate => "flow.token.create",
            Action::FlowTokenRevoke => "flow.token.revoke",
            Action::ApiTokenCreate => "api.token.create",
            Action::ApiTokenRevoke => "api.token.revoke",
            Action::LogRetentionChange => "system.log.retention.change",
            Action::LogPrune => "system.log.prune",
            Action::AccountLock => "user.account.lock",
            Action::ExecutionCancel => "execution.cancel",
            Action::ExecutionRerun => "execution.rerun",
            Action::ExecutionApprove => "execution.approve",
            Action::ExecutionResume => "execution.resume",
        }
    }

    /// A sentence an admin reads in the log.
    pub fn describe(self) -> &'static str {
        match self {
            Action::SessionStart => "Sign-in",
            Action::SessionEnd => "Sign-out",
            Action::BootstrapAdminCreated => "Bootstrap Super Admin created",
            Action::PasswordReset => "Password reset from the command line",
            Action::ScimUserCreate => "User created over SCIM",
            Action::ScimUserUpdate => "User changed over SCIM",
            Action::ScimUserDelete => "User deleted over SCIM",
            Action::ScimGroupCreate => "Group created over SCIM",
            Action::ScimGroupUpdate => "Group changed over SCIM",
            Action::ScimGroupDelete => "Group deleted over SCIM",
            Action::ScimAuthFailure => "SCIM request refused: bad token",
            Action::ScimTokenCreate => "SCIM token created",
            Action::ScimTokenRevoke => "SCIM token revoked",
            Action::ScimSelfCheck => "SCIM self-check run",
            Action::ScimRead => "Directory read over SCIM",
            Action::ConsoleUserCreate => "User created in the console",
            Action::ConsoleUserUpdate => "User profile changed in the console",
            Action::ConsoleUserSuspend => "User suspended in the console",
            Action::ConsoleUserUnsuspend => "User unsuspended in the console",
            Action::ConsoleUserDeactivate => "User deactivated in the console",
            Action::ConsoleUserReactivate => "User reactivated in the console",
            Action::ConsoleGroupCreate => "Group created in the console",
            Action::ConsoleGroupUpdate => "Group members changed in the console",
            Action::RoleChange => "Console role changed",
            Action::GroupRoleMap => "Group mapped to a console role",
            Action::GroupRoleUnmap => "Group's console role mapping removed",
            Action::UserProvision => "User re-provisioned",
            Action::AssignmentsConvert => "Direct assignments converted to a group assignment",
            Action::AccessReviewExport => "Access review exported",
            Action::FolderGrant => "Folder access granted",
            Action::FolderGrantRevoke => "Folder access taken away",
            Action::FolderCreate => "Folder created",
            Action::FolderRename => "Folder renamed",
            Action::FlowMove => "Flow moved to another folder",
            Action::SsoLink => "Identity provider account linked to a user",
            Action::SsoUserCreate => "User created at first single sign-on",
            Action::SsoSettingsChange => "Single sign-on settings changed",
            Action::ConnectionCreate => "Connection created",
            Action::ConnectionUpdate => "Connection changed",
            Action::ConnectionTest => "Connection tested",
            Action::ConnectionDelete => "Connection deleted",
            Action::SecretKeyRotate => "Secrets re-sealed under a new key",
            Action::OutboundAllowChange => "Outbound allow-list changed",
            Action::FlowCreate => "Flow created",
            Action::FlowSave => "Flow saved as a new version",
            Action::FlowEnable => "Flow turned on",
            Action::FlowDisable => "Flow turned off",
            Action::FlowDelete => "Flow deleted",
            Action::FlowRun => "Flow run by hand or tested",
            Action::TableCreate => "Table created",
            Action::TableDelete => "Table deleted",
            Action::TableImport => "Rows imported into a table from CSV",
            Action::TableRowCreate => "Table row added",
            Action::TableRowUpdate => "Table row changed",
            Action::TableRowDelete => "Table row deleted",
            Action::FlowUserChange => "User changed by a flow",
            Action::FlowGroupChange => "Group members changed by a flow",
            Action::FlowTokenCreate => "API endpoint secret made for a flow",
            Action::FlowTokenRevoke => "API endpoint secrets of a flow revoked",
            Action::ApiTokenCreate => "API token made",
            Action::ApiTokenRevoke => "API token revoked",
            Action::LogRetentionChange => "System Log retention changed",
            Action::LogPrune => "System Log entries past their retention deleted",
            Action::AccountLock => "Account locked after too many failed sign-ins",
            Action::ExecutionCancel => "Execution cancelled",
            Action::ExecutionRerun => "Execution run again with the same input",
            Action::ExecutionApprove => "Execution approved past the blast-radius guard",
            Action::ExecutionResume => "Paused execution resumed through the API",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        ALL_ACTIONS.into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// A console user (or someone claiming to be one, for failed sign-ins).
    User { id: Option<Uuid>, display: String },
    /// idflow itself (bootstrap, schedules).
    System,
    /// An operator at the command line.
    Operator,
    /// An identity provider, by the SCIM token it used.
    ScimClient { token_id: Uuid, name: String },
    /// The SCIM self-check, by the temporary token it used: what it changes starts no flow.
    ScimSelfCheck { token_id: Uuid, name: String },
    /// A script or a system calling the REST API, by the API token it used.
    ApiToken { token_id: Uuid, name: String },
    /// A flow's execution; `chain` is the directory events that led to it, oldest first
    /// (the changes it makes carry them on, so a flow cannot re-trigger itself).
    Flow {
        flow: Uuid,
        execution: Uuid,
        name: String,
        chain: Vec<Uuid>,
    },
}

/// The actor kind of the SCIM self-check: the directory events it causes start no flow.
pub const SCIM_SELF_CHECK: &str = "scim_self_check";

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::System => "system",
            Actor::Operator => "operator",
            Actor::ScimClient { .. } => "scim_client",
            Actor::ScimSelfCheck { .. } => SCIM_SELF_CHECK,
            Actor::ApiToken { .. } => "api_token",
            Actor::Flow { .. } => "flow",
        }
    }

    /// The directory events that led to what this actor does (a flow's trigger chain).
    pub fn causal_chain(&self) -> Vec<Uuid> {
        match self {
            Actor::Flow { chain, .. } => chain.clone(),
            _ => Vec::new(),
        }
    }

    /// The actor's id and display name, as the log and the directory events keep them.
    pub fn id_and_display(&self) -> (Option<String>, String) {
        match self {
            Actor::User { id, display } => (id.map(|i| i.to_string()), display.clone()),
            Actor::System => (None, "idflow".to_string()),
            Actor::Operator => (None, "command line".to_string()),
            Actor::ScimClient { token_id, name } => {
                (Some(token_id.to_string()), format!("SCIM: {name}"))
            }
            Actor::ScimSelfCheck { token_id, name } => (
                Some(token_id.to_string()),
                format!("SCIM self-check: {name}"),
            ),
            Actor::ApiToken { token_id, name } => {
                (Some(token_id.to_string()), format!("API token: {name}"))
            }
            Actor::Flow { flow, name, .. } => (Some(flow.to_string()), format!("Flow: {name}")),
        }
    }
}

/// What an entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: String,
    pub id: String,
    pub display: String,
}

/// An entry about to be appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEntry {
    pub action: Action,
    pub outcome: Outcome,
    pub actor: Actor,
    pub target: Option<Target>,
    pub client_address: Option<String>,
    pub request_id: Option<String>,
    /// Why it failed, or other facts worth keeping. Never a secret.
    pub reason: Option<String>,
}

impl NewEntry {
    pub fn new(action: Action, outcome: Outcome, actor: Actor) -> Self {
        NewEntry {
            action,
            outcome,
            actor,
            target: None,
            client_address: None,
            request_id: None,
            reason: None,
        }
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn from_request(
        mut self,
        client_address: Option<String>,
        request_id: Option<String>,
    ) -> Self {
        self.client_address = client_address;
        self.request_id = request_id;
        self
    }
}

/// An entry as it was recorded (a row of the `audit_log` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct Entry {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub action: String,
    pub outcome: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_display: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target_display: Option<String>,
    pub client_address: Option<String>,
    pub request_id: Option<String>,
    pub reason: Option<String>,
}

impl Entry {
    /// The sentence for this entry's action, or its raw name for actions this build
    /// does not know (written by a newer version).
    pub fn action_label(&self) -> &str {
        Action::parse(&self.action)
            .map(Action::describe)
            .unwrap_or(&self.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_their_names() {
        for a in ALL_ACTIONS {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
    }
}
