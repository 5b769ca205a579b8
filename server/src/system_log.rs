//! The System Log's plain routes: export a search as CSV or JSON, and set the retention
//! (a form post from the System Log page, so it works without JavaScript).

use crate::AppState;
use crate::forms::{Origin, Post, action_failed, attachment, done, refused_because};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::audit::search::{Search, SearchInput};

const PAGE: &str = "/system-log";
/// The most entries one export holds; a narrower search (since / until) takes the rest.
pub const MOST_EXPORTED: usize = 100_000;

/// `POST /system-log/retention` with `days` (0: keep forever).
pub async fn save_retention(State(state): State<AppState>, post: Post) -> Response {
    let Post { origin, fields } = post;
    let Ok(days) = fields.get("days").parse::<u32>() else {
        return refused_because(
            PAGE,
            "log-retention",
            "enter a whole number of days, or 0 to keep entries forever",
        );
    };
    match domain::actions::settings::save_log_retention(&state.store, &origin.acting(), days).await
    {
        Ok(()) => done(PAGE, "log-retention-saved"),
        Err(err) => action_failed(PAGE, err),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default, rename = "sortOrder")]
    sort_order: String,
}

/// `GET /system-log/export?format=csv|json&q=…&filter=…&since=…&until=…&sortOrder=…`:
/// every entry the search finds (at most 100,000), as a file.
pub async fn export(
    State(state): State<AppState>,
    _origin: Origin,
    Query(query): Query<ExportQuery>,
) -> Response {
    let bad = |message: String| (StatusCode::BAD_REQUEST, message).into_response();
    let csv = match query.format.as_str() {
        "" | "csv" => true,
        "json" => false,
        other => return bad(format!("format {other:?} is neither csv nor json")),
    };
    let input = SearchInput {
        q: query.q,
        filter: query.filter,
        since: query.since,
        until: query.until,
        sort_order: query.sort_order,
        limit: Some(domain::audit::search::MOST_PER_PAGE),
        after: String::new(),
    };
    let mut search = match Search::parse(&input) {
        Ok(search) => search,
        Err(problem) => return bad(format!("The search cannot run: {problem}.")),
    };
    let mut entries = Vec::new();
    loop {
        match state.store.search_audit(&search).await {
            Ok(page) => {
                entries.extend(page.entries);
                match page.next {
                    Some(next) if entries.len() < MOST_EXPORTED => search.after = Some(next),
                    _ => break,
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "a System Log export could not be read");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "idflow cannot reach its database; try again shortly.",
                )
                    .into_response();
            }
        }
    }
    entries.truncate(MOST_EXPORTED);
    let stem = format!("system-log-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    if csv {
        match domain::audit::entries_csv(&entries, true) {
            Ok(text) => attachment("text/csv; charset=utf-8", &stem, ".csv", text),
            Err(err) => {
                tracing::error!(error = %err, "a System Log export could not be written");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The export could not be written.",
                )
                    .into_response()
            }
        }
    } else {
        let text = serde_json::to_string_pretty(&entries).unwrap_or_else(|_| "[]".into());
        attachment("application/json", &stem, ".json", text)
    }
}
