//! Settings: SCIM provisioning (the base URL to give the identity provider, and its
//! bearer tokens). Tokens are made and revoked by plain form posts to the server
//! (`/settings/scim-tokens…`), so the page works the same with and without JavaScript;
//! a new token comes back through the session and is shown exactly once.

use crate::console::{EmptyState, ErrorPage, PageHeader, when};
use crate::error::AppError;
use crate::session::NewScimToken;
use domain::scim::token::ScimToken;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

pub const SCIM_TOKENS_PATH: &str = "/api/settings/scim-tokens";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimSettings {
    /// The SCIM base URL an identity provider needs.
    pub base_url: String,
    pub tokens: Vec<ScimToken>,
    /// A token made just now, shown this once.
    pub new_token: Option<NewScimToken>,
    /// Whether the viewer may make and revoke tokens.
    pub can_manage: bool,
}

#[server(endpoint = "settings/scim-tokens")]
pub async fn load_scim_settings() -> Result<ScimSettings, AppError> {
    use domain::access::Permission;
    let store = crate::session::store()?;
    let viewer = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let base = use_context::<crate::session::PublicUrl>()
        .map(|u| u.0)
        .unwrap_or_default();
    let tokens = store.scim_tokens().await.map_err(AppError::from_store)?;
    let session = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<tower_sessions::Session>().cloned())
        .ok_or_else(|| AppError::internal("no session in the request"))?;
    let once = use_context::<crate::session::NewScimTokenOnce>().unwrap_or_default();
    let mut taken = once.0.lock().await;
    if taken.is_none() {
        let token = session
            .remove::<NewScimToken>(crate::session::NEW_SCIM_TOKEN_KEY)
            .await
            .map_err(AppError::internal)?;
        *taken = Some(token);
    }
    let new_token = taken.clone().flatten();
    Ok(ScimSettings {
        base_url: format!("{base}/scim/v2"),
        tokens,
        new_token,
        can_manage: viewer.rights.allows(Permission::ManageScimTokens),
    })
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let settings = Resource::new(|| (), |_| load_scim_settings());
    let query = use_query_map();
    let notice = move || match query.read().get("notice").as_deref() {
        Some("revoked") => Some("The token is revoked. Requests that use it now get 401."),
        _ => None,
    };
    let error = move || match query.read().get("error").as_deref() {
        Some("name") => {
            Some("Give the token a name of 1 to 100 characters, such as \"Okta production\".")
        }
        Some("gone") => Some("That token was already revoked or does not exist."),
        Some("unavailable") => Some("idflow could not save that change. Try again in a moment."),
        _ => None,
    };
    view! {
        <PageHeader
            title="Settings"
            subtitle="SCIM provisioning and other settings of this idflow."
        />
        {move || {
            error()
                .map(|m| {
                    view! {
                        <p class="alert" role="alert">
                            {m}
                        </p>
                    }
                })
        }}
        {move || {
            notice()
                .map(|m| {
                    view! {
                        <p class="info" role="status">
                            {m}
                        </p>
                    }
                })
        }}
        <Suspense fallback=|| {
            view! { <p class="loading">"Loading settings…"</p> }
        }>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                    Ok(settings) => view! { <ScimSection settings /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ScimSection(settings: ScimSettings) -> impl IntoView {
    let ScimSettings {
        base_url,
        tokens,
        new_token,
        can_manage,
    } = settings;
    let has_tokens = !tokens.is_empty();
    let rows = tokens
        .into_iter()
        .map(|t| {
            let revoke_action = format!("/settings/scim-tokens/{}/revoke", t.id);
            let status = if t.revoked_at.is_some() { "revoked" } else { "active" };
            let live = t.revoked_at.is_none();
            let name = t.name.clone();
            view! {
                <tr data-token=t.name.clone()>
                    <td>{t.name.clone()}</td>
                    <td>{when(Some(t.created_at))}</td>
                    <td>{when(t.last_used_at)}</td>
                    <td>
                        <span class=format!("status status-{status}")>{status}</span>
                    </td>
                    <td>
                        {(can_manage && live)
                            .then(|| {
                                view! {
                                    <details class="confirm">
                                        <summary>"Revoke…"</summary>
                                        <form method="post" action=revoke_action.clone()>
                                            <p>
                                                {format!(
                                                    "Revoke \"{name}\"? Every identity provider that uses it gets 401 from then on.",
                                                )}
                                            </p>
                                            <button type="submit" class="danger">
                                                "Revoke token"
                                            </button>
                                        </form>
                                    </details>
                                }
                            })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="scim-heading">
            <h2 id="scim-heading">"SCIM provisioning"</h2>
            <p>
                "Give your identity provider (Okta, Entra ID) this SCIM base URL and a bearer token."
            </p>
            <p>
                <label for="scim-base-url">"SCIM base URL"</label>
                <input id="scim-base-url" class="copyable" readonly value=base_url.clone() />
            </p>
            {new_token
                .map(|t| {
                    view! {
                        <div class="new-secret" role="status" data-testid="new-scim-token">
                            <p>
                                <strong>{format!("Token \"{}\" created.", t.name)}</strong>
                                " Copy it now: idflow keeps only a hash and will not show it again."
                            </p>
                            <input
                                class="copyable"
                                readonly
                                aria-label="New SCIM token"
                                value=t.secret
                            />
                        </div>
                    }
                })}
            {can_manage
                .then(|| {
                    view! {
                        <form method="post" action="/settings/scim-tokens" class="inline-form">
                            <label for="token-name">"New token name"</label>
                            <input
                                id="token-name"
                                name="name"
                                required
                                maxlength="100"
                                placeholder="Okta production"
                            />
                            <button type="submit" class="primary">
                                "Create token"
                            </button>
                        </form>
                    }
                })}
            {if has_tokens {
                view! {
                    <table class="data-table" data-testid="scim-tokens">
                        <thead>
                            <tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"Created"</th>
                                <th scope="col">"Last used"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">
                                    <span class="visually-hidden">"Actions"</span>
                                </th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                    .into_any()
            } else {
                view! {
                    <EmptyState title="No SCIM tokens yet">
                        <p>
                            "Create a token, then paste it with the base URL above into your identity provider's provisioning settings."
                        </p>
                    </EmptyState>
                }
                    .into_any()
            }}
        </section>
    }
}
