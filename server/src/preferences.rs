//! A person's preferences kept in their browser: the console's theme.

use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

/// A year: how long a chosen theme is remembered.
const REMEMBERED_SECONDS: u32 = 365 * 24 * 3600;

/// `POST /preferences/theme` with `theme` (system, light or dark) and `back` (the page to
/// return to, a path on this site): keeps the choice in a cookie, or forgets it for
/// `system`. Anyone may, signed in or not.
pub async fn set_theme(State(state): State<AppState>, post: crate::forms::Post) -> Response {
    let fields = post.fields;
    let back = Some(fields.get("back"))
        .filter(|b| app::session::is_safe_next(b))
        .unwrap_or("/")
        .to_string();
    let theme = fields.get("theme");
    if !app::theme::THEMES.iter().any(|(key, _)| *key == theme) {
        return Redirect::to(&back).into_response();
    }
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = match theme {
        "system" => format!(
            "{}=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly{secure}",
            app::theme::THEME_COOKIE
        ),
        chosen => format!(
            "{}={chosen}; Path=/; Max-Age={REMEMBERED_SECONDS}; SameSite=Lax; HttpOnly{secure}",
            app::theme::THEME_COOKIE
        ),
    };
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}
