//! The REST API reference: every operation by area, with its parameters, body and
//! answers, and the shapes of what it sends back — read from the OpenAPI document the
//! server generates, shown without anything fetched from elsewhere.

use crate::api_reference::{ApiReference, RefOperation, RefSchema, load_api_reference};
use crate::console::{Loaded, PageHeader};
use leptos::prelude::*;

#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let reference = Resource::new(|| (), |_| load_api_reference());
    view! {
        <PageHeader
            title="API reference"
            subtitle="The REST API at /api/v1, for scripts and other systems, with an API token from Settings."
        />
        <Loaded
            data=reference
            loading="Loading the reference…"
            show=|reference| view! { <ReferenceBody reference /> }
        />
    }
}

fn operation(op: RefOperation) -> impl IntoView {
    let anchor = format!(
        "{}-{}",
        op.method.to_lowercase(),
        op.path
            .trim_start_matches('/')
            .replace(['/', '{', '}'], "-")
    );
    let params = (!op.params.is_empty()).then(|| {
        let rows = op
            .params
            .into_iter()
            .map(|(name, place, kind, required, description)| {
                view! {
                    <tr>
                        <td>
                            <code>{name}</code>
                        </td>
                        <td>{place}</td>
                        <td>{kind}</td>
                        <td>{if required { "yes" } else { "no" }}</td>
                        <td>{description}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="data reference-params">
                <thead>
                    <tr>
                        <th scope="col">"Parameter"</th>
                        <th scope="col">"In"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Required"</th>
                        <th scope="col">"Meaning"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
    });
    let body = op.body.map(|body| view! { <p>"Body: " {body}</p> });
    let responses = op
        .responses
        .into_iter()
        .map(|(status, description, holds)| {
            view! {
                <li>
                    <code>{status}</code>
                    " "
                    {description}
                    {(!holds.is_empty()).then(|| format!(" — {holds}"))}
                </li>
            }
        })
        .collect_view();
    view! {
        <article class="operation" id=anchor data-testid="api-operation">
            <h4>
                <span class=format!(
                    "method method-{}",
                    op.method.to_lowercase(),
                )>{op.method.clone()}</span>
                " "
                <code>{op.path.clone()}</code>
            </h4>
            <p>{op.summary}</p>
            {(!op.description.is_empty()).then(|| view! { <p class="hint">{op.description}</p> })}
            {params}
            {body}
            <ul class="responses">{responses}</ul>
        </article>
    }
}

fn schema(schema: RefSchema) -> impl IntoView {
    let rows = schema
        .properties
        .into_iter()
        .map(|(name, kind, required, description)| {
            view! {
                <tr>
                    <td>
                        <code>{name}</code>
                    </td>
                    <td>{kind}</td>
                    <td>{if required { "always" } else { "when there is one" }}</td>
                    <td>{description}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <article class="schema" id=format!("schema-{}", schema.name)>
            <h4>{schema.name.clone()}</h4>
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">"Field"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Present"</th>
                        <th scope="col">"Meaning"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </article>
    }
}

#[component]
fn ReferenceBody(reference: ApiReference) -> impl IntoView {
    let sections = reference
        .sections
        .into_iter()
        .filter(|s| !s.operations.is_empty())
        .map(|section| {
            let operations = section.operations.into_iter().map(operation).collect_view();
            view! {
                <section class="panel" aria-label=section.tag.clone()>
                    <h3>{section.tag.clone()}</h3>
                    <p class="hint">{section.description}</p>
                    {operations}
                </section>
            }
        })
        .collect_view();
    let schemas = reference.schemas.into_iter().map(schema).collect_view();
    view! {
        <section class="panel">
            <h2>{reference.title}</h2>
            <p>{reference.description}</p>
            <p>
                <a href="/api/v1/openapi.json" download="idflow-openapi.json">
                    "Download the OpenAPI document"
                </a>
                " · "
                <a href="/settings#api-tokens">"Make an API token"</a>
            </p>
        </section>
        {sections}
        <section class="panel">
            <h3>"What the API sends back"</h3>
            {schemas}
        </section>
    }
}
