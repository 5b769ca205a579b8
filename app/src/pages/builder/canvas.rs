//! The canvas: the trigger, the rows of cards and their lanes, drop zones, output
//! fields to drag onto inputs, and each card's problems.

use super::*;

/// A drop zone: where a dragged card goes in `row`, before the card at `index`.
pub(super) fn drop_zone(editor: Editor, row: Row, index: usize, empty: bool) -> AnyView {
    let key = format!("{}:{index}", row.key());
    let over_key = key.clone();
    let over = move || editor.over.get().as_deref() == Some(over_key.as_str());
    let label = if empty { "Drop a card here" } else { "" };
    view! {
        <div class="drop-zone" class:empty=empty class:over=over data-drop=key aria-hidden="true">
            {label}
        </div>
    }
    .into_any()
}

/// A row of cards with a drop zone before each card and after the last.
pub(super) fn row_view(editor: Editor, flow: &Flow, row: Row, cards: &[Card]) -> AnyView {
    let mut items = Vec::new();
    items.push(drop_zone(editor, row, 0, cards.is_empty()));
    for (index, card) in cards.iter().enumerate() {
        items.push(card_view(editor, flow, card, row, index, cards.len()));
        items.push(drop_zone(editor, row, index + 1, false));
    }
    items.collect_view().into_any()
}

/// The problems shown on the card `card` (or the trigger's).
pub(super) fn problems_of(editor: Editor, card: Option<CardId>) -> Vec<ProblemView> {
    editor.problems.with(|all| {
        all.iter()
            .filter(|p| match card {
                Some(id) => p.card == Some(id.0),
                None => p.trigger,
            })
            .cloned()
            .collect()
    })
}

/// A card's badge: its problems' count, else "Loop" when it can start the flow again,
/// else a tick.
pub(super) fn badge(editor: Editor, card: Option<CardId>) -> impl IntoView {
    move || {
        let (warnings, problems): (Vec<_>, Vec<_>) = problems_of(editor, card)
            .into_iter()
            .partition(|p| p.warning);
        if problems.is_empty() && !warnings.is_empty() {
            let titles: Vec<String> = warnings.iter().map(|p| p.message.clone()).collect();
            view! {
                <span class="badge warn" title=titles.join("\n")>
                    "⚠ Loop"
                </span>
            }
            .into_any()
        } else if problems.is_empty() {
            view! {
                <span class="badge ok" title="No problems">
                    "✓"
                </span>
            }
            .into_any()
        } else {
            let titles: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
            let count = problems.len();
            view! {
                <span class="badge bad" title=titles.join("\n")>
                    {format!("{count} problem{}", if count == 1 { "" } else { "s" })}
                </span>
            }
            .into_any()
        }
    }
}

/// The card's warnings (how it can start the flow again), in full.
pub(super) fn card_warnings(editor: Editor, card: CardId) -> impl IntoView {
    move || {
        problems_of(editor, Some(card))
            .into_iter()
            .filter(|p| p.warning)
            .map(|p| view! { <p class="card-warning">"⚠ " {p.message}</p> })
            .collect_view()
    }
}

/// A field a drag can start from (an output).
pub(super) fn output_chip(editor: Editor, output: Output) -> AnyView {
    let label = output.label.clone();
    let nested = output.path.contains('.');
    let ty = output.ty.label();
    let path = output.path.clone();
    let drag_label = label.clone();
    view! {
        <li
            class="field-out"
            class:nested=nested
            data-path=path
            title="Drag onto an input of a later card to map it"
            on:pointerdown=move |ev| {
                editor.press(&ev, Dragged::Field(output.clone()), drag_label.clone())
            }
        >
            <span>{label}</span>
            <small>{ty}</small>
        </li>
    }
    .into_any()
}

