//! The start page: where each area is, or, for a user without a role, what to do next.

use crate::console::{EmptyState, PageHeader, TABS};
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    let me = expect_context::<SessionUser>();
    let areas: Vec<_> = TABS
        .iter()
        .filter(|(_, _, permission)| me.rights.allows(*permission))
        .collect();
    let content = if areas.is_empty() {
        view! {
            <EmptyState title="Your account has no role in idflow yet">
                <p>
                    "You are signed in as " {me.user_name.clone()}
                    ", but no role gives you access to any area. Ask a Super Admin to assign you a role, then sign in again."
                </p>
            </EmptyState>
        }
            .into_any()
    } else {
        let links = areas
            .into_iter()
            .map(|(href, label, _)| {
                view! {
                    <li>
                        <A href=*href>{*label}</A>
                    </li>
                }
            })
            .collect_view();
        view! {
            <p>{format!("You are signed in as {} ({}).", me.name, me.role.label())}</p>
            <ul class="area-links">{links}</ul>
        }
        .into_any()
    };
    view! {
        <PageHeader
            title="Welcome to idflow"
            subtitle="Identity automation: flows, tables and their history."
        />
        {content}
    }
}
