//! The idflow console: routes, pages, components and server functions.
//!
//! Every page renders on the server first (so it works without JavaScript) and is then
//! hydrated by the `frontend` crate. Who may see what is decided by
//! [`entry_points`], never by hiding a link.
#![forbid(unsafe_code)]
// The console's typed views nest deeply; without `--cfg erase_components` (release
// builds) laying them out needs a deeper limit than the default.
#![recursion_limit = "256"]

pub mod api_reference;
pub mod assignments;
pub mod builder;
pub mod connections;
pub mod console;
pub mod directory;
pub mod entry_points;
pub mod error;
pub mod executions;
pub mod flows;
pub mod pages;
pub mod session;
pub mod settings;
pub mod system_log;
pub mod tables;
pub mod theme;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme::chosen()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="data:," />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The policy of a console page: scripts only from idflow itself or inline with this
/// response's nonce (the hydration scripts Leptos writes carry it), WebAssembly allowed to
/// compile, no framing. Set on the response before its first byte goes out.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let Some(nonce) = leptos::nonce::use_nonce() else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    );
    if let (Some(options), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(&policy),
    ) {
        options.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Marks the page once the WASM has taken it over, every part of it hydrated (the page's
/// own WASM file loaded first, for a lazily loaded route), so tests (and people
/// debugging) can tell a working page from server-rendered HTML.
pub fn mark_hydrated() {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    console::install_busy_forms();
    // A page opened for the first time may fetch its own WASM file before it shows: say so.
    let (navigating, set_navigating) = signal(false);

    view! {
        <Title formatter=|title: String| {
            if title.is_empty() { "idflow".to_string() } else { format!("{title} · idflow") }
        } />
        <Router set_is_routing=set_navigating>
            <div
                class="navigating"
                role="status"
                data-testid="navigating"
                hidden=move || !navigating.get()
            >
                "Loading the page…"
            </div>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/sign-in") view=pages::sign_in::SignInPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=console::Console ssr=SsrMode::Async>
                    <Route path=path!("") view=pages::home::HomePage />
                    <Route path=path!("flows") view=pages::flows::FlowsPage />
                    <Route path=path!("flows/new") view=Builder::route() />
                    <Route path=path!("flows/:id/edit") view=Builder::route() />
                    <Route path=path!("flows/:id/versions") view=Versions::route() />
                    <Route path=path!("flows/:id/test") view=TestFlow::route() />
                    <Route path=path!("flows/:id/api") view=pages::flows::ApiPage />
                    <Route path=path!("tables") view=Tables::route() />
                    <Route path=path!("tables/:id") view=Table::route() />
                    <Route path=path!("executions") view=Executions::route() />
                    <Route path=path!("executions/:id") view=Execution::route() />
                    <Route path=path!("directory") view=Users::route() />
                    <Route path=path!("directory/users") view=Users::route() />
                    <Route path=path!("directory/users/:id") view=UserDetail::route() />
                    <Route path=path!("directory/groups") view=Groups::route() />
                    <Route path=path!("directory/groups/:id") view=GroupDetail::route() />
                    <Route path=path!("assignments") view=Assignments::route() />
                    <Route path=path!("connections") view=Connections::route() />
                    <Route path=path!("connections/:id") view=Connection::route() />
                    <Route path=path!("system-log") view=pages::system_log::SystemLogPage />
                    <Route path=path!("settings") view=pages::settings::SettingsPage />
                    <Route path=path!("api-reference") view=ApiReference::route() />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Routes whose page is a WASM file of its own, fetched the first time it opens (and
/// before hydrating, when the page is loaded directly): the Flows tab and what every
/// console page shows need only the main file. Code that several pages share comes in a
/// file of its own. The pages that show a new secret once (Settings' tokens, a flow's API
/// page) stay in the main file: a form sent on a lazily loaded page before it finished
/// hydrating was seen to lose the secret shown after it (under test load, not alone).
/// System Log too, for now: lazily loaded, it exposed a sign-out race (a request in
/// flight wrote the ended session back), since fixed in the session store
/// (`server/src/sessions.rs`); splitting it again would save about 14 KB.
macro_rules! lazy_page {
    ($($(#[$doc:meta])* $route:ident => $($page:ident)::+;)+) => {$(
        $(#[$doc])*
        pub struct $route;

        impl $route {
            fn route() -> Lazy<$route> {
                Lazy::new()
            }
        }

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let $route = this;
                view! { <$($page)::+ /> }.into_any()
            }
        }
    )+};
}

lazy_page! {
    /// The flow builder: the canvas, the palette, the card editor.
    Builder => pages::builder::BuilderPage;
    Versions => pages::flows::VersionsPage;
    TestFlow => pages::flows::TestPage;
    Tables => pages::tables::TablesPage;
    Table => pages::tables::TablePage;
    Executions => pages::executions::ExecutionsPage;
    Execution => pages::executions::ExecutionPage;
    Users => pages::directory::UsersPage;
    UserDetail => pages::directory::UserDetailPage;
    Groups => pages::directory::GroupsPage;
    GroupDetail => pages::directory::GroupDetailPage;
    Assignments => pages::assignments::AssignmentsPage;
    Connections => pages::connections::ConnectionsPage;
    Connection => pages::connections::ConnectionPage;
    ApiReference => pages::api_reference::ApiReferencePage;
}
