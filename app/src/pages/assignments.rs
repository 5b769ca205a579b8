//! The Assignments view: the console as an app, with the users and groups assigned to
//! it, each user's role and where it comes from. Changes are plain form posts to
//! `/assignments/…` (see the server's `assignments` module), so the page works without
//! JavaScript.

use crate::assignments::{AssignmentsView, load_assignments};
use crate::console::{Confirm, DataTable, EmptyState, Flash, Loaded, PageHeader, when};
use domain::access::Role;
use domain::assignments::{AssignedUser, MappedGroup};
use leptos::prelude::*;
use leptos_router::components::A;

/// A role picker. Super Admin is offered only to those who may give it.
#[component]
fn RoleSelect(
    id: String,
    #[prop(optional)] selected: Option<Role>,
    super_admin: bool,
    #[prop(optional)] unassigned: bool,
) -> impl IntoView {
    let options = Role::ALL
        .into_iter()
        .filter(|r| super_admin || *r != Role::SuperAdmin)
        .filter(|r| unassigned || *r != Role::UnassignedUser)
        .map(|r| {
            view! {
                <option value=r.as_str() selected=selected == Some(r)>
                    {r.label()}
                </option>
            }
        })
        .collect_view();
    // With nothing chosen yet, ask: a form must never default to the strongest role.
    let ask = selected.is_none().then(|| {
        view! {
            <option value="" selected disabled>
                "Choose a role…"
            </option>
        }
    });
    view! {
        <select id=id name="role" required>
            {ask}
            {options}
        </select>
    }
}

#[component]
pub fn AssignmentsPage() -> impl IntoView {
    let view_data = Resource::new(|| (), |_| load_assignments());
    view! {
        <PageHeader
            title="Assignments"
            subtitle="Who is assigned to the idflow console, with which role, and through which path."
        />
        <Flash />
        <p class="toolbar">
            <a
                class="button"
                href="/assignments/access-review.csv"
                download
                rel="external"
                data-testid="export-access-review"
            >
                "Export access review (CSV)"
            </a>
        </p>
        <Loaded
            data=view_data
            loading="Loading assignments…"
            show=|data| view! { <AssignmentsBody data /> }
        />
    }
}

#[component]
fn AssignmentsBody(data: AssignmentsView) -> impl IntoView {
    let AssignmentsView {
        assignments,
        unmapped_groups,
        can_manage,
        can_manage_super_admins: sa,
    } = data;
    let nobody = assignments.users.is_empty() && assignments.groups.is_empty();
    let direct: Vec<(String, String)> = assignments
        .users
        .iter()
        .filter(|u| u.is_direct())
        .map(|u| (u.id.to_string(), u.user_name.clone()))
        .collect();
    let mapped: Vec<(String, String)> = assignments
        .groups
        .iter()
        .map(|g| (g.id.to_string(), format!("{} ({})", g.name, g.role.label())))
        .collect();
    view! {
        {can_manage
            .then(|| {
                view! {
                    <section class="panel">
                        <h2>"Assign a user"</h2>
                        <form method="post" action="/assignments/users" class="inline-form">
                            <label for="assign-user">"User name"</label>
                            <input
                                id="assign-user"
                                name="user_name"
                                required
                                placeholder="ann@example.com"
                                autocomplete="off"
                            />
                            <label for="assign-role" class="visually-hidden">
                                "Role"
                            </label>
                            <RoleSelect id="assign-role".into() super_admin=sa />
                            <button type="submit" class="primary">
                                "Assign"
                            </button>
                        </form>
                    </section>
                }
            })}
        {nobody
            .then(|| {
                view! {
                    <EmptyState title="No one is assigned yet">
                        <p>
                            "Assign a user a role, or map a group to a role so that every member holds it. Users without a role can sign in but see nothing."
                        </p>
                    </EmptyState>
                }
            })}
        {(!assignments.users.is_empty())
            .then(|| view! { <UsersTable users=assignments.users.clone() can_manage sa /> })}
        <section class="panel">
            <h2>"Groups mapped to a role"</h2>
            <p class="subtitle">
                "Push group: every member of the group holds its role, as long as they are a member."
            </p>
            {if assignments.groups.is_empty() {
                view! { <p>"No group is mapped to a role yet."</p> }.into_any()
            } else {
                view! { <GroupsTable groups=assignments.groups.clone() can_manage sa /> }.into_any()
            }}
            {(can_manage && !unmapped_groups.is_empty())
                .then(|| {
                    let options = unmapped_groups
                        .into_iter()
                        .map(|(id, name)| view! { <option value=id>{name}</option> })
                        .collect_view();
                    view! {
                        <form method="post" action="/assignments/groups" class="inline-form">
                            <label for="map-group">"Map a group to a role"</label>
                            <select id="map-group" name="group_id" required>
                                {options}
                            </select>
                            <label for="map-role" class="visually-hidden">
                                "Role"
                            </label>
                            <RoleSelect id="map-role".into() super_admin=sa />
                            <button type="submit" class="primary">
                                "Map group"
                            </button>
                        </form>
                    }
                })}
        </section>
        {(can_manage && !direct.is_empty() && !mapped.is_empty())
            .then(|| view! { <ConvertForm direct mapped /> })}
    }
}

fn source(u: &AssignedUser) -> String {
    let mut paths = Vec::new();
    if u.is_direct() {
        paths.push(format!("Direct ({})", u.direct_role.label()));
    }
    for g in &u.via_groups {
        paths.push(format!("Group {} ({})", g.group_name, g.role.label()));
    }
    paths.join(" · ")
}

