//! The console's frame: the header with the signed-in user, the navigation, and the
//! check that the user's role may see the page inside.

use crate::entry_points::page_at;
use crate::error::{AppError, set_response_status};
use crate::session::{SessionUser, current_user, sign_in_url};
use domain::access::{Decision, Permission, Rights, Role};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;

/// The tabs, in the order an admin reads them, with the permission each needs.
pub const TABS: &[(&str, &str, Permission)] = &[
    ("/flows", "Flows", Permission::ViewFlows),
    ("/tables", "Tables", Permission::ViewTables),
    ("/executions", "Executions", Permission::ViewExecutions),
    ("/directory/users", "Directory", Permission::ViewDirectory),
    ("/assignments", "Assignments", Permission::ViewAssignments),
    ("/connections", "Connections", Permission::ViewConnections),
    ("/system-log", "System Log", Permission::ViewSystemLog),
    ("/settings", "Settings", Permission::ViewSettings),
];

/// The signed-in user, for pages inside the console.
pub type UserResource = Resource<Result<Option<SessionUser>, AppError>>;

#[component]
pub fn Console() -> impl IntoView {
    let location = use_location();
    // Asked again at every navigation, so a session that ended (a role change, a
    // deactivation, sign-out elsewhere) sends the person to sign-in on their next click.
    let user: UserResource = Resource::new(move || location.pathname.get(), |_| current_user());
    provide_context(user);

    view! {
        <Transition fallback=|| {
            view! { <p class="loading">"Loading…"</p> }
        }>
            {move || Suspend::new(async move {
                match user.await {
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                    Ok(None) => {
                        let next = location.pathname.get_untracked();
                        view! { <Redirect path=sign_in_url(&next) /> }.into_any()
                    }
                    Ok(Some(me)) => view! { <Frame me /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Frame(me: SessionUser) -> impl IntoView {
    let role = me.role;
    let rights = me.rights.clone();
    let location = use_location();
    let allowed = {
        let rights = rights.clone();
        Memo::new(move |_| {
            page_at(&location.pathname.get())
                .map(|page| page.access.decide(Some(&rights)) == Decision::Allow)
                .unwrap_or(false)
        })
    };

    view! {
        <a class="skip-link" href="#main">
            "Skip to content"
        </a>
        <header class="top-bar">
            <A href="/" attr:class="brand">
                "idflow"
            </A>
            <div class="who" data-testid="current-user">
                <span class="who-name">{me.name.clone()}</span>
                <span class="role-badge" data-testid="current-role">
                    {role.label()}
                </span>
                <form method="post" action="/auth/sign-out" class="sign-out">
                    <button type="submit" class="link-button">
                        "Sign out"
                    </button>
                </form>
            </div>
        </header>
        <div class="layout">
            <Nav rights />
            <main id="main" class="content">
                <Show when=move || allowed.get() fallback=move || view! { <Forbidden role /> }>
                    <Outlet />
                </Show>
            </main>
        </div>
    }
}

#[component]
fn Nav(rights: Rights) -> impl IntoView {
    let tabs = TABS
        .iter()
        .filter(|(_, _, permission)| rights.allows(*permission))
        .map(|(href, label, _)| {
            let section = href.split('/').nth(1).unwrap_or_default();
            view! {
                <li>
                    <A href=*href attr:data-section=section>
                        {*label}
                    </A>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="side-nav" aria-label="Console">
            <ul>{tabs}</ul>
        </nav>
    }
}

/// Shown, with status 403, when the user's role may not see the page.
#[component]
pub fn Forbidden(role: Role) -> impl IntoView {
    set_response_status(403);
    view! {
        <section class="notice" data-testid="forbidden">
            <h1>"You don't have access to this page"</h1>
            <p>
                {format!("Your role is {}. ", role.label())}
                "Ask a Super Admin to give you a role that includes it."
            </p>
            <p>
                <A href="/">"Back to the start page"</A>
            </p>
        </section>
    }
}

/// An error a page could not get past, with the status it stands for.
#[component]
pub fn ErrorPage(error: AppError) -> impl IntoView {
    set_response_status(error.status());
    let sign_in = matches!(error, AppError::SignInRequired);
    view! {
        <section class="notice error" role="alert" data-testid="error-page">
            <h1>"This page could not be shown"</h1>
            <p>{error.to_string()}</p>
            {sign_in
                .then(|| {
                    view! {
                        <p>
                            <a href="/sign-in">"Sign in"</a>
                        </p>
                    }
                })}
        </section>
    }
}

/// A page heading with a one-line explanation.
#[component]
pub fn PageHeader(title: &'static str, #[prop(optional)] subtitle: &'static str) -> impl IntoView {
    view! {
        <leptos_meta::Title text=title />
        <div class="page-header">
            <h1>{title}</h1>
            {(!subtitle.is_empty()).then(|| view! { <p class="subtitle">{subtitle}</p> })}
        </div>
    }
}

/// What an area shows when it has nothing yet: what will be here and what to do.
#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="empty-state">
            <h2>{title}</h2>
            {children()}
        </div>
    }
}

/// A moment as the console shows it, or "never".
pub fn when(time: Option<chrono::DateTime<chrono::Utc>>) -> String {
    time.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".to_string())
}
