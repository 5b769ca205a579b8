//! The Executions tab: what every flow did, newest first, filtered by status, time and a
//! value an execution carried (a user's id or email); and one execution card by card,
//! with the helper executions it started, followed live while it runs (with JavaScript;
//! without it, a Refresh link), with cancel, re-run, approve and export.

use crate::console::{
    Confirm, DataTable, DetailTop, EmptyState, Loaded, PageHeader, path_id, when,
};
use crate::executions::{
    CardRecord, ExecutionList, ExecutionSummary, ExecutionView, HelperLink, execution_detail,
    execution_progress, list_executions,
};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// The statuses an execution can have, with the words the page uses.
const STATUSES: [(&str, &str); 7] = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("waiting", "Waiting"),
    ("paused", "Paused for approval"),
    ("succeeded", "Succeeded"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
];

/// How far back the list looks.
const PERIODS: [(&str, &str, i64); 4] = [
    ("", "Any time", 0),
    ("1h", "Last hour", 1),
    ("24h", "Last 24 hours", 24),
    ("7d", "Last 7 days", 24 * 7),
];

/// Whether an execution in `status` has ended (nothing about it changes any more).
fn has_ended(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "cancelled")
}

fn status_label(status: &str) -> String {
    STATUSES
        .iter()
        .find(|(key, _)| *key == status)
        .map_or_else(|| status.to_string(), |(_, label)| label.to_string())
}

/// The trigger's name from the card catalog ("User Deactivated").
fn trigger_label(kind: &str) -> String {
    domain::flows::catalog::catalog()
        .get(kind)
        .map_or_else(|| kind.to_string(), |c| c.name.to_string())
}

