//! A flow's versions: list, view, compare two, restore one, or save its edited JSON as a
//! new version.

use super::*;

#[component]
pub fn VersionsPage() -> impl IntoView {
    let id = path_id();
    let query = use_query_map();
    let args = move || {
        let query = query.read();
        let number = |k: &str| query.get(k).and_then(|v| v.parse::<i64>().ok());
        (id(), number("view"), number("a"), number("b"))
    };
    let versions = Resource::new(args, |(id, view, a, b)| versions_of_flow(id, view, a, b));
    view! {
        <DetailTop title="Flows" back=("/flows", "← All flows") />
        <Loaded
            data=versions
            loading="Loading the versions…"
            show=|versions| view! { <VersionsBody versions /> }
        />
    }
}

#[component]
fn VersionsBody(versions: VersionsView) -> impl IntoView {
    let base = format!("/flows/{}/versions", versions.id);
    let current = versions.current;
    let can_edit = versions.can_edit;
    let problems = view! {
        <Problems
            problems=versions.problems.clone()
            intro="The current version has problems to fix before the flow can be turned on:"
        />
    };
    let options = |selected: i64| {
        versions
            .versions
            .iter()
            .map(|v| {
                view! {
                    <option value=v.version selected=v.version == selected>
                        {format!("Version {}", v.version)}
                    </option>
                }
            })
            .collect_view()
    };
    let previous = versions
        .compared
        .as_ref()
        .map_or((current - 1).max(1), |c| c.older);
    let compare_form = (versions.versions.len() > 1).then(|| {
        view! {
            <form method="get" action=base.clone() class="inline-form">
                <label for="compare-a">"Compare"</label>
                <select id="compare-a" name="a" aria-label="Older version">
                    {options(previous)}
                </select>
                <select name="b" aria-label="Newer version">
                    {options(versions.compared.as_ref().map_or(current, |c| c.newer))}
                </select>
                <button type="submit" class="primary">
                    "Compare"
                </button>
            </form>
        }
    });
    let compared = versions
        .compared
        .clone()
        .map(|comparison| view! { <ComparisonView comparison /> });
    let shown = versions
        .shown
        .clone()
        .map(|shown| view! { <ShownVersionView shown base=base.clone() current can_edit /> });
    let rows = versions
        .versions
        .iter()
        .map(|v| {
            let restore = (can_edit && v.version != current)
                .then(|| restore_button("Restore", &base, v.version, current));
            let compare = (v.version != current).then(|| {
                view! { <a href=format!("{base}?a={}&b={current}", v.version)>"Compare with current"</a> }
            });
            view! {
                <tr data-version=v.version>
                    <td>
                        {format!("Version {}", v.version)}
                        {(v.version == current)
                            .then(|| view! { <span class="on">" (current)"</span> })}
                    </td>
                    <td>
                        {if v.author.is_empty() { "—".to_string() } else { v.author.clone() }}
                    </td>
                    <td class="nowrap">{when(Some(v.created_at))}</td>
                    <td>{v.cards}</td>
                    <td class="actions">
                        <a href=format!("{base}?view={}", v.version)>"View"</a>
                        " "
                        {compare}
                        " "
                        {restore}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let edit = can_edit.then(|| {
        view! {
            <details class="import">
                <summary>"Edit the JSON"</summary>
                <form method="post" action=base.clone()>
                    <input type="hidden" name="based_on" value=current />
                    <label for="version-definition">"The flow's JSON"</label>
                    <textarea id="version-definition" name="definition" rows="18" required>
                        {versions.current_json.clone()}
                    </textarea>
                    <p class="hint">
                        "Saved as a new version; the current one stays in the list. If someone saves a version meanwhile, yours is refused rather than overwriting theirs."
                    </p>
                    <button type="submit" class="primary">
                        "Save as new version"
                    </button>
                </form>
            </details>
        }
    });
    view! {
        <section class="versions" data-testid="versions">
            <h2>{format!("{} — versions", versions.name)}</h2>
            <p class="subtitle">
                {format!(
                    "Version {current} is current · the flow is {}",
                    if versions.enabled { "on" } else { "off" },
                )}
            </p>
            {problems}
            {compare_form}
            {compared}
            <DataTable columns=vec![
                "Version",
                "Saved by",
                "When",
                "Cards",
                "Actions",
            ]>{rows}</DataTable>
            {shown}
            {edit}
        </section>
    }
}

#[component]
fn ComparisonView(comparison: Comparison) -> impl IntoView {
    let title = format!(
        "What changed from version {} to version {}",
        comparison.older, comparison.newer
    );
    let body = if comparison.changes.is_empty() {
        view! { <p>"The two versions are the same."</p> }.into_any()
    } else {
        comparison
            .changes
            .into_iter()
            .map(|change| {
                let (label, class) = match change.kind {
                    ChangeKind::Added => ("added", "change change-added"),
                    ChangeKind::Removed => ("removed", "change change-removed"),
                    ChangeKind::Changed => ("changed", "change change-changed"),
                };
                let details = change
                    .details
                    .into_iter()
                    .map(|d| view! { <li>{d}</li> })
                    .collect_view();
                view! {
                    <li class=class>
                        <strong>{change.subject}</strong>
                        " "
                        <span class="run-status">{label}</span>
                        <ul>{details}</ul>
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <section class="comparison" data-testid="comparison">
            <h3>{title}</h3>
            <ul class="card-records">{body}</ul>
        </section>
    }
}

/// Restores `version` as the newest (after `current`), once the admin confirms.
fn restore_button(label: &'static str, base: &str, version: i64, current: i64) -> impl IntoView {
    view! {
        <Confirm
            label=label
            action=format!("{base}/{version}/restore")
            consequence=format!(
                "Version {version}'s cards and settings become version {}, the newest; the versions between are kept.",
                current + 1,
            )
            confirm="Yes, restore this version"
        />
    }
}

#[component]
fn ShownVersionView(
    shown: ShownVersion,
    base: String,
    current: i64,
    can_edit: bool,
) -> impl IntoView {
    let restore = (can_edit && shown.version != current)
        .then(|| restore_button("Restore this version", &base, shown.version, current));
    let cards = if shown.cards.is_empty() {
        "No cards yet.".to_string()
    } else {
        shown.cards.join("\n")
    };
    view! {
        <section class="shown-version" data-testid="shown-version">
            <h3>{format!("Version {}", shown.version)}</h3>
            <pre class="json">{cards}</pre>
            {restore}
            <details>
                <summary>"JSON"</summary>
                <pre class="json">{shown.json}</pre>
            </details>
        </section>
    }
}
