//! The settings panel: the flow's settings, or the selected card's (error handling,
//! timeout, note).

use super::*;

/// The settings of the selected card (or the trigger and the flow's own).
#[component]
pub(super) fn Settings(editor: Editor, selected: Selected) -> impl IntoView {
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

pub(super) fn flow_settings(editor: Editor, flow: &Flow) -> impl IntoView + use<> {
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
    let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    let max_concurrent = number(flow.settings.max_concurrent);
    let max_per_minute = number(flow.settings.max_per_minute);
    let timeout = flow.settings.timeout_seconds.to_string();
    let error_flow = flow.settings.error_flow.map(|id| id.to_string());
    let error_flows = editor
        .helpers
        .get_value()
        .into_iter()
        .filter(|(_, name)| *name != flow.name)
        .map(|(id, name)| {
            let selected = error_flow.as_deref() == Some(id.as_str());
            view! {
                <option value=id selected=selected>
                    {name}
                </option>
            }
        })
        .collect_view();
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
        <h4>"Limits"</h4>
        <label>
            "Executions running at once, at most"
            <input
                type="number"
                min="1"
                name="max_concurrent"
                placeholder="No limit"
                value=max_concurrent
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    editor
                        .edit(|f| {
                            f.settings.max_concurrent = whole(&text, "Executions running at once")?;
                            Ok(())
                        });
                }
            />
        </label>
        <label>
            "Calls per minute, at most (API Endpoint; past it callers get 429)"
            <input
                type="number"
                min="1"
                name="max_per_minute"
                placeholder="No limit"
                value=max_per_minute
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    editor
                        .edit(|f| {
                            f.settings.max_per_minute = whole(&text, "Calls per minute")?;
                            Ok(())
                        });
                }
            />
        </label>
        <label>
            "Execution timeout (seconds)"
            <input
                type="number"
                min="1"
                name="timeout_seconds"
                value=timeout
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    editor
                        .edit(|f| {
                            f.settings.timeout_seconds = whole(&text, "Execution timeout")?
                                .ok_or("Execution timeout: give a number of seconds")?;
                            Ok(())
                        });
                }
            />
        </label>
        <label>
            "Error flow (a helper flow run with what failed)"
            <select
                name="error_flow"
                on:change=move |ev| {
                    let id = event_target_value(&ev);
                    editor
                        .edit(|f| {
                            f.settings.error_flow = if id.is_empty() {
                                None
                            } else {
                                Some(
                                    uuid::Uuid::parse_str(&id)
                                        .map(domain::flows::FlowId)
                                        .map_err(|_| {
                                            "Error flow: that flow is gone; choose another"
                                        })?,
                                )
                            };
                            Ok(())
                        });
                }
            >
                <option value="" selected=error_flow.is_none()>
                    "None"
                </option>
                {error_flows}
            </select>
        </label>
        <p class="hint">"The folder a flow sits in is changed with Move on the Flows tab."</p>
    }
}

/// A whole number of at least 1 from a settings box, `None` when it is empty; else
/// why not, naming the setting.
fn whole(text: &str, what: &str) -> Result<Option<u32>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .map(Some)
        .ok_or_else(|| format!("{what}: {text:?} is not a whole number of at least 1"))
}

pub(super) fn card_settings(editor: Editor, card: &Card) -> impl IntoView + use<> {
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
