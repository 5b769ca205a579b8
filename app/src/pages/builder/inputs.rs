//! A card's inputs: typed fields, mappings shown as chips, and the picker that maps an
//! input by click or keyboard.

use super::*;

/// The type input `name` of `card` takes, a table's column included.
pub(super) fn input_type(
    spec: &CardSpec,
    name: &str,
    tables: &[TableColumns],
    card: &Card,
) -> FieldType {
    if let Some((root, column)) = name.split_once('.')
        && let Some(table) = table_of(card, tables)
        && spec.input(root).is_some()
        && let Some((_, ty)) = table.columns.iter().find(|(c, _)| c == column)
    {
        return column_type(*ty);
    }
    spec.input_type(name).unwrap_or(FieldType::Any)
}

pub(super) fn column_type(ty: ColumnType) -> FieldType {
    match ty {
        ColumnType::Text => FieldType::Text,
        ColumnType::Number => FieldType::Number,
        ColumnType::Boolean => FieldType::Boolean,
        ColumnType::DateTime => FieldType::DateTime,
        ColumnType::Json => FieldType::Any,
    }
}

/// The table a Tables card names, when it is typed in and exists.
pub(super) fn table_of<'t>(card: &Card, tables: &'t [TableColumns]) -> Option<&'t TableColumns> {
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
pub(super) fn typed_binding(text: &str, ty: &FieldType) -> Option<Binding> {
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
pub(super) fn binding_text(binding: Option<&Binding>) -> String {
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
pub(super) fn mapping_label(
    flow: &Flow,
    card: CardId,
    from: Source,
    path: &str,
) -> (String, String) {
    for (group, fields) in edit::mappable(flow, card, catalog()) {
        if let Some(f) = fields.iter().find(|f| f.from == from && f.path == path) {
            return (f.label.clone(), group);
        }
    }
    (path.to_string(), from.to_string())
}

/// An input as the card shows it.
#[derive(Clone)]
pub(super) struct InputSpec {
    pub(super) name: String,
    pub(super) label: String,
    pub(super) ty: FieldType,
    pub(super) required: bool,
}

pub(super) fn input_view(editor: Editor, flow: &Flow, card: &Card, input: InputSpec) -> AnyView {
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
                        <BooleanOptions selected=text.clone() />
                    </select>
                }
                .into_any(),
                _ => {
                    let list = match (card.kind.as_str(), input.name.as_str()) {
                        (k, "table") if k.starts_with("tables.") => Some("builder-tables"),
                        (k, "flow") if domain::flows::names_helper_flow(k) => {
                            Some("builder-helpers")
                        }
                        (_, "connection") => Some("builder-connections"),
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
pub(super) fn Picker(editor: Editor, card: CardId, input: InputSpec) -> impl IntoView {
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
