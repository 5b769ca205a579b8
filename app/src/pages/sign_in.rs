//! The sign-in page. The form posts to `/auth/sign-in` as a plain HTML form, so it works
//! the same with and without JavaScript; the server answers with a redirect back here
//! carrying an `error` code when sign-in fails. When an identity provider is set up, a
//! "Sign in with …" link starts single sign-on (`/auth/oidc/start`); the local form stays
//! for the bootstrap admin and anyone else with a local password.

use crate::session::{is_safe_next, sign_in_options};
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
        "sso-off" => "Single sign-on is not set up. Sign in with your email and password.",
        "sso-next" => {
            "That sign-in link would send you to another site afterwards, so idflow refused it. \
             Start again from this page."
        }
        "sso-state" => {
            "This sign-in does not match one started in this browser (it expired, was used \
             already, or came from somewhere else). You are not signed in; start again."
        }
        "sso-denied" => {
            "Your identity provider did not sign you in (it refused or you cancelled). \
             Try again, or ask your administrator whether idflow is assigned to you there."
        }
        "sso-unavailable" => {
            "idflow cannot reach your identity provider right now. Try again in a moment, \
             or sign in with your email and password."
        }
        "sso-rejected" => {
            "Your identity provider's answer did not pass idflow's checks, so you are not \
             signed in. Ask your administrator to check the single sign-on settings \
             (the System Log has the reason)."
        }
        "sso-unverified" => {
            "Your identity provider did not confirm your email address is verified, so idflow \
             cannot tell which user you are. Ask your administrator."
        }
        "sso-ambiguous" => {
            "More than one idflow user has your email address. Ask your administrator to make \
             it unique."
        }
        "sso-privileged" => {
            "Your email names an idflow administrator who has no local password to confirm \
             the link with. Ask an operator to set one (idflow admin reset-password), then sign \
             in with your identity provider again."
        }
        "sso-link-expired" => {
            "The link to confirm has expired or was already used. Sign in with your identity \
             provider again."
        }
        "sso-linked" => {
            "Your idflow user already signs in with another account at this identity provider. \
             Ask your administrator."
        }
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
    // A first single sign-on that names an administrator waits for that account's own
    // password (`/auth/oidc/link`); the names shown come from the address, the link itself
    // from the session.
    let linking = move || query.read().get("link").as_deref() == Some("confirm");
    let account = move || query.read().get("account").unwrap_or_default();
    let provider = move || {
        query
            .read()
            .get("provider")
            .unwrap_or_else(|| "your identity provider".into())
    };
    let options = Resource::new(|| (), |_| sign_in_options());
    let sso_start = move || format!("/auth/oidc/start?next={}", urlencoding::encode(&next()));

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
                <Show when=linking>
                    <div data-testid="confirm-link">
                        <p>
                            {move || {
                                format!(
                                    "{} says you are {}, who administers idflow. Enter that account's idflow password once to link the two; after that, signing in with {} is enough.",
                                    provider(),
                                    if account().is_empty() {
                                        "an idflow user".to_string()
                                    } else {
                                        account()
                                    },
                                    provider(),
                                )
                            }}
                        </p>
                        <form method="post" action="/auth/oidc/link">
                            <label for="link-password">"Your idflow password"</label>
                            <input
                                id="link-password"
                                name="password"
                                type="password"
                                autocomplete="current-password"
                                required
                            />
                            <button type="submit" class="primary">
                                "Confirm and sign in"
                            </button>
                        </form>
                        <p class="divider">
                            <span>"or sign in another way"</span>
                        </p>
                    </div>
                </Show>
                <Suspense>
                    {move || {
                        options
                            .get()
                            .and_then(Result::ok)
                            .flatten()
                            .map(|provider| {
                                view! {
                                    <a
                                        class="button primary sso"
                                        href=sso_start
                                        rel="external"
                                        data-testid="sso"
                                    >
                                        {format!("Sign in with {provider}")}
                                    </a>
                                    <p class="divider">
                                        <span>"or with a local password"</span>
                                    </p>
                                }
                            })
                    }}
                </Suspense>
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
