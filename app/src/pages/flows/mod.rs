//! The Flows tab: every flow the caller may see, with its trigger, on/off switch, newest
//! execution, who it acts for and what uses it; search; folders; import a flow's JSON,
//! export it, run a Manual flow by hand, delete one (naming the flows that use it). Plain
//! forms, so all of it works without JavaScript. A flow's versions and Test Flow are in
//! `versions` and `test`; the builder (`pages::builder`) opens from Edit and New flow.

mod api;
mod test;
mod versions;

pub use api::ApiPage;
pub use test::TestPage;
pub use versions::VersionsPage;

use crate::console::{
    BooleanOptions, Confirm, DataTable, DetailTop, EmptyState, Flash, Loaded, PageHeader, path_id,
    when,
};
use crate::flows::{
    Comparison, FlowList, FlowRow, ShownVersion, TestInput, VersionsView, list_flows, test_setup,
    versions_of_flow,
};
use domain::flows::compare::ChangeKind;
use domain::flows::sample::SampleKind;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn FlowsPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let folder = move || query.read().get("folder").unwrap_or_default();
    let sort = move || query.read().get("sort").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
    };
    let flows = Resource::new(
        move || (q(), folder(), sort(), page()),
        |(q, folder, sort, page)| {
            list_flows(
                Some(q).filter(|q| !q.is_empty()),
                Some(folder).filter(|f| !f.is_empty()),
                Some(sort).filter(|s| !s.is_empty()),
                page,
            )
        },
    );
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
            {move || {
                let folder = folder();
                (!folder.is_empty())
                    .then(|| view! { <input type="hidden" name="folder" value=folder /> })
            }}
            <label for="flow-sort">"Order"</label>
            <select id="flow-sort" name="sort">
                <option value="" selected=move || sort() != "name">
                    "Recently changed first"
                </option>
                <option value="name" selected=move || sort() == "name">
                    "By name"
                </option>
            </select>
            <button type="submit" class="primary">
                "Search"
            </button>
        </form>
        <Loaded
            data=flows
            loading="Loading flows…"
            show=move |list| {
                let pager = FlowsPager {
                    q: q(),
                    folder: folder(),
                    sort: sort(),
                };
                view! { <FlowsBody list searched=!q().is_empty() folder=folder() pager /> }
            }
        />
    }
}

/// What a page link of the Flows tab keeps: the search, the folder and the order.
#[derive(Clone)]
struct FlowsPager {
    q: String,
    folder: String,
    sort: String,
}

