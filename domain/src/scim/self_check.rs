//! The SCIM self-check's report: each check an identity provider relies on, run against
//! idflow's own `/scim/v2` with a temporary token, as Settings shows the last run.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One run of the self-check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfCheck {
    pub id: Uuid,
    pub ran_at: DateTime<Utc>,
    /// Who ran it (their user name).
    pub ran_by: String,
    pub checks: Vec<Check>,
}

/// One check and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked, as an admin reads it ("Filter users by userName").
    pub name: String,
    pub passed: bool,
    /// What it saw: on success what was confirmed, on failure what went wrong.
    pub detail: String,
}

impl SelfCheck {
    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed).count()
    }

    /// Whether every check passed.
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// "14 of 14 checks passed", as the System Log and the page sum it up.
    pub fn summary(&self) -> String {
        format!("{} of {} checks passed", self.passed(), self.checks.len())
    }
}
