//! What the console's form posts share: who is acting, reading the posted fields, and
//! answering with a redirect back to the page, carrying a notice or an error code the
//! page turns into a sentence (`app::console::flash_message`). Plain forms and
//! redirects, so every change works without JavaScript.

use crate::AppState;
use crate::request::{client_address, peer_in, request_id};
use app::session::{Caller, RequestUser};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::{Permission, Rights};
use domain::actions::{Acting, ActionError};
use domain::audit::{Action, Actor, NewEntry, Outcome, Target};
use domain::directory::{User, UserId};
use domain::store::{StoreError, UserWrite, WriteOutcome};

/// The signed-in caller and where the request came from, for the System Log.
pub struct Origin {
    pub caller: Option<Caller>,
    pub address: Option<String>,
    pub request_id: Option<String>,
}

impl Origin {
    pub fn of(state: &AppState, request: &Request) -> Origin {
        Origin::from_parts(state, request.headers(), request.extensions())
    }

    fn from_parts(
        state: &AppState,
        headers: &axum::http::HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Origin {
        let caller = match extensions.get::<RequestUser>() {
            Some(RequestUser(Some(caller))) => Some(caller.clone()),
            _ => None,
        };
        Origin {
            caller,
            address: client_address(state, headers, peer_in(extensions)),
            request_id: request_id(headers),
        }
    }

    pub fn actor(&self) -> Actor {
        match &self.caller {
            Some(Caller { user, .. }) => Actor::User {
                id: Some(user.id.0),
                display: user.user_name.clone(),
            },
            None => Actor::System,
        }
    }

    pub fn rights(&self) -> Rights {
        self.caller
            .as_ref()
            .map(|c| c.rights.clone())
            .unwrap_or_default()
    }

    pub fn user(&self) -> Option<&User> {
        self.caller.as_ref().map(|c| &c.user)
    }

    /// A successful System Log entry by this caller about `target`.
    pub fn entry(&self, action: Action, target: Target) -> NewEntry {
        NewEntry::new(action, Outcome::Success, self.actor())
            .target(target)
            .from_request(self.address.clone(), self.request_id.clone())
    }

    /// The caller as the domain's actions judge them.
    pub fn acting(&self) -> Acting {
        Acting {
            actor: self.actor(),
            rights: self.rights(),
            person: self.user().map(|u| u.id),
            client_address: self.address.clone(),
            request_id: self.request_id.clone(),
            dry_run: false,
        }
    }
}

impl FromRequestParts<AppState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Origin::from_parts(state, &parts.headers, &parts.extensions))
    }
}

/// A form post as its handler takes it: who sent it, and its fields.
pub struct Post {
    pub origin: Origin,
    pub fields: Fields,
}

impl FromRequest<AppState> for Post {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let origin = Origin::of(state, &request);
        let fields = Fields::read(state, request).await;
        Ok(Post { origin, fields })
    }
}

pub use domain::actions::{group_target, user_target};

/// The fields of a posted form, in order; a name may repeat (check boxes).
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Reads an `application/x-www-form-urlencoded` body; anything unreadable is an
    /// empty form, which every handler refuses with a message.
    pub async fn read(state: &AppState, request: Request) -> Fields {
        let bytes = Bytes::from_request(request, state)
            .await
            .unwrap_or_default();
        Fields(
            url::form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    /// The value of `name`, or `None` when absent or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        Some(self.get(name).to_string()).filter(|v| !v.is_empty())
    }

    /// Every field as sent, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// A file to download: `body` as `content_type`, saved as `stem` (made safe for a file
/// name) followed by `extension`.
pub fn attachment(content_type: &str, stem: &str, extension: &str, body: String) -> Response {
    let stem: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{stem}{extension}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Back to `page` with a notice code.
pub fn done(page: &str, notice: &str) -> Response {
    Redirect::to(&with_param(page, "notice", notice)).into_response()
}

/// Back to `page` with a notice and what the change touched (the names it concerns).
pub fn done_because(page: &str, notice: &str, why: &str) -> Response {
    back_with_why(page, "notice", notice, why)
}

/// Keeps a just-made secret in the session until the page it belongs to shows it, once;
/// the refusal to answer with (back to `page`, "unavailable") when it cannot be kept.
pub async fn keep_to_show(
    session: &tower_sessions::Session,
    shown: app::session::NewSecret,
    page: &str,
) -> Result<(), Response> {
    session
        .insert(app::session::NEW_SECRET_KEY, shown)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "a new secret could not be kept to show");
            refused(page, "unavailable")
        })
}

/// Back to `page` with an error code; nothing was changed.
pub fn refused(page: &str, error: &str) -> Response {
    Redirect::to(&with_param(page, "error", error)).into_response()
}

/// Back to `page` with an error code and the specific reason (which field, what is
/// wrong with it), shown under the code's sentence; nothing was changed.
pub fn refused_because(page: &str, error: &str, why: &str) -> Response {
    back_with_why(page, "error", error, why)
}

/// Back to `page` with `code` as its `kind` (notice or error) and `why`, cut so the
/// address stays a sensible length.
fn back_with_why(page: &str, kind: &str, code: &str, why: &str) -> Response {
    let page = with_param(page, kind, code);
    let why: String = why.chars().take(600).collect();
    Redirect::to(&with_param(&page, "why", &why)).into_response()
}

