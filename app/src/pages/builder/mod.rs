//! The builder: the trigger card on the left, the flow's cards in a row to its right,
//! lanes inside If/Else and Branch. Cards come from a searchable palette built from the
//! card catalog; an admin drags a card onto a drop zone, drags a card to reorder it, and
//! drags an output field of an earlier card onto an input to map it. Every drag has a
//! click and keyboard alternative: a palette entry's button adds the card at the end,
//! ◀ ▶ move a card, and each input's "Map…" opens a picker that arrow keys and Enter
//! work. Drags are pointer events (not HTML5 drag and drop), so touch and zoom work.
//!
//! The flow being edited lives in the browser until Save makes it a new version; the
//! catalog's validation is asked after every change and shown as badges on the cards.
//! Undo and Redo (Ctrl+Z, Ctrl+Shift+Z) step through the changes; leaving with unsaved
//! changes asks first.

use crate::builder::{
    BuilderData, LastTest, ProblemView, Saved, TableColumns, builder_setup, check_flow, save_flow,
};
use crate::console::{BooleanOptions, DetailTop, Loaded, path_id};
use domain::flows::catalog::{CardRole, CardSpec, FieldType, catalog};
use domain::flows::edit::{self, Output, Row};
use domain::flows::{Binding, Card, CardId, Flow, Lane, OnError, Source};
use domain::tables::ColumnType;
use leptos::prelude::*;
use serde_json::Value;

mod canvas;
mod editor;
mod inputs;
mod listeners;
mod palette;
mod settings;

use canvas::*;
use editor::*;
use inputs::*;
use listeners::*;
use palette::*;
use settings::*;

/// How far (in pixels) a pointer moves before a press becomes a drag.
#[cfg(feature = "hydrate")]
pub(super) const DRAG_THRESHOLD: i32 = 5;

#[component]
pub fn BuilderPage() -> impl IntoView {
    let path_id = path_id();
    // `/flows/new` has no id: an empty flow.
    let id = move || {
        Some(path_id())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| "new".into())
    };
    let setup = Resource::new(id, builder_setup);
    view! {
        <DetailTop title="Flow builder" back=("/flows", "← All flows") />
        <p class="notice error needs-js">
            "The builder needs JavaScript to add, move and map cards. Without it, edit the flow's JSON on its Versions page."
        </p>
        <Loaded
            data=setup
            loading="Loading the builder…"
            show=|setup| view! { <Builder setup /> }
        />
    }
}

/// What is being dragged.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Dragged {
    /// A card from the palette, by catalog key.
    NewCard(&'static str),
    /// A card of the flow, to move it.
    Card(CardId),
    /// An output field, to map an input to it.
    Field(Output),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Drag {
    what: Dragged,
    label: String,
    start: (i32, i32),
    active: bool,
}

/// Which card's settings are open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Selected {
    Trigger,
    Card(CardId),
}

/// `main:2` → (the main row, place 2).
pub(super) fn parse_zone(key: &str) -> Option<(Row, usize)> {
    let (row, index) = key.rsplit_once(':')?;
    Some((Row::parse(row)?, index.parse().ok()?))
}

/// `3:user` → (card 3, input `user`).
pub(super) fn parse_input(key: &str) -> Option<(CardId, String)> {
    let (card, input) = key.split_once(':')?;
    Some((CardId(card.parse().ok()?), input.to_string()))
}

