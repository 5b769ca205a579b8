//! Who is asking, and may they: the sign-in and sign-out form posts, and the middleware
//! that resolves the session to a user and enforces the entry-point table on every
//! request.

use crate::AppState;
use crate::sessions::{SIGNED_IN_KEY, SignedIn};
use app::entry_points::{self, Kind};
use app::error::AppError;
use app::session::{Caller, RequestUser, is_safe_next, sign_in_url};
use axum::Form;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use domain::access::Decision;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::auth::{AuthError, Origin};
use domain::directory::{UserId, UserStatus};
use secrecy::SecretString;
use serde::Deserialize;
use tower_sessions::Session;

use crate::request::{client_address, peer_address, request_id};

/// The user behind the session, if the session is still good. A session whose sign-in
/// is older than the absolute limit, or older than the user's last "end all sessions",
/// or whose user is no longer active, is ended here.
async fn session_user(state: &AppState, session: &Session) -> Result<Option<Caller>, AppError> {
    let signed_in: Option<SignedIn> = session
        .get(SIGNED_IN_KEY)
        .await
        .map_err(|e| AppError::internal(format!("reading the session: {e}")))?;
    let Some(signed_in) = signed_in else {
        return Ok(None);
    };
    let expired = Utc::now() - signed_in.at > state.session_max_age;
    let user = if expired {
        None
    } else {
        state
            .store
            .user(UserId(signed_in.user_id))
            .await
            .map_err(AppError::from_store)?
    };
    let valid = user.filter(|u| {
        u.status == UserStatus::Active
            && u.sessions_valid_after
                .is_none_or(|after| signed_in.at >= after)
    });
    let Some(user) = valid else {
        // Best effort: the session is refused either way.
        let _ = session.flush().await;
        return Ok(None);
    };
    let rights = state
        .store
        .rights_of(&user)
        .await
        .map_err(AppError::from_store)?;
    Ok(Some(Caller { user, rights }))
}

/// The answer for an entry point the caller may not use.
fn refusal(kind: Kind, decision: Decision, path_and_query: &str) -> Option<Response> {
    match (kind, decision) {
        (_, Decision::Allow) => None,
        // A page the caller may not see still renders, as a 403 page inside the console.
        (Kind::Page, Decision::Forbidden) => None,
        (Kind::Page, Decision::SignInRequired) => {
            Some(Redirect::to(&sign_in_url(path_and_query)).into_response())
        }
        (_, Decision::SignInRequired) => Some(error_response(AppError::SignInRequired)),
        (_, Decision::Forbidden) => Some(error_response(AppError::Forbidden)),
    }
}

