//! Local sign-in: Argon2id password hashes, failed-sign-in throttling, the bootstrap
//! Super Admin and password resets.
//!
//! Hashing runs on the blocking pool, never on the async threads. A password or hash is
//! never logged, returned to a caller, or written to the System Log.

use crate::access::Role;
use crate::audit::{Action, Actor, NewEntry, Outcome, Target};
use crate::directory::{User, UserStatus};
use crate::store::{NewUser, Store, StoreError, ThrottleState};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};

/// The shortest password idflow accepts.
pub const MIN_PASSWORD_LENGTH: usize = 12;

/// How many failures lock an account or an address, within what window, for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub max_failures: i64,
    pub window: Duration,
    pub lockout: Duration,
}

impl ThrottlePolicy {
    pub const ACCOUNT: ThrottlePolicy = ThrottlePolicy {
        max_failures: 5,
        window: Duration::minutes(15),
        lockout: Duration::minutes(15),
    };
    pub const ADDRESS: ThrottlePolicy = ThrottlePolicy {
        max_failures: 20,
        window: Duration::minutes(15),
        lockout: Duration::minutes(15),
    };

    /// The state after one more failure at `now`.
    pub fn after_failure(&self, prev: Option<ThrottleState>, now: DateTime<Utc>) -> ThrottleState {
        let (failures, window_started_at) = match prev {
            Some(p) if now - p.window_started_at < self.window => {
                (p.failures + 1, p.window_started_at)
            }
            _ => (1, now),
        };
        let locked_until = (failures >= self.max_failures).then(|| now + self.lockout);
        ThrottleState {
            failures,
            window_started_at,
            locked_until,
        }
    }
}

/// Whether a state still locks at `now`; the moment it ends if so.
pub fn locked_until(state: Option<&ThrottleState>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    state
        .and_then(|s| s.locked_until)
        .filter(|until| *until > now)
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("The email or password is not right.")]
    InvalidCredentials,
    #[error("This account cannot sign in: it is {0}. Ask an administrator.")]
    NotActive(UserStatus),
    #[error("Too many failed sign-ins. Try again after {until}.", until = .until.format("%H:%M UTC"))]
    Throttled { until: DateTime<Utc> },
    #[error("The password must be at least {MIN_PASSWORD_LENGTH} characters long.")]
    WeakPassword,
    #[error("No user is named {0:?}.")]
    UnknownUser(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Hashes a password with Argon2id's default parameters, off the async threads.
pub async fn hash_password(password: SecretString) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| AuthError::Hashing(e.to_string()))?
}