#[component]
pub(super) fn Builder(setup: BuilderData) -> impl IntoView {
    let flow: Flow = serde_json::from_str(&setup.definition).unwrap_or_else(|_| Flow::new("", ""));
    let saved_json = RwSignal::new(flow.to_stable_json());
    let flow_id = RwSignal::new(setup.flow_id.clone());
    let version = RwSignal::new(setup.version);
    let enabled = RwSignal::new(setup.enabled);
    let saving = RwSignal::new(false);
    let editor = Editor {
        flow: RwSignal::new(flow),
        undo: RwSignal::new(Vec::new()),
        redo: RwSignal::new(Vec::new()),
        problems: RwSignal::new(setup.problems.clone()),
        selected: RwSignal::new(None),
        drag: RwSignal::new(None),
        over: RwSignal::new(None),
        ghost: RwSignal::new((0, 0)),
        just_dragged: StoredValue::new(false),
        picker: RwSignal::new(None),
        notice: RwSignal::new(None),
        tables: StoredValue::new(setup.tables.clone()),
        last_test: StoredValue::new(setup.last_test.clone()),
        helpers: StoredValue::new(setup.helpers.clone()),
        can_edit: setup.can_edit,
    };
    let dirty = Memo::new(move |_| editor.flow.with(Flow::to_stable_json) != saved_json.get());

    // Ask the server's validation after each change; a late answer to an older change
    // is dropped.
    let asked = StoredValue::new(0u64);
    Effect::new(move |first: Option<()>| {
        let json = editor.flow.with(Flow::to_stable_json);
        if first.is_none() {
            return;
        }
        asked.update_value(|n| *n += 1);
        let mine = asked.get_value();
        leptos::task::spawn_local(async move {
            if let Ok(problems) = check_flow(flow_id.get_untracked(), json).await
                && asked.get_value() == mine
            {
                editor.problems.set(problems);
            }
        });
    });

    install_pointer_listeners(editor);
    install_keyboard_shortcuts(editor);
    install_leave_guard(dirty);

    let save = move |_| {
        if saving.get_untracked() {
            return;
        }
        saving.set(true);
        let json = editor.flow.with_untracked(Flow::to_stable_json);
        let id = flow_id.get_untracked();
        let based_on = version.get_untracked();
        editor.say("Saving…");
        leptos::task::spawn_local(async move {
            let result: Result<Saved, _> = save_flow(id.clone(), based_on, json.clone()).await;
            saving.set(false);
            match result {
                Ok(saved) => {
                    saved_json.set(json);
                    version.set(saved.version);
                    enabled.set(saved.enabled);
                    let problems = editor
                        .problems
                        .with_untracked(|all| all.iter().filter(|p| !p.warning).count());
                    let mut text = format!("Saved as version {}.", saved.version);
                    if saved.turned_off {
                        text.push_str(" The flow has problems, so it is off now.");
                    } else if problems > 0 {
                        text.push_str(" Fix the problems shown on the cards before turning it on.");
                    }
                    if !saved.warnings.is_empty() {
                        text.push_str(" Watch out: ");
                        text.push_str(&saved.warnings.join(" "));
                    }
                    editor.say(text);
                    if id.is_none() {
                        // The new flow's own address, without leaving the builder (its
                        // undo steps stay).
                        flow_id.set(Some(saved.flow_id.clone()));
                        show_address(&format!("/flows/{}/edit", saved.flow_id));
                    }
                }
                Err(error) => editor.say_error(error.to_string()),
            }
        });
    };

    let name_box = move || editor.flow.with(|f| f.name.clone());
    let on_name = move |ev| {
        let name = event_target_value(&ev);
        editor.edit(|flow| {
            flow.name = name.trim().to_string();
            Ok(())
        });
    };
    let status = move || {
        let state = if saving.get() {
            "Saving…".to_string()
        } else if dirty.get() {
            "Unsaved changes".to_string()
        } else if flow_id.get().is_none() {
            "Not saved yet".to_string()
        } else {
            format!(
                "Version {} · {}",
                version.get(),
                if enabled.get() { "On" } else { "Off" }
            )
        };
        view! { <span class="builder-state">{state}</span> }
    };
    let tested = setup.last_test.clone().map(|t| {
        view! {
            <a href=format!("/executions/{}", t.execution_id) class="last-test">
                {format!("Last test: {} (version {})", t.status, t.version)}
            </a>
        }
    });
    let links = move || {
        flow_id.get().map(|id| {
            view! {
                <a href=format!("/flows/{id}/versions")>"Versions"</a>
                " "
                <a href=format!("/flows/{id}/test")>"Test Flow"</a>
                " "
                <a href=format!("/flows/{id}/test?mode=dry")>"Dry run"</a>
                " "
                <a href=format!("/flows/{id}/api")>"API"</a>
            }
        })
    };
    let notice = move || {
        editor.notice.get().map(|(error, text)| {
            view! {
                <p
                    class=if error { "builder-notice error" } else { "builder-notice" }
                    role="status"
                >
                    {text}
                </p>
            }
        })
    };
    let read_only = (!setup.can_edit).then(|| {
        view! { <p class="notice">"You may look at this flow; your role cannot change it."</p> }
    });
    let tables = setup
        .tables
        .iter()
        .map(|t| view! { <option value=t.name.clone()></option> })
        .collect_view();
    let helpers = setup
        .helpers
        .iter()
        .map(|(_, name)| view! { <option value=name.clone()></option> })
        .collect_view();
    // A connection is kept by its id; the list shows its name.
    let connections = setup
        .connections
        .iter()
        .map(|(id, name, _)| view! { <option value=id.clone() label=name.clone()></option> })
        .collect_view();
    view! {
        {read_only}
        <div class="builder-bar">
            <label class="visually-hidden" for="flow-name">
                "Flow name"
            </label>
            <input
                id="flow-name"
                class="flow-name"
                placeholder="Name this flow"
                prop:value=name_box
                on:change=on_name
            />
            <button
                type="button"
                on:click=move |_| editor.undo()
                disabled=move || editor.undo.with(Vec::is_empty)
                title="Undo (Ctrl+Z)"
            >
                "Undo"
            </button>
            <button
                type="button"
                on:click=move |_| editor.redo()
                disabled=move || editor.redo.with(Vec::is_empty)
                title="Redo (Ctrl+Shift+Z)"
            >
                "Redo"
            </button>
            <button
                type="button"
                class="primary"
                on:click=save
                disabled=move || {
                    !setup.can_edit || saving.get() || (!dirty.get() && flow_id.get().is_some())
                }
            >
                "Save"
            </button>
            {status}
            <span class="builder-links">{tested} {links}</span>
        </div>
        {notice}
        <datalist id="builder-tables">{tables}</datalist>
        <datalist id="builder-helpers">{helpers}</datalist>
        <datalist id="builder-connections">{connections}</datalist>
        <div
            class="builder"
            class:dragging=move || editor.drag.with(|d| d.as_ref().is_some_and(|d| d.active))
            class:with-settings=move || editor.selected.get().is_some()
        >
            <Palette editor />
            <div class="canvas" id="builder-canvas">
                {move || {
                    let flow = editor.flow.get();
                    view! {
                        <div class="row main-row">
                            <TriggerCard editor flow=flow.clone() />
                            {row_view(editor, &flow, Row::Main, &flow.cards)}
                        </div>
                    }
                }}
            </div>
            {move || editor.selected.get().map(|selected| view! { <Settings editor selected /> })}
        </div>
        {move || {
            editor
                .drag
                .get()
                .filter(|d| d.active)
                .map(|d| {
                    let (x, y) = editor.ghost.get();
                    view! {
                        <div
                            class="drag-ghost"
                            style=format!("left: {}px; top: {}px", x + 12, y + 12)
                        >
                            {d.label}
                        </div>
                    }
                })
        }}
    }
}

/// Puts `path` in the address bar in place of the current one, staying on the page.
pub(super) fn show_address(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}
