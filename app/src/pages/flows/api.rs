//! A flow's API page: how other systems call it (the invoke URL and a `curl` example),
//! the resume URL of a flow that pauses, and its secrets — made, rotated with a grace
//! period, revoked — each shown once when made. Plain forms, so it works without
//! JavaScript.

use super::*;
use crate::flows::{ApiAccess, SecretRow, flow_api_access};

#[component]
pub fn ApiPage() -> impl IntoView {
    let id = path_id();
    let access = Resource::new(id, flow_api_access);
    view! {
        <DetailTop title="Flows" back=("/flows", "← All flows") />
        <Loaded
            data=access
            loading="Loading the flow's API access…"
            show=|access| view! { <ApiBody access /> }
        />
    }
}

/// The `curl` command that calls the flow, with `secret` (or a variable standing for it).
fn curl_example(url: &str, secret: &str) -> String {
    format!(
        "curl -X POST '{url}' \\\n  -H 'x-api-client-token: {secret}' \\\n  -H 'Content-Type: application/json' \\\n  -H \"Idempotency-Key: $(uuidgen)\" \\\n  -d '{{\"userName\": \"ann@example.com\"}}'"
    )
}

fn secret_row(secret: SecretRow) -> impl IntoView {
    let status = match secret.valid_until {
        Some(until) => format!("Works until {}", until.format("%Y-%m-%d %H:%M UTC")),
        None => "Works until rotated or revoked".to_string(),
    };
    view! {
        <tr>
            <td class="nowrap">{when(Some(secret.made_at))}</td>
            <td>
                {if secret.made_by.is_empty() { "—".to_string() } else { secret.made_by.clone() }}
            </td>
            <td>{status}</td>
        </tr>
    }
}

/// The grace periods offered when rotating: hours the old secret keeps working.
const GRACE_CHOICES: [(&str, &str); 5] = [
    ("0", "Stops at once"),
    ("1", "Keeps working for 1 hour"),
    ("24", "Keeps working for 24 hours"),
    ("168", "Keeps working for 7 days"),
    ("720", "Keeps working for 30 days"),
];

#[component]
fn ApiBody(access: ApiAccess) -> impl IntoView {
    let base = format!("/flows/{}", access.id);
    let has_secret = !access.secrets.is_empty();
    let shown_secret = access.new_secret.clone();
    let example_secret = shown_secret
        .clone()
        .unwrap_or_else(|| "$IDFLOW_FLOW_SECRET".to_string());
    let example = curl_example(&access.invoke_url, &example_secret);
    let not_callable = (!access.api_trigger)
        .then(|| {
            view! {
                <p class="notice" role="note">
                    "This flow is not started by an API Endpoint trigger, so it cannot be called. Its secret still resumes its executions paused at a Pause card."
                </p>
            }
        });
    let off = (access.api_trigger && !access.enabled).then(|| {
        view! {
            <p class="notice" role="note">
                "The flow is off: calls are refused until it is turned on."
            </p>
        }
    });
    let new_secret = shown_secret.map(|secret| {
        view! {
            <div class="new-secret" role="status" data-testid="new-flow-secret">
                <p>
                    <strong>"The new secret is made."</strong>
                    " Copy it now: idflow keeps only a hash and will not show it again."
                </p>
                <input class="copyable" readonly aria-label="New flow secret" value=secret />
            </div>
        }
    });
    let answer = if access.synchronous {
        "The flow answers with what its Return card gives (or its Close card), waiting at most 30 seconds; after that, 202 with the execution's id."
    } else {
        "The call answers 202 at once with the execution's id; the flow runs on its own."
    };
    let invoke = access
        .api_trigger
        .then(|| {
            view! {
                <h3>"Call it"</h3>
                <p>
                    <label for="invoke-url">"Invoke URL (POST, JSON body)"</label>
                    <input
                        id="invoke-url"
                        class="copyable"
                        readonly
                        value=access.invoke_url.clone()
                    />
                </p>
                <p class="hint">
                    {answer}
                    " Send the secret in the x-api-client-token header (or as Authorization: Bearer). A caller that retries after a lost answer sends the same Idempotency-Key and gets the first call's execution back, not a second one."
                </p>
                <pre class="code" data-testid="curl-example">
                    {example}
                </pre>
            }
        });
    let resume = (access.pauses || !access.api_trigger).then(|| {
        view! {
            <h3>"Resume a paused execution"</h3>
            <p>
                <label for="resume-url">"Resume URL (POST, JSON body)"</label>
                <input id="resume-url" class="copyable" readonly value=access.resume_url.clone() />
            </p>
            <p class="hint">"Its body becomes the Pause card's input; send the same secret."</p>
        }
    });
    let secrets = if has_secret {
        view! {
            <DataTable columns=vec!["Made", "By", "Status"] testid="flow-secrets">
                {access.secrets.clone().into_iter().map(secret_row).collect_view()}
            </DataTable>
        }
        .into_any()
    } else {
        view! {
            <EmptyState title="No secret yet">
                <p>
                    {if access.can_edit {
                        "Make a secret to call this flow; it is shown once."
                    } else {
                        "Someone who edits this flow can make one."
                    }}
                </p>
            </EmptyState>
        }
        .into_any()
    };
    let grace_options = GRACE_CHOICES
        .iter()
        .map(|(hours, label)| {
            view! {
                <option value=*hours selected=*hours == "24">
                    {*label}
                </option>
            }
        })
        .collect_view();
    let manage = access
        .can_edit
        .then(|| {
            let make = if has_secret {
                view! {
                    <form method="post" action=format!("{base}/secret") class="inline-form">
                        <label for="secret-grace">"The current secret"</label>
                        <select id="secret-grace" name="grace">
                            {grace_options}
                        </select>
                        <button type="submit" class="primary">
                            "Rotate secret"
                        </button>
                    </form>
                }
                    .into_any()
            } else {
                view! {
                    <form method="post" action=format!("{base}/secret") class="inline-form">
                        <button type="submit" class="primary">
                            "Make a secret"
                        </button>
                    </form>
                }
                    .into_any()
            };
            let revoke = has_secret
                .then(|| {
                    view! {
                        <Confirm
                            label="Revoke every secret"
                            action=format!("{base}/secret/revoke")
                            consequence="Every caller using this flow's secrets is refused from now on, and its paused executions cannot be resumed, until a new secret is made."
                                .to_string()
                            confirm="Yes, revoke"
                        />
                    }
                });
            view! {
                {make}
                {revoke}
            }
        });
    view! {
        <section class="flow-api" data-testid="flow-api">
            <h2>{format!("{} — API access", access.name)}</h2>
            {not_callable}
            {off}
            {new_secret}
            {invoke}
            {resume}
            <h3>"Secrets"</h3>
            {secrets}
            {manage}
        </section>
    }
}
