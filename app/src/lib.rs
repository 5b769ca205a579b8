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

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the page once the WASM has taken over, so tests (and people debugging) can
    // tell a hydrated page from server-rendered HTML.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    console::install_busy_forms();

    view! {
        <Title formatter=|title: String| {
            if title.is_empty() { "idflow".to_string() } else { format!("{title} · idflow") }
        } />
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/sign-in") view=pages::sign_in::SignInPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=console::Console ssr=SsrMode::Async>
                    <Route path=path!("") view=pages::home::HomePage />
                    <Route path=path!("flows") view=pages::flows::FlowsPage />
                    <Route path=path!("flows/new") view=Lazy::<Builder>::new() />
                    <Route path=path!("flows/:id/edit") view=Lazy::<Builder>::new() />
                    <Route path=path!("flows/:id/versions") view=pages::flows::VersionsPage />
                    <Route path=path!("flows/:id/test") view=pages::flows::TestPage />
                    <Route path=path!("flows/:id/api") view=pages::flows::ApiPage />
                    <Route path=path!("tables") view=pages::tables::TablesPage />
                    <Route path=path!("tables/:id") view=pages::tables::TablePage />
                    <Route path=path!("executions") view=pages::executions::ExecutionsPage />
                    <Route path=path!("executions/:id") view=pages::executions::ExecutionPage />
                    <Route path=path!("directory") view=pages::directory::UsersPage />
                    <Route path=path!("directory/users") view=pages::directory::UsersPage />
                    <Route
                        path=path!("directory/users/:id")
                        view=pages::directory::UserDetailPage
                    />
                    <Route path=path!("directory/groups") view=pages::directory::GroupsPage />
                    <Route
                        path=path!("directory/groups/:id")
                        view=pages::directory::GroupDetailPage
                    />
                    <Route path=path!("assignments") view=pages::assignments::AssignmentsPage />
                    <Route path=path!("connections") view=pages::connections::ConnectionsPage />
                    <Route path=path!("connections/:id") view=pages::connections::ConnectionPage />
                    <Route path=path!("system-log") view=pages::system_log::SystemLogPage />
                    <Route path=path!("settings") view=pages::settings::SettingsPage />
                    <Route
                        path=path!("api-reference")
                        view=pages::api_reference::ApiReferencePage
                    />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The flow builder's route. Its code (the canvas, the palette, the card editor and what
/// only they use) is a WASM file of its own, fetched the first time a builder opens: the
/// rest of the console does not wait for it.
pub struct Builder;

#[lazy_route]
impl LazyRoute for Builder {
    fn data() -> Self {
        Builder
    }

    fn view(this: Self) -> AnyView {
        let Builder = this;
        view! { <pages::builder::BuilderPage /> }.into_any()
    }
}
