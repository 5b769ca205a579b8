//! Users of the console: who they are, their role and whether they may sign in.
//!
//! The SCIM service provider and the rest of the directory build on these rows. A user's
//! password hash is never part of [`User`]: it lives in its own table and never leaves
//! the `auth` module.

use crate::access::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserId(pub Uuid);

impl UserId {
    pub fn new() -> Self {
        UserId(Uuid::now_v7())
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether a user may sign in. Only `Active` users can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Suspended,
    Deprovisioned,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::Deprovisioned => "deprovisioned",
        }
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown user status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for UserStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(UserStatus::Active),
            "suspended" => Ok(UserStatus::Suspended),
            "deprovisioned" => Ok(UserStatus::Deprovisioned),
            other => Err(UnknownStatus(other.to_string())),
        }
    }
}

/// A user of the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// The sign-in name, usually an email address. Unique without regard to case.
    pub user_name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Role,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Sessions that began before this moment are no longer valid ("sign out everywhere").
    pub sessions_valid_after: Option<DateTime<Utc>>,
    /// The identity provider's id for this user.
    pub external_id: Option<String>,
    /// Every other SCIM attribute (core and enterprise extension), as provisioned.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Bumped by every change: SCIM's `meta.version`.
    pub version: i64,
    pub last_provisioned_at: Option<DateTime<Utc>>,
}

impl User {
    /// The name shown in the header and the System Log.
    pub fn shown_name(&self) -> &str {
        self.display_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.user_name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupId(pub Uuid);

impl GroupId {
    pub fn new() -> Self {
        GroupId(Uuid::now_v7())
    }
}

impl Default for GroupId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A member of a group, with the name to show for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: UserId,
    pub user_name: String,
}

/// A group of users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub display_name: String,
    pub external_id: Option<String>,
    /// Every other SCIM attribute, as provisioned.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub members: Vec<Member>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One attribute that changed, as a directory event records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub attribute: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

/// A recorded directory event: what happened to whom, by whom, with what changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct DirectoryEvent {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub event_type: String,
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_display: Option<String>,
    #[cfg_attr(feature = "server", sqlx(json))]
    pub changes: Vec<Change>,
    /// The events that led to this one, oldest first (set when a flow made the change).
    #[serde(default)]
    #[cfg_attr(feature = "server", sqlx(json))]
    pub causal_chain: Vec<Uuid>,
}

/// The key that makes `userName` unique regardless of case.
/// What the Directory's search looks in for a user, lowercased as it compares: the user
/// name, the name shown (the display name, or the user name when it is blank) and the
/// email.
pub fn search_keys(
    user_name: &str,
    display_name: Option<&str>,
    email: Option<&str>,
) -> Vec<String> {
    let shown = display_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(user_name);
    let mut keys = vec![user_name.to_lowercase(), shown.to_lowercase()];
    keys.extend(email.map(str::to_lowercase));
    keys.sort();
    keys.dedup();
    keys
}

pub fn user_name_key(user_name: &str) -> String {
    user_name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_name_key_ignores_case_and_surrounding_space() {
        assert_eq!(user_name_key("  Alice@Example.COM "), "alice@example.com");
    }

    #[test]
    fn status_round_trips() {
        for s in [
            UserStatus::Active,
            UserStatus::Suspended,
            UserStatus::Deprovisioned,
        ] {
            assert_eq!(s.as_str().parse::<UserStatus>().unwrap(), s);
        }
    }
}