#[component]
pub(super) fn TriggerCard(editor: Editor, flow: Flow) -> impl IntoView {
    let spec = catalog()
        .get(&flow.trigger.kind)
        .filter(|s| s.role == CardRole::Trigger);
    let over = move || editor.over.get().as_deref() == Some("trigger");
    let body = match spec {
        None => view! {
            <div class="card-head">
                <strong>"Trigger"</strong>
            </div>
            <p class="hint">
                "Drag a trigger here from the palette (Triggers): what starts this flow, such as User Deactivated."
            </p>
        }
        .into_any(),
        Some(spec) => {
            let options = spec
                .inputs
                .iter()
                .map(|input| {
                    let name = input.name.clone();
                    let label = input.label.clone();
                    let ty = input.ty.clone();
                    let text = binding_text(flow.trigger.options.get(&name));
                    let on_change = move |ev| {
                        let text = event_target_value(&ev);
                        let name = name.clone();
                        let binding = typed_binding(&text, &ty);
                        editor.edit(move |flow| {
                            match binding {
                                Some(b) => flow.trigger.options.insert(name, b),
                                None => flow.trigger.options.remove(&name),
                            };
                            Ok(())
                        });
                    };
                    view! {
                        <div class="field-in">
                            <label>
                                {label.clone()}
                                <input
                                    type="text"
                                    value=text
                                    aria-label=format!("Trigger {label}")
                                    on:change=on_change
                                />
                            </label>
                        </div>
                    }
                })
                .collect_view();
            let outputs = edit::outputs(spec, Source::Trigger)
                .into_iter()
                .map(|o| output_chip(editor, o))
                .collect_view();
            view! {
                <div
                    class="card-head"
                    on:click=move |_| editor.selected.set(Some(Selected::Trigger))
                >
                    <span class="card-app">"Trigger"</span>
                    <strong>{spec.name}</strong>
                    {badge(editor, None)}
                </div>
                <div class="card-body">
                    {(!spec.inputs.is_empty()).then(|| view! { <h4>"Options"</h4> })} {options}
                    <h4>"Outputs"</h4> <ul class="outputs">{outputs}</ul>
                </div>
            }
            .into_any()
        }
    };
    view! {
        <section
            class="flow-card trigger-card"
            class:over=over
            data-drop="trigger"
            aria-label="Trigger"
        >
            {body}
        </section>
    }
}

