//! The Connections tab: the accounts flows use to reach services outside idflow. Those
//! who manage connections create, change, test and delete them here; secrets are typed
//! once and never shown again. Forms post to the server's `connections` module.

use crate::connections::{
    ConnectionItem, ConnectionList, ConnectionPageData, connection_detail, list_connections,
};
use crate::console::{
    Confirm, DataTable, DetailTop, EmptyState, Flash, Loaded, PageHeader, path_id, when,
};
use domain::connections::{Field, Input, KINDS, Kind, REDACTED, kind};
use leptos::prelude::*;
use leptos_router::components::A;
use std::collections::BTreeMap;

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let connections = Resource::new(|| (), |_| list_connections());
    view! {
        <PageHeader
            title="Connections"
            subtitle="Accounts that flows use to reach services outside idflow: HTTP APIs, Slack, email and Okta. Each is shared with every flow or with the flows of chosen folders."
        />
        <Flash />
        <Loaded
            data=connections
            loading="Loading connections…"
            show=|list| view! { <ConnectionsBody list /> }
        />
    }
}

fn kind_name(key: &str) -> &'static str {
    kind(key).map_or("Unknown", |k| k.name)
}

fn last_test(test: Option<crate::connections::TestView>) -> impl IntoView {
    match test {
        None => view! { <span class="muted">"Not tested yet"</span> }.into_any(),
        Some(t) => {
            let (class, label) = if t.ok {
                ("status status-active", "Works")
            } else {
                ("status status-suspended", "Failed")
            };
            view! {
                <span class=class title=t.message.clone()>
                    {label}
                </span>
                " "
                <span class="muted">{when(Some(t.at))}</span>
            }
            .into_any()
        }
    }
}

/// Who may use a connection, in words.
fn shared_with(folders: &Option<Vec<String>>) -> String {
    match folders {
        None => "Every flow".into(),
        Some(names) if names.is_empty() => "No flow (its folders are gone)".into(),
        Some(names) => format!("Flows in {}", names.join(", ")),
    }
}

fn used_by(names: &[String]) -> String {
    if names.is_empty() {
        "No flow".into()
    } else {
        names.join(", ")
    }
}

#[component]
fn ConnectionsBody(list: ConnectionList) -> impl IntoView {
    let forms = list.can_manage.then(|| {
        KINDS
            .iter()
            .map(|k| {
                view! {
                    <details class="panel create">
                        <summary>{format!("New {} connection", k.name)}</summary>
                        <p class="hint">{k.description}</p>
                        <form method="post" action="/connections" class="stacked-form">
                            <input type="hidden" name="kind" value=k.key />
                            <div class="field">
                                <label for=format!("new-{}-name", k.key)>"Name"</label>
                                <input
                                    id=format!("new-{}-name", k.key)
                                    name="name"
                                    required
                                    maxlength="100"
                                />
                            </div>
                            <KindFields
                                kind=*k
                                prefix=format!("new-{}", k.key)
                                settings=BTreeMap::new()
                                held=vec![]
                            />
                            <button type="submit" class="primary">
                                "Create connection"
                            </button>
                        </form>
                    </details>
                }
            })
            .collect_view()
    });
    let body = if list.connections.is_empty() {
        let what = if list.can_manage {
            "Create one above, then pick it in a flow's HTTP Request, Slack, Send Email or Okta card (an Okta connection's Event Hook also starts flows on Okta triggers)."
        } else {
            "A Super Admin, Workflows Administrator or Connection Manager creates them."
        };
        view! {
            <EmptyState title="No connections yet">
                <p>{what}</p>
            </EmptyState>
        }
        .into_any()
    } else {
        let rows = list.connections.into_iter().map(row).collect_view();
        view! {
            <DataTable
                columns=vec![
                    "Name",
                    "Kind",
                    "Used by",
                    "Usable by",
                    "Last test",
                    "Changed by",
                    "Changed",
                ]
                testid="connections"
            >
                {rows}
            </DataTable>
        }
        .into_any()
    };
    view! {
        {forms}
        {body}
    }
}

fn row(c: ConnectionItem) -> impl IntoView {
    let name = c.name.clone();
    view! {
        <tr data-connection=c.name.clone()>
            <td>
                <A href=format!("/connections/{}", c.id)>{name}</A>
            </td>
            <td>{kind_name(&c.kind)}</td>
            <td>{used_by(&c.used_by)}</td>
            <td>{shared_with(&c.shared_with)}</td>
            <td>{last_test(c.last_test)}</td>
            <td>{c.updated_by}</td>
            <td>{when(Some(c.updated_at))}</td>
        </tr>
    }
}

