//! The page for an address that leads nowhere, answered with status 404.

use crate::error::set_response_status;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    set_response_status(404);
    view! {
        <leptos_meta::Title text="Page not found" />
        <main class="standalone">
            <section class="card" data-testid="not-found">
                <h1>"Page not found"</h1>
                <p>
                    "Nothing lives at this address. It may have moved, or the link may be mistyped."
                </p>
                <p>
                    <a href="/">"Go to the console"</a>
                </p>
            </section>
        </main>
    }
}
