//! A SCIM bearer token as the console shows it: never the secret, only its name and use.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct ScimToken {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The console user who made it: a token acts with no more power than they hold
    /// (giving or taking Super Admin only while they are a Super Admin).
    pub created_by: Option<Uuid>,
    /// Made by an operator at the command line, who holds every power anyway.
    pub created_by_operator: bool,
    /// Made by the SCIM self-check for one run (revoked after it): what it changes starts no
    /// flow, and Settings does not list it.
    pub self_check: bool,
}

/// Who makes a SCIM token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMaker {
    /// A Super Admin in the console.
    Person(crate::directory::UserId),
    /// An operator at the command line (`idflow admin scim-token create`).
    Operator,
}
