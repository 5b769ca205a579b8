//! The Flows tab: every flow the caller may see, with its trigger, on/off switch, newest
//! execution and what uses it; search; import a flow's JSON, export it, run a Manual flow
//! by hand, delete one (naming the flows that use it). Plain forms, so all of it works
//! without JavaScript. The drag-and-drop builder is not in this version yet.

use crate::console::{Confirm, EmptyState, ErrorPage, Flash, PageHeader, when};
use crate::flows::{FlowList, FlowRow, list_flows};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn FlowsPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let flows = Resource::new(q, |q| list_flows(Some(q).filter(|q| !q.is_empty())));
    view! {
        <PageHeader
            title="Flows"
            subtitle="Automations that react to identity events: a trigger card, then actions and logic."
        />
        <Flash />
        <form method="get" action="/flows" class="inline-form" role="search">
            <label for="flow-search" class="visually-hidden">
                "Search flows"
            </label>
            <input
                id="flow-search"
                name="q"
                type="search"
                placeholder="Name, description or trigger"
                value=q
            />
            <button type="submit" class="primary">
                "Search"
            </button>
        </form>
        <Suspense fallback=|| {
            view! { <p class="loading">"Loading flows…"</p> }
        }>
            {move || Suspend::new(async move {
                match flows.await {
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                    Ok(list) => view! { <FlowsBody list searched=!q().is_empty() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn FlowsBody(list: FlowList, searched: bool) -> impl IntoView {
    let import = list.can_import.then(|| {
        view! {
            <Templates />
            <ImportForm open=list.total == 0 />
        }
    });
    let body = if list.total == 0 {
        view! {
            <EmptyState title="No flows yet">
                <p>
                    "A flow starts from a trigger (a directory event, a schedule, an API call or a person pressing Run) and runs its cards in order. Install a template or import a flow's JSON below to add one; the drag-and-drop builder is not available in this version yet."
                </p>
            </EmptyState>
        }
            .into_any()
    } else if list.flows.is_empty() && searched {
        view! {
            <EmptyState title="No flows match">
                <p>"Try another word, or clear the search."</p>
            </EmptyState>
        }
        .into_any()
    } else {
        let rows = list
            .flows
            .into_iter()
            .map(|flow| view! { <FlowRowView flow /> })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="data-table" data-testid="flows">
                    <thead>
                        <tr>
                            <th scope="col">"Flow"</th>
                            <th scope="col">"Trigger"</th>
                            <th scope="col">"On"</th>
                            <th scope="col">"Last run"</th>
                            <th scope="col">"Version"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        {body}
        {import}
    }
}

#[component]
fn FlowRowView(flow: FlowRow) -> impl IntoView {
    let base = format!("/flows/{}", flow.id);
    let history = format!("/executions?flow={}", flow.id);
    let last_run = match flow.last_run.clone() {
        Some((id, status, at)) => {
            let href = format!("/executions/{id}");
            let class = format!("run-status run-{status}");
            view! {
                <A href=href>
                    <span class=class>{status}</span>
                    " "
                    {when(Some(at))}
                </A>
            }
            .into_any()
        }
        None => view! { <span class="hint">"never"</span> }.into_any(),
    };
    let switch = if flow.can_edit {
        let (label, value) = if flow.enabled {
            ("Turn off", "false")
        } else {
            ("Turn on", "true")
        };
        view! {
            <form method="post" action=format!("{base}/enabled") class="switch">
                <input type="hidden" name="enabled" value=value />
                <span class=if flow.enabled {
                    "on"
                } else {
                    "off"
                }>{if flow.enabled { "On" } else { "Off" }}</span>
                " "
                <button type="submit" aria-label=format!("{label} {}", flow.name)>
                    {label}
                </button>
            </form>
        }
        .into_any()
    } else {
        view! {
            <span class=if flow.enabled {
                "on"
            } else {
                "off"
            }>{if flow.enabled { "On" } else { "Off" }}</span>
        }
        .into_any()
    };
    let run = (flow.can_run && flow.manual).then(|| {
        view! {
            <details class="confirm run-form">
                <summary>"Run"</summary>
                <form method="post" action=format!("{base}/run")>
                    <label for=format!("input-{}", flow.id)>"Input (JSON, optional)"</label>
                    <textarea id=format!("input-{}", flow.id) name="input" rows="3">
                        ""
                    </textarea>
                    <button type="submit" class="primary">
                        "Run now"
                    </button>
                </form>
            </details>
        }
    });
    let delete = flow.can_edit.then(|| {
        let consequence = if flow.used_by.is_empty() {
            format!(
                "\"{}\", its versions and its executions will be deleted. No other flow uses it.",
                flow.name
            )
        } else {
            format!(
                "\"{}\", its versions and its executions will be deleted. These flows use it and will fail when they call it: {}.",
                flow.name,
                flow.used_by.join(", ")
            )
        };
        view! {
            <Confirm
                label="Delete"
                action=format!("{base}/delete")
                consequence
                confirm="Yes, delete the flow"
            />
        }
    });
    let used_by = (!flow.used_by.is_empty())
        .then(|| view! { <p class="hint">{format!("Used by: {}", flow.used_by.join(", "))}</p> });
    let name = flow.name.clone();
    view! {
        <tr data-flow=flow.name.clone()>
            <td>
                <A href=history>{name}</A>
                {(!flow.description.is_empty())
                    .then(|| view! { <p class="hint">{flow.description.clone()}</p> })}
                {used_by}
            </td>
            <td>{flow.trigger.clone()}</td>
            <td>{switch}</td>
            <td class="nowrap">{last_run}</td>
            <td>{flow.version}</td>
            <td class="actions">
                <a href=format!("{base}/export") download="">
                    "Export JSON"
                </a>
                " "
                {run}
                {delete}
            </td>
        </tr>
    }
}

/// The reference use cases, ready to install.
#[component]
fn Templates() -> impl IntoView {
    let items = domain::flows::templates::templates()
        .into_iter()
        .map(|t| {
            let action = format!("/flows/templates/{}", t.key);
            let label = format!("Install {}", t.name);
            view! {
                <li data-template=t.key>
                    <form method="post" action=action>
                        <strong>{t.name}</strong>
                        " — "
                        {t.description}
                        " "
                        <button type="submit" aria-label=label>
                            "Install"
                        </button>
                    </form>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="templates">
            <h2>"Start from a template"</h2>
            <ul>{items}</ul>
        </section>
    }
}

#[component]
fn ImportForm(open: bool) -> impl IntoView {
    view! {
        <details class="import" open=open>
            <summary>"Import a flow"</summary>
            <form method="post" action="/flows/import">
                <label for="flow-definition">"The flow's JSON, as exported"</label>
                <textarea id="flow-definition" name="definition" rows="10" required>
                    ""
                </textarea>
                <p class="hint">
                    "The flow is created turned off. Nothing secret is in a flow's JSON."
                </p>
                <button type="submit" class="primary">
                    "Import"
                </button>
            </form>
        </details>
    }
}