impl FlowsPager {
    fn link(&self, page: usize) -> String {
        let mut params: Vec<String> = [
            ("q", &self.q),
            ("folder", &self.folder),
            ("sort", &self.sort),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect();
        params.push(format!("page={page}"));
        format!("/flows?{}", params.join("&"))
    }

    /// "Flows 51–100 of 130", with the links to the pages around this one.
    fn view(&self, list: &FlowList) -> impl IntoView + use<> {
        let pages = list.matched.div_ceil(crate::flows::FLOWS_PAGE).max(1);
        let page = list.page;
        let first = (page - 1) * crate::flows::FLOWS_PAGE;
        let range = if list.matched == 0 {
            String::new()
        } else {
            format!(
                "Flows {}–{} of {}",
                first + 1,
                first + list.flows.len(),
                list.matched
            )
        };
        let previous = (page > 1).then(|| self.link(page - 1));
        let next = (page < pages).then(|| self.link(page + 1));
        (list.matched > 0).then(|| {
            view! {
                <nav class="pager" aria-label="Pages of flows">
                    <span data-testid="flows-range">{range}</span>
                    {previous.map(|href| view! { <A href=href>"« Previous"</A> })}
                    {next.map(|href| view! { <A href=href>"Next »"</A> })}
                </nav>
            }
        })
    }
}

#[component]
fn FlowsBody(list: FlowList, searched: bool, folder: String, pager: FlowsPager) -> impl IntoView {
    let pages = pager.view(&list);
    let folders_nav = (!list.folders.is_empty()).then(|| {
        let link = |href: String, label: String, current: bool| {
            view! {
                <a href=href aria-current=current.then_some("page")>
                    {label}
                </a>
            }
        };
        let items = list
            .folders
            .iter()
            .map(|f| {
                link(
                    format!("/flows?folder={}", f.id),
                    format!("{} ({})", f.name, f.flows),
                    folder == f.id,
                )
            })
            .collect_view();
        view! {
            <nav class="sub-tabs" aria-label="Folders">
                {link("/flows".into(), "All flows".into(), folder.is_empty())}
                {link("/flows?folder=top".into(), "Top level".into(), folder == "top")}
                {items}
            </nav>
        }
    });
    let movable: Vec<(String, String)> = list
        .folders
        .iter()
        .filter(|f| f.can_edit)
        .map(|f| (f.id.clone(), f.name.clone()))
        .collect();
    let folders = view! { <Folders list=list.clone() current=folder.clone() /> };
    // Inside a folder the caller edits, imports land in it.
    let into = list
        .folders
        .iter()
        .find(|f| f.id == folder && f.can_edit)
        .map(|f| (f.id.clone(), f.name.clone()));
    let connections = list.connections.clone();
    let templates = list.can_import.then(|| view! { <Templates connections /> });
    let import = (list.can_import || into.is_some()).then(|| {
        view! {
            {templates}
            <ImportForm open=list.total == 0 into />
        }
    });
    let body = if list.total == 0 {
        view! {
            <EmptyState title="No flows yet">
                <p>
                    "A flow starts from a trigger (a directory event, a schedule, an API call or a person pressing Run) and runs its cards in order. Build one with New flow, install a template, or import a flow's JSON below."
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
            .map(|flow| view! { <FlowRowView flow movable=movable.clone() can_top=list.can_import /> })
            .collect_view();
        view! {
            <DataTable
                columns=vec!["Flow", "Trigger", "On", "Last run", "Version", "Acts for", "Actions"]
                testid="flows"
            >
                {rows}
            </DataTable>
            {pages}
        }
        .into_any()
    };
    let new_flow = list.can_import.then(|| {
        view! {
            <p>
                <a class="button primary" href="/flows/new">
                    "New flow"
                </a>
            </p>
        }
    });
    view! {
        {new_flow}
        {folders_nav}
        {body}
        {folders}
        {import}
    }
}

/// The folders the caller may see: who each is shared with, and (for those who may)
/// rename, share, and create a folder.
#[component]
fn Folders(list: FlowList, current: String) -> impl IntoView {
    if list.folders.is_empty() && !list.can_import {
        return None;
    }
    let roles = || {
        view! {
            <option value="reader">"Reader"</option>
            <option value="runner">"Runner"</option>
            <option value="editor">"Editor"</option>
            <option value="manager">"Folder Manager"</option>
            <option value="none">"No access"</option>
        }
    };
    let items = list
        .folders
        .into_iter()
        .map(|f| {
            let base = format!("/folders/{}", f.id);
            let grants = if f.grants.is_empty() {
                view! { <p class="hint">"Shared with no one yet; administrators see it."</p> }
                    .into_any()
            } else {
                let items = f
                    .grants
                    .iter()
                    .map(|g| view! { <li>{g.clone()}</li> })
                    .collect_view();
                view! { <ul class="member-list">{items}</ul> }.into_any()
            };
            let manage = f.can_manage.then(|| {
                view! {
                    <form method="post" action=format!("{base}/rename") class="row-form">
                        <label class="visually-hidden" for=format!("rename-{}", f.id)>
                            "New name"
                        </label>
                        <input
                            id=format!("rename-{}", f.id)
                            name="name"
                            value=f.name.clone()
                            required
                            maxlength="100"
                        />
                        <button type="submit" aria-label=format!("Rename {}", f.name)>
                            "Rename"
                        </button>
                    </form>
                    <form method="post" action=format!("{base}/grants") class="row-form">
                        <select
                            name="kind"
                            aria-label=format!("Share {} with a user or a group", f.name)
                        >
                            <option value="user">"User"</option>
                            <option value="group">"Group"</option>
                        </select>
                        <input
                            name="who"
                            required
                            placeholder="User name or group name"
                            aria-label=format!("Who to share {} with", f.name)
                        />
                        <select name="role" aria-label=format!("Access to {}", f.name)>
                            {roles()}
                        </select>
                        <button type="submit" aria-label=format!("Share {}", f.name)>
                            "Share"
                        </button>
                    </form>
                }
            });
            view! {
                <li data-folder=f.name.clone() class:current=current == f.id>
                    <strong>{f.name.clone()}</strong>
                    {format!(" · {} flows", f.flows)}
                    " "
                    <a
                        href=format!("/folders/{}/export", f.id)
                        download=""
                        aria-label=format!("Export folder {}", f.name)
                    >
                        "Export JSON"
                    </a>
                    {grants}
                    {manage}
                </li>
            }
        })
        .collect_view();
    let create = list.can_import.then(|| {
        view! {
            <form method="post" action="/folders" class="inline-form">
                <label for="folder-name">"New folder"</label>
                <input id="folder-name" name="name" required maxlength="100" />
                <button type="submit" class="primary">
                    "Create folder"
                </button>
            </form>
        }
    });
    Some(view! {
        <details class="folders" open=!current.is_empty()>
            <summary>"Folders and sharing"</summary>
            <p class="hint">
                "A folder's grants give its flows and tables to people who hold no role for them: Readers see, Runners also run and read history, Editors also change, Folder Managers also share."
            </p>
            <ul class="templates">{items}</ul>
            {create}
        </details>
    })
}

#[component]
fn FlowRowView(flow: FlowRow, movable: Vec<(String, String)>, can_top: bool) -> impl IntoView {
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
    let current_folder = flow
        .folder
        .as_ref()
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    let move_form = (flow.can_edit && (movable.len() + usize::from(can_top)) > 1).then(|| {
        let options = movable
            .iter()
            .map(|(id, name)| {
                view! {
                    <option value=id.clone() selected=*id == current_folder>
                        {name.clone()}
                    </option>
                }
            })
            .collect_view();
        view! {
            <form method="post" action=format!("{base}/move") class="row-form">
                <select name="folder" aria-label=format!("Folder for {}", flow.name)>
                    {can_top
                        .then(|| {
                            view! {
                                <option value="" selected=current_folder.is_empty()>
                                    "Top level"
                                </option>
                            }
                        })}
                    {options}
                </select>
                <button type="submit" aria-label=format!("Move {}", flow.name)>
                    "Move"
                </button>
            </form>
        }
    });
    let folder_hint = flow
        .folder
        .as_ref()
        .map(|(_, name)| view! { <p class="hint">{format!("Folder: {name}")}</p> });
    let used_by = (!flow.used_by.is_empty())
        .then(|| view! { <p class="hint">{format!("Used by: {}", flow.used_by.join(", "))}</p> });
    let name = flow.name.clone();
    view! {
        <tr data-flow=flow.name.clone()>
            <td>
                <A href=history>{name}</A>
                {(!flow.description.is_empty())
                    .then(|| view! { <p class="hint">{flow.description.clone()}</p> })}
                {folder_hint}
                {used_by}
            </td>
            <td>{flow.trigger.clone()}</td>
            <td>{switch}</td>
            <td class="nowrap">{last_run}</td>
            <td>{flow.version}</td>
            <td data-testid="acts-for">{flow.acts_for.clone()}</td>
            <td class="actions">
                <a
                    href=format!("{base}/edit")
                    aria-label=format!("Open {} in the builder", flow.name)
                >
                    {if flow.can_edit { "Edit" } else { "Open" }}
                </a>
                " "
                <a href=format!("{base}/versions")>"Versions"</a>
                " "
                {flow.can_edit.then(|| view! { <a href=format!("{base}/test")>"Test"</a> })}
                " "
                {flow
                    .api
                    .then(|| {
                        view! {
                            <a
                                href=format!("{base}/api")
                                aria-label=format!("API access of {}", flow.name)
                            >
                                "API"
                            </a>
                        }
                    })}
                " "
                {flow
                    .can_edit
                    .then(|| {
                        view! {
                            <form method="post" action=format!("{base}/clone") class="switch">
                                <button type="submit" aria-label=format!("Clone {}", flow.name)>
                                    "Clone"
                                </button>
                            </form>
                        }
                    })}
                " "
                <a href=format!("{base}/export") download="">
                    "Export JSON"
                </a>
                " "
                {run}
                {move_form}
                {delete}
            </td>
        </tr>
    }
}

/// The reference use cases, ready to install; a template whose cards send asks which
/// connection of each kind they use.
#[component]
fn Templates(connections: Vec<(String, String, String)>) -> impl IntoView {
    let items = domain::flows::templates::templates()
        .into_iter()
        .map(|t| {
            let action = format!("/flows/templates/{}", t.key);
            let label = format!("Install {}", t.name);
            let pickers = t
                .connection_kinds()
                .into_iter()
                .map(|kind| connection_picker(t.key, kind, &connections))
                .collect_view();
            view! {
                <li data-template=t.key>
                    <form method="post" action=action data-busy="Installing the template…">
                        <strong>{t.name}</strong>
                        " — "
                        {t.description}
                        " "
                        {pickers}
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

/// The choice of a `kind` connection for template `key`'s cards.
fn connection_picker(
    key: &'static str,
    kind: &'static domain::connections::Kind,
    connections: &[(String, String, String)],
) -> impl IntoView {
    let id = format!("template-{key}-{}", kind.key);
    // The first connection of the kind is chosen unless the admin picks another.
    let options = connections
        .iter()
        .filter(|(_, _, k)| k == kind.key)
        .enumerate()
        .map(|(n, (id, name, _))| {
            view! {
                <option value=id.clone() selected=n == 0>
                    {name.clone()}
                </option>
            }
        })
        .collect_view();
    view! {
        <label for=id.clone() class="template-connection">
            {format!("{} connection", kind.name)}
        </label>
        " "
        <select id=id name=format!("connection.{}", kind.key)>
            <option value="">"Choose later (flows stay off)"</option>
            {options}
        </select>
        " "
    }
}

#[component]
fn ImportForm(open: bool, into: Option<(String, String)>) -> impl IntoView {
    let summary = match &into {
        Some((_, name)) => format!("Import flows into {name}"),
        None => "Import a flow or a folder".to_string(),
    };
    let folder = into.map(|(id, _)| view! { <input type="hidden" name="folder" value=id /> });
    view! {
        <details class="import" open=open>
            <summary>{summary}</summary>
            <form method="post" action="/flows/import" data-busy="Importing…">
                {folder}
                <label for="flow-definition">"The flow's JSON, as exported"</label>
                <textarea id="flow-definition" name="definition" rows="10" required>
                    ""
                </textarea>
                <p class="hint">
                    "A flow's or a folder's export: the flows are created turned off (helper flows on), with the tables they use. Nothing secret is in an export."
                </p>
                <button type="submit" class="primary">
                    "Import"
                </button>
            </form>
        </details>
    }
}

/// A flow version's problems under a sentence saying what they stop; nothing when none.
#[component]
pub(super) fn Problems(problems: Vec<String>, intro: &'static str) -> impl IntoView {
    (!problems.is_empty()).then(|| {
        let items = problems
            .into_iter()
            .map(|p| view! { <li>{p}</li> })
            .collect_view();
        view! {
            <div class="alert" data-testid="problems">
                <p>{intro}</p>
                <ul>{items}</ul>
            </div>
        }
    })
}
