//! The System Log's data as a server function: one page of a search (Okta's `q`,
//! `filter`, `since`, `until`, sort order; see `domain::audit::search`), and the
//! retention setting.

use crate::error::AppError;
use domain::audit::Entry;
use domain::audit::search::SearchInput;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const SEARCH_PATH: &str = "/api/system-log/search";

/// Entries are counted up to this many; beyond it the page says "more than".
pub const COUNT_CAP: i64 = 10_000;

/// One page of a System Log search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogPage {
    pub entries: Vec<Entry>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
    /// How many entries the search finds on all its pages, counted up to [`COUNT_CAP`].
    #[serde(default)]
    pub total: i64,
    /// Why the search could not run (the page shows it beside the search), if it could not.
    pub problem: Option<String>,
    /// Days entries are kept (0: forever).
    pub retention_days: u32,
    /// The viewer may change the retention.
    pub can_set_retention: bool,
}

#[server(endpoint = "system-log/search")]
pub async fn search_log(input: SearchInput) -> Result<LogPage, AppError> {
    use domain::access::Permission;
    use domain::audit::search::Search;
    let store = crate::session::store()?;
    let viewer = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let retention_days = store
        .log_retention_days()
        .await
        .map_err(AppError::from_store)?;
    let can_set_retention = viewer.rights.allows(Permission::ManageSystemLog);
    let search = match Search::parse(&input) {
        Ok(search) => search,
        Err(problem) => {
            return Ok(LogPage {
                entries: Vec::new(),
                next: None,
                total: 0,
                problem: Some(problem.0),
                retention_days,
                can_set_retention,
            });
        }
    };
    let (page, total) = tokio::try_join!(
        store.search_audit(&search),
        store.count_audit(&search, COUNT_CAP)
    )
    .map_err(AppError::from_store)?;
    Ok(LogPage {
        entries: page.entries,
        next: page.next.map(|c| c.encode()),
        total,
        problem: None,
        retention_days,
        can_set_retention,
    })
}