/// Checks a password against a stored hash, off the async threads. A malformed hash
/// counts as a mismatch.
pub async fn verify_password(password: SecretString, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a password nobody has, checked when the user does not exist so that an
/// unknown name takes as long to refuse as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"decoy password that matches nothing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Makes a random password for the bootstrap admin or a reset: 20 characters from an
/// alphabet without look-alikes.
pub fn generate_password() -> SecretString {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = OsRng;
    let password: String = (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    SecretString::from(password)
}

/// Where a sign-in attempt came from, for throttling and the System Log.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub client_address: Option<String>,
    pub request_id: Option<String>,
}

fn account_key(user_name: &str) -> String {
    format!("account:{}", crate::directory::user_name_key(user_name))
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// The user name as typed, cut to a length fit for the log.
fn typed_name(user_name: &str) -> String {
    user_name.trim().chars().take(256).collect()
}

/// What counting one more attempt under a throttle key found.
enum Reserved {
    /// The key was locked: the attempt is refused, uncounted.
    Locked(DateTime<Utc>),
    /// Counted as a failure until it proves right; the state after it.
    Counted(ThrottleState),
}

/// Counts one more attempt under `key`, unless the key is locked.
async fn reserve(
    store: &Store,
    key: &str,
    policy: ThrottlePolicy,
    now: DateTime<Utc>,
) -> Result<Reserved, StoreError> {
    let mut locked = None;
    let state = store
        .update_throttle(key, |prev| match locked_until(prev.as_ref(), now) {
            Some(until) => {
                locked = Some(until);
                prev.unwrap_or(ThrottleState {
                    failures: 0,
                    window_started_at: now,
                    locked_until: Some(until),
                })
            }
            None => policy.after_failure(prev, now),
        })
        .await?;
    Ok(match locked {
        Some(until) => Reserved::Locked(until),
        None => Reserved::Counted(state),
    })
}

/// Takes back an attempt counted under `key` that turned out not to be a failure.
async fn uncount(store: &Store, key: &str) -> Result<(), StoreError> {
    store
        .update_throttle(key, |prev| match prev {
            Some(state) if state.locked_until.is_none() => ThrottleState {
                failures: (state.failures - 1).max(0),
                ..state
            },
            Some(state) => state,
            None => ThrottleState {
                failures: 0,
                window_started_at: Utc::now(),
                locked_until: None,
            },
        })
        .await?;
    Ok(())
}

/// Signs a user in with a password. Every attempt, successful or not, is appended to the
/// System Log.
pub async fn sign_in(
    store: &Store,
    user_name: &str,
    password: SecretString,
    origin: &Origin,
) -> Result<User, AuthError> {
    let user = check_password(store, user_name, password, origin).await?;
    let entry = NewEntry::new(
        Action::SessionStart,
        Outcome::Success,
        Actor::User {
            id: Some(user.id.0),
            display: user.user_name.clone(),
        },
    )
    .from_request(origin.client_address.clone(), origin.request_id.clone());
    store.record_sign_in(user.id, &entry).await?;
    Ok(user)
}

/// Checks an active user's password, throttled like a sign-in, logging every failure (a
/// sign-in, or a person proving who they are once more); the user when it is right.
pub async fn check_password(
    store: &Store,
    user_name: &str,
    password: SecretString,
    origin: &Origin,
) -> Result<User, AuthError> {
    let now = Utc::now();
    let account = account_key(user_name);
    let address = origin.client_address.as_deref().map(address_key);
    let failure = |reason: &str, user: Option<&User>| {
        NewEntry::new(
            Action::SessionStart,
            Outcome::Failure,
            Actor::User {
                id: user.map(|u| u.id.0),
                display: user
                    .map(|u| u.user_name.clone())
                    .unwrap_or_else(|| typed_name(user_name)),
            },
        )
        .reason(reason)
        .from_request(origin.client_address.clone(), origin.request_id.clone())
    };

    // Every attempt is counted before any password is checked, each counter read and
    // written in one transaction: of a burst of attempts at once, only as many as the
    // policy allows get as far as the password; the rest are refused as locked.
    let mut until = None;
    let mut address_counted = false;
    if let Some(address) = &address {
        match reserve(store, address, ThrottlePolicy::ADDRESS, now).await? {
            Reserved::Locked(at) => until = Some(at),
            Reserved::Counted(_) => address_counted = true,
        }
    }
    let account_state = match until {
        Some(_) => None,
        None => match reserve(store, &account, ThrottlePolicy::ACCOUNT, now).await? {
            Reserved::Locked(at) => {
                until = Some(at);
                None
            }
            Reserved::Counted(state) => Some(state),
        },
    };
    if let Some(until) = until {
        if address_counted && let Some(address) = &address {
            uncount(store, address).await?;
        }
        store
            .append_audit(&failure("too many failed sign-ins", None))
            .await?;
        return Err(AuthError::Throttled { until });
    }

    let user = store.user_by_name(user_name).await?;
    let hash = match &user {
        Some(u) => store.password_hash(u.id).await?,
        None => None,
    };
    let matched = verify_password(
        password,
        hash.clone().unwrap_or_else(|| decoy_hash().to_string()),
    )
    .await
        && hash.is_some();

    let user = match (user, matched) {
        (Some(user), true) => user,
        (user, _) => {
            let reason = if user.is_some() {
                "wrong password"
            } else {
                "unknown user"
            };
            store.append_audit(&failure(reason, user.as_ref())).await?;
            // The failure that locks a user's account (the attempt that reached the
            // limit, now known to be wrong) is an event flows can react to.
            if let Some(user) = &user
                && let Some(state) = account_state.filter(|s| s.locked_until.is_some())
            {
                let entry = NewEntry::new(Action::AccountLock, Outcome::Success, Actor::System)
                    .target(crate::audit::Target {
                        kind: "user".into(),
                        id: user.id.0.to_string(),
                        display: user.user_name.clone(),
                    })
                    .reason(format!(
                        "{} failed sign-ins; locked until {}",
                        state.failures,
                        state
                            .locked_until
                            .map(|t| t.format("%H:%M UTC").to_string())
                            .unwrap_or_default()
                    ))
                    .from_request(origin.client_address.clone(), origin.request_id.clone());
                store.record_lockout(user, &entry).await?;
            }
            return Err(AuthError::InvalidCredentials);
        }
    };

    // The right password: this attempt was no failure after all.
    store.clear_throttle(&account).await?;
    if let Some(address) = &address {
        uncount(store, address).await?;
    }
    if user.status != UserStatus::Active {
        store
            .append_audit(&failure(&format!("user is {}", user.status), Some(&user)))
            .await?;
        return Err(AuthError::NotActive(user.status));
    }
    Ok(user)
}

/// What the first start did about the bootstrap Super Admin.
#[derive(Debug)]
pub enum Bootstrap {
    /// The database already had users: nothing was done.
    NotNeeded,
    /// Created with the configured password.
    Created { user: User },
    /// Created with a generated one-time password, to be shown once.
    CreatedWithGeneratedPassword { user: User, password: SecretString },
}

/// On an empty database, creates the Super Admin `email` with `password`, or with a
/// generated password when none is configured.
pub async fn ensure_bootstrap_admin(
    store: &Store,
    email: &str,
    password: Option<SecretString>,
) -> Result<Bootstrap, AuthError> {
    if store.count_users().await? > 0 {
        return Ok(Bootstrap::NotNeeded);
    }
    if let Some(p) = &password
        && p.expose_secret().chars().count() < MIN_PASSWORD_LENGTH
    {
        return Err(AuthError::WeakPassword);
    }
    let generated = password.is_none();
    let password = password.unwrap_or_else(generate_password);
    let hash = hash_password(password.clone()).await?;
    let new = NewUser {
        user_name: email.trim().to_string(),
        display_name: None,
        email: Some(email.trim().to_string()),
        role: Role::SuperAdmin,
    };
    let entry = NewEntry::new(
        Action::BootstrapAdminCreated,
        Outcome::Success,
        Actor::System,
    )
    .target(Target {
        kind: "user".into(),
        id: email.trim().to_string(),
        display: email.trim().to_string(),
    });
    match store.create_user(&new, Some(&hash), Some(&entry)).await {
        Ok(user) if generated => Ok(Bootstrap::CreatedWithGeneratedPassword { user, password }),
        Ok(user) => Ok(Bootstrap::Created { user }),
        // Another server created it first.
        Err(StoreError::Conflict { .. }) => Ok(Bootstrap::NotNeeded),
        Err(err) => Err(err.into()),
    }
}

/// Sets a user's password (from the command line) and ends their sessions.
pub async fn reset_password(
    store: &Store,
    user_name: &str,
    password: SecretString,
) -> Result<User, AuthError> {
    if password.expose_secret().chars().count() < MIN_PASSWORD_LENGTH {
        return Err(AuthError::WeakPassword);
    }
    let user = store
        .user_by_name(user_name)
        .await?
        .ok_or_else(|| AuthError::UnknownUser(user_name.to_string()))?;
    let hash = hash_password(password).await?;
    let entry =
        NewEntry::new(Action::PasswordReset, Outcome::Success, Actor::Operator).target(Target {
            kind: "user".into(),
            id: user.id.to_string(),
            display: user.user_name.clone(),
        });
    store.set_password_hash(user.id, &hash, &entry).await?;
    store.clear_throttle(&account_key(&user.user_name)).await?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_failure_in_a_window_locks() {
        let p = ThrottlePolicy::ACCOUNT;
        let t = Utc::now();
        let mut state = None;
        for i in 1..=5 {
            let s = p.after_failure(state.clone(), t + Duration::seconds(i));
            assert_eq!(s.failures, i);
            assert_eq!(s.locked_until.is_some(), i == 5);
            state = Some(s);
        }
        let s = state.unwrap();
        assert_eq!(
            locked_until(Some(&s), t + Duration::minutes(1)),
            s.locked_until
        );
        assert_eq!(locked_until(Some(&s), t + Duration::minutes(30)), None);
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let p = ThrottlePolicy::ACCOUNT;
        let t = Utc::now();
        let s = p.after_failure(None, t);
        let s = p.after_failure(Some(s), t + Duration::minutes(16));
        assert_eq!(s.failures, 1);
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.expose_secret().len(), 20);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let hash = hash_password(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(SecretString::from("correct horse battery"), hash.clone()).await);
        assert!(!verify_password(SecretString::from("wrong horse battery"), hash).await);
        assert!(!verify_password(SecretString::from("x"), "not a hash".into()).await);
    }

    crate::backend_tests! {
        async fn sign_in_logs_every_attempt_and_locks_after_five_failures(store) {
            let bootstrap = ensure_bootstrap_admin(&store, "root@example.com", Some(SecretString::from("correct horse battery"))).await.unwrap();
            assert!(matches!(bootstrap, Bootstrap::Created { .. }));
            assert!(matches!(ensure_bootstrap_admin(&store, "x@example.com", None).await.unwrap(), Bootstrap::NotNeeded));

            let origin = Origin { client_address: Some("192.0.2.1".into()), request_id: Some("req-1".into()) };
            let user = sign_in(&store, "ROOT@example.com", SecretString::from("correct horse battery"), &origin).await.unwrap();
            assert_eq!(user.role, Role::SuperAdmin);

            for _ in 0..5 {
                let err = sign_in(&store, "root@example.com", SecretString::from("wrong"), &origin).await.unwrap_err();
                assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
            }
            // Locked now, even with the right password.
            let err = sign_in(&store, "root@example.com", SecretString::from("correct horse battery"), &origin).await.unwrap_err();
            assert!(matches!(err, AuthError::Throttled { .. }), "{err:?}");

            let log = store.recent_audit(20).await.unwrap();
            let failures = log.iter().filter(|e| e.action == "user.session.start" && e.outcome == "failure").count();
            assert_eq!(failures, 6);
            assert!(log.iter().all(|e| e.reason.as_deref().is_none_or(|r| !r.contains("horse"))));
            assert_eq!(log.last().unwrap().action, "system.bootstrap.admin_created");

            // An operator's reset lifts the lock and ends sessions.
            reset_password(&store, "root@example.com", SecretString::from("another long password")).await.unwrap();
            sign_in(&store, "root@example.com", SecretString::from("another long password"), &origin).await.unwrap();
        }

        async fn unknown_users_and_suspended_users_cannot_sign_in(store) {
            ensure_bootstrap_admin(&store, "root@example.com", Some(SecretString::from("correct horse battery"))).await.unwrap();
            let origin = Origin::default();
            let err = sign_in(&store, "nobody@example.com", SecretString::from("correct horse battery"), &origin).await.unwrap_err();
            assert!(matches!(err, AuthError::InvalidCredentials));
            let user = store.user_by_name("root@example.com").await.unwrap().unwrap();
            store.set_user_status(user.id, UserStatus::Suspended).await.unwrap();
            let err = sign_in(&store, "root@example.com", SecretString::from("correct horse battery"), &origin).await.unwrap_err();
            assert!(matches!(err, AuthError::NotActive(UserStatus::Suspended)));
        }

        async fn a_generated_bootstrap_password_signs_in(store) {
            let Bootstrap::CreatedWithGeneratedPassword { password, .. } = ensure_bootstrap_admin(&store, "root@example.com", None).await.unwrap() else {
                panic!("expected a generated password");
            };
            sign_in(&store, "root@example.com", password, &Origin::default()).await.unwrap();
        }

        async fn a_short_bootstrap_password_is_refused(store) {
            let err = ensure_bootstrap_admin(&store, "root@example.com", Some(SecretString::from("short"))).await.unwrap_err();
            assert!(matches!(err, AuthError::WeakPassword));
            assert_eq!(store.count_users().await.unwrap(), 0);
        }
    }
}
