//! Test Flow: the trigger's sample input as a form (typed, or taken from a past
//! execution), run with every card's inputs and outputs kept.

use super::*;

#[component]
pub fn TestPage() -> impl IntoView {
    let id = path_id();
    let query = use_query_map();
    let args = move || (id(), query.read().get("from").filter(|f| !f.is_empty()));
    let form = Resource::new(args, |(id, from)| test_setup(id, from));
    view! {
        <DetailTop title="Flows" back=("/flows", "← All flows") />
        <Loaded
            data=form
            loading="Loading the test form…"
            show=|form| view! { <TestFormView form /> }
        />
    }
}

#[component]
fn TestFormView(form: TestInput) -> impl IntoView {
    let base = format!("/flows/{}/test", form.id);
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
            <h2>{format!("Test {}", form.name)}</h2>
            <p class="subtitle">
                {format!("Trigger: {} · version {} · on or off", form.trigger, form.version)}
            </p>
            <p class="hint">
                "A test runs the cards for real, with the input below as the trigger would give it: users and groups it changes are changed. Every card's inputs and outputs are kept, whatever the flow's \"save all data\" says."
            </p>
            {problems}
            {past}
            <form
                method="post"
                action=base.clone()
                class="stacked-form"
                data-busy="Starting the test…"
            >
                {fields}
                <button type="submit" class="primary">
                    "Run test"
                </button>
            </form>
        </section>
    }
}
