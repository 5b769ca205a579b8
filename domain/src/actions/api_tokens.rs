//! Making and revoking API tokens, and what a token may do when it is used: a personal
//! token exactly what its owner may do now; a service token what its role may, while the
//! person who made it still may do all of that. See `crate::api_tokens`.

use super::{Acting, ActionError};
use crate::access::{Permission, Rights, Role};
use crate::api_tokens::{ApiToken, DEFAULT_DAYS, LONGEST_DAYS, Scope, TokenKind};
use crate::audit::{Action, Actor, Target};
use crate::directory::{UserId, UserStatus};
use crate::store::{NewApiToken, Store};
use uuid::Uuid;

/// A token as its maker asks for it.
#[derive(Debug, Clone)]
pub struct TokenInput {
    pub name: String,
    pub kind: TokenKind,
    /// A service token's role.
    pub role: Option<Role>,
    pub scopes: Vec<Scope>,
    /// Days until it expires (1 to 365); `None`: 90.
    pub days: Option<u32>,
}

fn token_target(id: impl ToString, name: &str) -> Target {
    Target {
        kind: "api_token".into(),
        id: id.to_string(),
        display: name.to_string(),
    }
}

/// Whether `rights` hold every right `role` gives, through roles: a role's rights reach
/// every folder, so a grant on some folders never stands in for one.
pub fn holds_all_of(rights: &Rights, role: Role) -> bool {
    Permission::ALL
        .into_iter()
        .all(|p| !role.allows(p) || rights.roles().iter().any(|held| held.allows(p)))
}

/// Makes a token for the person acting; returns it with its secret (shown once).
pub async fn create(
    store: &Store,
    acting: &Acting,
    input: &TokenInput,
) -> Result<(ApiToken, String), ActionError> {
    let Some(owner) = acting.person else {
        return Err(ActionError::refused(
            "token-person",
            "API tokens are made by a person signed in to the console",
        ));
    };
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ActionError::refused(
            "token-name",
            "name the token in 1 to 100 characters, saying what uses it",
        ));
    }
    if input.scopes.is_empty() {
        return Err(ActionError::refused(
            "token-scopes",
            "choose at least one scope: what the token may read or change",
        ));
    }
    let days = input.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=LONGEST_DAYS).contains(&days) {
        return Err(ActionError::refused(
            "token-days",
            format!("a token lives 1 to {LONGEST_DAYS} days"),
        ));
    }
    let role = match input.kind {
        TokenKind::Personal => {
            if acting.rights.is_unassigned() {
                return Err(ActionError::refused(
                    "token-no-rights",
                    "you hold no role or folder grant, so a token of yours could do nothing",
                ));
            }
            None
        }
        TokenKind::Service => {
            let Some(role) = input.role.filter(|r| *r != Role::UnassignedUser) else {
                return Err(ActionError::refused(
                    "token-role",
                    "choose the role a service token acts with",
                ));
            };
            if !holds_all_of(&acting.rights, role) {
                return Err(ActionError::refused(
                    "token-role",
                    format!(
                        "a service token may act with a role whose every right you hold; you do not hold all of {}'s",
                        role.label()
                    ),
                ));
            }
            Some(role)
        }
    };
    let new = NewApiToken {
        name: name.to_string(),
        kind: input.kind,
        owner,
        owner_name: acting.actor.id_and_display().1,
        role,
        scopes: input.scopes.clone(),
        expires_at: chrono::Utc::now() + chrono::Duration::days(i64::from(days)),
    };
    let scopes = input
        .scopes
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(" ");
    let entry = acting
        .entry(Action::ApiTokenCreate, token_target("", name))
        .reason(match role {
            Some(role) => format!(
                "service token acting as {}; scopes {scopes}; {days} days",
                role.label()
            ),
            None => format!("personal token; scopes {scopes}; {days} days"),
        });
    Ok(store.create_api_token(&new, &entry).await?)
}

/// Revokes token `id`: its owner (or maker) may, and a Super Admin may revoke any.
pub async fn revoke(store: &Store, acting: &Acting, id: Uuid) -> Result<ApiToken, ActionError> {
    let gone = || ActionError::gone("api_token", "there is no such token here");
    let token = store.api_token(id).await?.ok_or_else(gone)?;
    let own = acting.person.is_some_and(|p| p.0 == token.owner_id);
    if !own && !acting.rights.allows(Permission::ManageSuperAdmins) {
        return Err(gone());
    }
    let entry = acting.entry(Action::ApiTokenRevoke, token_target(token.id, &token.name));
    if store.revoke_api_token(id, &entry).await? {
        Ok(token)
    } else {
        Err(ActionError::refused(
            "token-revoked",
            "the token was already revoked",
        ))
    }
}

/// Who a live token acts as, with the rights it is judged on now; refused when the
/// person behind it is gone, not active, or (for a service token) no longer holds its
/// role's rights.
pub async fn acting_for(
    store: &Store,
    token: &ApiToken,
    client_address: Option<String>,
    request_id: Option<String>,
) -> Result<Acting, ActionError> {
    let refused = |why: &str| ActionError::refused("token-owner", why.to_string());
    let person = match store.user(UserId(token.owner_id)).await? {
        Some(user) if user.status == UserStatus::Active => user,
        _ => {
            return Err(refused(
                "the person behind this token is no longer an active user",
            ));
        }
    };
    let theirs = store.rights_of(&person).await?;
    let rights = match (token.kind(), token.role()) {
        (Some(TokenKind::Personal), _) => theirs,
        (Some(TokenKind::Service), Some(role)) if holds_all_of(&theirs, role) => Rights::of(role),
        (Some(TokenKind::Service), Some(_)) => {
            return Err(refused(
                "the person who made this service token no longer holds every right of its role",
            ));
        }
        _ => return Err(refused("this token's kind or role is not one idflow knows")),
    };
    Ok(Acting {
        actor: Actor::ApiToken {
            token_id: token.id,
            name: token.name.clone(),
        },
        rights,
        person: Some(person.id),
        client_address,
        request_id,
        dry_run: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::FolderRole;

    #[test]
    fn a_role_is_held_through_roles_never_through_folder_grants() {
        let editor_here = Rights::new([], [(Uuid::now_v7(), FolderRole::Editor)]);
        assert!(editor_here.allows(Permission::EditFlows));
        for role in [
            Role::WorkflowsAuditor,
            Role::WorkflowsAdministrator,
            Role::ConnectionManager,
        ] {
            assert!(!holds_all_of(&editor_here, role), "{role:?}");
        }
        let admin = Rights::of(Role::WorkflowsAdministrator);
        assert!(holds_all_of(&admin, Role::WorkflowsAuditor));
        assert!(!holds_all_of(&admin, Role::SuperAdmin));
        assert!(holds_all_of(
            &Rights::of(Role::SuperAdmin),
            Role::SuperAdmin
        ));
    }
}
