//! Changes on the Settings page: make and revoke the SCIM tokens identity providers use
//! (they carry the power to give Super Admin, so only a Super Admin does either), and set
//! up or remove single sign-on, and keep the outbound allow-list (the hosts and ranges
//! flows may reach despite the outbound guard; Super Admins only).

use super::{Acting, ActionError};
use crate::access::Permission;
use crate::audit::{Action, Target};
use crate::store::{ScimToken, SsoSettings, Store, TokenMaker};
use secrecy::SecretString;
use uuid::Uuid;

fn token_target(id: impl ToString, name: &str) -> Target {
    Target {
        kind: "scim_token".into(),
        id: id.to_string(),
        display: name.to_string(),
    }
}

fn may(acting: &Acting, permission: Permission, what: &str) -> Result<(), ActionError> {
    if acting.rights.allows(permission) {
        Ok(())
    } else {
        Err(ActionError::refused("not-allowed", what.to_string()))
    }
}

/// A new SCIM token named `name`, acting with its maker's power; its secret, to show once.
pub async fn create_scim_token(
    store: &Store,
    acting: &Acting,
    name: &str,
) -> Result<(ScimToken, String), ActionError> {
    may(
        acting,
        Permission::ManageScimTokens,
        "only a Super Admin makes SCIM tokens",
    )?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ActionError::refused(
            "name",
            "a token needs a name of 1 to 100 characters",
        ));
    }
    let Some(person) = acting.person else {
        return Err(ActionError::refused(
            "not-allowed",
            "a SCIM token is made by a person, who stays accountable for it",
        ));
    };
    let entry = acting.entry(Action::ScimTokenCreate, token_target("", name));
    Ok(store
        .create_scim_token(name, TokenMaker::Person(person), &entry)
        .await?)
}

/// Revokes the SCIM token `id`: identity providers using it are refused from now on.
pub async fn revoke_scim_token(
    store: &Store,
    acting: &Acting,
    id: Uuid,
) -> Result<(), ActionError> {
    may(
        acting,
        Permission::ManageScimTokens,
        "only a Super Admin revokes SCIM tokens",
    )?;
    let gone = || ActionError::gone("scim_token", "that token is gone or already revoked");
    let token = store
        .scim_tokens()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(gone)?;
    let entry = acting.entry(Action::ScimTokenRevoke, token_target(id, &token.name));
    if store.revoke_scim_token(id, &entry).await? {
        Ok(())
    } else {
        Err(gone())
    }
}

/// Starts a SCIM self-check for the one acting (who may make SCIM tokens): its temporary
/// token, named after the moment, and the token's secret.
pub async fn start_self_check(
    store: &Store,
    acting: &Acting,
) -> Result<(ScimToken, String), ActionError> {
    may(
        acting,
        Permission::ManageScimTokens,
        "only a Super Admin runs the SCIM self-check (it makes a temporary SCIM token)",
    )?;
    let Some(person) = acting.person else {
        return Err(ActionError::refused(
            "not-allowed",
            "the SCIM self-check is run by a person, who stays accountable for its token",
        ));
    };
    let name = format!(
        "SCIM self-check {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
    );
    let entry = acting.entry(Action::ScimTokenCreate, token_target("", &name));
    Ok(store
        .create_self_check_token(&name, TokenMaker::Person(person), &entry)
        .await?)
}

/// Ends a SCIM self-check: revokes its token and keeps its report, with the summary in
/// the System Log.
pub async fn finish_self_check(
    store: &Store,
    acting: &Acting,
    token: &ScimToken,
    report: &crate::scim::self_check::SelfCheck,
) -> Result<(), ActionError> {
    let revoke = acting.entry(Action::ScimTokenRevoke, token_target(token.id, &token.name));
    store.revoke_scim_token(token.id, &revoke).await?;
    let outcome = if report.all_passed() {
        crate::audit::Outcome::Success
    } else {
        crate::audit::Outcome::Failure
    };
    let mut entry = acting
        .entry(Action::ScimSelfCheck, token_target(token.id, &token.name))
        .reason(report.summary());
    entry.outcome = outcome;
    store.record_self_check(report, &entry).await?;
    Ok(())
}

