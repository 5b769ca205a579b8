//! Sample input for Test Flow: the trigger's output fields as a form (one field per value
//! a card can map, `user.email`), read back into the object the trigger would give, or
//! filled in from a past execution's input.

use super::catalog::{CardSpec, FieldSpec, FieldType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How a sample field is typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleKind {
    Text,
    Number,
    Boolean,
    DateTime,
    /// Anything else (an object without declared fields, a list): typed as JSON.
    Json,
}

/// One field of the sample form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleField {
    /// Where the value goes in the trigger's output (`user.email`).
    pub path: String,
    /// "User › Email".
    pub label: String,
    pub kind: SampleKind,
}

/// The fields of a trigger's sample form, in the catalog's order.
pub fn sample_fields(trigger: &CardSpec) -> Vec<SampleField> {
    fn walk(fields: &[FieldSpec], path: &str, label: &str, out: &mut Vec<SampleField>) {
        for field in fields {
            let path = if path.is_empty() {
                field.name.clone()
            } else {
                format!("{path}.{}", field.name)
            };
            let label = if label.is_empty() {
                field.label.clone()
            } else {
                format!("{label} › {}", field.label)
            };
            let kind = match &field.ty {
                FieldType::Object { fields } if !fields.is_empty() => {
                    walk(fields, &path, &label, out);
                    continue;
                }
                FieldType::Text => SampleKind::Text,
                FieldType::Number => SampleKind::Number,
                FieldType::Boolean => SampleKind::Boolean,
                FieldType::DateTime => SampleKind::DateTime,
                _ => SampleKind::Json,
            };
            out.push(SampleField { path, label, kind });
        }
    }
    let mut out = Vec::new();
    walk(&trigger.outputs, "", "", &mut out);
    out
}

/// The value at `path` in `input`, as the form shows it: text as it is, anything else as
/// JSON, nothing when absent.
pub fn sample_value(input: &Value, path: &str) -> String {
    let mut at = input;
    for part in path.split('.') {
        match at.get(part) {
            Some(v) => at = v,
            None => return String::new(),
        }
    }
    match at {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The trigger output the form's values make (`value_of(path)` is what was typed for each
/// field; empty fields are left out), or every reason a value does not fit its field.
pub fn build_sample(
    fields: &[SampleField],
    value_of: impl Fn(&str) -> String,
) -> Result<Value, Vec<String>> {
    let mut root = Map::new();
    let mut reasons = Vec::new();
    for field in fields {
        let text = value_of(&field.path);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let value = match field.kind {
            SampleKind::Text | SampleKind::DateTime => Value::String(text.to_string()),
            SampleKind::Number => match text.parse::<f64>() {
                Ok(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Value::from(n as i64),
                Ok(n) => Value::from(n),
                Err(_) => {
                    reasons.push(format!("{}: {text:?} is not a number", field.label));
                    continue;
                }
            },
            SampleKind::Boolean => match text {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    reasons.push(format!("{}: choose true or false", field.label));
                    continue;
                }
            },
            SampleKind::Json => match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => {
                    reasons.push(format!("{}: not JSON ({e})", field.label));
                    continue;
                }
            },
        };
        let mut at = &mut root;
        let parts: Vec<&str> = field.path.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            let next = at
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !next.is_object() {
                *next = Value::Object(Map::new());
            }
            at = next.as_object_mut().expect("made an object just above");
        }
        at.insert(parts[parts.len() - 1].to_string(), value);
    }
    if reasons.is_empty() {
        Ok(Value::Object(root))
    } else {
        Err(reasons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::catalog::catalog;
    use serde_json::json;

    #[test]
    fn a_directory_trigger_gives_a_field_per_user_attribute() {
        let fields = sample_fields(catalog().get("directory.user_deactivated").unwrap());
        let email = fields.iter().find(|f| f.path == "user.email").unwrap();
        assert_eq!(
            (email.label.as_str(), email.kind),
            ("User › Email", SampleKind::Text)
        );
        let when = fields.iter().find(|f| f.path == "occurred_at").unwrap();
        assert_eq!(when.kind, SampleKind::DateTime);
        let attributes = fields.iter().find(|f| f.path == "user.attributes").unwrap();
        assert_eq!(attributes.kind, SampleKind::Json);
    }

    #[test]
    fn the_form_reads_back_into_the_trigger_output_and_names_bad_values() {
        let fields = sample_fields(catalog().get("directory.user_deactivated").unwrap());
        let typed = |path: &str| match path {
            "user.email" => "ada@example.com".to_string(),
            "user.attributes" => "{\"costCenter\": 7}".to_string(),
            "occurred_at" => "2026-11-30T09:00:00Z".to_string(),
            _ => String::new(),
        };
        let sample = build_sample(&fields, typed).unwrap();
        assert_eq!(
            sample,
            json!({"user": {"email": "ada@example.com", "attributes": {"costCenter": 7}}, "occurred_at": "2026-11-30T09:00:00Z"})
        );
        assert_eq!(sample_value(&sample, "user.email"), "ada@example.com");
        assert_eq!(
            sample_value(&sample, "user.attributes"),
            "{\"costCenter\":7}"
        );
        assert_eq!(sample_value(&sample, "user.title"), "");

        let bad = |path: &str| match path {
            "user.attributes" => "{nope".to_string(),
            _ => String::new(),
        };
        let reasons = build_sample(&fields, bad).unwrap_err();
        assert!(
            reasons[0].starts_with("User › All Attributes: not JSON"),
            "{reasons:?}"
        );
    }
}
