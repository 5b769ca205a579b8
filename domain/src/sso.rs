//! Who someone is after their identity provider vouched for them: the user linked to the
//! provider's account, or the directory user their **verified** email names (linked once,
//! then found by the account), or a new user with the Unassigned User role.
//!
//! The protocol (OpenID Connect: redirects, tokens, signatures) is the server's; this
//! module starts where the ID token has been checked. Every outcome goes to the System Log.

use crate::access::Role;
use crate::audit::{Action, Actor, NewEntry, Outcome, Target};
use crate::auth::Origin;
use crate::directory::{User, UserStatus};
use crate::store::{NewUser, SsoIdentity, Store, StoreError};

/// A name for the sign-in button when none is configured: the provider's product when
/// the issuer says which, else the issuer's host.
pub fn default_display_name(issuer: &str) -> String {
    let host = url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| issuer.to_string());
    if host.ends_with(".okta.com") || host.ends_with(".oktapreview.com") {
        "Okta".into()
    } else if host.ends_with("login.microsoftonline.com") {
        "Microsoft Entra ID".into()
    } else if host == "accounts.google.com" {
        "Google".into()
    } else {
        host
    }
}

/// Whether a URL points at this machine (where plain http is acceptable for an issuer).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// What a checked ID token (and the userinfo endpoint) said about the person.
#[derive(Debug, Clone)]
pub struct SsoClaims {
    pub identity: SsoIdentity,
    /// The identity provider's name as the sign-in page shows it ("Okta").
    pub provider: String,
    pub email: Option<String>,
    /// Whether the provider said the email is verified (`email_verified`).
    pub email_verified: bool,
    pub name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error(
        "{provider} did not say your email address is verified, so idflow cannot tell which user you are."
    )]
    EmailNotVerified { provider: String },
    #[error(
        "More than one idflow user has the email address {0}; an administrator must make it unique."
    )]
    AmbiguousEmail(String),
    #[error("The idflow user {0} already signs in with another account at this identity provider.")]
    LinkedElsewhere(String),
    #[error("This account cannot sign in: it is {0}. Ask an administrator.")]
    NotActive(UserStatus),
    #[error(
        "The idflow user {0} is an administrator without a local password to confirm the link with; an operator can set one (idflow admin reset-password)."
    )]
    PrivilegedWithoutPassword(String),
    #[error("The password is not right.")]
    WrongPassword,
    #[error("Too many failed attempts; try again later.")]
    Throttled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SsoError {
    /// The code the sign-in page turns into a sentence.
    pub fn code(&self) -> &'static str {
        match self {
            SsoError::EmailNotVerified { .. } => "sso-unverified",
            SsoError::AmbiguousEmail(_) => "sso-ambiguous",
            SsoError::LinkedElsewhere(_) => "sso-linked",
            SsoError::NotActive(_) => "inactive",
            SsoError::PrivilegedWithoutPassword(_) => "sso-privileged",
            SsoError::WrongPassword => "invalid",
            SsoError::Throttled => "locked",
            SsoError::Store(_) => "unavailable",
        }
    }
}

fn actor(claims: &SsoClaims, user: Option<&User>) -> Actor {
    Actor::User {
        id: user.map(|u| u.id.0),
        display: user
            .map(|u| u.user_name.clone())
            .or_else(|| claims.email.clone())
            .unwrap_or_else(|| format!("{} subject {}", claims.provider, claims.identity.subject)),
    }
}

fn entry(
    action: Action,
    outcome: Outcome,
    claims: &SsoClaims,
    user: Option<&User>,
    origin: &Origin,
) -> NewEntry {
    NewEntry::new(action, outcome, actor(claims, user))
        .from_request(origin.client_address.clone(), origin.request_id.clone())
}

/// Logs a refused sign-in and gives the reason back.
async fn refused<T>(store: &Store, entry: NewEntry, error: SsoError) -> Result<T, SsoError> {
    store.append_audit(&entry).await?;
    Err(error)
}

/// How a single sign-on ended.
#[derive(Debug, Clone)]
pub enum SsoOutcome {
    /// Signed in as this user (linked now, or before).
    SignedIn(User),
    /// The verified email names a user who administers idflow (Super Admin or Workflows
    /// Administrator, by any path): their account is linked only once they confirm it with
    /// its own password ([`confirm_link`]), so whoever controls an email at the identity
    /// provider does not take over an administrator's account.
    ConfirmLink(User),
}

/// Whether linking to `user` takes the account's own password first.
async fn link_needs_password(store: &Store, user: &User) -> Result<bool, StoreError> {
    let rights = store.rights_of(user).await?;
    Ok(rights
        .roles()
        .iter()
        .any(|r| matches!(r, Role::SuperAdmin | Role::WorkflowsAdministrator)))
}

