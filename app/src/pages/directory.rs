//! The Directory: users and groups as the identity provider (or the console) made them,
//! with each user's groups and the directory events about them. Read-only for now:
//! local create/edit/suspend/deactivate come next.

use crate::console::{EmptyState, ErrorPage, PageHeader, when};
use crate::error::AppError;
use domain::access::Role;
use domain::directory::{DirectoryEvent, Member, UserStatus};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

pub const USERS_PATH: &str = "/api/directory/users";
pub const USER_PATH: &str = "/api/directory/user";
pub const GROUPS_PATH: &str = "/api/directory/groups";
pub const GROUP_PATH: &str = "/api/directory/group";

/// Users per page of the list.
pub const PAGE_SIZE: usize = 25;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub user_name: String,
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
    pub status: UserStatus,
    pub last_sign_in_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_provisioned_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<&domain::directory::User> for UserSummary {
    fn from(u: &domain::directory::User) -> Self {
        UserSummary {
            id: u.id.to_string(),
            user_name: u.user_name.clone(),
            name: u.shown_name().to_string(),
            email: u.email.clone(),
            role: u.role,
            status: u.status,
            last_sign_in_at: u.last_sign_in_at,
            last_provisioned_at: u.last_provisioned_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<UserSummary>,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: UserSummary,
    pub external_id: Option<String>,
    /// The SCIM attributes as provisioned, pretty-printed.
    pub attributes: String,
    pub groups: Vec<(String, String)>,
    /// Newest first.
    pub events: Vec<DirectoryEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub members: Vec<Member>,
}

/// Users whose name, userName or email contains `q` (ignoring case), with `status`
/// (empty for any), page `page` (from 1).
#[server(endpoint = "directory/users")]
pub async fn find_users(q: String, status: String, page: usize) -> Result<UsersPage, AppError> {
    let store = crate::session::store()?;
    let q = q.trim().to_lowercase();
    let status: Option<UserStatus> = match status.as_str() {
        "" => None,
        s => Some(
            s.parse()
                .map_err(|_| AppError::BadRequest(format!("Unknown status {s:?}.")))?,
        ),
    };
    let matching: Vec<UserSummary> = store
        .all_users()
        .await
        .map_err(AppError::from_store)?
        .iter()
        .filter(|u| status.is_none_or(|s| u.status == s))
        .filter(|u| {
            q.is_empty()
                || u.user_name.to_lowercase().contains(&q)
                || u.shown_name().to_lowercase().contains(&q)
                || u.email
                    .as_deref()
                    .is_some_and(|e| e.to_lowercase().contains(&q))
        })
        .map(UserSummary::from)
        .collect();
    let total = matching.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let users = matching
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    Ok(UsersPage {
        users,
        total,
        page,
        pages,
    })
}

#[server(endpoint = "directory/user")]
pub async fn load_user_detail(id: String) -> Result<UserDetail, AppError> {
    let store = crate::session::store()?;
    let not_found = || AppError::NotFound(format!("No user has the id {id}."));
    let uuid = uuid::Uuid::parse_str(&id).map_err(|_| not_found())?;
    let user = store
        .user(domain::directory::UserId(uuid))
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(not_found)?;
    let groups = store
        .groups_of(user.id)
        .await
        .map_err(AppError::from_store)?;
    let mut events = store
        .directory_events_about(uuid)
        .await
        .map_err(AppError::from_store)?;
    events.reverse();
    events.truncate(50);
    Ok(UserDetail {
        user: UserSummary::from(&user),
        external_id: user.external_id.clone(),
        attributes: serde_json::to_string_pretty(&user.attributes).unwrap_or_default(),
        groups: groups
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
        events,
    })
}

#[server(endpoint = "directory/groups")]
pub async fn all_groups() -> Result<Vec<GroupSummary>, AppError> {
    let store = crate::session::store()?;
    Ok(store
        .all_groups()
        .await
        .map_err(AppError::from_store)?
        .into_iter()
        .map(|g| GroupSummary {
            id: g.id.to_string(),
            name: g.display_name,
            external_id: g.external_id,
            members: g.members,
        })
        .collect())
}

#[server(endpoint = "directory/group")]
pub async fn group_detail(id: String) -> Result<GroupSummary, AppError> {
    let store = crate::session::store()?;
    let not_found = || AppError::NotFound(format!("No group has the id {id}."));
    let uuid = uuid::Uuid::parse_str(&id).map_err(|_| not_found())?;
    let g = store
        .group(domain::directory::GroupId(uuid))
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(not_found)?;
    Ok(GroupSummary {
        id: g.id.to_string(),
        name: g.display_name,
        external_id: g.external_id,
        members: g.members,
    })
}

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
            subtitle="Users and groups, provisioned by your identity provider over SCIM."
        />
        <DirectoryTabs />
        <form method="get" action="/directory/users" class="inline-form" role="search">
            <label for="user-search" class="visually-hidden">
                "Search users"
            </label>
            <input
                id="user-search"
                name="q"
                type="search"
                placeholder="Name, userName or email"
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
        <Suspense fallback=|| {
            view! { <p class="loading">"Loading users…"</p> }
        }>
            {move || Suspend::new(async move {
                match users.await {
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                    Ok(list) if list.total == 0 && q().is_empty() && status().is_empty() => {
                        view! {
                            <EmptyState title="No users yet">
                                <p>
                                    "Users appear here when your identity provider provisions them over SCIM. Set that up in Settings → SCIM provisioning."
                                </p>
                            </EmptyState>
                        }
                            .into_any()
                    }
                    Ok(list) if list.total == 0 => {
                        view! {
                            <EmptyState title="No users match">
                                <p>"Try another name, or any status."</p>
                            </EmptyState>
                        }
                            .into_any()
                    }
                    Ok(list) => view! { <UserTable list q=q() status=status() /> }.into_any(),
                }
            })}
        </Suspense>
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
            {format!("{} users · page {} of {}", list.total, list.page, list.pages)}
        </p>
        <div class="table-scroll">
            <table class="data-table" data-testid="users">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"userName"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Last sign-in"</th>
                        <th scope="col">"Last provisioned"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
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

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        load_user_detail,
    );
    view! {
        <DirectoryTabs />
        <Suspense fallback=|| {
            view! { <p class="loading">"Loading the user…"</p> }
        }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                    Ok(d) => view! { <UserDetailView d /> }.into_any(),
                }
            })}
        </Suspense>
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
fn UserDetailView(d: UserDetail) -> impl IntoView {
    let u = d.user;
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
                <dd data-testid="user-role">{u.role.label()}</dd>
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
        <section class="panel">
            <h2>"Groups"</h2>
            <ul data-testid="user-groups">{groups}</ul>
        </section>
        <section class="panel">
            <h2>"Recent events"</h2>
            <div class="table-scroll">
                <table class="data-table" data-testid="user-events">
                    <thead>
                        <tr>
                            <th scope="col">"Time"</th>
                            <th scope="col">"Event"</th>
                            <th scope="col">"By"</th>
                            <th scope="col">"Changes"</th>
                        </tr>
                    </thead>
                    <tbody>{events}</tbody>
                </table>
            </div>
        </section>
        <section class="panel">
            <h2>"SCIM attributes"</h2>
            <pre class="json">{d.attributes}</pre>
        </section>
    }
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let groups = Resource::new(|| (), |_| all_groups());
    view! {
        <PageHeader
            title="Directory"
            subtitle="Users and groups, provisioned by your identity provider over SCIM."
        />
        <DirectoryTabs />
        <Suspense fallback=|| {
            view! { <p class="loading">"Loading groups…"</p> }
        }>
            {move || Suspend::new(async move {
                match groups.await {
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                    Ok(groups) if groups.is_empty() => {
                        view! {
                            <EmptyState title="No groups yet">
                                <p>
                                    "Groups appear here when your identity provider pushes them over SCIM."
                                </p>
                            </EmptyState>
                        }
                            .into_any()
                    }
                    Ok(groups) => {
                        let rows = groups
                            .into_iter()
                            .map(|g| {
                                let href = format!("/directory/groups/{}", g.id);
                                let label = g.name.clone();
                                view! {
                                    <tr data-group=g.name.clone()>
                                        <td>
                                            <A href=href>{label}</A>
                                        </td>
                                        <td>{g.members.len()}</td>
                                        <td>{g.external_id.clone().unwrap_or_default()}</td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <table class="data-table" data-testid="groups">
                                <thead>
                                    <tr>
                                        <th scope="col">"Group"</th>
                                        <th scope="col">"Members"</th>
                                        <th scope="col">"External id"</th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn GroupDetailPage() -> impl IntoView {
    let params = use_params_map();
    let group = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        group_detail,
    );
    view! {
        <DirectoryTabs />
        <Suspense fallback=|| {
            view! { <p class="loading">"Loading the group…"</p> }
        }>
            {move || Suspend::new(async move {
                match group.await {
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                    Ok(g) => {
                        let count = g.members.len();
                        let members = g
                            .members
                            .into_iter()
                            .map(|m| {
                                view! {
                                    <li>
                                        <A href=format!(
                                            "/directory/users/{}",
                                            m.user_id,
                                        )>{m.user_name}</A>
                                    </li>
                                }
                            })
                            .collect_view();
                        view! {
                            <leptos_meta::Title text=g.name.clone() />
                            <div class="page-header">
                                <h1>{g.name.clone()}</h1>
                                <p class="subtitle">{format!("{count} members")}</p>
                            </div>
                            <section class="panel">
                                <ul data-testid="group-members">{members}</ul>
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
