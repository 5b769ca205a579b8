//! The areas of the console that are not built yet. Each says honestly what will live
//! there; none shows made-up data.

use crate::console::{EmptyState, PageHeader};
use leptos::prelude::*;

#[component]
pub fn TablesPage() -> impl IntoView {
    view! {
        <PageHeader title="Tables" subtitle="Small typed tables that flows read and write." />
        <EmptyState title="Tables are not shown here yet">
            <p>
                "Flows already keep state in tables (templates make the ones they need), but this tab cannot list or edit them in this version yet."
            </p>
        </EmptyState>
    }
}

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
