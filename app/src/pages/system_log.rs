//! The System Log page: the most recent entries, newest first. Search and filters come
//! with the System Log issue; what is shown here is the real log.

use crate::console::{DataTable, EmptyState, Loaded, PageHeader};
use crate::system_log::recent_entries;
use domain::audit::Entry;
use leptos::prelude::*;

#[component]
pub fn SystemLogPage() -> impl IntoView {
    let entries = Resource::new(|| (), |_| recent_entries());
    view! {
        <PageHeader
            title="System Log"
            subtitle="Every sign-in, sign-out and change, newest first."
        />
        <Loaded data=entries loading="Loading the log…" show=log_or_empty />
    }
}

/// The log's entries, or what an empty log means.
fn log_or_empty(entries: Vec<Entry>) -> AnyView {
    if entries.is_empty() {
        view! {
            <EmptyState title="The log is empty">
                <p>"Sign-ins, sign-outs and changes will be recorded here."</p>
            </EmptyState>
        }
        .into_any()
    } else {
        view! { <LogTable entries /> }.into_any()
    }
}

#[component]
fn LogTable(entries: Vec<Entry>) -> impl IntoView {
    let rows = entries
        .into_iter()
        .map(|e| {
            let outcome_class = format!("outcome outcome-{}", e.outcome);
            let action = e.action_label().to_string();
            let time = e.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
            let target = e.target_display.clone().unwrap_or_default();
            view! {
                <tr data-action=e.action.clone() data-outcome=e.outcome.clone()>
                    <td class="nowrap">
                        <time datetime=e.occurred_at.to_rfc3339()>{time}</time>
                    </td>
                    <td>{action} <code class="event-type">{e.action.clone()}</code></td>
                    <td>
                        <span class=outcome_class>{e.outcome.clone()}</span>
                    </td>
                    <td>{e.actor_display.clone().unwrap_or_default()}</td>
                    <td>{target}</td>
                    <td>{e.client_address.clone().unwrap_or_default()}</td>
                    <td>{e.reason.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            columns=vec!["Time", "Event", "Outcome", "Actor", "Target", "Client", "Reason"]
            testid="system-log"
        >
            {rows}
        </DataTable>
    }
}
