//! A first single sign-on that names an administrator's account waits for that account's
//! own password before the two are linked.

use super::*;

/// A first single sign-on that would link an administrator's account, waiting (in the
/// session, for a few minutes) for that account's own password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PendingLink {
    user_id: uuid::Uuid,
    issuer: String,
    subject: String,
    provider: String,
    email: Option<String>,
    name: Option<String>,
    id_token: String,
    next: String,
    at: chrono::DateTime<Utc>,
}

pub(super) const PENDING_LINK_KEY: &str = "sso_pending_link";
/// How long a held-back link waits for the password.
pub(super) const PENDING_LINK_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

/// Holds the link back and sends the browser to confirm it with the account's password.
pub(super) async fn ask_for_password(
    session: &Session,
    claims: &domain::sso::SsoClaims,
    user: &domain::directory::User,
    id_token: String,
    next: String,
) -> Response {
    let pending = PendingLink {
        user_id: user.id.0,
        issuer: claims.identity.issuer.clone(),
        subject: claims.identity.subject.clone(),
        provider: claims.provider.clone(),
        email: claims.email.clone(),
        name: claims.name.clone(),
        id_token,
        next,
        at: Utc::now(),
    };
    if let Err(err) = session.insert(PENDING_LINK_KEY, pending).await {
        tracing::error!(error = %err, "could not keep a link waiting for its password");
        return Redirect::to("/sign-in?error=unavailable").into_response();
    }
    Redirect::to(&format!(
        "/sign-in?link=confirm&account={}&provider={}",
        urlencoding::encode(&user.user_name),
        urlencoding::encode(&claims.provider)
    ))
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ConfirmLinkForm {
    #[serde(default)]
    password: String,
}

/// `POST /auth/oidc/link`: the password of the administrator account a first single
/// sign-on named; right, it links the provider's account and signs in.
pub async fn confirm_link(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Response {
    let origin = origin(&state, &request);
    let pending: Option<PendingLink> = session.get(PENDING_LINK_KEY).await.ok().flatten();
    let Some(pending) = pending.filter(|p| Utc::now() - p.at < PENDING_LINK_LIFETIME) else {
        let _ = session.remove_value(PENDING_LINK_KEY).await;
        return Redirect::to("/sign-in?error=sso-link-expired").into_response();
    };
    let again = |code: &str| {
        Redirect::to(&format!(
            "/sign-in?link=confirm&error={code}&provider={}",
            urlencoding::encode(&pending.provider)
        ))
        .into_response()
    };
    let Ok(Form(form)) = Form::<ConfirmLinkForm>::from_request(request, &state).await else {
        return again("missing");
    };
    if form.password.is_empty() {
        return again("missing");
    }
    let user = match state
        .store
        .user(domain::directory::UserId(pending.user_id))
        .await
    {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/sign-in?error=sso-link-expired").into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not read the user of a pending link");
            return Redirect::to("/sign-in?error=unavailable").into_response();
        }
    };
    let claims = domain::sso::SsoClaims {
        identity: domain::store::SsoIdentity {
            issuer: pending.issuer.clone(),
            subject: pending.subject.clone(),
        },
        provider: pending.provider.clone(),
        email: pending.email.clone(),
        email_verified: true,
        name: pending.name.clone(),
    };
    let password = secrecy::SecretString::from(form.password);
    match domain::sso::confirm_link(&state.store, &claims, &user, password, &origin).await {
        Ok(user) => {
            let _ = session.remove_value(PENDING_LINK_KEY).await;
            let started = async {
                crate::sessions::start(&session, user.id).await?;
                session.insert(ID_TOKEN_KEY, pending.id_token.clone()).await
            };
            if let Err(err) = started.await {
                tracing::error!(error = %err, "could not start a session");
                return Redirect::to("/sign-in?error=unavailable").into_response();
            }
            Redirect::to(&pending.next).into_response()
        }
        Err(domain::sso::SsoError::WrongPassword) => again("invalid"),
        Err(domain::sso::SsoError::Throttled) => again("locked"),
        Err(error) => {
            tracing::warn!(error = %error, "a held-back link was refused");
            let _ = session.remove_value(PENDING_LINK_KEY).await;
            Redirect::to(&format!("/sign-in?error={}", error.code())).into_response()
        }
    }
}
