//! The Directory: users and groups as the identity provider (or the console) made them,
//! with each user's groups, console access and the directory events about them. Admins
//! create, edit, suspend and deactivate users, and create groups and change their
//! members, with plain form posts to the server's `directory` module.

use crate::console::{Confirm, DataTable, EmptyState, Flash, Loaded, PageHeader, path_id, when};
use crate::directory::{
    GroupView, GroupsList, Profile, TIMELINE_KINDS, TIMELINE_PERIODS, Timeline, UserDetail,
    UsersPage, all_groups, find_users, group_detail, load_user_detail, user_timeline,
};
use crate::error::AppError;
use domain::access::Role;
use domain::directory::UserStatus;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
fn DirectoryTabs() -> impl IntoView {
    view! {
        <nav class="sub-tabs" aria-label="Directory">
            <A href="/directory/users">"Users"</A>
            <A href="/directory/groups">"Groups"</A>
        </nav>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let status = move || query.read().get("status").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1usize)
    };
    let users = Resource::new(
        move || (q(), status(), page()),
        |(q, s, p)| find_users(q, s, p),
    );
    view! {
        <PageHeader
            title="Directory"
            subtitle="Users and groups, provisioned by your identity provider over SCIM or made here."
        />
        <DirectoryTabs />
        <Flash />
        <form method="get" action="/directory/users" class="inline-form" role="search">
            <label for="user-search" class="visually-hidden">
                "Search users"
            </label>
            <input
                id="user-search"
                name="q"
                type="search"
                placeholder="Start of a name, userName or email"
                title="Finds users with a word of their name, userName or email starting with what you type"
                value=q
            />
            <label for="user-status" class="visually-hidden">
                "Status"
            </label>
            <select id="user-status" name="status">
                <option value="" selected=move || status().is_empty()>
                    "Any status"
                </option>
                <option value="active" selected=move || status() == "active">
                    "Active"
                </option>
                <option value="suspended" selected=move || status() == "suspended">
                    "Suspended"
                </option>
                <option value="deprovisioned" selected=move || status() == "deprovisioned">
                    "Deactivated"
                </option>
            </select>
            <button type="submit" class="primary">
                "Search"
            </button>
        </form>
        <Loaded
            data=users
            loading="Loading users…"
            show=move |list| view! { <UsersBody list q=q() status=status() /> }
        />
    }
}

/// The users found, under the form for a new one (for those who may make one); an empty
/// search says whether nothing is there yet or nothing matches.
#[component]
fn UsersBody(list: UsersPage, q: String, status: String) -> impl IntoView {
    let form = list.can_manage.then(|| view! { <NewUserForm /> });
    let body = if list.total == 0 && q.is_empty() && status.is_empty() {
        view! {
            <EmptyState title="No users yet">
                <p>
                    "Users appear here when your identity provider provisions them over SCIM (Settings → SCIM provisioning), or when an admin creates one here."
                </p>
            </EmptyState>
        }
            .into_any()
    } else if list.total == 0 {
        view! {
            <EmptyState title="No users match">
                <p>"Try another name, or any status."</p>
            </EmptyState>
        }
        .into_any()
    } else {
        view! { <UserTable list q status /> }.into_any()
    };
    view! {
        {form}
        {body}
    }
}

/// The profile fields, empty for a new user or filled with the user's current values.
#[component]
fn ProfileFields(profile: Profile, #[prop(optional)] user_name: Option<String>) -> impl IntoView {
    let field = |id: &'static str, label: &'static str, value: String, kind: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id name=id.trim_start_matches("p-") type=kind value=value />
            </div>
        }
    };
    let new = user_name.is_none();
    view! {
        <div class="field">
            <label for="p-user_name">"User name"</label>
            <input
                id="p-user_name"
                name="user_name"
                required
                value=user_name.unwrap_or_default()
                placeholder="ann@example.com"
                autocomplete="off"
            />
            {new
                .then(|| {
                    view! {
                        <small>
                            "Usually the person's email address; unique without regard to case."
                        </small>
                    }
                })}
        </div>
        {field("p-display_name", "Display name", profile.display_name, "text")}
        {field("p-email", "Email", profile.email, "email")}
        {field("p-given_name", "Given name", profile.given_name, "text")}
        {field("p-family_name", "Family name", profile.family_name, "text")}
        {field("p-title", "Title", profile.title, "text")}
        {field("p-department", "Department", profile.department, "text")}
    }
}

