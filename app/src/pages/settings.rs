//! Settings: single sign-on (the identity provider admins sign in with), SCIM
//! provisioning (the base URL to give the identity provider, and its bearer tokens), and
//! API tokens for the REST API, and the outbound allow-list (what flows may reach despite
//! the outbound guard).
//! Changes are plain form posts to the server (`/settings/sso…`, `/settings/scim-tokens…`),
//! so the page works the same with and without JavaScript; a new token comes back through
//! the session and is shown exactly once.

use crate::console::{Confirm, DataTable, EmptyState, Loaded, PageHeader, when};
use crate::settings::{
    ApiTokenRow, ApiTokensView, OutboundView, ScimSettings, SsoSettingsView, load_api_tokens,
    load_outbound_settings, load_scim_settings, load_sso_settings,
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let settings = Resource::new(|| (), |_| load_scim_settings());
    let sso = Resource::new(|| (), |_| load_sso_settings());
    let outbound = Resource::new(|| (), |_| load_outbound_settings());
    let api_tokens = Resource::new(|| (), |_| load_api_tokens());
    let query = use_query_map();
    let notice = move || match query.read().get("notice").as_deref() {
        Some("revoked") => Some("The token is revoked. Requests that use it now get 401."),
        Some("sso-saved") => Some(
            "Single sign-on is saved. The sign-in page now offers it; try it in a private window before you sign out.",
        ),
        Some("sso-removed") => {
            Some("Single sign-on is removed. People sign in with local passwords only.")
        }
        Some("api-token-revoked") => {
            Some("The API token is revoked. Requests that use it now get 401.")
        }
        Some("self-check-passed") => Some(
            "The SCIM self-check passed: every check below succeeded, and its user, group and token are gone.",
        ),
        Some("outbound-saved") => Some(
            "The outbound allow-list is saved. Every server lets flows reach what it names within seconds.",
        ),
        _ => None,
    };
    let error = move || match query.read().get("error").as_deref() {
        Some("name") => {
            Some("Give the token a name of 1 to 100 characters, such as \"Okta production\".")
        }
        Some("gone") => Some("That token was already revoked or does not exist."),
        Some("not-allowed") => {
            Some("Only a Super Admin changes SCIM tokens and single sign-on; nothing was changed.")
        }
        Some("unavailable") => Some("idflow could not save that change. Try again in a moment."),
        Some("sso-issuer") => Some(
            "Enter the issuer as an https:// URL, such as https://example.okta.com (http only for localhost).",
        ),
        Some("sso-client") => Some(
            "Enter the client id of idflow's app at your identity provider (1 to 200 characters).",
        ),
        Some("sso-name") => Some("Keep the button name to 60 characters or fewer."),
        Some("sso-discovery") => Some(
            "idflow could not read that issuer's OpenID configuration (/.well-known/openid-configuration). Check the issuer URL; nothing was saved.",
        ),
        Some("sso-environment") => Some(
            "Single sign-on is set by IDFLOW_OIDC_* on the server, so Settings cannot change it.",
        ),
        Some("outbound-allow") => Some("The outbound allow-list was not saved:"),
        Some("self-check-failed") => Some(
            "The SCIM self-check found a problem: see the failed checks below. Its user, group and token were removed.",
        ),
        Some(
            "token-name" | "token-scopes" | "token-days" | "token-role" | "token-kind"
            | "token-no-rights" | "token-person" | "token-revoked",
        ) => Some("The API token was not changed:"),
        _ => None,
    };
    let why = move || query.read().get("why").filter(|w| !w.is_empty());
    view! {
        <PageHeader
            title="Settings"
            subtitle="Single sign-on, SCIM provisioning and other settings of this idflow."
        />
        {move || {
            error()
                .map(|m| {
                    view! {
                        <p class="alert" role="alert">
                            {m}
                            {why().map(|why| view! { <span class="why">" " {why}</span> })}
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
        <Loaded
            data=sso
            loading="Loading single sign-on…"
            show=|settings| view! { <SsoSection settings /> }
        />
        <Loaded
            data=settings
            loading="Loading SCIM tokens…"
            show=|settings| view! { <ScimSection settings /> }
        />
        <Loaded
            data=api_tokens
            loading="Loading API tokens…"
            show=|tokens| view! { <ApiTokensSection tokens /> }
        />
        <Loaded
            data=outbound
            loading="Loading the outbound allow-list…"
            show=|settings| view! { <OutboundSection settings /> }
        />
    }
}

fn api_token_row(token: ApiTokenRow) -> impl IntoView {
    let revoke = (token.status == "Active").then(|| {
        view! {
            <Confirm
                label="Revoke"
                action=format!("/settings/api-tokens/{}/revoke", token.id)
                consequence=format!(
                    "Scripts using \"{}\" get 401 from now on. This cannot be undone.",
                    token.name,
                )
                confirm="Yes, revoke the token"
            />
        }
    });
    let kind = match &token.role {
        Some(role) => format!("{} ({role})", token.kind),
        None => token.kind.clone(),
    };
    view! {
        <tr data-api-token=token.name.clone()>
            <td>{token.name.clone()}</td>
            <td>{kind}</td>
            <td>{token.owner.clone()}</td>
            <td>
                <code>{token.scopes.clone()}</code>
            </td>
            <td class="nowrap">{token.expires_at.format("%Y-%m-%d").to_string()}</td>
            <td class="nowrap">
                {token
                    .last_used_at
                    .map_or_else(
                        || "never".to_string(),
                        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
                    )}
            </td>
            <td>{token.status.clone()}</td>
            <td class="actions">{revoke}</td>
        </tr>
    }
}

/// API tokens for the REST API: the viewer's own (every one for a Super Admin), a form to
/// make one, and a token just made, shown once.
#[component]
fn ApiTokensSection(tokens: ApiTokensView) -> impl IntoView {
    let new_token = tokens.new_token.clone().map(|t| {
        view! {
            <div class="new-secret" role="status" data-testid="new-api-token">
                <p>
                    <strong>{format!("API token \"{}\" made.", t.name)}</strong>
                    " Copy it now: idflow keeps only a hash and will not show it again."
                </p>
                <input class="copyable" readonly aria-label="New API token" value=t.secret />
            </div>
        }
    });
    let scope_boxes = tokens
        .scopes
        .iter()
        .map(|scope| {
            let id = format!("scope-{}", scope.replace(':', "-"));
            let label_for = id.clone();
            view! {
                <label for=label_for class="check">
                    <input id=id type="checkbox" name="scope" value=scope.clone() />
                    {scope.clone()}
                </label>
            }
        })
        .collect_view();
    let role_options = tokens
        .roles
        .iter()
        .map(|(value, label)| view! { <option value=value.clone()>{label.clone()}</option> })
        .collect_view();
    let rows = tokens
        .tokens
        .clone()
        .into_iter()
        .map(api_token_row)
        .collect_view();
    let list = if tokens.tokens.is_empty() {
        view! {
            <EmptyState title="No API tokens yet">
                <p>
                    "Make a token for a script or another system: a personal one acts as you, a service one as the role you choose. Choose only the scopes it needs."
                </p>
            </EmptyState>
        }
            .into_any()
    } else {
        view! {
            <DataTable
                columns=vec!["Name", "Kind", "Person", "Scopes", "Expires", "Last used", "Status"]
                last=Some("Actions")
                testid="api-tokens"
            >
                {rows}
            </DataTable>
        }
        .into_any()
    };
    view! {
        <section class="panel" id="api-tokens" aria-labelledby="api-tokens-heading">
            <h2 id="api-tokens-heading">"API tokens"</h2>
            <p>
                "Scripts call the REST API at " <code>{tokens.base_url.clone()}</code> " with "
                <code>"Authorization: Bearer idf_api_…"</code>
                ". A token never does more than the person behind it may. "
                <a href="/api-reference">"API reference"</a>
                {tokens
                    .all
                    .then_some(" As a Super Admin you see, and may revoke, everyone's tokens.")}
            </p>
            {new_token}
            <details class="import">
                <summary>"Make an API token"</summary>
                <form method="post" action="/settings/api-tokens">
                    <p>
                        <label for="api-token-name">"Name"</label>
                        <input
                            id="api-token-name"
                            name="name"
                            required
                            maxlength="100"
                            placeholder="Nightly access review"
                        />
                    </p>
                    <p>
                        <label for="api-token-kind">"Kind"</label>
                        <select id="api-token-kind" name="kind">
                            <option value="personal">"Personal: acts as you"</option>
                            <option value="service">"Service: acts as a role"</option>
                        </select>
                        <label for="api-token-role">"Role (service tokens)"</label>
                        <select id="api-token-role" name="role">
                            <option value="">"—"</option>
                            {role_options}
                        </select>
                    </p>
                    <fieldset>
                        <legend>"Scopes (write includes read)"</legend>
                        {scope_boxes}
                    </fieldset>
                    <p>
                        <label for="api-token-days">"Expires after (days, 1 to 365)"</label>
                        <input
                            id="api-token-days"
                            name="days"
                            type="number"
                            min="1"
                            max="365"
                            value="90"
                        />
                    </p>
                    <button type="submit" class="primary">
                        "Make token"
                    </button>
                </form>
            </details>
            {list}
        </section>
    }
}

/// What flows may reach despite the outbound guard: this server's own list, and the one
/// a Super Admin keeps here.
#[component]
fn OutboundSection(settings: OutboundView) -> impl IntoView {
    let OutboundView {
        fixed,
        setting,
        changed,
        can_manage,
    } = settings;
    let fixed = if fixed.is_empty() {
        "Nothing (IDFLOW_OUTBOUND_ALLOW is not set on this server).".to_string()
    } else {
        format!(
            "{} (IDFLOW_OUTBOUND_ALLOW on this server)",
            fixed.replace('\n', ", ")
        )
    };
    let changed = changed.map(
        |(at, by)| view! { <p class="hint">{format!("Changed by {by}, {}", when(Some(at)))}</p> },
    );
    let body = if can_manage {
        view! {
            <form method="post" action="/settings/outbound" class="single-form">
                <div class="field">
                    <label for="outbound-allow">"Also allowed"</label>
                    <textarea
                        id="outbound-allow"
                        name="allow"
                        rows="4"
                        placeholder="intranet.example.com\n10.20.0.0/16"
                    >
                        {setting}
                    </textarea>
                    <small>
                        "Host names, addresses and ranges (CIDR), one per line or separated by commas. Leave it empty to allow nothing beyond the rules."
                    </small>
                </div>
                <button type="submit" class="primary">
                    "Save the allow-list"
                </button>
            </form>
        }
            .into_any()
    } else {
        let shown = if setting.is_empty() {
            "Nothing.".to_string()
        } else {
            setting.replace('\n', ", ")
        };
        view! { <p data-testid="outbound-setting">{format!("Also allowed: {shown}")}</p> }
            .into_any()
    };
    view! {
        <section class="panel" aria-labelledby="outbound-heading">
            <h2 id="outbound-heading">"Outbound allow-list"</h2>
            <p>
                "Flows' requests (HTTP, Slack, email) never reach loopback, private, link-local or other internal addresses, unless they are allowed here. Allow only the internal services flows must call."
            </p>
            <p data-testid="outbound-fixed">{format!("Allowed by the server: {fixed}")}</p>
            {changed}
            {body}
        </section>
    }
}

#[component]
fn SsoSection(settings: SsoSettingsView) -> impl IntoView {
    let SsoSettingsView {
        provider,
        from_environment,
        has_client_secret,
        changed,
        redirect_uri,
        signed_out_uri,
        can_manage,
    } = settings;
    let configured = provider.is_some();
    let current = provider.clone().map(|p| {
        view! {
            <dl class="facts" data-testid="sso-current">
                <dt>"Button"</dt>
                <dd>{format!("Sign in with {}", p.display_name)}</dd>
                <dt>"Issuer"</dt>
                <dd>{p.issuer}</dd>
                <dt>"Client id"</dt>
                <dd>{p.client_id}</dd>
                {changed
                    .clone()
                    .map(|(at, by)| {
                        view! {
                            <dt>"Changed"</dt>
                            <dd>{format!("{} by {by}", at.format("%Y-%m-%d %H:%M UTC"))}</dd>
                        }
                    })}
            </dl>
        }
    });
    let form = (can_manage && !from_environment).then(|| {
        let p = provider.clone();
        let name = p.as_ref().map(|p| p.display_name.clone()).unwrap_or_default();
        let issuer = p.as_ref().map(|p| p.issuer.clone()).unwrap_or_default();
        let client_id = p.as_ref().map(|p| p.client_id.clone()).unwrap_or_default();
        let secret_hint = if has_client_secret {
            "Leave empty to keep the saved secret"
        } else {
            "From your identity provider's app"
        };
        view! {
            <form method="post" action="/settings/sso" class="sso-form" data-testid="sso-form">
                <label for="sso-issuer">"Issuer URL"</label>
                <input
                    id="sso-issuer"
                    name="issuer"
                    type="url"
                    required
                    placeholder="https://example.okta.com"
                    value=issuer
                />
                <label for="sso-client-id">"Client id"</label>
                <input
                    id="sso-client-id"
                    name="client_id"
                    required
                    maxlength="200"
                    value=client_id
                />
                <label for="sso-client-secret">"Client secret"</label>
                <input
                    id="sso-client-secret"
                    name="client_secret"
                    type="password"
                    autocomplete="off"
                    placeholder=secret_hint
                />
                <label for="sso-name">"Button name (optional)"</label>
                <input
                    id="sso-name"
                    name="display_name"
                    maxlength="60"
                    placeholder="Okta"
                    value=name
                />
                <button type="submit" class="primary">
                    {if configured { "Save single sign-on" } else { "Turn on single sign-on" }}
                </button>
            </form>
            {configured
                .then(|| {
                    view! {
                        <details class="confirm">
                            <summary>"Remove single sign-on…"</summary>
                            <form method="post" action="/settings/sso/remove">
                                <p>
                                    "Remove single sign-on? The sign-in page stops offering it; people without a local password can no longer sign in. Their users and links to the identity provider stay."
                                </p>
                                <button type="submit" class="danger">
                                    "Remove single sign-on"
                                </button>
                            </form>
                        </details>
                    }
                })}
        }
    });
    let state = if from_environment {
        "Set on the server by IDFLOW_OIDC_ISSUER, IDFLOW_OIDC_CLIENT_ID and IDFLOW_OIDC_CLIENT_SECRET; change it there."
    } else if configured {
        "People can sign in with this identity provider."
    } else if can_manage {
        "Off. Create an OpenID Connect web app at your identity provider with the redirect URIs below, then enter its issuer, client id and secret."
    } else {
        "Off. A Super Admin can set it up here."
    };
    view! {
        <section class="panel" aria-labelledby="sso-heading">
            <h2 id="sso-heading">"Single sign-on (OpenID Connect)"</h2>
            <p data-testid="sso-state">{state}</p>
            {current}
            <p>
                <label for="sso-redirect-uri">"Sign-in redirect URI"</label>
                <input id="sso-redirect-uri" class="copyable" readonly value=redirect_uri />
            </p>
            <p>
                <label for="sso-signed-out-uri">"Sign-out redirect URI"</label>
                <input id="sso-signed-out-uri" class="copyable" readonly value=signed_out_uri />
            </p>
            {form}
        </section>
    }
}

#[component]
fn ScimSection(settings: ScimSettings) -> impl IntoView {
    let ScimSettings {
        base_url,
        tokens,
        new_token,
        can_manage,
        last_check,
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
                    <DataTable
                        columns=vec!["Name", "Created", "Last used", "Status"]
                        last=Some("Actions")
                        testid="scim-tokens"
                    >
                        {rows}
                    </DataTable>
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
            <SelfCheckPanel last_check can_manage />
        </section>
    }
}

/// The SCIM self-check: its button and the last run's result, check by check.
#[component]
fn SelfCheckPanel(
    last_check: Option<domain::scim::self_check::SelfCheck>,
    can_manage: bool,
) -> impl IntoView {
    let report = last_check
        .map(|report| {
            let summary = format!(
                "Last run {} by {}: {}.",
                report.ran_at.format("%Y-%m-%d %H:%M:%S UTC"),
                report.ran_by,
                report.summary(),
            );
            let rows = report
                .checks
                .into_iter()
                .map(|check| {
                    let (class, label) = if check.passed {
                        ("status status-active", "passed")
                    } else {
                        ("status status-revoked", "failed")
                    };
                    let name = check.name.clone();
                    view! {
                        <tr data-check=name data-passed=check.passed.to_string()>
                            <td>{check.name}</td>
                            <td>
                                <span class=class>{label}</span>
                            </td>
                            <td>{check.detail}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <p data-testid="self-check-summary">{summary}</p>
                <DataTable
                    columns=vec!["Check", "Result"]
                    last=Some("What it saw")
                    testid="self-check"
                >
                    {rows}
                </DataTable>
            }
            .into_any()
        })
        .unwrap_or_else(|| {
            view! { <p class="hint">"The self-check has not run yet."</p> }.into_any()
        });
    view! {
        <div id="scim-self-check" class="self-check">
            <h3>"SCIM self-check"</h3>
            <p>
                "Runs what Okta and Entra ID rely on against this idflow's own SCIM service, with a temporary token: discovery, creating, reading, filtering, changing and deactivating a throwaway user, a role through the extension, a group and its members, and deleting both. It starts no flow and removes what it made."
            </p>
            {can_manage
                .then(|| {
                    view! {
                        <form
                            method="post"
                            action="/settings/scim-self-check"
                            class="inline-form"
                            data-busy="Running the checks against /scim/v2…"
                        >
                            <button type="submit" class="primary">
                                "Run the SCIM self-check"
                            </button>
                        </form>
                    }
                })}
            {report}
        </div>
    }
}