/// "1.2 s", "340 ms", or "" when it has not both started and ended.
fn duration(summary: &ExecutionSummary) -> String {
    match (summary.started_at, summary.finished_at) {
        (Some(start), Some(end)) => {
            let ms = (end - start).num_milliseconds().max(0);
            if ms < 1000 {
                format!("{ms} ms")
            } else {
                format!("{:.1} s", ms as f64 / 1000.0)
            }
        }
        _ => String::new(),
    }
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[component]
pub fn ExecutionsPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |key: &str| query.read().get(key).unwrap_or_default();
    let flow = move || get("flow");
    let status = move || get("status");
    let carried = move || get("q");
    let period = move || get("since");
    let filtered = move || {
        !(flow().is_empty() && status().is_empty() && carried().is_empty() && period().is_empty())
    };
    let before = move || get("before");
    let first = move || get("first").parse::<i64>().ok();
    let executions = Resource::new(
        move || (flow(), status(), carried(), period(), before(), first()),
        |(flow, status, carried, period, before, first)| {
            let hours = PERIODS
                .iter()
                .find(|(key, _, hours)| *key == period && *hours > 0)
                .map(|(_, _, hours)| *hours);
            list_executions(
                Some(flow).filter(|f| !f.is_empty()),
                Some(status).filter(|s| !s.is_empty()),
                None,
                Some(carried).filter(|c| !c.is_empty()),
                hours,
                Some(before).filter(|b| !b.is_empty()),
                first,
            )
        },
    );
    // The search as link parameters, for the pages' links.
    let search = move || {
        [
            ("flow", flow()),
            ("status", status()),
            ("q", carried()),
            ("since", period()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(&v)))
        .collect::<Vec<_>>()
    };
    view! {
        <PageHeader
            title="Executions"
            subtitle="What every flow did, card by card, newest first."
        />
        <form method="get" action="/executions" class="inline-form" role="search">
            <input type="hidden" name="flow" value=flow />
            <label for="execution-search" class="visually-hidden">
                "A value the execution carried"
            </label>
            <input
                id="execution-search"
                name="q"
                type="search"
                placeholder="A user's email or id, or the start of any value"
                value=carried
            />
            <label for="execution-status" class="visually-hidden">
                "Status"
            </label>
            <select id="execution-status" name="status">
                <option value="" selected=move || status().is_empty()>
                    "Any status"
                </option>
                {STATUSES
                    .iter()
                    .map(|(key, label)| {
                        view! {
                            <option value=*key selected=move || status() == *key>
                                {*label}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <label for="execution-since" class="visually-hidden">
                "Since"
            </label>
            <select id="execution-since" name="since">
                {PERIODS
                    .iter()
                    .map(|(key, label, _)| {
                        view! {
                            <option value=*key selected=move || period() == *key>
                                {*label}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <button type="submit" class="primary">
                "Search"
            </button>
            {move || {
                (!flow().is_empty())
                    .then(|| {
                        view! {
                            <a href="/executions" class="clear-filter">
                                "All flows"
                            </a>
                        }
                    })
            }}
        </form>
        <Loaded
            data=executions
            loading="Loading executions…"
            show=move |page| view! { <ExecutionsBody page filtered=filtered() search=search() /> }
        />
    }
}

/// The executions found; an empty list says whether nothing has run yet or nothing
/// matches the search (`filtered`).
#[component]
fn ExecutionsBody(page: ExecutionList, filtered: bool, search: Vec<String>) -> impl IntoView {
    if !page.items.is_empty() {
        let pager = pager(&page, &search);
        let list = page.items;
        view! {
            <ExecutionTable list />
            {pager}
        }
        .into_any()
    } else if filtered {
        view! {
            <EmptyState title="No executions match">
                <p>"Try another value, any status, or any time."</p>
            </EmptyState>
        }
        .into_any()
    } else {
        view! {
            <EmptyState title="No executions yet">
                <p>
                    "An execution appears here each time a flow runs: when its directory event happens, on its schedule, when its API endpoint is called, or when someone runs it."
                </p>
            </EmptyState>
        }
            .into_any()
    }
}

#[component]
fn ExecutionTable(list: Vec<ExecutionSummary>) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|e| {
            let href = format!("/executions/{}", e.id);
            let flow_href = format!("/executions?flow={}", e.flow_id);
            let status_class = format!("run-status run-{}", e.status);
            let took = duration(&e);
            view! {
                <tr data-status=e.status.clone()>
                    <td>
                        <span class=status_class>{status_label(&e.status)}</span>
                        // A dry run changed nothing: the list must not read as if it had.
                        {e
                            .dry_run
                            .then(|| view! { <span class="run-status test-run">"Dry run"</span> })}
                    </td>
                    <td>
                        <A href=flow_href>{e.flow_name.clone()}</A>
                    </td>
                    <td>{trigger_label(&e.trigger)}</td>
                    <td class="nowrap">
                        <A href=href>{when(e.started_at.or(Some(e.queued_at)))}</A>
                    </td>
                    <td class="nowrap">{took}</td>
                    <td>{e.cards_run}</td>
                    <td>{e.reason.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            columns=vec!["Status", "Flow", "Trigger", "Started", "Took", "Cards", "Why it stopped"]
            testid="executions"
        >
            {rows}
        </DataTable>
    }
}

/// Where the page stands ("51–100 of 523") and the links to the newest and the next
/// older page, keeping the search (`search`, as link parameters).
fn pager(page: &ExecutionList, search: &[String]) -> impl IntoView + use<> {
    let last = page.first + page.items.len() as i64 - 1;
    let total = if page.more_than {
        format!("more than {}", page.total)
    } else {
        page.total.to_string()
    };
    let link = |extra: Vec<String>| {
        let params: Vec<String> = search.iter().cloned().chain(extra).collect();
        if params.is_empty() {
            "/executions".to_string()
        } else {
            format!("/executions?{}", params.join("&"))
        }
    };
    let newest = (page.first > 1).then(|| link(Vec::new()));
    let older = page.older.as_ref().map(|cursor| {
        link(vec![
            format!("before={cursor}"),
            format!("first={}", last + 1),
        ])
    });
    view! {
        <nav class="pager" aria-label="Pages of executions">
            <span data-testid="executions-range">
                {format!("{}–{last} of {total}", page.first)}
            </span>
            {newest.map(|href| view! { <A href=href>"« Newest"</A> })}
            {older.map(|href| view! { <A href=href>"Older »"</A> })}
        </nav>
    }
}

#[component]
pub fn ExecutionPage() -> impl IntoView {
    let id = path_id();
    let execution = Resource::new(id, execution_detail);
    // Live progress (with JavaScript): while the execution has not ended, ask every two
    // seconds how far it is, and load it again when it has moved on.
    Effect::new(move |_| {
        let handle = set_interval_with_handle(
            move || {
                let Some(Ok(shown)) = execution.get_untracked() else {
                    return;
                };
                if has_ended(&shown.summary.status) {
                    return;
                }
                let seen = (shown.summary.status.clone(), shown.summary.cards_run);
                leptos::task::spawn_local(async move {
                    if let Ok(now) = execution_progress(shown.summary.id).await
                        && now != seen
                    {
                        execution.refetch();
                    }
                });
            },
            std::time::Duration::from_secs(2),
        )
        .ok();
        on_cleanup(move || {
            if let Some(handle) = handle {
                handle.clear();
            }
        });
    });
    view! {
        <DetailTop title="Execution" back=("/executions", "← All executions") />
        <Loaded
            data=execution
            loading="Loading the execution…"
            show=|view| view! { <ExecutionDetail view /> }
            keep_while_reloading=true
        />
    }
}

#[component]
fn ExecutionDetail(view: ExecutionView) -> impl IntoView {
    let s = view.summary;
    let status_class = format!("run-status run-{}", s.status);
    let parent = view.parent.map(|p| {
        let href = format!("/executions/{}", p.execution_id);
        view! {
            <dt>"Started by"</dt>
            <dd>
                <A href=href>{format!("{} (card {})", p.flow_name, p.card_id)}</A>
            </dd>
        }
    });
    let reason = s.reason.clone().map(|r| {
        view! {
            <dt>"Why it stopped"</dt>
            <dd class="reason">{r}</dd>
        }
    });
    let cards = if view.cards.is_empty() {
        view! { <p class="hint">"No card has finished yet."</p> }.into_any()
    } else {
        view.cards
            .into_iter()
            .map(|card| {
                let helpers: Vec<HelperLink> = view
                    .helpers
                    .iter()
                    .filter(|h| h.card_id == card.card_id)
                    .cloned()
                    .collect();
                view! { <CardView card helpers /> }
            })
            .collect_view()
            .into_any()
    };
    let ended = has_ended(&s.status);
    let base = format!("/executions/{}", s.id);
    let at_stake = view.at_stake.clone().map(|(card, users)| {
        let users = if users.is_empty() {
            view! { <li>"No user is named yet (its input is empty)."</li> }.into_any()
        } else {
            users
                .into_iter()
                .map(|u| view! { <li>{u}</li> })
                .collect_view()
                .into_any()
        };
        view! {
            <div class="notice at-stake" data-testid="at-stake">
                <p>
                    <strong>{format!("Card {card}")}</strong>
                    " is waiting for approval. Approving lets it act on:"
                </p>
                <ul>{users}</ul>
                <p class="hint">
                    "Cancel instead to stop the execution here; nothing it did before is undone."
                </p>
            </div>
        }
    });
    let actions = view! {
        {at_stake}
        <div class="execution-actions">
            {(view.can_approve && s.status == "paused")
                .then(|| {
                    view! {
                        <form method="post" action=format!("{base}/approve")>
                            <button type="submit" class="primary">
                                "Approve and go on"
                            </button>
                        </form>
                    }
                })}
            {(view.can_run && !ended)
                .then(|| {
                    view! {
                        <Confirm
                            label="Cancel execution"
                            action=format!("{base}/cancel")
                            consequence="It stops before its next card; the helper executions it started are cancelled too. Cards that already ran are not undone."
                                .to_string()
                            confirm="Yes, cancel it"
                        />
                    }
                })}
            {view
                .can_run
                .then(|| {
                    view! {
                        <form method="post" action=format!("{base}/rerun")>
                            <button type="submit">"Re-run with the same input"</button>
                        </form>
                    }
                })} <a href=format!("{base}/export") download="" class="button">
                "Export JSON"
            </a>
            {(!ended)
                .then(|| {
                    view! {
                        <a href=base.clone() class="button" data-testid="refresh">
                            "Refresh"
                        </a>
                        <span class="hint">
                            "Still running: with JavaScript this page follows it by itself."
                        </span>
                    }
                })}
        </div>
    };
    view! {
        <section class="execution" data-testid="execution">
            <h2>
                {s.flow_name.clone()} " " <span class=status_class>{status_label(&s.status)}</span>
                {match (s.dry_run, s.test) {
                    (true, _) => Some(view! { <span class="run-status test-run">"Dry run"</span> }),
                    (false, true) => {
                        Some(view! { <span class="run-status test-run">"Test run"</span> })
                    }
                    _ => None,
                }}
            </h2>
            {s
                .dry_run
                .then(|| {
                    view! {
                        <p class="dry-run-notice" data-testid="dry-run">
                            "A dry run: nothing was changed, sent or written but this record. Each card that would have changed something says below what it would have done."
                        </p>
                    }
                })}
            {actions}
            <dl class="facts">
                <dt>"Trigger"</dt>
                <dd>{trigger_label(&s.trigger)}</dd>
                <dt>"Flow version"</dt>
                <dd>{s.flow_version}</dd>
                <dt>"Acted for"</dt>
                <dd data-testid="acted-for">
                    {view.acted_for.clone()}
                    <span class="hint">
                        " · its directory cards may do only what this person may do"
                    </span>
                </dd>
                <dt>"Queued"</dt>
                <dd>{when(Some(s.queued_at))}</dd>
                <dt>"Started"</dt>
                <dd>{when(s.started_at)}</dd>
                <dt>"Ended"</dt>
                <dd>{s.finished_at.map_or_else(|| "not yet".to_string(), |t| when(Some(t)))}</dd>
                <dt>"Took"</dt>
                <dd>{duration(&s)}</dd>
                {parent}
                {reason}
                <dt>"Execution ID"</dt>
                <dd>
                    <code>{s.id.clone()}</code>
                </dd>
            </dl>
            <h3>"Input"</h3>
            <pre class="json">{pretty(&view.input)}</pre>
            {view
                .output
                .map(|output| {
                    view! {
                        <h3>"Output"</h3>
                        <pre class="json" data-testid="execution-output">
                            {pretty(&output)}
                        </pre>
                    }
                })}
            <h3>"Cards"</h3>
            <ol class="card-records">{cards}</ol>
        </section>
    }
}

/// What a dry run's card would have done: the sentence, each value before → after, and
/// the message or request it would have sent (secrets redacted).
#[component]
fn Would(note: domain::engine::dry_run::Note) -> impl IntoView {
    let shown = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "—".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let changes = (!note.changes.is_empty()).then(|| {
        let rows = note
            .changes
            .iter()
            .map(|c| {
                view! {
                    <tr>
                        <td>{c.target.clone()}</td>
                        <td>{c.field.clone()}</td>
                        <td class="before">{shown(&c.before)}</td>
                        <td class="after">{shown(&c.after)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-scroll" tabindex="0" role="region" aria-label="What would change">
                <table class="would-changes">
                    <thead>
                        <tr>
                            <th>"Who or what"</th>
                            <th>"Field"</th>
                            <th>"Before"</th>
                            <th>"After"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
    });
    let request = note.request.map(|r| {
        view! {
            <details open>
                <summary>"Would send"</summary>
                <pre class="json">{pretty(&r)}</pre>
            </details>
        }
    });
    view! {
        <div class="would" data-testid="would">
            <p>
                <strong>{note.summary}</strong>
            </p>
            {changes}
            {request}
        </div>
    }
}

#[component]
fn CardView(card: CardRecord, helpers: Vec<HelperLink>) -> impl IntoView {
    let status_class = format!("run-status run-{}", card.status);
    let took = (card.finished_at - card.started_at)
        .num_milliseconds()
        .max(0);
    let attempt = (card.attempt > 1).then(|| format!(" · attempt {}", card.attempt));
    let helpers = (!helpers.is_empty()).then(|| {
        let links = helpers
            .into_iter()
            .map(|h| {
                let href = format!("/executions/{}", h.execution_id);
                let label = format!(
                    "{} #{} · {}",
                    h.flow_name,
                    h.index + 1,
                    status_label(&h.status)
                );
                view! {
                    <li>
                        <A href=href>{label}</A>
                    </li>
                }
            })
            .collect_view();
        view! {
            <p>"Helper executions:"</p>
            <ul class="helpers">{links}</ul>
        }
    });
    // A dry run's card says what it would have done; its raw output stays folded.
    let unfolded = card.would.is_none();
    view! {
        <li class="card-record" data-card=card.card_id>
            <h4>
                {format!("{} · {}", card.card_id, card.card_name)} " "
                <span class=status_class>{card.status.replace('_', " ")}</span>
                <span class="hint">{format!(" {took} ms")} {attempt}</span>
            </h4>
            {card.error.map(|e| view! { <p class="reason">{e}</p> })}
            {card.would.map(|note| view! { <Would note /> })}
            {card
                .inputs
                .map(|i| {
                    view! {
                        <details>
                            <summary>"Inputs"</summary>
                            <pre class="json">{pretty(&i)}</pre>
                        </details>
                    }
                })}
            {card
                .outputs
                .map(|o| {
                    view! {
                        <details open=unfolded>
                            <summary>"Outputs"</summary>
                            <pre class="json">{pretty(&o)}</pre>
                        </details>
                    }
                })}
            {helpers}
        </li>
    }
}