/// Single sign-on as an administrator typed it on the Settings page.
#[derive(Debug, Clone)]
pub struct SsoInput {
    pub issuer: String,
    pub client_id: String,
    /// Empty keeps the saved secret.
    pub client_secret: String,
    /// Empty: named after the issuer ("Okta", "Microsoft Entra ID", or its host).
    pub display_name: String,
}

/// `input` checked, with its issuer as idflow keeps it (no trailing slash); refused with
/// what to fix. Pure, so it can be checked before asking the issuer for its configuration.
pub fn check_sso(input: &SsoInput) -> Result<SsoInput, ActionError> {
    let issuer = match url::Url::parse(input.issuer.trim()) {
        Ok(url)
            if (url.scheme() == "https"
                || (url.scheme() == "http" && crate::sso::is_loopback(&url)))
                && url.query().is_none()
                && url.fragment().is_none() =>
        {
            url.as_str().trim_end_matches('/').to_string()
        }
        _ => {
            return Err(ActionError::refused(
                "sso-issuer",
                "the issuer is an https address without a query (http only on this machine)",
            ));
        }
    };
    let client_id = input.client_id.trim().to_string();
    if client_id.is_empty() || client_id.chars().count() > 200 {
        return Err(ActionError::refused(
            "sso-client",
            "the client id has 1 to 200 characters",
        ));
    }
    let display_name = input.display_name.trim().to_string();
    if display_name.chars().count() > 60 {
        return Err(ActionError::refused(
            "sso-name",
            "the button's name has at most 60 characters",
        ));
    }
    Ok(SsoInput {
        display_name: if display_name.is_empty() {
            crate::sso::default_display_name(&issuer)
        } else {
            display_name
        },
        issuer,
        client_id,
        client_secret: input.client_secret.clone(),
    })
}

fn provider_target(settings: &SsoSettings) -> Target {
    Target {
        kind: "identity_provider".into(),
        id: settings.issuer.clone(),
        display: settings.display_name.clone(),
    }
}

pub fn may_set_up_sign_in(acting: &Acting) -> Result<(), ActionError> {
    may(
        acting,
        Permission::ManageSignIn,
        "setting up single sign-on needs the Super Admin role",
    )
}

/// Sets up (or changes) single sign-on from `input` ([`check_sso`]ed again here).
pub async fn save_sso(
    store: &Store,
    acting: &Acting,
    input: &SsoInput,
) -> Result<SsoSettings, ActionError> {
    may_set_up_sign_in(acting)?;
    let input = check_sso(input)?;
    let client_secret = if input.client_secret.is_empty() {
        store
            .sso_settings()
            .await?
            .map(|s| s.client_secret)
            .unwrap_or_else(|| SecretString::from(String::new()))
    } else {
        SecretString::from(input.client_secret)
    };
    let settings = SsoSettings {
        display_name: input.display_name,
        issuer: input.issuer,
        client_id: input.client_id,
        client_secret,
        updated_at: chrono::Utc::now(),
        updated_by: acting.actor.id_and_display().1,
    };
    let entry = acting
        .entry(Action::SsoSettingsChange, provider_target(&settings))
        .reason(format!(
            "set up: issuer {}, client id {}",
            settings.issuer, settings.client_id
        ));
    store.save_sso_settings(Some(&settings), &entry).await?;
    Ok(settings)
}

/// Turns single sign-on off (users and their links stay). Whether it was on.
pub async fn remove_sso(store: &Store, acting: &Acting) -> Result<bool, ActionError> {
    may_set_up_sign_in(acting)?;
    let Some(saved) = store.sso_settings().await? else {
        return Ok(false);
    };
    let entry = acting
        .entry(Action::SsoSettingsChange, provider_target(&saved))
        .reason("removed");
    store.save_sso_settings(None, &entry).await?;
    Ok(true)
}

