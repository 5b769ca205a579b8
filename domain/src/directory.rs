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
/// The longest search key, in characters: a search for more finds what starts with its
/// first this many.
pub const SEARCH_KEY_CHARS: usize = 64;

/// What the Directory's search looks in for a user: the user name, the name shown (the
/// display name, or the user name when it is blank) and the email, lowercased, from each
/// place a word starts (see [`word_starts`]), so a search is a range of an index.
pub fn search_keys(
    user_name: &str,
    display_name: Option<&str>,
    email: Option<&str>,
) -> Vec<String> {
    let shown = display_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(user_name);
    let mut keys: Vec<String> = [Some(user_name), Some(shown), email]
        .into_iter()
        .flatten()
        .flat_map(|text| {
            let lower = text.to_lowercase();
            word_starts(&lower)
                .into_iter()
                .map(|at| {
                    lower[at..]
                        .chars()
                        .take(SEARCH_KEY_CHARS)
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Where a search may start in `text`: at its start, and wherever a letter or digit
/// follows something else or something else follows anything ("ada.lovelace@example.com"
/// is found by "ada", "lovelace", ".lovelace", "@example", "example.com", "com").
pub fn word_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut before: Option<char> = None;
    for (at, c) in text.char_indices() {
        let starts_here = match before {
            None => true,
            Some(b) => !c.is_alphanumeric() || !b.is_alphanumeric(),
        };
        if starts_here && !c.is_whitespace() {
            starts.push(at);
        }
        before = Some(c);
    }
    starts
}

/// Whether the Directory's search for `q` (trimmed, lowercased) finds a user with these
/// names: one of them has `q` where a word starts ([`search_keys`]).
pub fn search_finds(
    q: &str,
    user_name: &str,
    display_name: Option<&str>,
    email: Option<&str>,
) -> bool {
    let q: String = q.chars().take(SEARCH_KEY_CHARS).collect();
    q.is_empty()
        || search_keys(user_name, display_name, email)
            .iter()
            .any(|key| key.starts_with(&q))
}

pub fn user_name_key(user_name: &str) -> String {
    user_name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_finds_names_where_a_word_starts() {
        let finds =
            |q: &str| search_finds(q, "ada.lovelace@example.com", Some("Ada Lovelace"), None);
        for q in [
            "ada",
            "lovelace",
            ".lovelace",
            "@example",
            "example.com",
            "com",
            "ada love",
            "",
        ] {
            assert!(finds(q), "{q}");
        }
        for q in ["velace", "xample", "da", "ada  love"] {
            assert!(!finds(q), "{q}");
        }
    }

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