/// An [`AppError`] as JSON, which is also how server functions encode their errors.
pub fn error_response(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_string(&error).unwrap_or_else(|_| "\"error\"".into());
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// An [`AppError`] as a plain HTML page, for when the console itself cannot render
/// (the session or the database cannot be read).
pub fn error_page(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = error.to_string().replace('&', "&amp;").replace('<', "&lt;");
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>idflow</title>\
         <link rel=\"stylesheet\" href=\"/pkg/idflow.css\"></head><body><main class=\"standalone\">\
         <section class=\"card\" role=\"alert\"><h1>This page could not be shown</h1><p>{message}</p>\
         <p><a href=\"\">Try again</a></p></section></main></body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Only the console's stylesheet loads; nothing runs.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

/// Paths every visitor may fetch without any check: the built console's files.
fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.ico"
}

/// The answer for a method the entry-point table does not list at a path it does.
fn method_not_allowed(methods: &[&str]) -> Response {
    let mut allow: Vec<&str> = methods.to_vec();
    if allow.contains(&"GET") {
        allow.push("HEAD");
    }
    let mut response = error_response(AppError::BadRequest(format!(
        "This address answers {} only.",
        allow.join(", ")
    )))
    .map_status(StatusCode::METHOD_NOT_ALLOWED);
    if let Ok(value) = axum::http::HeaderValue::from_str(&allow.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// Decides every request from the entry-point table, whatever its method: `HEAD` as the
/// `GET` it stands for, a method the table does not list at a listed path is 405, an
/// unlisted path 404 (a page for the browser, JSON for the API) — nothing unlisted runs a
/// handler except the console's own files and its 404 page. Resolves the session to a
/// user on the way.
pub async fn guard(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().as_str().to_string();
    let reads =
        request.method() == axum::http::Method::GET || request.method() == axum::http::Method::HEAD;
    let entry = entry_points::lookup(&method, &path);
    if entry.is_none() {
        let listed = entry_points::methods_at(&path);
        if !listed.is_empty() && !path.starts_with("/scim/") {
            return method_not_allowed(&listed);
        }
        if path.starts_with("/api/") {
            return error_response(AppError::NotFound(format!("There is no {method} {path}.")));
        }
        if is_static_asset(&path) && reads {
            return next.run(request).await;
        }
        if !reads && !path.starts_with("/scim/") {
            return error_response(AppError::NotFound(format!("There is no {method} {path}.")));
        }
    }
    // Health checks, SCIM (bearer tokens, no cookies) and Event Hooks (their own secret)
    // have no session to resolve; SCIM's own router answers methods and paths it does
    // not serve.
    if path == "/healthz"
        || path == "/readyz"
        || path.starts_with("/scim/")
        || (entry.is_some() && path.starts_with("/hooks/"))
    {
        return next.run(request).await;
    }
    let user = match session_user(&state, &session).await {
        Ok(user) => user,
        Err(error) if path.starts_with("/api/") => return error_response(error),
        Err(error) => return error_page(error),
    };
    let rights = user.as_ref().map(|c| c.rights.clone());
    request.extensions_mut().insert(RequestUser(user));
    let address = client_address(&state, request.headers(), peer_address(&request));
    request
        .extensions_mut()
        .insert(app::session::RequestAddress(address));

    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    // Not in the table and not refused above: a GET of an address nobody serves, which
    // renders the console's 404 page.
    if let Some(entry) = entry
        && let Some(response) = refusal(
            entry.kind,
            entry.access.decide(rights.as_ref()),
            &path_and_query,
        )
    {
        return response;
    }
    let response = next.run(request).await;
    if path.starts_with("/api/") {
        return with_error_status(response).await;
    }
    response
}

/// Server functions answer every error with 500; the error itself knows its status
/// (a bad argument is 400, a missing thing 404), so the response gets that one.
async fn with_error_status(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

trait MapStatus {
    fn map_status(self, status: StatusCode) -> Response;
}

impl MapStatus for Response {
    fn map_status(mut self, status: StatusCode) -> Response {
        *self.status_mut() = status;
        self
    }
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Back to the sign-in page with an error code, keeping the typed email and the page to
/// return to (never the password).
fn back_to_sign_in(error: &str, email: &str, next: &str) -> Response {
    let mut url = format!("/sign-in?error={error}");
    if !email.is_empty() {
        url.push_str("&email=");
        url.push_str(&urlencoding::encode(email));
    }
    if next != "/" {
        url.push_str("&next=");
        url.push_str(&urlencoding::encode(next));
    }
    Redirect::to(&url).into_response()
}

/// `POST /auth/sign-in`: checks the password, starts a session under a new id, and goes
/// on to `next` (a path on this site only).
pub async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Response {
    let peer = peer_address(&request);
    let headers = request.headers().clone();
    let Ok(Form(form)) = Form::<SignInForm>::from_request(request, &state).await else {
        return back_to_sign_in("missing", "", "/");
    };
    let next = if is_safe_next(&form.next) {
        form.next.clone()
    } else {
        "/".to_string()
    };
    let email = form.email.trim().chars().take(256).collect::<String>();
    if email.is_empty() || form.password.is_empty() {
        return back_to_sign_in("missing", &email, &next);
    }
    let origin = Origin {
        client_address: client_address(&state, &headers, peer),
        request_id: request_id(&headers),
    };
    match domain::auth::sign_in(
        &state.store,
        &email,
        SecretString::from(form.password),
        &origin,
    )
    .await
    {
        Ok(user) => {
            if let Err(err) = crate::sessions::start(&session, user.id).await {
                tracing::error!(error = %err, "could not start a session");
                return back_to_sign_in("unavailable", &email, &next);
            }
            Redirect::to(&next).into_response()
        }
        Err(AuthError::InvalidCredentials) => back_to_sign_in("invalid", &email, &next),
        Err(AuthError::Throttled { .. }) => back_to_sign_in("locked", &email, &next),
        Err(AuthError::NotActive(_)) => back_to_sign_in("inactive", &email, &next),
        Err(err) => {
            tracing::error!(error = %err, "sign-in failed");
            back_to_sign_in("unavailable", &email, &next)
        }
    }
}

/// `POST /auth/sign-out`: ends the session (its record is deleted) and logs it.
pub async fn sign_out(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Response {
    let headers = request.headers();
    let peer = peer_address(&request);
    if let Some(RequestUser(Some(Caller { user, .. }))) = request.extensions().get::<RequestUser>()
    {
        let entry = NewEntry::new(
            Action::SessionEnd,
            Outcome::Success,
            Actor::User {
                id: Some(user.id.0),
                display: user.user_name.clone(),
            },
        )
        .from_request(client_address(&state, headers, peer), request_id(headers));
        if let Err(err) = state.store.append_audit(&entry).await {
            tracing::error!(error = %err, "could not log a sign-out");
        }
    }
    // Read before the session goes: a single sign-on session also signs out at the
    // identity provider, which then sends the browser back to the sign-in page.
    let then = crate::oidc::after_sign_out(&state, &session).await;
    if let Err(err) = session.flush().await {
        tracing::error!(error = %err, "could not end a session");
    }
    Redirect::to(&then).into_response()
}