#[component]
fn NewUserForm() -> impl IntoView {
    view! {
        <details class="panel create">
            <summary>"New user"</summary>
            <form method="post" action="/directory/users" class="stacked-form">
                <ProfileFields profile=Profile::default() />
                <p class="subtitle">
                    "The user starts active with no role: give them one in Assignments."
                </p>
                <button type="submit" class="primary">
                    "Create user"
                </button>
            </form>
        </details>
    }
}

#[component]
fn UserTable(list: UsersPage, q: String, status: String) -> impl IntoView {
    let link = |page: usize| {
        format!(
            "/directory/users?q={}&status={}&page={page}",
            urlencoding::encode(&q),
            urlencoding::encode(&status)
        )
    };
    let (prev, next) = (
        (list.page > 1).then(|| link(list.page - 1)),
        (list.page < list.pages).then(|| link(list.page + 1)),
    );
    let rows = list
        .users
        .into_iter()
        .map(|u| {
            let href = format!("/directory/users/{}", u.id);
            view! {
                <tr data-user=u.user_name.clone()>
                    <td>
                        <A href=href>{u.name.clone()}</A>
                    </td>
                    <td>{u.user_name.clone()}</td>
                    <td>{u.role.label()}</td>
                    <td>
                        <span class=format!(
                            "status status-{}",
                            u.status,
                        )>{u.status.to_string()}</span>
                    </td>
                    <td>{when(u.last_sign_in_at)}</td>
                    <td>{when(u.last_provisioned_at)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="subtitle">
            {format!(
                "{} {} · page {} of {}",
                list.total,
                if list.total == 1 { "user" } else { "users" },
                list.page,
                list.pages,
            )}
        </p>
        <DataTable
            columns=vec!["Name", "userName", "Role", "Status", "Last sign-in", "Last provisioned"]
            testid="users"
        >
            {rows}
        </DataTable>
        <nav class="pager" aria-label="Pages">
            {prev
                .map(|href| {
                    view! {
                        <a href=href rel="prev">
                            "← Previous"
                        </a>
                    }
                })}
            {next
                .map(|href| {
                    view! {
                        <a href=href rel="next">
                            "Next →"
                        </a>
                    }
                })}
        </nav>
    }
}

/// The user's timeline as the page's `kind` and `within` parameters filter it. Made with
/// the page's other resource, at the top of the page: a resource made inside content that
/// waits for another does not always hydrate as it rendered.
fn timeline_resource() -> Resource<Result<Timeline, AppError>> {
    let id = path_id();
    let query = use_query_map();
    Resource::new(
        move || {
            let query = query.read();
            (
                id(),
                query.get("kind").unwrap_or_default(),
                query.get("within").unwrap_or_default(),
            )
        },
        |(id, kind, within)| {
            user_timeline(
                id,
                Some(kind).filter(|k| !k.is_empty()),
                within.parse().ok(),
            )
        },
    )
}

/// What happened to the user, in one line: executions, directory events and System Log
/// entries, filtered by kind and time (the page's `kind` and `within` parameters).
#[component]
fn UserTimeline(id: String, timeline: Resource<Result<Timeline, AppError>>) -> impl IntoView {
    let query = use_query_map();
    let kind = move || query.read().get("kind").unwrap_or_default();
    let within = move || query.read().get("within").unwrap_or_default();
    let action = format!("/directory/users/{id}");
    view! {
        <section class="panel" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <p class="subtitle">
                "Every execution that carried this user, every directory event and every System Log entry about them, newest first."
            </p>
            <form method="get" action=action class="inline-form" role="search">
                <label for="timeline-kind">"Show"</label>
                <select id="timeline-kind" name="kind">
                    {TIMELINE_KINDS
                        .iter()
                        .map(|(key, label)| {
                            view! {
                                <option value=*key selected=move || kind() == *key>
                                    {*label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <label for="timeline-within">"When"</label>
                <select id="timeline-within" name="within">
                    {TIMELINE_PERIODS
                        .iter()
                        .map(|(key, label, _)| {
                            view! {
                                <option value=*key selected=move || within() == *key>
                                    {*label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <button type="submit">"Show"</button>
            </form>
            <Loaded
                data=timeline
                loading="Loading the timeline…"
                show=|timeline| view! { <TimelineList timeline /> }
            />
        </section>
    }
}

#[component]
fn TimelineList(timeline: Timeline) -> impl IntoView {
    let hidden = (!timeline.hidden.is_empty()).then(|| {
        view! {
            <p class="hint">
                {format!("Your role does not show {} here.", timeline.hidden.join(" or "))}
            </p>
        }
    });
    let more = timeline.more.then(|| {
        view! {
            <p class="hint">
                "More happened than fits here: these are the newest. Narrow by kind or time."
            </p>
        }
    });
    if timeline.entries.is_empty() {
        return view! {
            {hidden}
            <p class="subtitle" data-testid="timeline-empty">
                "Nothing about this user in this period. Flows that act on them, changes to them and sign-ins appear here."
            </p>
        }
            .into_any();
    }
    let rows = timeline
        .entries
        .into_iter()
        .map(|e| {
            let kind = match e.kind.as_str() {
                "execution" => "Execution",
                "event" => "Directory event",
                _ => "System Log",
            };
            let status = e.status.clone().map(|s| {
                let class = format!("run-status run-{s}");
                view! { <span class=class>{s}</span> }
            });
            let title = match e.link {
                Some(href) => view! { <A href=href>{e.title}</A> }.into_any(),
                None => view! { <code>{e.title}</code> }.into_any(),
            };
            view! {
                <tr data-kind=e.kind.clone()>
                    <td class="nowrap">{e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</td>
                    <td>{kind}</td>
                    <td>{title} " " {status}</td>
                    <td class="changes">{e.detail}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {hidden}
        <DataTable columns=vec!["Time", "Kind", "What", "Detail"] testid="user-timeline">
            {rows}
        </DataTable>
        {more}
    }
    .into_any()
}

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let detail = Resource::new(path_id(), load_user_detail);
    let timeline = timeline_resource();
    view! {
        <DirectoryTabs />
        <Flash />
        <Loaded
            data=detail
            loading="Loading the user…"
            show=move |d| view! { <UserDetailView d timeline /> }
        />
    }
}

fn show(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[component]
fn UserDetailView(d: UserDetail, timeline: Resource<Result<Timeline, AppError>>) -> impl IntoView {
    let u = d.user;
    let no_groups = d.groups.is_empty();
    let id = u.id.clone();
    let managed_by_idp = d.external_id.is_some();
    let access = {
        let mut paths = Vec::new();
        if u.role != Role::UnassignedUser {
            paths.push(format!("Direct: {}", u.role.label()));
        }
        for (group, role) in &d.via_groups {
            paths.push(format!("Group {group}: {}", role.label()));
        }
        if paths.is_empty() {
            "No role: the user can sign in but sees nothing.".to_string()
        } else {
            paths.join(" · ")
        }
    };
    let manage = d.can_manage.then(|| {
        view! {
            <UserActions
                id=id.clone()
                user_name=u.user_name.clone()
                status=u.status
                profile=d.profile.clone()
                managed_by_idp
            />
        }
    });
    let groups = d
        .groups
        .into_iter()
        .map(|(id, name)| {
            view! {
                <li>
                    <A href=format!("/directory/groups/{id}")>{name}</A>
                </li>
            }
        })
        .collect_view();
    let no_events = d.events.is_empty();
    let events = d
        .events
        .into_iter()
        .map(|e| {
            let changes = e
                .changes
                .iter()
                .map(|c| format!("{}: {} → {}", c.attribute, show(&c.old), show(&c.new)))
                .collect::<Vec<_>>()
                .join("; ");
            view! {
                <tr data-event=e.event_type.clone()>
                    <td class="nowrap">
                        {e.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}
                    </td>
                    <td>
                        <code>{e.event_type.clone()}</code>
                    </td>
                    <td>{e.actor_display.clone().unwrap_or_default()}</td>
                    <td class="changes">{changes}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <leptos_meta::Title text=u.name.clone() />
        <div class="page-header">
            <h1>{u.name.clone()}</h1>
            <p class="subtitle">{u.user_name.clone()}</p>
        </div>
        <section class="panel">
            <dl class="facts">
                <dt>"Role"</dt>
                <dd data-testid="user-role">{d.effective_role.label()}</dd>
                <dt>"Access through"</dt>
                <dd data-testid="user-access">
                    {access} " " <A href="/assignments">"Assignments"</A>
                </dd>
                <dt>"Status"</dt>
                <dd data-testid="user-status">{u.status.to_string()}</dd>
                <dt>"Email"</dt>
                <dd>{u.email.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>"External id"</dt>
                <dd>{d.external_id.unwrap_or_else(|| "—".into())}</dd>
                <dt>"Last sign-in"</dt>
                <dd>{when(u.last_sign_in_at)}</dd>
                <dt>"Last provisioned"</dt>
                <dd>{when(u.last_provisioned_at)}</dd>
            </dl>
        </section>
        {manage}
        <section class="panel">
            <h2>"Groups"</h2>
            {no_groups.then(|| view! { <p class="subtitle">"Not a member of any group."</p> })}
            <ul data-testid="user-groups">{groups}</ul>
        </section>
        <UserTimeline id=u.id.clone() timeline />
        <section class="panel">
            <h2>"Recent events"</h2>
            {if no_events {
                view! {
                    <p class="subtitle" data-testid="user-events-none">
                        "No directory events about this user yet: one is recorded each time the user is created or changed, or joins or leaves a group."
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <DataTable columns=vec!["Time", "Event", "By", "Changes"] testid="user-events">
                        {events}
                    </DataTable>
                }
                    .into_any()
            }}
        </section>
        <section class="panel">
            <h2>"SCIM attributes"</h2>
            <pre class="json">{d.attributes}</pre>
        </section>
    }
}

/// Edit the profile; suspend, unsuspend, deactivate or reactivate, each confirmed.
#[component]
fn UserActions(
    id: String,
    user_name: String,
    status: UserStatus,
    profile: Profile,
    managed_by_idp: bool,
) -> impl IntoView {
    let status_action = format!("/directory/users/{id}/status");
    let status_button =
        |label: &'static str, to: UserStatus, consequence: String, confirm: &'static str| {
            view! {
                <Confirm
                    label
                    action=status_action.clone()
                    consequence
                    confirm
                    hidden=vec![("status", to.as_str().to_string())]
                />
            }
        };
    let lifecycle = match status {
        UserStatus::Active => view! {
            {status_button(
                "Suspend",
                UserStatus::Suspended,
                format!(
                    "{user_name} is signed out everywhere and cannot sign in until unsuspended. Flows listening for \"User suspended\" run.",
                ),
                "Yes, suspend",
            )}
            {status_button(
                "Deactivate",
                UserStatus::Deprovisioned,
                format!(
                    "{user_name} is signed out everywhere and deactivated. Offboarding flows listening for \"User deactivated\" run.",
                ),
                "Yes, deactivate",
            )}
        }
            .into_any(),
        UserStatus::Suspended => view! {
            <form method="post" action=status_action.clone() class="row-form">
                <input type="hidden" name="status" value="active" />
                <button type="submit">"Unsuspend"</button>
            </form>
            {status_button(
                "Deactivate",
                UserStatus::Deprovisioned,
                format!(
                    "{user_name} is deactivated. Offboarding flows listening for \"User deactivated\" run.",
                ),
                "Yes, deactivate",
            )}
        }
            .into_any(),
        UserStatus::Deprovisioned => view! {
            <form method="post" action=status_action.clone() class="row-form">
                <input type="hidden" name="status" value="active" />
                <button type="submit">"Reactivate"</button>
            </form>
        }
            .into_any(),
    };
    view! {
        <section class="panel" data-testid="user-actions">
            <h2>"Manage"</h2>
            {managed_by_idp
                .then(|| {
                    view! {
                        <p class="subtitle">
                            "Your identity provider manages this user over SCIM: its next push may overwrite changes made here."
                        </p>
                    }
                })}
            <div class="action-row">{lifecycle}</div>
            <details class="edit">
                <summary>"Edit profile"</summary>
                <form method="post" action=format!("/directory/users/{id}") class="stacked-form">
                    <ProfileFields profile user_name=user_name.clone() />
                    <button type="submit" class="primary">
                        "Save profile"
                    </button>
                </form>
            </details>
        </section>
    }
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let groups = Resource::new(|| (), |_| all_groups());
    view! {
        <PageHeader
            title="Directory"
            subtitle="Users and groups, provisioned by your identity provider over SCIM or made here."
        />
        <DirectoryTabs />
        <Flash />
        <Loaded data=groups loading="Loading groups…" show=|list| view! { <GroupsBody list /> } />
    }
}

/// The groups, under the form for a new one (for those who may make one).
#[component]
fn GroupsBody(list: GroupsList) -> impl IntoView {
    let form = list.can_manage.then(|| view! { <NewGroupForm /> });
    let body = if list.groups.is_empty() {
        view! {
            <EmptyState title="No groups yet">
                <p>
                    "Groups appear here when your identity provider pushes them over SCIM, or when an admin creates one here."
                </p>
            </EmptyState>
        }
            .into_any()
    } else {
        let rows = list
            .groups
            .into_iter()
            .map(|g| {
                let href = format!("/directory/groups/{}", g.id);
                let label = g.name.clone();
                view! {
                    <tr data-group=g.name.clone()>
                        <td>
                            <A href=href>{label}</A>
                        </td>
                        <td>{g.member_count}</td>
                        <td>{g.role.map(Role::label).unwrap_or("—")}</td>
                        <td>{g.external_id.clone().unwrap_or_default()}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <DataTable
                columns=vec!["Group", "Members", "Console role", "External id"]
                testid="groups"
            >
                {rows}
            </DataTable>
        }
        .into_any()
    };
    view! {
        {form}
        {body}
    }
}

#[component]
fn NewGroupForm() -> impl IntoView {
    view! {
        <details class="panel create">
            <summary>"New group"</summary>
            <form method="post" action="/directory/groups" class="stacked-form">
                <div class="field">
                    <label for="g-name">"Group name"</label>
                    <input id="g-name" name="display_name" required />
                </div>
                <div class="field">
                    <label for="g-description">"Description"</label>
                    <input id="g-description" name="description" />
                </div>
                <button type="submit" class="primary">
                    "Create group"
                </button>
            </form>
        </details>
    }
}

#[component]
pub fn GroupDetailPage() -> impl IntoView {
    let query = use_query_map();
    let id = path_id();
    let group = Resource::new(
        move || (id(), query.read().get("page").and_then(|p| p.parse().ok())),
        |(id, page)| group_detail(id, page),
    );
    view! {
        <DirectoryTabs />
        <Flash />
        <Loaded
            data=group
            loading="Loading the group…"
            show=|data| view! { <GroupDetailView data /> }
        />
    }
}

#[component]
fn GroupDetailView(data: GroupView) -> impl IntoView {
    let GroupView {
        group: g,
        can_manage,
        page,
        pages,
    } = data;
    let count = g.member_count;
    let id = g.id.clone();
    let pager = (pages > 1).then(|| {
        let link = |to: usize| format!("/directory/groups/{id}?page={to}");
        view! {
            <nav class="pager" aria-label="Pages of members">
                <span data-testid="members-range">{format!("Page {page} of {pages}")}</span>
                {(page > 1).then(|| view! { <A href=link(page - 1)>"« Previous"</A> })}
                {(page < pages).then(|| view! { <A href=link(page + 1)>"Next »"</A> })}
            </nav>
        }
    });
    let members = g
        .members
        .into_iter()
        .map(|m| {
            let remove = can_manage.then(|| {
                view! {
                    <Confirm
                        label="Remove"
                        action=format!("/directory/groups/{id}/members/{}/remove", m.user_id)
                        consequence=format!(
                            "{} leaves {}{}.",
                            m.user_name,
                            g.name,
                            g
                                .role
                                .map(|r| {
                                    format!(
                                        " and loses the role {} it gives (unless held another way)",
                                        r.label(),
                                    )
                                })
                                .unwrap_or_default(),
                        )
                        confirm="Yes, remove"
                    />
                }
            });
            let label = m.user_name.clone();
            view! {
                <li data-member=m.user_name.clone()>
                    <A href=format!("/directory/users/{}", m.user_id)>{label}</A>
                    {remove}
                </li>
            }
        })
        .collect_view();
    let add = can_manage.then(|| {
        view! {
            <form
                method="post"
                action=format!("/directory/groups/{id}/members")
                class="inline-form"
            >
                <label for="add-member">"Add a member by user name"</label>
                <input
                    id="add-member"
                    name="user_name"
                    required
                    placeholder="ann@example.com"
                    autocomplete="off"
                />
                <button type="submit" class="primary">
                    "Add member"
                </button>
            </form>
        }
    });
    let role = g
        .role
        .map(|r| format!("Members hold the console role {}.", r.label()))
        .unwrap_or_else(|| "This group gives no console role.".into());
    view! {
        <leptos_meta::Title text=g.name.clone() />
        <div class="page-header">
            <h1>{g.name.clone()}</h1>
            <p class="subtitle">{format!("{count} members · {role}")}</p>
        </div>
        <section class="panel">
            {add} <ul data-testid="group-members" class="member-list">
                {members}
            </ul> {pager}
        </section>
    }
}
