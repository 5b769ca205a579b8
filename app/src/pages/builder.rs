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
use crate::console::{ErrorPage, PageHeader};
use domain::flows::catalog::{CardRole, CardSpec, FieldType, catalog};
use domain::flows::edit::{self, Output, Row};
use domain::flows::{Binding, Card, CardId, Flow, Lane, OnError, Source};
use domain::tables::ColumnType;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde_json::Value;

/// How far (in pixels) a pointer moves before a press becomes a drag.
#[cfg(feature = "hydrate")]
const DRAG_THRESHOLD: i32 = 5;

#[component]
pub fn BuilderPage() -> impl IntoView {
    let params = use_params_map();
    // `/flows/new` has no id: an empty flow.
    let id = move || params.read().get("id").unwrap_or_else(|| "new".into());
    let setup = Resource::new(id, builder_setup);
    view! {
        <PageHeader title="Flow builder" />
        <p>
            <A href="/flows">"← All flows"</A>
        </p>
        <p class="notice error needs-js">
            "The builder needs JavaScript to add, move and map cards. Without it, edit the flow's JSON on its Versions page."
        </p>
        <Suspense fallback=|| {
            view! { <p class="loading">"Loading the builder…"</p> }
        }>
            {move || Suspend::new(async move {
                match setup.await {
                    Err(error) => view! { <ErrorPage error /> }.into_any(),
                    Ok(setup) => view! { <Builder setup /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// What is being dragged.
#[derive(Debug, Clone, PartialEq)]
enum Dragged {
    /// A card from the palette, by catalog key.
    NewCard(&'static str),
    /// A card of the flow, to move it.
    Card(CardId),
    /// An output field, to map an input to it.
    Field(Output),
}

#[derive(Debug, Clone, PartialEq)]
struct Drag {
    what: Dragged,
    label: String,
    start: (i32, i32),
    active: bool,
}

/// Which card's settings are open.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Selected {
    Trigger,
    Card(CardId),
}

/// The builder's state, shared by its parts.
#[derive(Clone, Copy)]
struct Editor {
    flow: RwSignal<Flow>,
    /// Earlier states of the flow, newest last; and those undone, to redo.
    undo: RwSignal<Vec<Flow>>,
    redo: RwSignal<Vec<Flow>>,
    problems: RwSignal<Vec<ProblemView>>,
    selected: RwSignal<Option<Selected>>,
    drag: RwSignal<Option<Drag>>,
    /// The drop zone or input under a dragged item.
    over: RwSignal<Option<String>>,
    ghost: RwSignal<(i32, i32)>,
    /// A drag just ended: the click that follows is not a click.
    just_dragged: StoredValue<bool>,
    /// The input whose mapping picker is open: (card, input name).
    picker: RwSignal<Option<(u32, String)>>,
    /// A sentence for the status line: (is an error, text).
    notice: RwSignal<Option<(bool, String)>>,
    tables: StoredValue<Vec<TableColumns>>,
    /// The newest Test Flow run, shown on each card.
    last_test: StoredValue<Option<LastTest>>,
    can_edit: bool,
}

impl Editor {
    /// Applies `change` to a copy of the flow; keeps it (with an undo step) when it
    /// worked and changed something, else says why not.
    fn edit(&self, change: impl FnOnce(&mut Flow) -> Result<(), String>) {
        if !self.can_edit {
            self.say_error("You may look at this flow but not change it.");
            return;
        }
        let before = self.flow.get_untracked();
        let mut after = before.clone();
        match change(&mut after) {
            Err(why) => self.say_error(why),
            Ok(()) if after == before => {}
            Ok(()) => {
                self.undo.update(|u| u.push(before));
                self.redo.update(Vec::clear);
                self.flow.set(after);
            }
        }
    }

    fn undo(&self) {
        self.step(self.undo, self.redo, "Undone.");
    }

    fn redo(&self) {
        self.step(self.redo, self.undo, "Redone.");
    }

    /// Takes the newest state off `from` as the flow, keeping the current one on `to`.
    fn step(&self, from: RwSignal<Vec<Flow>>, to: RwSignal<Vec<Flow>>, said: &str) {
        let Some(state) = from.try_update(Vec::pop).flatten() else {
            return;
        };
        let now = self.flow.get_untracked();
        to.update(|t| t.push(now));
        self.flow.set(state);
        self.say(said);
    }

    fn say(&self, text: impl Into<String>) {
        self.notice.set(Some((false, text.into())));
    }

    fn say_error(&self, text: impl Into<String>) {
        self.notice.set(Some((true, text.into())));
    }

    /// Starts a possible drag at the pointer's place; it becomes one once the pointer
    /// moves a few pixels.
    fn press(&self, event: &leptos::ev::PointerEvent, what: Dragged, label: String) {
        if !self.can_edit || event.button() != 0 {
            return;
        }
        let at = (event.client_x(), event.client_y());
        self.drag.set(Some(Drag {
            what,
            label,
            start: at,
            active: false,
        }));
        self.ghost.set(at);
    }

    /// Does what dropping the dragged item on `target` means.
    fn drop_on(&self, what: Dragged, target: &str) {
        let specs = catalog();
        match what {
            Dragged::NewCard(key) => {
                let Some(spec) = specs.get(key) else { return };
                if target == "trigger" {
                    if spec.role != CardRole::Trigger {
                        return self.say_error(format!(
                            "\"{}\" is not a trigger; drop it between cards.",
                            spec.name
                        ));
                    }
                    self.edit(|flow| {
                        flow.trigger.kind = spec.key.to_string();
                        flow.trigger.options.clear();
                        Ok(())
                    });
                    return self.say(format!("The flow now starts with \"{}\".", spec.name));
                }
                let Some((row, index)) = parse_zone(target) else {
                    return;
                };
                if spec.role == CardRole::Trigger {
                    return self.say_error(format!(
                        "\"{}\" is a trigger: drop it on the first card, on the left.",
                        spec.name
                    ));
                }
                self.edit(|flow| {
                    let card = edit::new_card(flow, spec);
                    edit::insert(flow, row, index, card)
                });
                self.say(format!("Added \"{}\".", spec.name));
            }
            Dragged::Card(id) => {
                let Some((row, index)) = parse_zone(target) else {
                    return;
                };
                self.edit(|flow| edit::move_card(flow, id, row, index));
            }
            Dragged::Field(output) => {
                let Some((card, input)) = parse_input(target) else {
                    return;
                };
                self.map(card, &input, &output);
            }
        }
    }

    /// Maps input `input` of card `card` to `output`, when the card can see it and the
    /// types fit.
    fn map(&self, card: CardId, input: &str, output: &Output) {
        let flow = self.flow.get_untracked();
        let Some(target) = edit::card(&flow, card) else {
            return;
        };
        let Some(spec) = catalog().get(&target.kind) else {
            return;
        };
        let seen = edit::mappable(&flow, card, catalog())
            .iter()
            .any(|(_, fields)| fields.iter().any(|f| f == output));
        if !seen {
            return self.say_error(format!(
                "Card {} cannot read \"{}\": only the trigger and the cards before it (in its own lane) can be mapped.",
                card.0, output.label
            ));
        }
        let expected = input_type(spec, input, &self.tables.get_value(), target);
        if !expected.accepts(&output.ty) {
            return self.say_error(format!(
                "\"{}\" is {}; this input takes {}.",
                output.label,
                output.ty.label(),
                expected.label()
            ));
        }
        let binding = Binding::mapping(output.from, output.path.clone());
        let input_key = input.to_string();
        let input = input.to_string();
        self.edit(move |flow| {
            let card = edit::card_mut(flow, card).ok_or("that card is no longer in the flow")?;
            card.inputs.insert(input, binding);
            Ok(())
        });
        let from_picker = self.picker.get_untracked().is_some();
        self.picker.set(None);
        self.say(format!("Mapped \"{}\".", output.label));
        if from_picker {
            focus_map_button(card, &input_key);
        }
    }
}

/// Puts the focus back on the "Map…" button of input `input` of `card` once the card is
/// drawn again, so a keyboard user goes on from where they were.
fn focus_map_button(card: CardId, input: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let selector = format!("[data-input=\"{}:{input}\"] .map-button", card.0);
        request_animation_frame(move || {
            if let Some(button) = document()
                .query_selector(&selector)
                .ok()
                .flatten()
                .and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = button.focus();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (card, input);
}

/// `main:2` → (the main row, place 2).
fn parse_zone(key: &str) -> Option<(Row, usize)> {
    let (row, index) = key.rsplit_once(':')?;
    Some((Row::parse(row)?, index.parse().ok()?))
}

/// `3:user` → (card 3, input `user`).
fn parse_input(key: &str) -> Option<(CardId, String)> {
    let (card, input) = key.split_once(':')?;
    Some((CardId(card.parse().ok()?), input.to_string()))
}

/// The type input `name` of `card` takes, a table's column included.
fn input_type(spec: &CardSpec, name: &str, tables: &[TableColumns], card: &Card) -> FieldType {
    if let Some((root, column)) = name.split_once('.')
        && let Some(table) = table_of(card, tables)
        && spec.input(root).is_some()
        && let Some((_, ty)) = table.columns.iter().find(|(c, _)| c == column)
    {
        return column_type(*ty);
    }
    spec.input_type(name).unwrap_or(FieldType::Any)
}

fn column_type(ty: ColumnType) -> FieldType {
    match ty {
        ColumnType::Text => FieldType::Text,
        ColumnType::Number => FieldType::Number,
        ColumnType::Boolean => FieldType::Boolean,
        ColumnType::DateTime => FieldType::DateTime,
        ColumnType::Json => FieldType::Any,
    }
}

/// The table a Tables card names, when it is typed in and exists.
fn table_of<'t>(card: &Card, tables: &'t [TableColumns]) -> Option<&'t TableColumns> {
    if !card.kind.starts_with("tables.") {
        return None;
    }
    match card.inputs.get("table") {
        Some(Binding::Literal {
            value: Value::String(name),
        }) => tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name.trim())),
        _ => None,
    }
}

/// A typed value as the binding it stands for: empty is nothing, `{{…}}` a template,
/// else a literal of the input's type where it reads as one.
fn typed_binding(text: &str, ty: &FieldType) -> Option<Binding> {
    if text.trim().is_empty() {
        return None;
    }
    if text.contains("{{") {
        return Some(Binding::template(text));
    }
    let value = match ty {
        FieldType::Number => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            .map(|v| match v.as_f64() {
                Some(n) if n.fract() == 0.0 && n.abs() < 9e15 => Value::from(n as i64),
                _ => v,
            })
            .unwrap_or_else(|| Value::String(text.to_string())),
        FieldType::Boolean => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_string()),
        },
        FieldType::Object { .. } | FieldType::List { .. } | FieldType::Any => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
        }
        FieldType::Text | FieldType::DateTime => Value::String(text.to_string()),
    };
    Some(Binding::literal(value))
}

/// A binding's typed text (what its box shows).
fn binding_text(binding: Option<&Binding>) -> String {
    match binding {
        Some(Binding::Literal {
            value: Value::String(s),
        }) => s.clone(),
        Some(Binding::Literal { value: Value::Null }) | None => String::new(),
        Some(Binding::Literal { value }) => value.to_string(),
        Some(Binding::Template { template }) => template.clone(),
        Some(Binding::Mapping { .. }) => String::new(),
    }
}

/// A mapping as its chip shows it: the field ("User › Email") and where it comes from
/// ("User Deactivated", "2 · Read User").
fn mapping_label(flow: &Flow, card: CardId, from: Source, path: &str) -> (String, String) {
    for (group, fields) in edit::mappable(flow, card, catalog()) {
        if let Some(f) = fields.iter().find(|f| f.from == from && f.path == path) {
            return (f.label.clone(), group);
        }
    }
    (path.to_string(), from.to_string())
}

#[component]
fn Builder(setup: BuilderData) -> impl IntoView {
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
            if let Ok(problems) = check_flow(json).await
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
                    let problems = editor.problems.with_untracked(Vec::len);
                    let mut text = format!("Saved as version {}.", saved.version);
                    if saved.turned_off {
                        text.push_str(" The flow has problems, so it is off now.");
                    } else if problems > 0 {
                        text.push_str(" Fix the problems shown on the cards before turning it on.");
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
        .map(|h| view! { <option value=h.clone()></option> })
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
fn show_address(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Follows a press on the window: it becomes a drag past a few pixels, shows what is
/// under the pointer, and drops there when the pointer is let go.
fn install_pointer_listeners(editor: Editor) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let target_at = |x: i32, y: i32, selector: &str, attribute: &str| -> Option<String> {
            document()
                .element_from_point(x as f32, y as f32)
                .and_then(|e| e.closest(selector).ok().flatten())
                .and_then(|e| e.get_attribute(attribute))
        };
        let move_handle = window_event_listener(leptos::ev::pointermove, move |event| {
            let Some(drag) = editor.drag.get_untracked() else {
                return;
            };
            let (x, y) = (event.client_x(), event.client_y());
            if !drag.active {
                let moved = (x - drag.start.0).abs().max((y - drag.start.1).abs());
                if moved < DRAG_THRESHOLD {
                    return;
                }
                editor.drag.set(Some(Drag {
                    active: true,
                    ..drag.clone()
                }));
                editor.picker.set(None);
            }
            event.prevent_default();
            editor.ghost.set((x, y));
            let over = match drag.what {
                Dragged::Field(_) => target_at(x, y, "[data-input]", "data-input"),
                _ => target_at(x, y, "[data-drop]", "data-drop"),
            };
            if editor.over.get_untracked() != over {
                editor.over.set(over);
            }
            // Near the canvas's edges, scroll it, so far cards can be reached.
            if let Some(canvas) = document()
                .get_element_by_id("builder-canvas")
                .and_then(|c| c.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let rect = canvas.get_bounding_client_rect();
                let (left, right) = (rect.left() as i32, rect.right() as i32);
                if x > right - 40 && x < right + 40 {
                    canvas.scroll_by_with_x_and_y(24.0, 0.0);
                } else if x < left + 40 && x > left - 40 {
                    canvas.scroll_by_with_x_and_y(-24.0, 0.0);
                }
            }
        });
        let up_handle = window_event_listener(leptos::ev::pointerup, move |event| {
            let Some(drag) = editor.drag.get_untracked() else {
                return;
            };
            editor.drag.set(None);
            let over = editor.over.get_untracked();
            editor.over.set(None);
            if !drag.active {
                return;
            }
            editor.just_dragged.set_value(true);
            let (x, y) = (event.client_x(), event.client_y());
            let target = match drag.what {
                Dragged::Field(_) => target_at(x, y, "[data-input]", "data-input"),
                _ => target_at(x, y, "[data-drop]", "data-drop"),
            }
            .or(over);
            match target {
                Some(target) => editor.drop_on(drag.what, &target),
                None => editor.say("Dropped outside a drop zone: nothing changed."),
            }
            // The click that follows a drag is not a click.
            set_timeout(
                move || editor.just_dragged.set_value(false),
                std::time::Duration::from_millis(50),
            );
        });
        let cancel_handle = window_event_listener(leptos::ev::pointercancel, move |_| {
            editor.drag.set(None);
            editor.over.set(None);
        });
        on_cleanup(move || {
            move_handle.remove();
            up_handle.remove();
            cancel_handle.remove();
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = editor;
}

/// Ctrl+Z undoes, Ctrl+Shift+Z and Ctrl+Y redo (outside text boxes, which keep their
/// own undo); Escape closes the picker and ends a drag.
fn install_keyboard_shortcuts(editor: Editor) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::keydown, move |event| {
            if event.key() == "Escape" {
                editor.drag.set(None);
                editor.over.set(None);
                return;
            }
            if !(event.ctrl_key() || event.meta_key()) {
                return;
            }
            let in_text = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            if in_text {
                return;
            }
            match event.key().to_lowercase().as_str() {
                "z" if event.shift_key() => editor.redo(),
                "z" => editor.undo(),
                "y" => editor.redo(),
                _ => return,
            }
            event.prevent_default();
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = editor;
}

/// With unsaved changes, leaving the page (a link, closing the tab, reloading) asks
/// first.
fn install_leave_guard(dirty: Memo<bool>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        const QUESTION: &str = "This flow has unsaved changes. Leave without saving them?";
        let unload = window_event_listener(leptos::ev::beforeunload, move |event| {
            if dirty.get_untracked() {
                event.prevent_default();
                event.set_return_value(QUESTION);
            }
        });
        // Links are followed by the router on the window; this listener runs before it
        // (capture phase) and stops the click when the admin stays.
        // Once the builder is gone (its state disposed), the listener does nothing.
        let on_click =
            Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |event: web_sys::MouseEvent| {
                if !dirty.try_get_untracked().unwrap_or(false) {
                    return;
                }
                let link = event
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .and_then(|e| e.closest("a[href]").ok().flatten());
                if link.is_none() {
                    return;
                }
                if !window().confirm_with_message(QUESTION).unwrap_or(true) {
                    event.prevent_default();
                    event.stop_immediate_propagation();
                }
            });
        let _ = document().add_event_listener_with_callback_and_bool(
            "click",
            on_click.as_ref().unchecked_ref(),
            true,
        );
        on_click.forget();
        on_cleanup(move || unload.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = dirty;
}

/// The searchable list of triggers and cards, grouped by app.
#[component]
fn Palette(editor: Editor) -> impl IntoView {
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

/// A drop zone: where a dragged card goes in `row`, before the card at `index`.
fn drop_zone(editor: Editor, row: Row, index: usize, empty: bool) -> AnyView {
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
fn row_view(editor: Editor, flow: &Flow, row: Row, cards: &[Card]) -> AnyView {
    let mut items = Vec::new();
    items.push(drop_zone(editor, row, 0, cards.is_empty()));
    for (index, card) in cards.iter().enumerate() {
        items.push(card_view(editor, flow, card, row, index, cards.len()));
        items.push(drop_zone(editor, row, index + 1, false));
    }
    items.collect_view().into_any()
}

/// The problems shown on the card `card` (or the trigger's).
fn problems_of(editor: Editor, card: Option<CardId>) -> Vec<ProblemView> {
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

fn badge(editor: Editor, card: Option<CardId>) -> impl IntoView {
    move || {
        let problems = problems_of(editor, card);
        if problems.is_empty() {
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

/// A field a drag can start from (an output).
fn output_chip(editor: Editor, output: Output) -> AnyView {
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
fn TriggerCard(editor: Editor, flow: Flow) -> impl IntoView {
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

fn card_view(
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

fn lane_view(editor: Editor, flow: &Flow, owner: CardId, index: usize, lane: &Lane) -> AnyView {
    let row = Row::Lane(owner, index);
    view! {
        <div class="lane" data-lane=lane.name.clone()>
            <div class="lane-name">{lane.name.clone()}</div>
            <div class="row">{row_view(editor, flow, row, &lane.cards)}</div>
        </div>
    }
    .into_any()
}

/// An input as the card shows it.
#[derive(Clone)]
struct InputSpec {
    name: String,
    label: String,
    ty: FieldType,
    required: bool,
}

fn input_view(editor: Editor, flow: &Flow, card: &Card, input: InputSpec) -> AnyView {
    let id = card.id;
    let key = format!("{}:{}", id.0, input.name);
    let over_key = key.clone();
    let over = move || editor.over.get().as_deref() == Some(over_key.as_str());
    let binding = card.inputs.get(&input.name).cloned();
    let problem_input = input.name.clone();
    let problems = move || {
        problems_of(editor, Some(id))
            .into_iter()
            .filter(|p| p.input.as_deref() == Some(problem_input.as_str()))
            .map(|p| view! { <p class="field-problem">{p.message}</p> })
            .collect_view()
    };
    let has_problem_input = input.name.clone();
    let has_problem = move || {
        problems_of(editor, Some(id))
            .iter()
            .any(|p| p.input.as_deref() == Some(has_problem_input.as_str()))
    };
    let name = input.name.clone();
    let clear = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            editor.edit(move |flow| {
                if let Some(card) = edit::card_mut(flow, id) {
                    card.inputs.remove(&name);
                }
                Ok(())
            });
        }
    };
    let label = input.label.clone();
    let value = match &binding {
        Some(Binding::Mapping { from, path }) => {
            let (field, source) = mapping_label(flow, id, *from, path);
            let title = format!("{source} › {field}");
            view! {
                <span class="chip mapped" title=title data-from=source.clone()>
                    {field}
                </span>
                <button
                    type="button"
                    class="link"
                    aria-label=format!("Clear {label}")
                    on:click=clear
                >
                    "✕"
                </button>
            }
            .into_any()
        }
        _ => {
            let text = binding_text(binding.as_ref());
            let ty = input.ty.clone();
            let name = name.clone();
            let on_change = move |ev| {
                let text = event_target_value(&ev);
                let binding = typed_binding(&text, &ty);
                let name = name.clone();
                editor.edit(move |flow| {
                    let card =
                        edit::card_mut(flow, id).ok_or("that card is no longer in the flow")?;
                    match binding {
                        Some(b) => card.inputs.insert(name, b),
                        None => card.inputs.remove(&name),
                    };
                    Ok(())
                });
            };
            let aria = format!("{} on card {}", input.label, id.0);
            match input.ty {
                FieldType::Boolean => view! {
                    <select aria-label=aria on:change=on_change>
                        <option value="" selected=text.is_empty()>
                            "—"
                        </option>
                        <option value="true" selected=text == "true">
                            "true"
                        </option>
                        <option value="false" selected=text == "false">
                            "false"
                        </option>
                    </select>
                }
                .into_any(),
                _ => {
                    let list = match (card.kind.as_str(), input.name.as_str()) {
                        (k, "table") if k.starts_with("tables.") => Some("builder-tables"),
                        ("flow.call_flow" | "flow.for_each", "flow") => Some("builder-helpers"),
                        _ => None,
                    };
                    view! {
                        <input
                            type="text"
                            value=text
                            list=list
                            aria-label=aria
                            placeholder="Type a value, or drag a field here"
                            on:change=on_change
                        />
                    }
                    .into_any()
                }
            }
        }
    };
    let picker_key = (id.0, input.name.clone());
    let open_key = picker_key.clone();
    let open = move || editor.picker.get().as_ref() == Some(&open_key);
    let expanded = open.clone();
    let toggle_key = picker_key.clone();
    let toggle = move |_| {
        if editor.picker.get_untracked().as_ref() == Some(&toggle_key) {
            editor.picker.set(None);
        } else {
            editor.picker.set(Some(toggle_key.clone()));
        }
    };
    let picker_input = input.clone();
    let required = input.required;
    view! {
        <div class="field-in" class:over=over class:problem=has_problem data-input=key>
            <div class="field-label">
                <span>{input.label.clone()}</span>
                {required
                    .then(|| {
                        view! {
                            <span class="required" title="Required">
                                "*"
                            </span>
                        }
                    })}
                <small>{input.ty.label()}</small>
            </div>
            <div class="field-value">
                {value}
                <button
                    type="button"
                    class="map-button"
                    aria-haspopup="listbox"
                    aria-expanded=move || expanded().to_string()
                    aria-label=format!("Map {} on card {}", input.label, id.0)
                    on:click=toggle
                >
                    "Map…"
                </button>
            </div>
            {move || open().then(|| view! { <Picker editor card=id input=picker_input.clone() /> })}
            {problems}
        </div>
    }
    .into_any()
}

/// The list of fields an input may be mapped to: type to filter, arrows to move, Enter
/// to map, Escape to close; or click one.
#[component]
fn Picker(editor: Editor, card: CardId, input: InputSpec) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let active = RwSignal::new(0usize);
    let choices = Memo::new(move |_| {
        let q = filter.get().trim().to_lowercase();
        editor.flow.with(|flow| {
            edit::mappable(flow, card, catalog())
                .into_iter()
                .flat_map(|(group, fields)| {
                    fields
                        .into_iter()
                        .map(move |f| (format!("{group} › {}", f.label), f))
                })
                .filter(|(label, f)| {
                    input.ty.accepts(&f.ty) && (q.is_empty() || label.to_lowercase().contains(&q))
                })
                .collect::<Vec<_>>()
        })
    });
    let input_name = input.name.clone();
    let choose = move |index: usize| {
        if let Some((_, output)) = choices.with_untracked(|c| c.get(index).cloned()) {
            editor.map(card, &input_name, &output);
        }
    };
    let filter_ref = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(element) = filter_ref.get() {
            let _ = element.focus();
        }
    });
    let choose_key = choose.clone();
    let on_key = move |event: leptos::ev::KeyboardEvent| {
        let count = choices.with_untracked(Vec::len);
        match event.key().as_str() {
            "ArrowDown" => active.update(|a| *a = (*a + 1).min(count.saturating_sub(1))),
            "ArrowUp" => active.update(|a| *a = a.saturating_sub(1)),
            "Enter" => choose_key(active.get_untracked()),
            "Escape" => editor.picker.set(None),
            _ => return,
        }
        event.prevent_default();
    };
    let list_id = format!("picker-{}-{}", card.0, input.name.replace('.', "-"));
    let option_id = {
        let list_id = list_id.clone();
        move |i: usize| format!("{list_id}-{i}")
    };
    let active_id = {
        let option_id = option_id.clone();
        move || option_id(active.get())
    };
    let options = move || {
        let list = choices.get();
        if list.is_empty() {
            return view! { <li class="hint">"No earlier field fits this input."</li> }.into_any();
        }
        list.into_iter()
            .enumerate()
            .map(|(i, (label, _))| {
                let choose = choose.clone();
                view! {
                    <li
                        role="option"
                        id=option_id(i)
                        class:active=move || active.get() == i
                        aria-selected=move || (active.get() == i).to_string()
                        on:click=move |_| choose(i)
                    >
                        {label}
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <div class="picker">
            <input
                node_ref=filter_ref
                type="text"
                class="picker-filter"
                role="combobox"
                aria-label=format!("Find a field for {}", input.label)
                aria-controls=list_id.clone()
                aria-activedescendant=active_id
                placeholder="Type to filter; ↑ ↓ and Enter to map"
                on:input=move |ev| {
                    filter.set(event_target_value(&ev));
                    active.set(0);
                }
                on:keydown=on_key
            />
            <ul role="listbox" id=list_id>
                {options}
            </ul>
        </div>
    }
}

/// The settings of the selected card (or the trigger and the flow's own).
#[component]
fn Settings(editor: Editor, selected: Selected) -> impl IntoView {
    let close = move |_| editor.selected.set(None);
    let body = move || {
        let flow = editor.flow.get();
        match selected {
            Selected::Trigger => flow_settings(editor, &flow).into_any(),
            Selected::Card(id) => match edit::card(&flow, id) {
                None => {
                    view! { <p class="hint">"That card is no longer in the flow."</p> }.into_any()
                }
                Some(card) => card_settings(editor, card).into_any(),
            },
        }
    };
    view! {
        <aside class="settings" aria-label="Card settings">
            <button type="button" class="link close" on:click=close aria-label="Close settings">
                "✕"
            </button>
            {body}
        </aside>
    }
}

fn flow_settings(editor: Editor, flow: &Flow) -> impl IntoView + use<> {
    let triggers = catalog()
        .all()
        .iter()
        .filter(|s| s.role == CardRole::Trigger)
        .map(|s| {
            view! {
                <option value=s.key selected=flow.trigger.kind == s.key>
                    {s.name}
                </option>
            }
        })
        .collect_view();
    let save_all = flow.settings.save_all_data;
    view! {
        <h3>"Trigger and flow"</h3>
        <label>
            "Trigger"
            <select on:change=move |ev| {
                let kind = event_target_value(&ev);
                editor
                    .edit(|f| {
                        f.trigger.kind = kind;
                        f.trigger.options.clear();
                        Ok(())
                    });
            }>{triggers}</select>
        </label>
        <label>
            "Description"
            <textarea on:change=move |ev| {
                let text = event_target_value(&ev);
                editor
                    .edit(|f| {
                        f.description = text.trim().to_string();
                        Ok(())
                    });
            }>{flow.description.clone()}</textarea>
        </label>
        <label class="check">
            <input
                type="checkbox"
                checked=save_all
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    editor
                        .edit(|f| {
                            f.settings.save_all_data = on;
                            Ok(())
                        });
                }
            />
            "Save all data (each card's inputs and outputs in the history)"
        </label>
    }
}

fn card_settings(editor: Editor, card: &Card) -> impl IntoView + use<> {
    let id = card.id;
    let spec = catalog().get(&card.kind);
    let app = spec.map_or("", |s| s.app);
    let actions = catalog()
        .all()
        .iter()
        .filter(|s| {
            s.app == app
                && s.role != CardRole::Trigger
                && s.lanes == spec.map_or(s.lanes, |c| c.lanes)
        })
        .map(|s| {
            view! {
                <option value=s.key selected=card.kind == s.key>
                    {s.name}
                </option>
            }
        })
        .collect_view();
    let (mode, times) = match &card.on_error {
        OnError::Stop => ("stop", 3),
        OnError::Continue => ("continue", 3),
        OnError::Retry { times } => ("retry", *times),
        OnError::ErrorLane { .. } => ("lane", 3),
    };
    let set_mode = move |ev| {
        let mode = event_target_value(&ev);
        editor.edit(|f| {
            let card = edit::card_mut(f, id).ok_or("that card is no longer in the flow")?;
            card.on_error = match mode.as_str() {
                "continue" => OnError::Continue,
                "retry" => OnError::Retry { times: 3 },
                "lane" => match &card.on_error {
                    OnError::ErrorLane { cards } => OnError::ErrorLane {
                        cards: cards.clone(),
                    },
                    _ => OnError::ErrorLane { cards: Vec::new() },
                },
                _ => OnError::Stop,
            };
            Ok(())
        });
    };
    let set_times = move |ev| {
        let times = event_target_value(&ev).trim().parse::<u32>();
        match times {
            Ok(times) if (1..=10).contains(&times) => editor.edit(|f| {
                let card = edit::card_mut(f, id).ok_or("that card is no longer in the flow")?;
                card.on_error = OnError::Retry { times };
                Ok(())
            }),
            _ => editor.say_error("Retry between 1 and 10 times."),
        }
    };
    let set_timeout_seconds = move |ev| {
        let text = event_target_value(&ev);
        let seconds = text.trim();
        let value = if seconds.is_empty() {
            Ok(None)
        } else {
            seconds.parse::<u32>().map(Some).map_err(|_| ())
        };
        match value {
            Ok(value) => editor.edit(|f| {
                let card = edit::card_mut(f, id).ok_or("that card is no longer in the flow")?;
                card.timeout_seconds = value;
                Ok(())
            }),
            Err(()) => editor.say_error("The timeout is a whole number of seconds."),
        }
    };
    let set_note = move |ev| {
        let note = event_target_value(&ev);
        editor.edit(|f| {
            let card = edit::card_mut(f, id).ok_or("that card is no longer in the flow")?;
            card.note = note.trim().to_string();
            Ok(())
        });
    };
    let set_kind = move |ev| {
        let kind = event_target_value(&ev);
        editor.edit(|f| {
            let spec = catalog().get(&kind).ok_or("there is no such card")?;
            let card = edit::card_mut(f, id).ok_or("that card is no longer in the flow")?;
            card.kind = kind.clone();
            // Inputs the new action does not take are dropped.
            card.inputs
                .retain(|name, _| spec.input_type(name).is_some());
            Ok(())
        });
    };
    let cases = (spec.is_some_and(|s| s.lanes == domain::flows::catalog::Lanes::Cases)).then(|| {
        let items = card
            .lanes
            .iter()
            .enumerate()
            .map(|(i, lane)| {
                let condition = binding_text(lane.condition.as_ref());
                view! {
                    <fieldset>
                        <legend>{format!("Case {}", i + 1)}</legend>
                        <label>
                            "Name"
                            <input
                                type="text"
                                value=lane.name.clone()
                                on:change=move |ev| {
                                    let name = event_target_value(&ev);
                                    editor
                                        .edit(|f| {
                                            let card = edit::card_mut(f, id)
                                                .ok_or("that card is no longer in the flow")?;
                                            if name.trim().is_empty() {
                                                return Err("A case needs a name.".into());
                                            }
                                            let lane = card
                                                .lanes
                                                .get_mut(i)
                                                .ok_or("that case is gone")?;
                                            lane.name = name.trim().to_string();
                                            Ok(())
                                        });
                                }
                            />
                        </label>
                        <label>
                            "Condition"
                            <input
                                type="text"
                                value=condition
                                placeholder="{{ trigger.user.department == 'Sales' }}"
                                on:change=move |ev| {
                                    let text = event_target_value(&ev);
                                    editor
                                        .edit(|f| {
                                            let card = edit::card_mut(f, id)
                                                .ok_or("that card is no longer in the flow")?;
                                            let lane = card
                                                .lanes
                                                .get_mut(i)
                                                .ok_or("that case is gone")?;
                                            lane.condition = typed_binding(&text, &FieldType::Boolean);
                                            Ok(())
                                        });
                                }
                            />
                        </label>
                        <button
                            type="button"
                            class="danger"
                            on:click=move |_| {
                                editor
                                    .edit(|f| {
                                        let card = edit::card_mut(f, id)
                                            .ok_or("that card is no longer in the flow")?;
                                        if card.lanes.len() == 1 {
                                            return Err("A Branch needs at least one case.".into());
                                        }
                                        card.lanes.remove(i);
                                        Ok(())
                                    })
                            }
                        >
                            "Remove case"
                        </button>
                    </fieldset>
                }
            })
            .collect_view();
        view! {
            <h4>"Cases"</h4>
            {items}
            <button
                type="button"
                on:click=move |_| {
                    editor
                        .edit(|f| {
                            let card = edit::card_mut(f, id)
                                .ok_or("that card is no longer in the flow")?;
                            let n = card.lanes.len() + 1;
                            card.lanes
                                .push(Lane {
                                    name: format!("Case {n}"),
                                    condition: None,
                                    cards: Vec::new(),
                                });
                            Ok(())
                        })
                }
            >
                "Add case"
            </button>
        }
    });
    let timeout = card
        .timeout_seconds
        .map(|s| s.to_string())
        .unwrap_or_default();
    view! {
        <h3>{format!("Card {} · {}", id.0, spec.map_or("Unknown card", |s| s.name))}</h3>
        {spec.map(|s| view! { <p class="hint">{s.description}</p> })}
        <label>"Action" <select on:change=set_kind>{actions}</select></label>
        <label>
            "If this card fails" <select on:change=set_mode>
                <option value="stop" selected=mode == "stop">
                    "Stop the execution"
                </option>
                <option value="continue" selected=mode == "continue">
                    "Continue with empty outputs"
                </option>
                <option value="retry" selected=mode == "retry">
                    "Retry, then stop"
                </option>
                <option value="lane" selected=mode == "lane">
                    "Run an error lane, then stop"
                </option>
            </select>
        </label>
        {(mode == "retry")
            .then(|| {
                view! {
                    <label>
                        "Retries (1–10)"
                        <input
                            type="number"
                            min="1"
                            max="10"
                            value=times.to_string()
                            on:change=set_times
                        />
                    </label>
                }
            })}
        <label>
            "Timeout (seconds; empty for the card's default)"
            <input type="number" min="1" value=timeout on:change=set_timeout_seconds />
        </label>
        <label>"Note" <textarea on:change=set_note>{card.note.clone()}</textarea></label>
        {cases}
    }
}