pub(super) fn card_view(
    editor: Editor,
    flow: &Flow,
    card: &Card,
    row: Row,
    index: usize,
    row_len: usize,
) -> AnyView {
    let id = card.id;
    let Some(spec) = catalog().get(&card.kind) else {
        return view! {
            <section class="flow-card unknown" data-card=id.0>
                <div class="card-head">
                    <strong>{format!("Unknown card {:?}", card.kind)}</strong>
                    {badge(editor, Some(id))}
                </div>
                <button
                    type="button"
                    on:click=move |_| {
                        editor.edit(|f| edit::remove(f, id).map(|_| ()).ok_or_else(String::new))
                    }
                >
                    "Remove"
                </button>
            </section>
        }
        .into_any();
    };
    let name = spec.name;
    let tables = editor.tables.get_value();
    let table = table_of(card, &tables).cloned();
    let inputs = spec
        .inputs
        .iter()
        .flat_map(|input| {
            // An object input of a Tables card whose table is known is filled in column
            // by column, as the table's columns.
            match (&table, &input.ty) {
                (Some(table), FieldType::Object { .. })
                    if !card.inputs.contains_key(&input.name) =>
                {
                    table
                        .columns
                        .iter()
                        .map(|(column, ty)| InputSpec {
                            name: format!("{}.{column}", input.name),
                            label: format!("{} › {column}", input.label),
                            ty: column_type(*ty),
                            required: false,
                        })
                        .collect::<Vec<_>>()
                }
                _ => vec![InputSpec {
                    name: input.name.clone(),
                    label: input.label.clone(),
                    ty: input.ty.clone(),
                    required: input.required,
                }],
            }
        })
        .map(|input| input_view(editor, flow, card, input))
        .collect_view();
    let lanes = card
        .lanes
        .iter()
        .enumerate()
        .map(|(i, lane)| lane_view(editor, flow, id, i, lane))
        .collect_view();
    let error_lane = match &card.on_error {
        OnError::ErrorLane { cards } => Some(view! {
            <div class="lane error-lane">
                <div class="lane-name">"If this card fails"</div>
                <div class="row">{row_view(editor, flow, Row::ErrorLane(id), cards)}</div>
            </div>
        }),
        _ => None,
    };
    let outputs = edit::outputs(spec, Source::Card(id))
        .into_iter()
        .map(|o| output_chip(editor, o))
        .collect_view();
    let has_outputs = !spec.outputs.is_empty();
    let selected = move || editor.selected.get() == Some(Selected::Card(id));
    let dragging = move || {
        editor.drag.with(|d| {
            d.as_ref()
                .is_some_and(|d| d.active && d.what == Dragged::Card(id))
        })
    };
    let handling = match &card.on_error {
        OnError::Stop => None,
        OnError::Continue => Some("On error: continue".to_string()),
        OnError::Retry { times } => Some(format!("On error: retry {times}×")),
        OnError::ErrorLane { .. } => Some("On error: error lane".to_string()),
    };
    let tested = editor.last_test.with_value(|t| {
        t.as_ref()
            .and_then(|t| t.cards.iter().rev().find(|c| c.card == id.0).cloned())
    });
    let tested = tested.map(|t| {
        let class = format!("tested run-{}", t.status);
        let part = |title: &'static str, text: Option<String>| {
            text.map(|text| {
                view! {
                    <p class="hint">{title}</p>
                    <pre class="json">{text}</pre>
                }
            })
        };
        view! {
            <details class=class data-testid="tested">
                <summary>{format!("Last test: {}", t.status)}</summary>
                {t.error.map(|e| view! { <p class="reason">{e}</p> })}
                {part("Inputs", t.inputs)}
                {part("Outputs", t.outputs)}
            </details>
        }
    });
    let note =
        (!card.note.is_empty()).then(|| view! { <p class="card-note">{card.note.clone()}</p> });
    let logic = !card.lanes.is_empty();
    let is_last = index + 1 >= row_len;
    view! {
        <section
            class="flow-card"
            class:logic=logic
            class:selected=selected
            class:moving=dragging
            data-card=id.0
            aria-label=format!("Card {}: {name}", id.0)
        >
            <div
                class="card-head"
                title="Drag to move; press to open its settings"
                on:pointerdown=move |ev| editor.press(&ev, Dragged::Card(id), name.to_string())
                on:click=move |_| {
                    if !editor.just_dragged.get_value() {
                        editor.selected.set(Some(Selected::Card(id)));
                    }
                }
            >
                <span class="card-app">{spec.app}</span>
                <strong>{name}</strong>
                <span class="card-id">{format!("#{}", id.0)}</span>
                {badge(editor, Some(id))}
            </div>
            {note}
            {card_warnings(editor, id)}
            {tested}
            <div class="card-body">
                {(!spec.inputs.is_empty()).then(|| view! { <h4>"Inputs"</h4> })} {inputs}
                {handling.map(|h| view! { <p class="hint">{h}</p> })} {lanes} {error_lane}
                {has_outputs.then(|| view! { <h4>"Outputs"</h4> })}
                <ul class="outputs">{outputs}</ul>
            </div>
            <div class="card-foot">
                <button
                    type="button"
                    aria-label=format!("Move card {} earlier", id.0)
                    disabled=index == 0
                    on:click=move |_| {
                        editor.edit(|f| edit::move_card(f, id, row, index.saturating_sub(1)))
                    }
                >
                    "◀"
                </button>
                <button
                    type="button"
                    aria-label=format!("Move card {} later", id.0)
                    disabled=is_last
                    on:click=move |_| editor.edit(|f| edit::move_card(f, id, row, index + 2))
                >
                    "▶"
                </button>
                <button
                    type="button"
                    on:click=move |_| editor.selected.set(Some(Selected::Card(id)))
                >
                    "Settings"
                </button>
                <button
                    type="button"
                    class="danger"
                    aria-label=format!("Remove card {}", id.0)
                    on:click=move |_| {
                        editor
                            .edit(|f| {
                                edit::remove(f, id)
                                    .map(|_| ())
                                    .ok_or_else(|| "That card is gone already.".to_string())
                            });
                        editor.say(format!("Removed \"{name}\". Undo brings it back."));
                        if editor.selected.get_untracked() == Some(Selected::Card(id)) {
                            editor.selected.set(None);
                        }
                    }
                >
                    "Remove"
                </button>
            </div>
        </section>
    }
    .into_any()
}

pub(super) fn lane_view(
    editor: Editor,
    flow: &Flow,
    owner: CardId,
    index: usize,
    lane: &Lane,
) -> AnyView {
    let row = Row::Lane(owner, index);
    view! {
        <div class="lane" data-lane=lane.name.clone()>
            <div class="lane-name">{lane.name.clone()}</div>
            <div class="row">{row_view(editor, flow, row, &lane.cards)}</div>
        </div>
    }
    .into_any()
}
