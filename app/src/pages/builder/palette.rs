//! The palette: the catalog's cards by app, searchable, to drag onto the canvas or add
//! with a click.

use super::*;

/// The searchable list of triggers and cards, grouped by app.
#[component]
pub(super) fn Palette(editor: Editor) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let groups = move || {
        let q = query.get();
        let mut groups: Vec<(&'static str, Vec<&'static CardSpec>)> = Vec::new();
        for spec in catalog().search(&q) {
            let group = if spec.role == CardRole::Trigger {
                "Triggers"
            } else {
                spec.app
            };
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, specs)) => specs.push(spec),
                None => groups.push((group, vec![spec])),
            }
        }
        // Triggers first while the flow has none, last once it has one.
        let has_trigger = editor
            .flow
            .with(|f| catalog().get(&f.trigger.kind).is_some());
        groups.sort_by_key(|(g, _)| (*g == "Triggers") == has_trigger);
        if groups.is_empty() {
            return view! { <p class="hint">"No card matches. Try another word."</p> }.into_any();
        }
        groups
            .into_iter()
            .map(|(group, specs)| {
                let items = specs
                    .into_iter()
                    .map(|spec| {
                        let key = spec.key;
                        let name = spec.name;
                        let add = move |_| {
                            if editor.just_dragged.get_value() {
                                return;
                            }
                            if spec.role == CardRole::Trigger {
                                editor.drop_on(Dragged::NewCard(key), "trigger");
                            } else {
                                let end = editor.flow.with_untracked(|f| f.cards.len());
                                editor.drop_on(Dragged::NewCard(key), &format!("main:{end}"));
                            }
                        };
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="palette-item"
                                    data-kind=key
                                    title=spec.description
                                    aria-label=format!(
                                        "{name}: drag onto the flow, or press to add it at the end",
                                    )
                                    on:pointerdown=move |ev| {
                                        editor.press(&ev, Dragged::NewCard(key), name.to_string())
                                    }
                                    on:click=add
                                >
                                    {name}
                                </button>
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <h3>{group}</h3>
                    <ul>{items}</ul>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <aside class="palette" aria-label="Cards">
            <label class="visually-hidden" for="palette-search">
                "Search cards"
            </label>
            <input
                id="palette-search"
                type="search"
                placeholder="Search apps and functions"
                on:input=move |ev| query.set(event_target_value(&ev))
            />
            <div class="palette-list">{groups}</div>
        </aside>
    }
}