/// The inputs of `kind`'s fields, filled with `settings`; a secret in `held` is kept
/// unless typed anew.
#[component]
fn KindFields(
    kind: Kind,
    prefix: String,
    settings: BTreeMap<String, String>,
    held: Vec<String>,
) -> impl IntoView {
    kind.fields
        .iter()
        .map(|field| {
            let id = format!("{prefix}-{}", field.name);
            let value = settings.get(field.name).cloned().unwrap_or_default();
            let is_held = held.iter().any(|h| h == field.name);
            view! {
                <div class="field">
                    <label for=id.clone()>{field.label}</label>
                    {field_input(field, id, value, is_held)}
                    <small>{hint(&kind, field)}</small>
                </div>
            }
        })
        .collect_view()
}

/// What a field of `kind` says under it, with when it applies (the labels of the
/// choices of `kind`'s field it depends on).
fn hint(kind: &Kind, field: &Field) -> String {
    let applies = field.when.map(|(on, among)| {
        let labels: Vec<&str> = kind
            .fields
            .iter()
            .filter(|f| f.name == on)
            .filter_map(|f| match f.input {
                Input::Choice(choices) => Some(choices),
                _ => None,
            })
            .flat_map(|choices| choices.iter())
            .filter(|(value, _)| among.contains(value))
            .map(|(_, label)| *label)
            .collect();
        format!("Only for {}.", labels.join(" or "))
    });
    [
        Some(field.hint.to_string()).filter(|h| !h.is_empty()),
        applies,
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

fn field_input(field: &Field, id: String, value: String, held: bool) -> impl IntoView {
    match field.input {
        Input::Choice(choices) => {
            let options = choices
                .iter()
                .map(|(v, label)| {
                    view! {
                        <option value=*v selected=value == *v>
                            {*label}
                        </option>
                    }
                })
                .collect_view();
            view! {
                <select id=id name=format!("s.{}", field.name)>
                    {options}
                </select>
            }
            .into_any()
        }
        Input::Secret => {
            let placeholder = if held {
                format!("{REDACTED} kept; type to replace")
            } else {
                String::new()
            };
            view! {
                <input
                    id=id
                    name=format!("secret.{}", field.name)
                    type="password"
                    autocomplete="new-password"
                    placeholder=placeholder
                />
            }
            .into_any()
        }
        Input::Url => view! {
            <input
                id=id
                name=format!("s.{}", field.name)
                type="url"
                value=value
                placeholder="https://"
            />
        }
        .into_any(),
        Input::Text => {
            view! { <input id=id name=format!("s.{}", field.name) value=value /> }.into_any()
        }
        Input::LongText => view! {
            <textarea id=id name=format!("s.{}", field.name) rows="4">
                {value}
            </textarea>
        }
        .into_any(),
    }
}

#[component]
pub fn ConnectionPage() -> impl IntoView {
    let detail = Resource::new(path_id(), connection_detail);
    view! {
        <DetailTop title="Connections" back=("/connections", "← All connections") />
        <Loaded
            data=detail
            loading="Loading the connection…"
            show=|detail| view! { <ConnectionView detail /> }
        />
    }
}

#[component]
fn ConnectionView(detail: ConnectionPageData) -> impl IntoView {
    let ConnectionPageData {
        item,
        version,
        settings,
        secrets_held,
        can_manage,
        folders,
        okta_hook,
        okta_public_jwk,
        okta_rate,
    } = detail;
    let okta_hook = okta_hook.map(|hook| view! { <OktaHook hook /> });
    let base = format!("/connections/{}", item.id);
    let okta_authorize = (item.kind == "okta"
        && can_manage
        && settings.get("mode").map(String::as_str) == Some("authorization_code"))
    .then(|| {
        let authorized = secrets_held.iter().any(|s| s == "refresh_token");
        (format!("{base}/okta/authorize"), authorized)
    });
    let okta_app = (item.kind == "okta").then(|| {
        view! { <OktaApp jwk=okta_public_jwk rate=okta_rate authorize=okta_authorize /> }
    });
    let spec = kind(&item.kind);
    let manage = (can_manage && spec.is_some()).then(|| {
        let spec = *spec.expect("checked above");
        let in_use = !item.used_by.is_empty();
        let consequence = if in_use {
            format!(
                "{} is used by {}: it cannot be deleted until those flows stop using it.",
                item.name,
                used_by(&item.used_by)
            )
        } else {
            format!(
                "{} is deleted with its secrets. No flow uses it.",
                item.name
            )
        };
        view! {
            <section class="panel">
                <h2>"Test"</h2>
                <form method="post" action=format!("{base}/test") class="row-form">
                    <button type="submit" class="primary">
                        "Test connection"
                    </button>
                </form>
            </section>
            <Sharing action=format!("{base}/sharing") every=item.shared_with.is_none() folders />
            <section class="panel">
                <h2>"Settings"</h2>
                <form method="post" action=base.clone() class="stacked-form">
                    <input type="hidden" name="version" value=version.to_string() />
                    <div class="field">
                        <label for="c-name">"Name"</label>
                        <input
                            id="c-name"
                            name="name"
                            required
                            maxlength="100"
                            value=item.name.clone()
                        />
                    </div>
                    <KindFields kind=spec prefix="c".to_string() settings held=secrets_held />
                    <button type="submit" class="primary">
                        "Save connection"
                    </button>
                </form>
            </section>
            <Confirm
                label="Delete connection"
                action=format!("{base}/delete")
                consequence
                confirm="Yes, delete the connection"
            />
        }
    });
    view! {
        <section class="panel">
            <h2 data-testid="connection-name">{item.name.clone()}</h2>
            <dl class="facts">
                <dt>"Kind"</dt>
                <dd>{kind_name(&item.kind)}</dd>
                <dt>"Used by"</dt>
                <dd data-testid="connection-used-by">{used_by(&item.used_by)}</dd>
                <dt>"Usable by"</dt>
                <dd data-testid="connection-shared-with">{shared_with(&item.shared_with)}</dd>
                <dt>"Last test"</dt>
                <dd data-testid="connection-last-test">
                    {item.last_test.as_ref().map(|t| t.message.clone()).unwrap_or_default()} " "
                    {last_test(item.last_test.clone())}
                </dd>
                <dt>"Changed by"</dt>
                <dd>{format!("{}, {}", item.updated_by, when(Some(item.updated_at)))}</dd>
            </dl>
        </section>
        {okta_app}
        {okta_hook}
        {manage}
    }
}

/// An Okta connection's OAuth app: the public key to paste into Okta, the scopes each
/// card needs, and the org's rate-limit budget.
#[component]
fn OktaApp(
    jwk: Option<String>,
    rate: Option<String>,
    /// Where an admin starts authorising it, and whether it is authorised already.
    authorize: Option<(String, bool)>,
) -> impl IntoView {
    let authorize = authorize
        .map(|(action, authorized)| {
            let (said, label) = if authorized {
                (
                    "Authorized by an Okta admin. Reauthorize after changing its scopes, so Okta grants them.",
                    "Reauthorize",
                )
            } else {
                (
                    "Not authorized yet: an Okta admin signs in at Okta and allows idflow the scopes asked for.",
                    "Authorize with Okta",
                )
            };
            view! {
                <p data-testid="okta-authorization">{said}</p>
                <form method="post" action=action class="row-form">
                    <button type="submit" class="primary">
                        {label}
                    </button>
                </form>
            }
        });
    let key = match jwk {
        Some(jwk) => view! {
            <p>
                "In the Okta Admin Console, open the API Services app made for idflow: under Client Credentials choose Public key / Private key, add this public key, and require DPoP. Grant the scopes the flows' cards need on the Okta API Scopes tab."
            </p>
            <pre class="json" data-testid="okta-public-jwk">
                {jwk}
            </pre>
        }
            .into_any(),
        None => view! {
            <p>
                "In the Okta Admin Console, make an OIDC Web Application for idflow with the Authorization Code and Refresh Token grants, the sign-in redirect URI "
                <code>"/connections/okta/callback"</code>
                " on this idflow's address, and grant the scopes the flows' cards need on its Okta API Scopes tab."
            </p>
        }
            .into_any(),
    };
    let scopes = domain::okta::CARDS
        .iter()
        .filter(|c| !c.scope.is_empty())
        .map(|c| {
            view! {
                <tr>
                    <td>{c.name}</td>
                    <td>
                        <code>{c.scope}</code>
                    </td>
                </tr>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <section class="panel" data-testid="okta-app">
            <h2>"Okta app"</h2>
            {key}
            {authorize}
            <dl class="facts">
                <dt>"Rate limit"</dt>
                <dd data-testid="okta-rate">
                    {rate
                        .unwrap_or_else(|| {
                            "Not known yet: shown after the first request to Okta.".into()
                        })}
                </dd>
            </dl>
            <details>
                <summary>"The scope each card needs"</summary>
                <table>
                    <thead>
                        <tr>
                            <th>"Card"</th>
                            <th>"Scope"</th>
                        </tr>
                    </thead>
                    <tbody>{scopes}</tbody>
                </table>
            </details>
        </section>
    }
}

/// An Okta connection's Event Hook: what to enter at Okta, then what it delivered.
#[component]
fn OktaHook(hook: crate::connections::OktaHookView) -> impl IntoView {
    let secret = if hook.secret_set {
        "Set (kept sealed). Enter the same value at Okta."
    } else {
        "Not set: deliveries are refused until it is. Choose a long random value, enter it below under Event Hook secret and at Okta."
    };
    let types = hook
        .event_types
        .iter()
        .map(|(t, _)| t.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let subscriptions = hook
        .event_types
        .into_iter()
        .map(|(event_type, trigger)| {
            view! {
                <tr>
                    <td>
                        <code>{event_type}</code>
                    </td>
                    <td>{trigger}</td>
                </tr>
            }
        })
        .collect::<Vec<_>>();
    let deliveries = if hook.deliveries.is_empty() {
        view! {
            <p class="empty" data-testid="okta-no-deliveries">
                "Nothing delivered yet. Once the Event Hook is created and verified at Okta, its deliveries are listed here."
            </p>
        }
            .into_any()
    } else {
        let rows = hook
            .deliveries
            .into_iter()
            .map(|d| {
                let repeated = d.events - d.new_events;
                view! {
                    <tr>
                        <td>{when(Some(d.received_at))}</td>
                        <td>{d.events}</td>
                        <td>{d.new_events}</td>
                        <td>{repeated}</td>
                        <td>{d.event_types}</td>
                    </tr>
                }
            })
            .collect::<Vec<_>>();
        view! {
            <div class="table-scroll">
                <table data-testid="okta-deliveries">
                    <thead>
                        <tr>
                            <th>"Received"</th>
                            <th>"Events"</th>
                            <th>"New"</th>
                            <th>"Repeats (ignored)"</th>
                            <th>"Event types"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="panel" data-testid="okta-hook">
            <h2>"Event Hook"</h2>
            <p>
                "In the Okta Admin Console, under Workflow → Event Hooks, create an Event Hook with these values, subscribe it to the event types below, and verify it. Flows on Okta triggers then start on each event."
            </p>
            <dl class="facts">
                <dt>"Endpoint URL"</dt>
                <dd>
                    <code data-testid="okta-hook-url">{hook.url}</code>
                </dd>
                <dt>"Authentication field"</dt>
                <dd>
                    <code>{hook.header}</code>
                </dd>
                <dt>"Authentication secret"</dt>
                <dd data-testid="okta-hook-secret">{secret}</dd>
                <dt>"Event types"</dt>
                <dd>
                    <code data-testid="okta-hook-types">{types}</code>
                </dd>
            </dl>
            <details>
                <summary>"What each event type starts"</summary>
                <table>
                    <thead>
                        <tr>
                            <th>"Okta event type"</th>
                            <th>"Trigger"</th>
                        </tr>
                    </thead>
                    <tbody>{subscriptions}</tbody>
                </table>
            </details>
            <h3>"Recent deliveries"</h3>
            {deliveries}
        </section>
    }
}

/// Who may use a connection: every flow, or the flows of the folders ticked.
#[component]
fn Sharing(action: String, every: bool, folders: Vec<(String, String, bool)>) -> impl IntoView {
    let boxes = if folders.is_empty() {
        view! { <p class="hint">"There are no folders yet: make one in the Flows tab."</p> }
            .into_any()
    } else {
        folders
            .into_iter()
            .map(|(id, name, shared)| {
                view! {
                    <label class="check">
                        <input type="checkbox" name="folder" value=id checked=shared />
                        {name}
                    </label>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <section class="panel">
            <h2>"Who may use it"</h2>
            <form method="post" action=action class="single-form">
                <label class="check">
                    <input type="radio" name="who" value="every" checked=every />
                    "Every flow"
                </label>
                <label class="check">
                    <input type="radio" name="who" value="folders" checked=!every />
                    "Only the flows in these folders:"
                </label>
                <fieldset class="folders">
                    <legend class="visually-hidden">"Folders"</legend>
                    {boxes}
                </fieldset>
                <p class="hint">
                    "Cards in other flows cannot pick it, saving such a flow is refused, and a flow moved elsewhere fails at the card. Flows at the top level use only connections shared with every flow."
                </p>
                <button type="submit" class="primary">
                    "Save who may use it"
                </button>
            </form>
        </section>
    }
}
