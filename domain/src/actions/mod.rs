//! Actions: every change a person or a flow can make, each one function that takes who is
//! acting and what to change, checks that they may, writes, and records the System Log
//! entry with the change. The console's form posts and server functions, SCIM, the
//! engine's cards (and the coming REST API) are thin adapters over these: a rule lives
//! here once, so no path can do what another would refuse.
//!
//! Who acts is an [`Acting`]: a person in the console with their rights, a flow acting for
//! its owner (judged on the owner's rights when the card runs), or a SCIM token acting for
//! the person who made it. Nobody gets more power than the person behind them.

pub mod api_tokens;
pub mod connections;
pub mod directory;
pub mod executions;
pub mod flows;
pub mod folders;
pub mod settings;
pub mod tables;

use crate::access::Rights;
use crate::access::changes::Refusal;
use crate::audit::{Action, Actor, NewEntry, Outcome, Target};
use crate::directory::UserId;
use crate::store::StoreError;

/// Who makes a change, and the rights it is judged on.
#[derive(Debug, Clone)]
pub struct Acting {
    /// Who the directory events and the System Log name.
    pub actor: Actor,
    /// The rights of the person behind the change.
    pub rights: Rights,
    /// That person, when a person stands behind it directly (a console user, a flow's
    /// owner): they may not suspend or deactivate themselves.
    pub person: Option<UserId>,
    pub client_address: Option<String>,
    pub request_id: Option<String>,
    /// A dry run's card: each change is judged as it would be and then not made; the
    /// action answers with what it would have written.
    pub dry_run: bool,
}

impl Acting {
    /// A successful System Log entry of `action` on `target`, by whoever acts.
    pub fn entry(&self, action: Action, target: Target) -> NewEntry {
        NewEntry::new(action, Outcome::Success, self.actor.clone())
            .target(target)
            .from_request(self.client_address.clone(), self.request_id.clone())
    }
}

/// Why an action did not happen; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The one acting may not do this.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// What the action is about does not exist (any more): a `user`, `group` or `flow`.
    #[error("{detail}")]
    NotFound { kind: &'static str, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ActionError {
    pub fn refused(code: &'static str, reason: impl Into<String>) -> ActionError {
        ActionError::Refused(Refusal::new(code, reason))
    }

    pub fn gone(kind: &'static str, detail: impl Into<String>) -> ActionError {
        ActionError::NotFound {
            kind,
            detail: detail.into(),
        }
    }
}

pub fn user_target(user: &crate::directory::User) -> Target {
    Target {
        kind: "user".into(),
        id: user.id.to_string(),
        display: user.user_name.clone(),
    }
}

pub fn group_target(id: impl ToString, name: &str) -> Target {
    Target {
        kind: "group".into(),
        id: id.to_string(),
        display: name.to_string(),
    }
}
