//! What every request goes through before any handler sees it: a bounded body (413 past
//! its limit, read into memory no further), state-changing browser requests only from
//! idflow's own pages, and rate limits per client address where anonymous traffic could
//! flood the System Log or burn CPU (sign-in, single sign-on, refused SCIM and API
//! calls).

use crate::AppState;
use crate::auth::{error_page, error_response};
use crate::request::{client_address, peer_address};
use app::error::AppError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Instant;

/// The largest body most requests may carry.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;
/// A flow's JSON (at most 1 MB once read) sent in a form, where escaping can triple it.
pub const FLOW_BODY_LIMIT: usize = 4 << 20;

/// The largest body a request to `path` may carry: stated here, for every route and
/// server function.
pub fn body_limit(path: &str) -> usize {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["", "tables", _, "import"] => crate::tables::MAX_CSV + (64 << 10),
        ["", "flows", "import"]
        | ["", "flows", _, "versions"]
        | ["", "api", "builder", "save" | "check"] => FLOW_BODY_LIMIT,
        _ => DEFAULT_BODY_LIMIT,
    }
}

/// A refusal with `status` and `message` in the form the caller reads: SCIM's error for
/// SCIM, problem+json for the REST API, JSON for server functions, a page for the browser.
fn refuse(path: &str, status: StatusCode, message: String) -> Response {
    let mut response = if path.starts_with("/scim/") {
        let body = domain::scim::ScimError {
            status: status.as_u16(),
            scim_type: None,
            detail: message,
        }
        .body();
        (
            [(header::CONTENT_TYPE, "application/scim+json")],
            body.to_string(),
        )
            .into_response()
    } else if path.starts_with("/api/v1/") {
        crate::api::problem(status, message).into_response()
    } else if path.starts_with("/api/") {
        error_response(AppError::BadRequest(message))
    } else {
        error_page(AppError::BadRequest(message))
    };
    *response.status_mut() = status;
    response
}

/// The answer to a body over its limit.
fn too_large(path: &str, limit: usize) -> Response {
    let message = format!(
        "The request is larger than idflow accepts here ({} KB at most).",
        limit >> 10
    );
    refuse(path, StatusCode::PAYLOAD_TOO_LARGE, message)
}

/// Refuses a body over its route's limit with 413 — at once when `Content-Length` says
/// so, otherwise as soon as the body grows past it — and hands the handler the body read
/// into memory, so no handler reads an unbounded stream.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let limit = body_limit(&path);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(&path, limit);
    }
    if declared == Some(0)
        || matches!(*request.method(), Method::GET | Method::HEAD) && declared.is_none()
    {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(err) => {
            let over = std::error::Error::source(&err)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>())
                || err.to_string().contains("length limit");
            if over {
                return too_large(&path, limit);
            }
            return (
                StatusCode::BAD_REQUEST,
                "The request's body could not be read.",
            )
                .into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Refuses a state-changing request a browser sent from another site — a sibling
/// subdomain (`same-site`) included — or from any origin but idflow's own. Requests
/// without Fetch Metadata (SCIM clients, scripts) are let through: they carry no
/// cookies a page could borrow, and their own tokens are checked.
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let foreign_site = matches!(site.as_deref(), Some(s) if s != "same-origin" && s != "none");
    // Without Fetch Metadata, an Origin header still tells a browser's cross-origin post.
    let foreign_origin = site.is_none()
        && headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|origin| {
                origin != "null" && !same_origin_as(origin, &state.public_url, headers)
            });
    if foreign_site || foreign_origin {
        tracing::info!(path = %request.uri().path(), site = ?site, "a cross-origin post was refused");
        let mut response = error_response(AppError::BadRequest(
            "This change must be made from idflow's own pages.".into(),
        ));
        *response.status_mut() = StatusCode::FORBIDDEN;
        return response;
    }
    next.run(request).await
}

/// Whether `origin` is idflow's own: its public URL, or the host the request was sent to.
fn same_origin_as(origin: &str, public_url: &str, headers: &axum::http::HeaderMap) -> bool {
    let origin = origin.trim_end_matches('/');
    if origin.eq_ignore_ascii_case(public_url.trim_end_matches('/')) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    host.is_some_and(|host| {
        origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
    })
}

/// How many requests per minute one client address may make where it costs idflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Sign-in attempts and single sign-on starts and returns (each may hash a password).
    pub sign_in_per_minute: u32,
    /// Refused SCIM and API calls (no or a wrong token) before the address is told to wait.
    pub refused_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            sign_in_per_minute: 30,
            refused_per_minute: 30,
        }
    }
}

/// The limiters, kept per process (several servers each count their own).
pub struct Limiters {
    sign_in: DefaultKeyedRateLimiter<String>,
    refused: DefaultKeyedRateLimiter<String>,
    /// Addresses whose refusals ran out, until when.
    waiting: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiters")
    }
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n).allow_burst(n)
}

