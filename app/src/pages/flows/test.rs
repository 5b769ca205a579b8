//! Test Flow: the trigger's sample input as a form (typed, taken from a past execution,
//! or from a user in the directory), run with every card's inputs and outputs kept, or
//! dry-run: its cards judged and not made, each saying what it would have done.

use super::*;

#[component]
pub fn TestPage() -> impl IntoView {
    let id = path_id();
    let query = use_query_map();
    let args = move || {
        let query = query.read();
        let given = |name: &str| query.get(name).filter(|v| !v.trim().is_empty());
        (id(), given("from"), given("user"))
    };
    let form = Resource::new(args, |(id, from, user)| test_setup(id, from, user));
    // From the builder's Dry run link: the dry run is what the page is for.
    let dry = move || query.read().get("mode").as_deref() == Some("dry");
    view! {
        <DetailTop title="Flows" back=("/flows", "← All flows") />
        <Loaded
            data=form
            loading="Loading the test form…"
            show=move |form| view! { <TestFormView form dry=dry() /> }
        />
    }
}

#[component]
fn TestFormView(form: TestInput, dry: bool) -> impl IntoView {
    let base = format!("/flows/{}/test", form.id);
    let mode = dry.then_some("dry");
    let from_directory = form.gives_user.then(|| {
        view! {
            <form method="get" action=base.clone() class="inline-form">
                {mode.map(|m| view! { <input type="hidden" name="mode" value=m /> })}
                <label for="test-user">"Take the user from the directory"</label>
                <input
                    id="test-user"
                    name="user"
                    type="text"
                    placeholder="user name"
                    value=form.user.clone().unwrap_or_default()
                />
                <button type="submit">"Use this user"</button>
            </form>
        }
    });
    let problems = view! {
        <Problems
            problems=form.problems.clone()
            intro="This version has problems; the test will stop at the first card they break:"
        />
    };
    let past = (!form.past.is_empty()).then(|| {
        let options = form
            .past
            .iter()
            .map(|(id, label)| {
                view! {
                    <option value=id.clone() selected=form.from.as_deref() == Some(id.as_str())>
                        {label.clone()}
                    </option>
                }
            })
            .collect_view();
        view! {
            <form method="get" action=base.clone() class="inline-form">
                {mode.map(|m| view! { <input type="hidden" name="mode" value=m /> })}
                <label for="test-from">"Take the input from a past execution"</label>
                <select id="test-from" name="from">
                    {options}
                </select>
                <button type="submit">"Use its input"</button>
            </form>
        }
    });
    let fields = form
        .fields
        .into_iter()
        .map(|(field, value)| {
            let id = format!("sample-{}", field.path.replace('.', "-"));
            let name = format!("s.{}", field.path);
            let input = match field.kind {
                SampleKind::Boolean => {
                    view! {
                        <select id=id.clone() name=name>
                            <BooleanOptions selected=value.clone() />
                        </select>
                    }
                        .into_any()
                }
                SampleKind::Json => {
                    view! {
                        <textarea id=id.clone() name=name rows="2" placeholder="JSON">
                            {value}
                        </textarea>
                    }
                        .into_any()
                }
                kind => {
                    let (ty, placeholder) = match kind {
                        SampleKind::Number => ("text", "0"),
                        SampleKind::DateTime => ("text", "2026-11-30T09:00:00Z"),
                        _ => ("text", ""),
                    };
                    view! { <input id=id.clone() name=name type=ty value=value placeholder=placeholder /> }
                        .into_any()
                }
            };
            view! {
                <div class="field">
                    <label for=id>{field.label}</label>
                    {input}
                    <small>{field.path}</small>
                </div>
            }
        })
        .collect_view();
    view! {
        <section class="test-flow" data-testid="test-flow">
            <h2>{format!("{} {}", if dry { "Dry run" } else { "Test" }, form.name)}</h2>
            <p class="subtitle">
                {format!("Trigger: {} · version {} · on or off", form.trigger, form.version)}
            </p>
            <p class="hint">
                "Run test runs the cards for real, with the input below as the trigger would give it: users and groups it changes are changed. Dry run runs them too, but changes nothing: each card that would change the directory, write a table or call a service is checked as it would be and then says what it would have done. Every card's inputs and outputs are kept, whatever the flow's \"save all data\" says."
            </p>
            {problems}
            {from_directory}
            {past}
            <form method="post" action=base.clone() class="stacked-form" data-busy="Starting…">
                {fields}
                <div class="button-row">
                    <button type="submit" name="run" value="dry" class=dry.then_some("primary")>
                        "Dry run"
                    </button>
                    <button type="submit" name="run" value="test" class=(!dry).then_some("primary")>
                        "Run test"
                    </button>
                </div>
            </form>
        </section>
    }
}
