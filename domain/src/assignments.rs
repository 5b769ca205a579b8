//! The console as an app its users are assigned to: who holds which role, directly or
//! through a group mapped to a role ("push group"), and the access review that says who
//! has what and why.

use crate::access::{FolderRole, Role};
use crate::directory::{GroupId, UserId, UserStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A role a user holds through a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViaGroup {
    pub group_id: GroupId,
    pub group_name: String,
    pub role: Role,
}

/// A user assigned to the console, directly, through groups, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedUser {
    pub id: UserId,
    pub user_name: String,
    pub display_name: Option<String>,
    pub status: UserStatus,
    /// The role given to the user themself; Unassigned User when it comes only from groups.
    pub direct_role: Role,
    pub via_groups: Vec<ViaGroup>,
    pub last_provisioned_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl AssignedUser {
    pub fn is_direct(&self) -> bool {
        self.direct_role != Role::UnassignedUser
    }

    /// The highest role held by any path.
    pub fn effective_role(&self) -> Role {
        std::iter::once(self.direct_role)
            .chain(self.via_groups.iter().map(|g| g.role))
            .min()
            .unwrap_or(Role::UnassignedUser)
    }
}

/// A group mapped to a role: every member holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedGroup {
    pub id: GroupId,
    pub name: String,
    pub role: Role,
    pub members: i64,
    pub mapped_at: DateTime<Utc>,
}

/// Everything the Assignments view lists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Assignments {
    pub users: Vec<AssignedUser>,
    pub groups: Vec<MappedGroup>,
}

/// One line of the access review: a user, one right they hold, and the path it comes by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessReviewRow {
    pub user_name: String,
    pub display_name: String,
    pub status: UserStatus,
    /// A role label ("Workflows Auditor") or a folder grant ("Editor of folder HR").
    pub right: String,
    /// "direct", "group Engineering" or "folder grant to group Engineering".
    pub through: String,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// A folder grant, to a user or a group, as the access review reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderGrant {
    pub folder_id: uuid::Uuid,
    pub folder_name: String,
    pub grant: FolderRole,
    pub to: Grantee,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Grantee {
    User(UserId),
    Group { id: GroupId, name: String },
}

/// The access review as CSV, a header line then one line per row, for spreadsheets.
#[cfg(feature = "server")]
pub fn access_review_csv(rows: &[AccessReviewRow]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "userName",
        "displayName",
        "status",
        "right",
        "through",
        "lastSignIn",
    ])?;
    for row in rows {
        let last = row
            .last_sign_in_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        out.write_record(
            [
                row.user_name.as_str(),
                row.display_name.as_str(),
                row.status.as_str(),
                row.right.as_str(),
                row.through.as_str(),
                last.as_str(),
            ]
            .map(|text| crate::spreadsheet::cell(text).into_owned()),
        )?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(direct: Role, via: &[Role]) -> AssignedUser {
        AssignedUser {
            id: UserId::new(),
            user_name: "a@example.com".into(),
            display_name: None,
            status: UserStatus::Active,
            direct_role: direct,
            via_groups: via
                .iter()
                .map(|r| ViaGroup {
                    group_id: GroupId::new(),
                    group_name: "G".into(),
                    role: *r,
                })
                .collect(),
            last_provisioned_at: None,
            last_sign_in_at: None,
        }
    }

    #[test]
    fn the_effective_role_is_the_highest_of_every_path() {
        assert_eq!(
            user(Role::UnassignedUser, &[Role::WorkflowsAuditor]).effective_role(),
            Role::WorkflowsAuditor
        );
        assert_eq!(
            user(Role::ConnectionManager, &[Role::WorkflowsAdministrator]).effective_role(),
            Role::WorkflowsAdministrator
        );
        assert!(!user(Role::UnassignedUser, &[Role::WorkflowsAuditor]).is_direct());
    }

    #[cfg(feature = "server")]
    #[test]
    fn the_csv_quotes_what_needs_quoting() {
        let rows = vec![AccessReviewRow {
            user_name: "a@example.com".into(),
            display_name: "Smith, Ann".into(),
            status: UserStatus::Active,
            right: "Workflows Auditor".into(),
            through: "group \"Audit\"".into(),
            last_sign_in_at: None,
        }];
        let csv = access_review_csv(&rows).unwrap();
        assert_eq!(
            csv,
            "userName,displayName,status,right,through,lastSignIn\n\
             a@example.com,\"Smith, Ann\",active,Workflows Auditor,\"group \"\"Audit\"\"\",\n"
        );
    }
}