/// Keeps `list` (host names, addresses and ranges, separated by commas, spaces or lines)
/// as the outbound allow-list of Settings; every server lets requests to them through
/// within seconds. Refused, nothing kept, when an item does not read.
pub async fn save_outbound_allow(
    store: &Store,
    acting: &Acting,
    list: &str,
) -> Result<crate::outbound::Allowed, ActionError> {
    may(
        acting,
        Permission::ManageOutbound,
        "only a Super Admin lets flows reach what the outbound guard refuses",
    )?;
    let allowed = crate::outbound::Allowed::parse(list)
        .map_err(|why| ActionError::refused("outbound-allow", why))?;
    let shown = allowed.to_string().replace('\n', ", ");
    let entry = acting
        .entry(
            Action::OutboundAllowChange,
            Target {
                kind: "setting".into(),
                id: "outbound_allow".into(),
                display: "Outbound allow-list".into(),
            },
        )
        .reason(if shown.is_empty() {
            "nothing allowed beyond the rules".to_string()
        } else {
            format!("allowed: {shown}")
        });
    store
        .save_outbound_setting(&allowed, &acting.actor.id_and_display().1, &entry)
        .await?;
    Ok(allowed)
}

/// The longest retention the System Log may be given, in days (ten years).
pub const LONGEST_LOG_RETENTION_DAYS: u32 = 3_650;

/// Sets how many days the System Log keeps its entries (0: forever). Entries older than
/// that are deleted within the hour, on every server.
pub async fn save_log_retention(
    store: &Store,
    acting: &Acting,
    days: u32,
) -> Result<(), ActionError> {
    may(
        acting,
        Permission::ManageSystemLog,
        "only a Super Admin changes how long the System Log keeps its entries",
    )?;
    if days > LONGEST_LOG_RETENTION_DAYS {
        return Err(ActionError::refused(
            "log-retention",
            format!(
                "keep entries for 1 to {LONGEST_LOG_RETENTION_DAYS} days, or 0 to keep them forever"
            ),
        ));
    }
    let entry = acting
        .entry(
            Action::LogRetentionChange,
            Target {
                kind: "setting".into(),
                id: "log_retention".into(),
                display: "System Log retention".into(),
            },
        )
        .reason(if days == 0 {
            "entries are kept forever".to_string()
        } else {
            format!("entries are kept for {days} days")
        });
    store.set_log_retention_days(days, &entry).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(issuer: &str) -> SsoInput {
        SsoInput {
            issuer: issuer.into(),
            client_id: "0oa1".into(),
            client_secret: String::new(),
            display_name: String::new(),
        }
    }

    fn code(result: Result<SsoInput, ActionError>) -> &'static str {
        match result {
            Err(ActionError::Refused(r)) => r.code,
            Ok(_) => "ok",
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn an_issuer_is_https_or_this_machine() {
        let ok = check_sso(&input("https://example.okta.com/")).unwrap();
        assert_eq!(ok.issuer, "https://example.okta.com");
        assert_eq!(ok.display_name, "Okta");
        assert_eq!(code(check_sso(&input("http://127.0.0.1:8080"))), "ok");
        assert_eq!(code(check_sso(&input("http://example.com"))), "sso-issuer");
        assert_eq!(code(check_sso(&input("https://a.test/?x=1"))), "sso-issuer");
        assert_eq!(code(check_sso(&input("not a url"))), "sso-issuer");
    }

    #[test]
    fn a_client_id_and_a_name_have_their_lengths() {
        let mut no_client = input("https://a.test");
        no_client.client_id = "  ".into();
        assert_eq!(code(check_sso(&no_client)), "sso-client");
        let mut long_name = input("https://a.test");
        long_name.display_name = "x".repeat(61);
        assert_eq!(code(check_sso(&long_name)), "sso-name");
    }
}