impl Limiters {
    pub fn new(limits: RateLimits) -> Limiters {
        Limiters {
            sign_in: DefaultKeyedRateLimiter::keyed(quota(limits.sign_in_per_minute)),
            // The refusal that finds the budget spent marks the address; counting it in
            // the burst lets exactly `refused_per_minute` through in a row.
            refused: DefaultKeyedRateLimiter::keyed(
                quota(limits.refused_per_minute).allow_burst(
                    NonZeroU32::new(limits.refused_per_minute.saturating_sub(1).max(1))
                        .unwrap_or(NonZeroU32::MIN),
                ),
            ),
            waiting: Mutex::new(HashMap::new()),
        }
    }
}

/// Which limit a request falls under.
enum Limited {
    SignIn,
    /// Bearer-token APIs: only refusals count.
    Token,
    None,
}

fn limited(method: &Method, path: &str) -> Limited {
    match (method, path) {
        (&Method::POST, "/auth/sign-in") => Limited::SignIn,
        (_, "/auth/oidc/start" | crate::oidc::CALLBACK_PATH | crate::oidc::LINK_PATH) => {
            Limited::SignIn
        }
        (_, p)
            if p.starts_with("/scim/") || p.starts_with("/api/v1/") || p.starts_with("/hooks/") =>
        {
            Limited::Token
        }
        _ => Limited::None,
    }
}

fn slow_down(path: &str, seconds: u64) -> Response {
    let message = format!("Too many requests from your address; try again in {seconds} s.");
    let mut response = refuse(path, StatusCode::TOO_MANY_REQUESTS, message);
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Applies the rate limits by client address (as [`client_address`] works it out).
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let kind = limited(request.method(), request.uri().path());
    if matches!(kind, Limited::None) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let address = client_address(&state, request.headers(), peer_address(&request))
        .unwrap_or_else(|| "unknown".into());
    let limiters = &state.limiters;
    match kind {
        Limited::SignIn => {
            if let Err(not_until) = limiters.sign_in.check_key(&address) {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                return slow_down(&path, wait.as_secs().max(1));
            }
            next.run(request).await
        }
        Limited::Token => {
            let now = Instant::now();
            if let Ok(mut waiting) = limiters.waiting.lock() {
                match waiting.get(&address) {
                    Some(until) if *until > now => {
                        return slow_down(&path, (*until - now).as_secs().max(1));
                    }
                    Some(_) => {
                        waiting.remove(&address);
                    }
                    None => {}
                }
            }
            let response = next.run(request).await;
            if response.status() == StatusCode::UNAUTHORIZED
                && let Err(not_until) = limiters.refused.check_key(&address)
            {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                if let Ok(mut waiting) = limiters.waiting.lock() {
                    if waiting.len() > 10_000 {
                        waiting.retain(|_, until| *until > now);
                    }
                    waiting.insert(address, now + wait);
                }
            }
            response
        }
        Limited::None => next.run(request).await,
    }
}

/// The policy of every answer that is not a console page (which sets its own, with its
/// nonce): nothing may load or frame it.
const DEFAULT_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// The policy of an HTML answer that did not set its own (a console page rendered
/// without its nonce policy: seen, rarely and under load, and logged as a warning so it
/// can be found): only idflow's own origin, no framing, no plugins. Its inline scripts
/// carry a nonce this answer cannot name, so they are allowed inline here; a page must
/// not break for it.
const HTML_FALLBACK_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

/// Security headers on every answer: a Content-Security-Policy (a console page's own, or
/// one that allows nothing), `nosniff`, no framing, no referrer beyond idflow, and HSTS
/// when idflow is reached over https.
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    use axum::http::{HeaderValue, header};
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let status = response.status();
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let html = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        let policy = if html {
            // A page rendered without its own policy (it should not happen).
            tracing::warn!(%path, %status, "a page was answered without its nonce policy");
            HTML_FALLBACK_POLICY
        } else {
            DEFAULT_POLICY
        };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if state.public_url.starts_with("https://") {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_limits_are_stated_per_route() {
        assert_eq!(body_limit("/flows"), DEFAULT_BODY_LIMIT);
        assert_eq!(body_limit("/scim/v2/Users"), DEFAULT_BODY_LIMIT);
        assert_eq!(body_limit("/api/flows/list"), DEFAULT_BODY_LIMIT);
        assert_eq!(body_limit("/flows/import"), FLOW_BODY_LIMIT);
        assert_eq!(body_limit("/flows/abc/versions"), FLOW_BODY_LIMIT);
        assert_eq!(body_limit("/api/builder/save"), FLOW_BODY_LIMIT);
        assert!(body_limit("/tables/abc/import") > crate::tables::MAX_CSV);
    }

    #[test]
    fn sibling_origins_are_not_idflow() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("idflow.example.com"));
        assert!(same_origin_as(
            "https://idflow.example.com",
            "https://idflow.example.com",
            &headers
        ));
        assert!(same_origin_as(
            "http://idflow.example.com",
            "http://other",
            &headers
        ));
        assert!(!same_origin_as(
            "https://evil.example.com",
            "https://idflow.example.com",
            &headers
        ));
        assert!(!same_origin_as(
            "https://idflow.example.com.evil.net",
            "https://idflow.example.com",
            &headers
        ));
    }
}
