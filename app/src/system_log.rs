//! The System Log's data as a server function: the newest entries.

use crate::error::AppError;
use domain::audit::Entry;
use leptos::prelude::*;

pub const RECENT_ENTRIES_PATH: &str = "/api/system-log/recent";

#[server(endpoint = "system-log/recent")]
pub async fn recent_entries() -> Result<Vec<Entry>, AppError> {
    /// How many entries the page shows.
    const PAGE_SIZE: i64 = 100;
    let store = crate::session::store()?;
    store
        .recent_audit(PAGE_SIZE)
        .await
        .map_err(AppError::from_store)
}