/// A row's "Change role" form: a role picker (named `label` for screen readers), posted
/// to `action` with the group's id when it is a group's.
#[component]
fn ChangeRole(
    action: String,
    #[prop(optional)] group_id: Option<String>,
    select_id: String,
    label: String,
    selected: Role,
    super_admin: bool,
) -> impl IntoView {
    view! {
        <form method="post" action=action class="row-form">
            {group_id.map(|id| view! { <input type="hidden" name="group_id" value=id /> })}
            <label for=select_id.clone() class="visually-hidden">
                {label}
            </label>
            <RoleSelect id=select_id selected super_admin />
            <button type="submit">"Change role"</button>
        </form>
    }
}

#[component]
fn UsersTable(users: Vec<AssignedUser>, can_manage: bool, sa: bool) -> impl IntoView {
    let rows = users
        .into_iter()
        .map(|u| {
            let id = u.id.to_string();
            let may_touch = sa || u.direct_role != Role::SuperAdmin;
            let actions = can_manage
                .then(|| {
                    let direct = u.is_direct().then(|| {
                        view! {
                            <ChangeRole
                                action=format!("/assignments/users/{id}/role")
                                select_id=format!("role-{id}")
                                label=format!("Role of {}", u.user_name)
                                selected=u.direct_role
                                super_admin=sa
                            />
                            <Confirm
                                label="Unassign"
                                action=format!("/assignments/users/{id}/unassign")
                                consequence=format!(
                                    "{} loses the direct role {} and is signed out. Roles through groups stay.",
                                    u.user_name,
                                    u.direct_role.label(),
                                )
                                confirm="Yes, unassign"
                            />
                        }
                    });
                    view! {
                        {may_touch.then_some(direct).flatten()}
                        <form
                            method="post"
                            action=format!("/assignments/users/{id}/provision")
                            class="row-form"
                        >
                            <button type="submit">"Provision user"</button>
                        </form>
                    }
                });
            let name = u.user_name.clone();
            view! {
                <tr data-user=u.user_name.clone()>
                    <td>
                        <A href=format!("/directory/users/{id}")>{name}</A>
                        {u.display_name.clone().map(|n| view! { <span class="muted">{n}</span> })}
                    </td>
                    <td data-testid="effective-role">{u.effective_role().label()}</td>
                    <td data-testid="source">{source(&u)}</td>
                    <td>
                        <span class=format!(
                            "status status-{}",
                            u.status,
                        )>{u.status.to_string()}</span>
                    </td>
                    <td>{when(u.last_provisioned_at)}</td>
                    <td>{when(u.last_sign_in_at)}</td>
                    {can_manage.then(|| view! { <td class="actions">{actions}</td> })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"Users"</h2>
            <DataTable
                columns=vec!["User", "Role", "Source", "Status", "Last provisioned", "Last sign-in"]
                last=can_manage.then_some("Actions")
                testid="assigned-users"
            >
                {rows}
            </DataTable>
        </section>
    }
}

#[component]
fn GroupsTable(groups: Vec<MappedGroup>, can_manage: bool, sa: bool) -> impl IntoView {
    let rows = groups
        .into_iter()
        .map(|g| {
            let id = g.id.to_string();
            let may_touch = sa || g.role != Role::SuperAdmin;
            let actions = (can_manage && may_touch)
                .then(|| {
                    view! {
                        <ChangeRole
                            action="/assignments/groups".to_string()
                            group_id=id.clone()
                            select_id=format!("group-role-{id}")
                            label=format!("Role of group {}", g.name)
                            selected=g.role
                            super_admin=sa
                        />
                        <Confirm
                            label="Remove mapping"
                            action=format!("/assignments/groups/{id}/unmap")
                            consequence=format!(
                                "The {} members of {} lose the role {} (unless they hold it another way) and are signed out.",
                                g.members,
                                g.name,
                                g.role.label(),
                            )
                            confirm="Yes, remove the mapping"
                        />
                    }
                });
            let name = g.name.clone();
            view! {
                <tr data-group=g.name.clone()>
                    <td>
                        <A href=format!("/directory/groups/{id}")>{name}</A>
                    </td>
                    <td>{g.role.label()}</td>
                    <td>{g.members}</td>
                    <td>{when(Some(g.mapped_at))}</td>
                    {can_manage.then(|| view! { <td class="actions">{actions}</td> })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            columns=vec!["Group", "Role", "Members", "Mapped"]
            last=can_manage.then_some("Actions")
            testid="mapped-groups"
        >
            {rows}
        </DataTable>
    }
}

/// Convert assignments: chosen directly assigned users join a mapped group and lose
/// their direct role.
#[component]
fn ConvertForm(direct: Vec<(String, String)>, mapped: Vec<(String, String)>) -> impl IntoView {
    let groups = mapped
        .into_iter()
        .map(|(id, label)| view! { <option value=id>{label}</option> })
        .collect_view();
    let users = direct
        .into_iter()
        .map(|(id, name)| {
            let field = format!("convert-{id}");
            view! {
                <li>
                    <input type="checkbox" id=field.clone() name="user_id" value=id />
                    <label for=field class="inline">
                        {name}
                    </label>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="panel">
            <details>
                <summary>
                    <h2 class="inline">"Convert assignments"</h2>
                </summary>
                <p class="subtitle">
                    "Move direct assignments under a group: each chosen user joins the group and loses their direct role, so they hold the group's role instead."
                </p>
                <form method="post" action="/assignments/convert">
                    <label for="convert-group">"Group"</label>
                    <select id="convert-group" name="group_id" required>
                        {groups}
                    </select>
                    <fieldset>
                        <legend>"Users to convert"</legend>
                        <ul class="checklist">{users}</ul>
                    </fieldset>
                    <button type="submit" class="primary">
                        "Convert assignments"
                    </button>
                </form>
            </details>
        </section>
    }
}