/// Back to `page` after a store error: a conflict or a refusal the caller can act on
/// gets its code, anything else is logged and reported as "could not save".
pub fn store_failed(page: &str, err: StoreError) -> Response {
    match err {
        StoreError::Conflict { .. } => refused(page, "taken"),
        StoreError::PreconditionFailed { .. } => refused(page, "changed"),
        StoreError::Invalid(reason) => {
            tracing::info!(%reason, "a console change was refused");
            refused_because(page, "invalid", &reason)
        }
        other => {
            tracing::error!(error = %other, "a console change failed");
            refused(page, "unavailable")
        }
    }
}

/// Back to `page` after an action did not happen: a refusal with its reason, a thing that
/// is gone, or a store error as [`store_failed`] answers it.
pub fn action_failed(page: &str, err: ActionError) -> Response {
    match err {
        ActionError::Refused(refusal) => {
            tracing::info!(reason = %refusal, "a console change was refused");
            refused_because(page, refusal.code, &refusal.reason)
        }
        ActionError::NotFound { kind, .. } => refused(page, missing_code(kind)),
        ActionError::Store(err) => store_failed(page, err),
    }
}

/// The error code (and so the page's sentence) for a `kind` of thing that is gone.
fn missing_code(kind: &str) -> &'static str {
    match kind {
        "group" => "no-group",
        "flow" => "no-flow-here",
        "table" => "no-table-here",
        "row" => "no-row-here",
        "folder" => "no-folder",
        "connection" => "no-connection",
        _ => "gone",
    }
}

/// As [`action_failed`], for pages whose sentence for a refusal's code already says all
/// the reason would.
pub fn action_failed_briefly(page: &str, err: ActionError) -> Response {
    match err {
        ActionError::Refused(refusal) => refused(page, refusal.code),
        other => action_failed(page, other),
    }
}

fn with_param(page: &str, key: &str, value: &str) -> String {
    let separator = if page.contains('?') { '&' } else { '?' };
    format!("{page}{separator}{key}={}", urlencoding::encode(value))
}

/// What a form post answers: `Err` is the refusal to send as it is, so a handler can
/// say `load(...).await?`.
pub type Answer = Result<Response, Response>;

/// Where a form post finds what it is about, and what it answers when it cannot.
pub struct Finding {
    /// The list to go back to.
    pub page: &'static str,
    /// The error code for "there is no such thing here".
    pub missing: &'static str,
    /// What the caller needs to see it at all: without it, it does not exist for them.
    pub view: Permission,
}

/// Something form posts are about that lives in a folder (a flow, a table, an execution
/// through its flow), found by the id in the path.
pub trait InFolder: Sized + Send {
    const FINDING: Finding;
    fn folder(&self) -> Option<uuid::Uuid>;
    fn find(
        store: &domain::store::Store,
        id: uuid::Uuid,
    ) -> impl std::future::Future<Output = Result<Option<Self>, StoreError>> + Send;
}

/// The thing `id` of kind `T`, when it is in a folder where the caller may see it and
/// holds `permission`; otherwise the answer to send. The one place form posts check
/// access to a thing in a folder: one the caller may not see does not exist for them.
pub async fn load<T: InFolder>(
    state: &AppState,
    origin: &Origin,
    id: &str,
    permission: Permission,
) -> Result<T, Response> {
    let finding = T::FINDING;
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return Err(refused(finding.page, finding.missing));
    };
    let thing = match T::find(&state.store, id).await {
        Ok(Some(thing)) => thing,
        Ok(None) => return Err(refused(finding.page, finding.missing)),
        Err(err) => return Err(store_failed(finding.page, err)),
    };
    let rights = origin.rights();
    let folder = thing.folder();
    if !rights.on_flow(finding.view, folder) {
        return Err(refused(finding.page, finding.missing));
    }
    if !rights.on_flow(permission, folder) {
        return Err(refused(finding.page, "not-allowed"));
    }
    Ok(thing)
}

/// The user a form post is about, by the id in its path; a refusal back to `page` when
/// there is none.
pub async fn load_user(state: &AppState, id: &str, page: &str) -> Result<User, Response> {
    let Ok(id) = uuid::Uuid::parse_str(id).map(UserId) else {
        return Err(refused(page, "gone"));
    };
    match state.store.user(id).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(refused(page, "gone")),
        Err(err) => Err(store_failed(page, err)),
    }
}

/// Writes `write` over `user` as the caller (the action judges it), then back to `page`
/// with `notice`, or "unchanged" when it changed nothing.
pub async fn save_user(
    state: &AppState,
    origin: &Origin,
    user: &User,
    write: &UserWrite,
    entry: &NewEntry,
    page: &str,
    notice: &str,
) -> Response {
    let acting = origin.acting();
    match domain::actions::directory::update_user(&state.store, &acting, user, write, None, entry)
        .await
    {
        Ok(WriteOutcome::Updated(_)) => done(page, notice),
        Ok(WriteOutcome::Unchanged(_)) => done(page, "unchanged"),
        Err(err) => action_failed(page, err),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_thing_that_is_gone_is_named_by_its_kind() {
        // Each code has the page's sentence for that kind ("That table does not exist…"),
        // not the one for a user.
        assert_eq!(super::missing_code("table"), "no-table-here");
        assert_eq!(super::missing_code("flow"), "no-flow-here");
        assert_eq!(super::missing_code("row"), "no-row-here");
        assert_eq!(super::missing_code("folder"), "no-folder");
        assert_eq!(super::missing_code("group"), "no-group");
        assert_eq!(super::missing_code("user"), "gone");
    }
}
