//! The System Log page: search the log as Okta's System Log is searched — keywords (`q`),
//! a filter expression, since / until, sort order — page through what it finds, export
//! it as CSV or JSON, and (a Super Admin) set how long entries are kept. The search is a
//! plain GET form and every link carries it, so all of it works without JavaScript.

use crate::console::{DataTable, EmptyState, Flash, Loaded, PageHeader};
use crate::system_log::{LogPage, search_log};
use domain::audit::Entry;
use domain::audit::search::SearchInput;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The search in the page's address.
fn search_of(query: &leptos_router::params::ParamsMap) -> SearchInput {
    let get = |k: &str| query.get(k).unwrap_or_default();
    SearchInput {
        q: get("q"),
        filter: get("filter"),
        since: get("since"),
        until: get("until"),
        sort_order: get("sortOrder"),
        after: get("after"),
        limit: None,
    }
}

/// `search`'s query string (without `after`), then `extra`.
fn query_string(search: &SearchInput, extra: &[(&str, &str)]) -> String {
    [
        ("q", search.q.as_str()),
        ("filter", search.filter.as_str()),
        ("since", search.since.as_str()),
        ("until", search.until.as_str()),
        ("sortOrder", search.sort_order.as_str()),
    ]
    .iter()
    .chain(extra)
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
    .collect::<Vec<_>>()
    .join("&")
}

#[component]
pub fn SystemLogPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || search_of(&query.read());
    let page = Resource::new(search, search_log);
    view! {
        <PageHeader
            title="System Log"
            subtitle="Every sign-in, sign-out and change: who did what, to what, and how it ended."
        />
        <Flash />
        {move || view! { <SearchForm search=search() /> }}
        <Loaded
            data=page
            loading="Searching the log…"
            show=move |page| view! { <Results page search=search() /> }
        />
    }
}

#[component]
fn SearchForm(search: SearchInput) -> impl IntoView {
    let descending =
        search.sort_order.is_empty() || search.sort_order.eq_ignore_ascii_case("DESCENDING");
    view! {
        <form method="get" action="/system-log" class="log-search" role="search">
            <p>
                <label for="log-q">"Keywords"</label>
                <input
                    id="log-q"
                    name="q"
                    type="search"
                    value=search.q.clone()
                    placeholder="ann@example.com deactivate"
                />
            </p>
            <p>
                <label for="log-filter">"Filter"</label>
                <input
                    id="log-filter"
                    name="filter"
                    value=search.filter.clone()
                    placeholder="eventType eq \"user.session.start\" and outcome.result eq \"FAILURE\""
                />
            </p>
            <p class="inline-form">
                <label for="log-since">"Since"</label>
                <input
                    id="log-since"
                    name="since"
                    value=search.since.clone()
                    placeholder="2026-12-01 or 2026-12-01T08:00:00Z"
                />
                <label for="log-until">"Until"</label>
                <input
                    id="log-until"
                    name="until"
                    value=search.until.clone()
                    placeholder="2026-12-02"
                />
                <label for="log-order">"Order"</label>
                <select id="log-order" name="sortOrder">
                    <option value="DESCENDING" selected=descending>
                        "Newest first"
                    </option>
                    <option value="ASCENDING" selected=!descending>
                        "Oldest first"
                    </option>
                </select>
                <button type="submit" class="primary">
                    "Search"
                </button>
                <a href="/system-log">"Clear"</a>
            </p>
            <details class="hint">
                <summary>"How to search"</summary>
                <p>
                    "Keywords: every word must appear somewhere in the entry (actor, event, target, outcome, reason, client address), in any case. Put a phrase in double quotes."
                </p>
                <p>
                    "Filter: compare an attribute with eq, ne, co (contains), sw (starts with), gt or lt, and join comparisons with and, or, not and parentheses. Values go in double quotes."
                </p>
                <p>
                    "Attributes: eventType, outcome.result, outcome.reason, actor.id, actor.displayName, actor.type, target.id, target.displayName, target.type, client.ipAddress, debugContext.debugData.requestId, published (a time)."
                </p>
                <p>
                    <code>
                        "target.displayName eq \"ann@example.com\" and not (eventType sw \"scim.\")"
                    </code>
                </p>
            </details>
        </form>
    }
}

#[component]
fn Results(page: LogPage, search: SearchInput) -> impl IntoView {
    let problem = page.problem.clone().map(|problem| {
        view! {
            <p class="flash error" role="alert" data-testid="log-search-problem">
                {format!("The search cannot run: {problem}.")}
            </p>
        }
    });
    let exports = view! {
        <p class="actions">
            <a
                href=format!("/system-log/export?{}", query_string(&search, &[("format", "csv")]))
                download
            >
                "Export CSV"
            </a>
            " "
            <a
                href=format!("/system-log/export?{}", query_string(&search, &[("format", "json")]))
                download
            >
                "Export JSON"
            </a>
        </p>
    };
    let next = page.next.clone().map(|after| {
        let href = format!(
            "/system-log?{}",
            query_string(&search, &[("after", &after)])
        );
        view! {
            <p class="pager">
                <a href=href rel="next" data-testid="log-next">
                    "Next page →"
                </a>
            </p>
        }
    });
    let first = (!search.after.is_empty()).then(|| {
        view! { <a href=format!("/system-log?{}", query_string(&search, &[]))>"← First page"</a> }
    });
    let narrows = search.narrows();
    let body = if page.entries.is_empty() && page.problem.is_none() {
        if narrows {
            view! {
                <EmptyState title="Nothing matches">
                    <p>"No entry matches this search. Widen the times or remove a keyword."</p>
                </EmptyState>
            }
            .into_any()
        } else {
            view! {
                <EmptyState title="The log is empty">
                    <p>"Sign-ins, sign-outs and changes will be recorded here."</p>
                </EmptyState>
            }
            .into_any()
        }
    } else {
        view! { <LogTable entries=page.entries.clone() /> }.into_any()
    };
    let total = (page.total > 0).then(|| {
        let text = if page.total >= crate::system_log::COUNT_CAP {
            format!("More than {} entries match", crate::system_log::COUNT_CAP)
        } else if page.total == 1 {
            "1 entry matches".to_string()
        } else {
            format!("{} entries match", page.total)
        };
        view! {
            <p class="hint" data-testid="log-total">
                {text}
            </p>
        }
    });
    view! {
        {problem}
        {total}
        {exports}
        {body}
        <p class="pager">{first}</p>
        {next}
        <Retention days=page.retention_days can_set=page.can_set_retention />
    }
}

#[component]
fn Retention(days: u32, can_set: bool) -> impl IntoView {
    let kept = if days == 0 {
        "Entries are kept forever.".to_string()
    } else {
        format!("Entries are kept for {days} days, then deleted (the deletion is logged).")
    };
    let form = can_set.then(|| {
        view! {
            <form method="post" action="/system-log/retention" class="inline-form">
                <label for="log-days">"Keep entries for (days, 0 for ever)"</label>
                <input
                    id="log-days"
                    name="days"
                    type="number"
                    min="0"
                    max="3650"
                    required
                    value=days.to_string()
                />
                <button type="submit" class="primary">
                    "Save retention"
                </button>
            </form>
        }
    });
    view! {
        <section class="panel" aria-labelledby="retention-heading">
            <h2 id="retention-heading">"Retention"</h2>
            <p data-testid="log-retention">{kept}</p>
            {form}
        </section>
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
