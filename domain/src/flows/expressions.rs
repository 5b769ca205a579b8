//! Expressions: templates (text with `{{ trigger.user.email }}` parts) and conditions
//! (`item.department == "Sales"`) in cards' inputs. (The use-case flows installed from
//! the Flows tab are `flows::templates`.) MiniJinja evaluates them with limits: a bounded
//! amount of work (fuel), bounded nesting, bounded input and output, and a name that does
//! not exist is an error, never an empty string. Nothing else runs: no user code, no I/O.

use minijinja::{Environment, Expression, UndefinedBehavior};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The most work one template or condition may do (MiniJinja's fuel units).
pub const FUEL: u64 = 100_000;
/// The longest template or condition idflow evaluates, in characters.
pub const MAX_SOURCE: usize = super::validate::MAX_TEMPLATE_LENGTH;
/// The longest text a template may produce, in characters.
pub const MAX_OUTPUT: usize = 100_000;

/// The one environment every template and condition runs in: building one registers
/// every filter and test, which costs more than evaluating a short template, so it is
/// built once.
fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(configured)
}

fn configured() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(20);
    // Plain text: nothing is HTML-escaped.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// An expression compiled once: a flow's cards evaluate the same few with every execution.
type Compiled = Arc<Expression<'static, 'static>>;

/// The expressions compiled so far, by their text.
fn compiled() -> &'static Mutex<HashMap<String, Compiled>> {
    static COMPILED: OnceLock<Mutex<HashMap<String, Compiled>>> = OnceLock::new();
    COMPILED.get_or_init(Default::default)
}

/// `expression` compiled, from those compiled before when it is one of them.
fn compile(expression: &str) -> Result<Compiled, String> {
    /// Beyond this many, the kept expressions start afresh.
    const KEPT: usize = 4096;
    if let Some(known) = compiled()
        .lock()
        .ok()
        .and_then(|c| c.get(expression).cloned())
    {
        return Ok(known);
    }
    let made: Compiled = Arc::new(
        environment()
            .compile_expression_owned(expression.to_string())
            .map_err(|e| describe(&e))?,
    );
    if let Ok(mut kept) = compiled().lock() {
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(expression.to_string(), made.clone());
    }
    Ok(made)
}

fn too_long(source: &str) -> Option<String> {
    (source.chars().count() > MAX_SOURCE).then(|| format!("is longer than {MAX_SOURCE} characters"))
}

/// Renders `template` with `context` (an object: `trigger`, `card_1`, …).
pub fn render<C: Serialize + ?Sized>(template: &str, context: &C) -> Result<String, String> {
    if let Some(problem) = too_long(template) {
        return Err(problem);
    }
    let text = environment()
        .render_str(template, minijinja::value::Serde(context))
        .map_err(|e| describe(&e))?;
    if text.chars().count() > MAX_OUTPUT {
        return Err(format!("gives more than {MAX_OUTPUT} characters"));
    }
    Ok(text)
}

/// Evaluates `expression` with `context` to a value.
pub fn evaluate<C: Serialize + ?Sized>(expression: &str, context: &C) -> Result<Value, String> {
    if let Some(problem) = too_long(expression) {
        return Err(problem);
    }
    let value = compile(expression)?
        .eval(minijinja::value::Serde(context))
        .map_err(|e| describe(&e))?;
    serde_json::to_value(&value).map_err(|e| format!("gives a value that is not JSON: {e}"))
}

/// Whether `condition` holds for `context`. A result that is not true or false counts by
/// its truth (empty text, zero, an empty list are false).
pub fn holds<C: Serialize + ?Sized>(condition: &str, context: &C) -> Result<bool, String> {
    if let Some(problem) = too_long(condition) {
        return Err(problem);
    }
    compile(condition)?
        .eval(minijinja::value::Serde(context))
        .map(|v| v.is_true())
        .map_err(|e| describe(&e))
}

/// A MiniJinja error as a sentence, without the engine's internals.
fn describe(error: &minijinja::Error) -> String {
    use minijinja::ErrorKind;
    let detail = error.detail().map(|d| format!(": {d}")).unwrap_or_default();
    match error.kind() {
        ErrorKind::UndefinedError => format!("names a field that has no value{detail}"),
        ErrorKind::OutOfFuel => "does too much work (it was stopped)".to_string(),
        ErrorKind::SyntaxError => format!("is not a valid template{detail}"),
        _ => format!("could not be evaluated: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Value {
        json!({
            "trigger": {"user": {"email": "ada@example.com", "given_name": "ada", "department": "Sales"}},
            "card_2": {"output": 3},
        })
    }

    #[test]
    fn templates_fill_in_mapped_values() {
        assert_eq!(
            render(
                "Hi {{ trigger.user.given_name | title }}, {{ card_2.output }} groups",
                &context()
            )
            .unwrap(),
            "Hi Ada, 3 groups"
        );
        // Text stays text: no HTML escaping.
        assert_eq!(
            render("<{{ trigger.user.email }}>", &context()).unwrap(),
            "<ada@example.com>"
        );
    }

    #[test]
    fn a_missing_field_is_an_error_not_an_empty_string() {
        let err = render("{{ trigger.user.manager }}", &context()).unwrap_err();
        assert!(err.starts_with("names a field that has no value"), "{err}");
    }

    #[test]
    fn runaway_templates_are_stopped() {
        let err = render(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            &context(),
        )
        .unwrap_err();
        assert!(err.contains("too much work"), "{err}");
        assert!(
            render(&"x".repeat(MAX_SOURCE + 1), &context())
                .unwrap_err()
                .contains("longer than")
        );
        let err = render("{{ 'x' * 200000 }}", &context()).unwrap_err();
        assert!(
            err.contains("more than") || err.contains("could not"),
            "{err}"
        );
    }

    #[test]
    fn conditions_hold_or_not() {
        assert!(holds("trigger.user.department == 'Sales'", &context()).unwrap());
        assert!(!holds("card_2.output > 5", &context()).unwrap());
        assert_eq!(evaluate("card_2.output * 2", &context()).unwrap(), json!(6));
        assert!(holds("trigger.user.nobody == 1", &context()).is_err());
        assert!(
            holds("trigger.user.department ==", &context())
                .unwrap_err()
                .contains("not a valid")
        );
    }

    #[test]
    fn an_expression_compiled_once_answers_for_each_context() {
        let twice = "card_2.output * 2 + 0";
        assert_eq!(evaluate(twice, &context()).unwrap(), json!(6));
        assert_eq!(
            evaluate(twice, &json!({"card_2": {"output": 10}})).unwrap(),
            json!(20)
        );
        assert!(compiled().lock().unwrap().contains_key(twice));
        assert!(
            evaluate(twice, &json!({})).is_err(),
            "its names are looked up each time"
        );
        // One that does not compile is not kept, and fails each time.
        let broken = "card_2.output *";
        for _ in 0..2 {
            assert!(
                evaluate(broken, &context())
                    .unwrap_err()
                    .contains("not a valid")
            );
        }
        assert!(!compiled().lock().unwrap().contains_key(broken));
    }
}
