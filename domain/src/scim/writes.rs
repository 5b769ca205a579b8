//! What a SCIM write means for idflow's directory: a User or Group as a client sent it,
//! laid over what is stored (a suspension is the console's, a PUT without the role keeps
//! it), and a PATCH applied again when another write to the same resource got there
//! first. The adapter (`server::scim`) turns HTTP into these and their answers back.

use crate::access::Role;
use crate::directory::{User, UserId, UserStatus};
use crate::store::{GroupWrite, UserWrite};
use serde_json::Value;

/// The stored state a client's User sets, given what the user was before (`None`
/// for a new user). A missing `active` keeps the status; a missing role keeps the role
/// for a PUT (Okta sends whole users without it) but means Unassigned after a PATCH
/// removed it.
pub fn user_write(
    input: super::user::UserInput,
    current: Option<&User>,
    absent_role_keeps: bool,
) -> UserWrite {
    let status = match (input.active, current.map(|u| u.status)) {
        (Some(false), _) => UserStatus::Deprovisioned,
        // A suspension is the console's; the identity provider's `active: true` does not lift it.
        (Some(true), Some(UserStatus::Suspended)) => UserStatus::Suspended,
        (Some(true), _) => UserStatus::Active,
        (None, Some(status)) => status,
        (None, None) => UserStatus::Active,
    };
    let mut attributes = input.attributes;
    if input.active.is_none() && !absent_role_keeps {
        attributes.insert("active".into(), Value::Null);
    }
    UserWrite {
        user_name: input.user_name,
        external_id: input.external_id,
        status,
        role: input
            .role
            .or(current.filter(|_| absent_role_keeps).map(|u| u.role))
            .unwrap_or(Role::UnassignedUser),
        display_name: input.display_name,
        email: input.email,
        attributes,
    }
}

/// A Group as a client sent it, as the store writes it.
pub fn group_write(input: super::group::GroupInput) -> GroupWrite {
    GroupWrite {
        display_name: input.display_name,
        external_id: input.external_id,
        attributes: input.attributes,
        members: input.members.into_iter().map(UserId).collect(),
    }
}

/// How often a PATCH is applied again when a concurrent change to the same resource
/// won the race (identity providers send several PATCHes to one group at once).
pub const PATCH_ATTEMPTS: u32 = 20;

/// What one try of a PATCH came to.
pub enum Attempt<T> {
    Done(T),
    /// Another write changed the resource since it was read: read it and try again.
    Stale,
}

/// `result` as an [`Attempt`]: a write that lost the race to another is [`Attempt::Stale`],
/// unless the client named the version it meant (If-Match), which then stands as the
/// client's precondition failing.
pub fn attempt<T>(
    result: Result<T, crate::actions::ActionError>,
    client_named_version: bool,
) -> Result<Attempt<T>, crate::actions::ActionError> {
    use crate::actions::ActionError;
    use crate::store::StoreError;
    match result {
        Err(ActionError::Store(StoreError::PreconditionFailed { .. })) if !client_named_version => {
            Ok(Attempt::Stale)
        }
        Ok(done) => Ok(Attempt::Done(done)),
        Err(err) => Err(err),
    }
}

/// Applies a PATCH with `once` (read, patch, write with the version read) until a try is
/// not stale, pausing a little longer each time; `None` when it stayed stale
/// [`PATCH_ATTEMPTS`] times.
pub async fn patch_retrying<T, E, F, Fut>(mut once: F) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Attempt<T>, E>>,
{
    for try_number in 0..PATCH_ATTEMPTS {
        if try_number > 0 {
            let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
            tokio::time::sleep(std::time::Duration::from_millis(
                u64::from(try_number.min(10)) * 2 + jitter,
            ))
            .await;
        }
        if let Attempt::Done(done) = once().await? {
            return Ok(Some(done));
        }
    }
    Ok(None)
}
