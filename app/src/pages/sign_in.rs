//! The sign-in page. The form posts to `/auth/sign-in` as a plain HTML form, so it works
//! the same with and without JavaScript; the server answers with a redirect back here
//! carrying an `error` code when sign-in fails.

use crate::session::is_safe_next;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The sentence for an `error` (or `notice`) code the server put in the address.
fn message_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "invalid" => "The email or password is not right.",
        "missing" => "Enter your email and password.",
        "locked" => "Too many failed sign-ins. Wait 15 minutes, then try again.",
        "inactive" => "This account cannot sign in right now. Ask an administrator.",
        "expired" => "Your session has ended. Sign in again.",
        "unavailable" => "idflow cannot reach its database right now. Try again in a moment.",
        _ => return None,
    })
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || {
        query
            .read()
            .get("next")
            .filter(|n| is_safe_next(n))
            .unwrap_or_else(|| "/".to_string())
    };
    let error = move || {
        query
            .read()
            .get("error")
            .and_then(|code| message_for(&code))
    };
    let signed_out = move || query.read().get("notice").as_deref() == Some("signed-out");
    let email = move || query.read().get("email").unwrap_or_default();

    view! {
        <leptos_meta::Title text="Sign in" />
        <main class="standalone">
            <section class="card sign-in">
                <h1>"Sign in to idflow"</h1>
                {move || {
                    error()
                        .map(|message| {
                            view! {
                                <p class="alert" role="alert" data-testid="sign-in-error">
                                    {message}
                                </p>
                            }
                        })
                }}
                {move || {
                    signed_out()
                        .then(|| {
                            view! {
                                <p class="info" role="status">
                                    "You are signed out."
                                </p>
                            }
                        })
                }}
                <form method="post" action="/auth/sign-in">
                    <input type="hidden" name="next" value=next />
                    <label for="email">"Email"</label>
                    <input
                        id="email"
                        name="email"
                        type="text"
                        inputmode="email"
                        autocomplete="username"
                        autocapitalize="none"
                        spellcheck="false"
                        required
                        prop:value=email
                        value=email
                    />
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                    />
                    <button type="submit" class="primary">
                        "Sign in"
                    </button>
                </form>
            </section>
        </main>
    }
}
