//! The flow being built, and every change an admin makes to it: one `Editor` the
//! builder's parts share, with undo and redo.

use super::*;

/// The builder's state, shared by its parts.
#[derive(Clone, Copy)]
pub(super) struct Editor {
    pub(super) flow: RwSignal<Flow>,
    /// Earlier states of the flow, newest last; and those undone, to redo.
    pub(super) undo: RwSignal<Vec<Flow>>,
    pub(super) redo: RwSignal<Vec<Flow>>,
    pub(super) problems: RwSignal<Vec<ProblemView>>,
    pub(super) selected: RwSignal<Option<Selected>>,
    pub(super) drag: RwSignal<Option<Drag>>,
    /// The drop zone or input under a dragged item.
    pub(super) over: RwSignal<Option<String>>,
    pub(super) ghost: RwSignal<(i32, i32)>,
    /// A drag just ended: the click that follows is not a click.
    pub(super) just_dragged: StoredValue<bool>,
    /// The input whose mapping picker is open: (card, input name).
    pub(super) picker: RwSignal<Option<(u32, String)>>,
    /// A sentence for the status line: (is an error, text).
    pub(super) notice: RwSignal<Option<(bool, String)>>,
    pub(super) tables: StoredValue<Vec<TableColumns>>,
    /// The newest Test Flow run, shown on each card.
    pub(super) last_test: StoredValue<Option<LastTest>>,
    /// The helper flows the flow may name: (id, name).
    pub(super) helpers: StoredValue<Vec<(String, String)>>,
    pub(super) can_edit: bool,
}

impl Editor {
    /// Applies `change` to a copy of the flow; keeps it (with an undo step) when it
    /// worked and changed something, else says why not.
    pub(super) fn edit(&self, change: impl FnOnce(&mut Flow) -> Result<(), String>) {
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

    pub(super) fn undo(&self) {
        self.step(self.undo, self.redo, "Undone.");
    }

    pub(super) fn redo(&self) {
        self.step(self.redo, self.undo, "Redone.");
    }

    /// Takes the newest state off `from` as the flow, keeping the current one on `to`.
    pub(super) fn step(&self, from: RwSignal<Vec<Flow>>, to: RwSignal<Vec<Flow>>, said: &str) {
        let Some(state) = from.try_update(Vec::pop).flatten() else {
            return;
        };
        let now = self.flow.get_untracked();
        to.update(|t| t.push(now));
        self.flow.set(state);
        self.say(said);
    }

    pub(super) fn say(&self, text: impl Into<String>) {
        self.notice.set(Some((false, text.into())));
    }

    pub(super) fn say_error(&self, text: impl Into<String>) {
        self.notice.set(Some((true, text.into())));
    }

    /// Starts a possible drag at the pointer's place; it becomes one once the pointer
    /// moves a few pixels.
    pub(super) fn press(&self, event: &leptos::ev::PointerEvent, what: Dragged, label: String) {
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
    pub(super) fn drop_on(&self, what: Dragged, target: &str) {
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
    pub(super) fn map(&self, card: CardId, input: &str, output: &Output) {
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
pub(super) fn focus_map_button(card: CardId, input: &str) {
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
