//! The one error type that crosses from server functions to the console.
//!
//! Each variant says what the person can do about it. Internal failures carry only a
//! reference (the request id) that matches the server's log line, never the cause.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// 401: nobody is signed in, or the session ended.
    #[error("Your session has ended. Sign in again to continue.")]
    SignInRequired,
    /// 403: the caller's role does not allow this.
    #[error("Your role does not allow this. Ask a Super Admin for access.")]
    Forbidden,
    /// 400: the request itself is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// 404: the thing asked for does not exist; the message says which.
    #[error("{0}")]
    NotFound(String),
    /// 503: the database or another dependency is not answering.
    #[error("idflow cannot reach its database right now. Try again in a moment.")]
    Unavailable,
    /// 500: a fault on our side; `reference` finds it in the server's log.
    #[error(
        "Something went wrong on our side. If it keeps happening, give your administrator this reference: {reference}"
    )]
    Internal { reference: String },
    /// The request never got an answer (network, or a response we could not read).
    #[error("idflow did not answer ({0}). Check your connection and try again.")]
    Transport(String),
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::SignInRequired => 401,
            AppError::Forbidden => 403,
            AppError::BadRequest(_) => 400,
            AppError::NotFound(_) => 404,
            AppError::Unavailable => 503,
            AppError::Internal { .. } => 500,
            AppError::Transport(_) => 502,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                AppError::BadRequest(format!("The request could not be read: {msg}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

/// Sets the HTTP status of the response being rendered (no-op in the browser).
pub fn set_response_status(code: u16) {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        if let (Some(options), Ok(status)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(code),
        ) {
            options.set_status(status);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

#[cfg(feature = "ssr")]
impl AppError {
    /// Logs an internal failure with the request id and returns what the caller may see.
    pub fn internal(err: impl std::fmt::Display) -> AppError {
        let reference = request_id().unwrap_or_else(|| "unknown".to_string());
        tracing::error!(request_id = %reference, error = %err, "internal error");
        AppError::Internal { reference }
    }

    /// Maps a store failure: an unreachable database is 503, the rest internal.
    pub fn from_store(err: domain::store::StoreError) -> AppError {
        use domain::store::StoreError;
        match &err {
            StoreError::Database(sqlx_err) if is_unavailable(sqlx_err) => {
                tracing::warn!(error = %err, "database unavailable");
                AppError::Unavailable
            }
            _ => AppError::internal(err),
        }
    }
}

#[cfg(feature = "ssr")]
fn is_unavailable(err: &domain::store::SqlxError) -> bool {
    use domain::store::SqlxError;
    matches!(
        err,
        SqlxError::PoolTimedOut | SqlxError::PoolClosed | SqlxError::Io(_)
    )
}

/// An action that did not happen, as the console's error: a refusal says why.
#[cfg(feature = "ssr")]
pub fn action_error(err: domain::actions::ActionError) -> AppError {
    use domain::actions::ActionError;
    match err {
        ActionError::Refused(refusal) => AppError::BadRequest(sentence(&refusal.reason)),
        ActionError::NotFound { detail, .. } => AppError::NotFound(sentence(&detail)),
        ActionError::Store(err) => AppError::from_store(err),
    }
}

/// `text` as a sentence: a capital first letter and a full stop.
#[cfg(feature = "ssr")]
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The id the server gave this request (`x-request-id`), for error references.
#[cfg(feature = "ssr")]
pub fn request_id() -> Option<String> {
    leptos::prelude::use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    })
}
