//! What the builder listens to on the window: pointer presses that become drags,
//! keyboard shortcuts (undo, redo), and leaving with unsaved changes.

use super::*;

/// Follows a press on the window: it becomes a drag past a few pixels, shows what is
/// under the pointer, and drops there when the pointer is let go.
pub(super) fn install_pointer_listeners(editor: Editor) {
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
pub(super) fn install_keyboard_shortcuts(editor: Editor) {
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
pub(super) fn install_leave_guard(dirty: Memo<bool>) {
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
