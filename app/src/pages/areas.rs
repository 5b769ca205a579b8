//! The areas of the console that are not built yet. Each says honestly what will live
//! there; none shows made-up data.

use crate::console::{EmptyState, PageHeader};
use leptos::prelude::*;

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Connections"
            subtitle="Accounts that flows use to reach Okta, HTTP services, Slack and email."
        />
        <EmptyState title="No connections yet">
            <p>
                "Connections will appear here. Adding connections is not available in this version yet."
            </p>
        </EmptyState>
    }
}