/// Signs in the person `claims` describe, linking or creating their user as needed.
pub async fn sign_in(
    store: &Store,
    claims: &SsoClaims,
    origin: &Origin,
) -> Result<SsoOutcome, SsoError> {
    let via = format!("single sign-on with {}", claims.provider);
    let refuse = |user: Option<&User>, error: SsoError| {
        let failure = entry(Action::SessionStart, Outcome::Failure, claims, user, origin)
            .reason(format!("{via}: {error}"));
        refused::<SsoOutcome>(store, failure, error)
    };
    let success = |user: &User| {
        entry(
            Action::SessionStart,
            Outcome::Success,
            claims,
            Some(user),
            origin,
        )
        .reason(via.clone())
    };

    // Signed in before: the account is linked.
    if let Some(user) = store.user_by_sso(&claims.identity).await? {
        if user.status != UserStatus::Active {
            return refuse(Some(&user), SsoError::NotActive(user.status)).await;
        }
        store
            .record_sso_sign_in(&claims.identity, user.id, None, &success(&user))
            .await?;
        return Ok(SsoOutcome::SignedIn(user));
    }

    // First time: only a verified email may name a user.
    let email = match (&claims.email, claims.email_verified) {
        (Some(email), true) if !email.trim().is_empty() => email.trim().to_string(),
        _ => {
            let error = SsoError::EmailNotVerified {
                provider: claims.provider.clone(),
            };
            return refuse(None, error).await;
        }
    };
    let candidates = store.users_by_email(&email).await?;
    let named = candidates.iter().find(|u| {
        crate::directory::user_name_key(&u.user_name) == crate::directory::user_name_key(&email)
    });
    let user = match (named, candidates.as_slice()) {
        (Some(user), _) => Some(user.clone()),
        (None, [only]) => Some(only.clone()),
        (None, []) => None,
        (None, _) => return refuse(None, SsoError::AmbiguousEmail(email)).await,
    };

    let Some(user) = user else {
        let new = NewUser {
            user_name: email.clone(),
            display_name: claims.name.clone(),
            email: Some(email.clone()),
            role: Role::UnassignedUser,
        };
        let created = entry(
            Action::SsoUserCreate,
            Outcome::Success,
            claims,
            None,
            origin,
        )
        .target(Target {
            kind: "user".into(),
            id: email.clone(),
            display: email.clone(),
        })
        .reason(format!(
            "{} account {}; no role until an administrator assigns one",
            claims.provider, claims.identity.subject
        ));
        let signed_in =
            entry(Action::SessionStart, Outcome::Success, claims, None, origin).reason(via.clone());
        return Ok(SsoOutcome::SignedIn(
            store
                .create_sso_user(&new, &claims.identity, &[created, signed_in])
                .await?,
        ));
    };

    if user.status != UserStatus::Active {
        return refuse(Some(&user), SsoError::NotActive(user.status)).await;
    }
    // A user links to one account per provider: a second account with the same email
    // (a re-created or re-assigned IdP account) does not take over the first one's user.
    let linked = store.sso_identities_of(user.id).await?;
    if linked.iter().any(|i| i.issuer == claims.identity.issuer) {
        return refuse(
            Some(&user),
            SsoError::LinkedElsewhere(user.user_name.clone()),
        )
        .await;
    }
    if link_needs_password(store, &user).await? {
        if store.password_hash(user.id).await?.is_none() {
            return refuse(
                Some(&user),
                SsoError::PrivilegedWithoutPassword(user.user_name.clone()),
            )
            .await;
        }
        return Ok(SsoOutcome::ConfirmLink(user));
    }
    link(store, claims, &user, &email, origin)
        .await
        .map(SsoOutcome::SignedIn)
}

/// Links `claims`' account to `user` (named by the verified `email`) and signs them in.
async fn link(
    store: &Store,
    claims: &SsoClaims,
    user: &User,
    email: &str,
    origin: &Origin,
) -> Result<User, SsoError> {
    let via = format!("single sign-on with {}", claims.provider);
    let success = entry(
        Action::SessionStart,
        Outcome::Success,
        claims,
        Some(user),
        origin,
    )
    .reason(via.clone());
    let link = entry(
        Action::SsoLink,
        Outcome::Success,
        claims,
        Some(user),
        origin,
    )
    .target(Target {
        kind: "user".into(),
        id: user.id.0.to_string(),
        display: user.user_name.clone(),
    })
    .reason(format!(
        "{} account {} (verified email {email})",
        claims.provider, claims.identity.subject
    ));
    match store
        .record_sso_sign_in(&claims.identity, user.id, Some(&link), &success)
        .await
    {
        Ok(()) => Ok(user.clone()),
        Err(StoreError::Conflict { .. }) => {
            let error = SsoError::LinkedElsewhere(user.user_name.clone());
            let failure = entry(
                Action::SessionStart,
                Outcome::Failure,
                claims,
                Some(user),
                origin,
            )
            .reason(format!("{via}: {error}"));
            refused(store, failure, error).await
        }
        Err(err) => Err(err.into()),
    }
}

/// Confirms a link [`sign_in`] held back: `password` must be `user`'s own (checked and
/// throttled as a sign-in). Links the account and signs them in.
pub async fn confirm_link(
    store: &Store,
    claims: &SsoClaims,
    user: &User,
    password: secrecy::SecretString,
    origin: &Origin,
) -> Result<User, SsoError> {
    match crate::auth::check_password(store, &user.user_name, password, origin).await {
        Ok(checked) if checked.id == user.id => {}
        Ok(_) | Err(crate::auth::AuthError::InvalidCredentials) => {
            return Err(SsoError::WrongPassword);
        }
        Err(crate::auth::AuthError::Throttled { .. }) => return Err(SsoError::Throttled),
        Err(crate::auth::AuthError::NotActive(status)) => return Err(SsoError::NotActive(status)),
        Err(crate::auth::AuthError::Store(err)) => return Err(err.into()),
        Err(other) => {
            return Err(StoreError::Invalid(other.to_string()).into());
        }
    }
    let email = claims.email.clone().unwrap_or_default();
    link(store, claims, user, email.trim(), origin).await
}
